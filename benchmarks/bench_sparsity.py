"""Benchmark: sparsity detection time of anydiff's tracer, side by side with asdex (JAX only).

Run ``python benchmarks/bench_sparsity.py`` (``--quick``: fewer repeats, no n = 10⁶ row).  Rows:

* Jacobian detection of the vectorised 2-D Brusselator (periodic, ``np.roll`` stencil) at
  N = 32 (2 048 unknowns) and N = 128 (32 768 unknowns);
* Hessian detection of the chained Rosenbrock function at n = 10⁴ and 10⁶.

Times are medians of several runs (seconds), detection only.  asdex is not a dependency: when it
imports (e.g. ``pip install asdex`` into a throwaway venv created with ``--system-site-packages``)
its ``jacobian_sparsity`` / ``hessian_sparsity`` run on the same functions written in
``jax.numpy`` and the ratio asdex / anydiff is printed; otherwise a note says it was skipped.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import anydiff as ad


def brusselator(x: Any, N: int, xp: Any = np) -> Any:
    """Vectorised 2-D Brusselator right-hand side on an N x N periodic grid; x = (u, v) stacked."""
    u = xp.reshape(x[: N * N], (N, N))
    v = xp.reshape(x[N * N :], (N, N))

    def lap(a: Any) -> Any:
        return xp.roll(a, 1, 0) + xp.roll(a, -1, 0) + xp.roll(a, 1, 1) + xp.roll(a, -1, 1) - 4 * a

    du = 1 + u**2 * v - 4.4 * u + 10.0 * lap(u)
    dv = 3.4 * u - u**2 * v + 10.0 * lap(v)
    return xp.concatenate([xp.ravel(du), xp.ravel(dv)])


def rosenbrock(x: Any, xp: Any = np) -> Any:
    """Chained Rosenbrock: sum 100 (x_{i+1} - x_i²)² + (1 - x_i)²."""
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _asdex() -> Any:
    try:
        import asdex  # noqa: F401
        import jax

        jax.config.update("jax_enable_x64", True)
        return asdex
    except Exception as e:  # not installed, or incompatible with this jax
        print(f"note: asdex skipped ({type(e).__name__}: {e})")
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats, skip n = 10^6")
    args = p.parse_args()
    reps = 3 if args.quick else 7
    asdex = _asdex()
    rows = []
    for N in (32, 128):
        n = 2 * N * N
        x = np.random.default_rng(0).uniform(size=n)
        f = lambda x, N=N: brusselator(x, N)  # noqa: E731
        P = ad.jacobian_sparsity(f, x)
        t = median_time(lambda f=f, x=x: ad.jacobian_sparsity(f, x), reps)
        ta = None
        if asdex is not None:
            import jax.numpy as jnp

            g = lambda x, N=N: brusselator(x, N, jnp)  # noqa: E731
            xj = jnp.asarray(x)
            ta = median_time(lambda g=g, xj=xj: asdex.jacobian_sparsity(g, xj), reps)
        rows.append((f"Brusselator Jacobian N={N} ({n} unknowns)", P.nnz, t, ta))
    for n in (10**4,) + (() if args.quick else (10**6,)):
        x = np.random.default_rng(0).uniform(size=n)
        H = ad.hessian_sparsity(rosenbrock, x)
        t = median_time(lambda x=x: ad.hessian_sparsity(rosenbrock, x), reps if n < 10**6 else 3)
        ta = None
        if asdex is not None:
            import jax.numpy as jnp

            r = lambda x: rosenbrock(x, jnp)  # noqa: E731
            xj = jnp.asarray(x)
            ta = median_time(lambda r=r, xj=xj: asdex.hessian_sparsity(r, xj), 3)
        rows.append((f"Rosenbrock Hessian n={n}", H.nnz, t, ta))
    print(f"{'problem':44s} {'nnz':>9s} {'anydiff [s]':>12s} {'asdex [s]':>10s} {'asdex/anydiff':>14s}")
    for name, nnz, t, ta in rows:
        a = f"{ta:10.4f}" if ta is not None else f"{'-':>10s}"
        r = f"{ta / t:14.2f}" if ta is not None else f"{'-':>14s}"
        print(f"{name:44s} {nnz:9d} {t:12.4f} {a} {r}")


if __name__ == "__main__":
    main()
