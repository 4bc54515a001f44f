"""Overhead of the bridge: one host round trip per bridged call.

1. ``jax.grad(jax.jit(loss))`` where ``loss`` calls ``ad.differentiate_with(f, "jax")`` of a JAX
   function, against the same ``loss`` with ``f`` inlined, at n = 10, 10^3, 10^5 (float64).
   The bridged version leaves XLA twice (value, then pullback) through ``jax.pure_callback``,
   copies x and the cotangent to NumPy and runs anydiff's prepared JAX kernels there.
2. torch inside JAX: ``jax.grad(jax.jit(loss))`` with ``differentiate_with(torch_f, "torch")``
   against torch alone (``loss.backward()`` on the same function).

Times: CPU seconds of this process per call (best of ``--repeat`` rounds of ``--number`` calls;
``--wall`` for wall-clock), so that other processes on a shared machine count less.

Run: ``python benchmarks/bench_bridge.py [--number 20] [--repeat 3] [--sizes 10 1000 100000]
[--jax-only]``.
"""

from __future__ import annotations

import argparse
import time
import timeit

import jax
import jax.numpy as jnp
import numpy as np

import anydiff as ad


def f_jax(x):
    return jnp.tanh(x) * x + jnp.sin(x)


def best(fn, number: int, repeat: int, timer) -> float:
    fn()  # warm up (compile, prepare)
    return min(timeit.Timer(fn, timer=timer).repeat(repeat=repeat, number=number)) / number


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 100_000])
    ap.add_argument("--wall", action="store_true")
    ap.add_argument("--jax-only", action="store_true", help="skip the torch table")
    args = ap.parse_args()
    timer = time.perf_counter if args.wall else time.process_time
    jax.config.update("jax_enable_x64", True)

    print("| n | inlined (µs) | differentiate_with(f, 'jax') (µs) | ratio |")
    print("|---|---|---|---|")
    g = ad.differentiate_with(f_jax, "jax")
    for n in args.sizes:
        x = jnp.linspace(-1.0, 1.0, n)
        inl = jax.grad(jax.jit(lambda x: jnp.sum(f_jax(x) ** 2)))
        bri = jax.grad(jax.jit(lambda x: jnp.sum(g(x) ** 2)))
        np.testing.assert_allclose(bri(x), inl(x), rtol=1e-10, atol=1e-14)
        ti = best(lambda f=inl, x=x: f(x).block_until_ready(), args.number, args.repeat, timer)
        tb = best(lambda f=bri, x=x: f(x).block_until_ready(), args.number, args.repeat, timer)
        print(f"| {n} | {ti * 1e6:.0f} | {tb * 1e6:.0f} | {tb / ti:.2f} |")

    if args.jax_only:
        return
    import torch

    def f_torch(x):
        return torch.tanh(x) * x + torch.sin(x)

    gt = ad.differentiate_with(f_torch, "torch")
    print()
    print("| n | torch alone, backward() (µs) | torch inside jax.grad(jax.jit) (µs) | ratio |")
    print("|---|---|---|---|")
    for n in args.sizes:
        x = jnp.linspace(-1.0, 1.0, n)
        xt = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)

        def torch_alone(xt=xt):
            v = xt.detach().requires_grad_()
            torch.sum(f_torch(v) ** 2).backward()
            return v.grad

        bri = jax.grad(jax.jit(lambda x: jnp.sum(gt(x) ** 2)))
        np.testing.assert_allclose(bri(x), torch_alone().numpy(), rtol=1e-10, atol=1e-14)
        tt = best(torch_alone, args.number, args.repeat, timer)
        tb = best(lambda f=bri, x=x: f(x).block_until_ready(), args.number, args.repeat, timer)
        print(f"| {n} | {tt * 1e6:.0f} | {tb * 1e6:.0f} | {tb / tt:.2f} |")


if __name__ == "__main__":
    main()
