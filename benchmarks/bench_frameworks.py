"""Overhead of prepared anydiff calls against the frameworks called directly.

For each framework (jax, torch, autograd) and operator (gradient, jacobian, hvp, pullback) this
times, in one run and interleaved, ``prep(x)`` from ``ad.prepare_<op>(f, backend, x, ...)`` and
the framework's own transform (``jax.jit(jax.grad(f))``, ``torch.func.grad(f)``,
``autograd.grad(f)``, ...), both fed the same NumPy input and both converting the result to
NumPy. The ratio anydiff / direct is the interface's overhead.

Usage::

    python benchmarks/bench_frameworks.py [--quick] [--frameworks jax,torch,autograd]
                                          [--operators gradient,pullback] [--cpu]
                                          [--threads 1] [--output table.md]

Method: each (framework, operator, n) pair gets a number of calls per batch so that a batch
lasts about ``--batch-seconds``; then batches of A (direct) and B (anydiff) alternate
``--repeats`` times (A, B, A, B, ...) so that drifts of the machine affect both alike. The
reported time is the median per-call time over the batches. ``--cpu`` times CPU seconds of
this process instead of wall-clock seconds: on a shared, loaded machine wall-clock batches mostly
measure the other processes (a batch that waited for the CPU looks slow), while CPU time counts
only the work done; with ``--threads 1`` (torch's intra-op threads) that work is one thread's.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import statistics
import sys
import time
import timeit
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import anydiff as ad

SIZES = {"gradient": (10, 1000, 100_000), "jacobian": (10, 1000), "hvp": (10, 1000, 100_000),
         "pullback": (10, 1000, 100_000)}


def f_scalar(x: Any) -> Any:
    """Scalar test function: sum(sin(x) x^2)."""
    xp = ad.array_namespace(x)
    return xp.sum(xp.sin(x) * x**2)


def f_vector(x: Any) -> Any:
    """Vector test function R^n -> R^n: sin(x) x."""
    xp = ad.array_namespace(x)
    return xp.sin(x) * x


@dataclass
class Case:
    framework: str
    operator: str
    n: int
    direct: Callable[[], Any]
    ours: Callable[[], Any]


# ---------------------------------------------------------------------------------------------
# Direct calls of each framework (same NumPy input, result converted to NumPy)


def _jax_direct(op: str, x: np.ndarray, t: np.ndarray) -> Callable[[], Any]:
    import jax

    jax.config.update("jax_enable_x64", True)
    if op == "gradient":
        g = jax.jit(jax.grad(f_scalar))
        return lambda: np.asarray(g(x))
    if op == "jacobian":
        # anydiff's JAX adapter picks jacfwd for square Jacobians (n <= m): compare like for like.
        j = jax.jit(jax.jacfwd(f_vector))
        return lambda: np.asarray(j(x))
    if op == "hvp":
        h = jax.jit(lambda x, t: jax.jvp(jax.grad(f_scalar), (x,), (t,))[1])
        return lambda: np.asarray(h(x, t))
    p = jax.jit(lambda x, w: jax.vjp(f_vector, x)[1](w)[0])
    return lambda: np.asarray(p(x, t))


def _torch_direct(op: str, x: np.ndarray, t: np.ndarray) -> Callable[[], Any]:
    import torch
    import torch.func as tf

    if op == "gradient":
        g = tf.grad(f_scalar)
        return lambda: g(torch.from_numpy(x)).numpy()
    if op == "jacobian":
        j = tf.jacfwd(f_vector)
        return lambda: j(torch.from_numpy(x)).numpy()
    if op == "hvp":
        gf = tf.grad(f_scalar)
        return lambda: tf.jvp(gf, (torch.from_numpy(x),), (torch.from_numpy(t),))[1].numpy()

    def pullback() -> np.ndarray:
        _, vjp = tf.vjp(f_vector, torch.from_numpy(x))
        return vjp(torch.from_numpy(t))[0].numpy()

    return pullback


def _autograd_direct(op: str, x: np.ndarray, t: np.ndarray) -> Callable[[], Any]:
    import autograd

    if op == "gradient":
        g = autograd.grad(f_scalar)
        return lambda: g(x)
    if op == "jacobian":
        j = autograd.jacobian(f_vector)
        return lambda: j(x)
    if op == "hvp":
        h = autograd.hessian_vector_product(f_scalar)
        return lambda: h(x, t)

    def pullback() -> np.ndarray:
        vjp, _ = autograd.make_vjp(f_vector)(x)
        return vjp(t)

    return pullback


DIRECT = {"jax": _jax_direct, "torch": _torch_direct, "autograd": _autograd_direct}


def _ours(op: str, backend: str, x: np.ndarray, t: np.ndarray) -> Callable[[], Any]:
    if op == "gradient":
        prep = ad.prepare_gradient(f_scalar, backend, x)
        return lambda: prep(x)
    if op == "jacobian":
        prep = ad.prepare_jacobian(f_vector, backend, x)
        return lambda: prep(x)
    if op == "hvp":
        prep = ad.prepare_hvp(f_scalar, backend, x, t)
        return lambda: prep(x, t)
    prep = ad.prepare_pullback(f_vector, backend, x, t)
    return lambda: prep(x, t)


# ---------------------------------------------------------------------------------------------


def available(frameworks: list[str]) -> tuple[list[str], dict[str, str]]:
    """Frameworks whose package and anydiff adapter both import; reasons for the others."""
    ok, skipped = [], {}
    for name in frameworks:
        try:
            importlib.import_module(name)
        except Exception as exc:  # not installed or broken
            skipped[name] = f"{name} not importable ({type(exc).__name__})"
            continue
        try:
            importlib.import_module(f"anydiff.backends.{name}")
        except Exception as exc:
            skipped[name] = f"adapter anydiff.backends.{name} unavailable ({type(exc).__name__}: {exc})"
            continue
        ok.append(name)
    return ok, skipped


def build_cases(
    frameworks: list[str], quick: bool, operators: tuple[str, ...] = tuple(SIZES)
) -> list[Case]:
    cases = []
    rng = np.random.default_rng(0)
    for fw in frameworks:
        for op, sizes in SIZES.items():
            if op not in operators:
                continue
            for n in sizes:
                if quick and n > 1000:
                    continue
                x = rng.uniform(-2, 2, n)
                t = rng.uniform(-1, 1, n)
                direct = DIRECT[fw](op, x, t)
                ours = _ours(op, fw, x, t)
                a, b = np.asarray(direct()), np.asarray(ours())  # warm up (compiles JAX)
                err = np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300)
                if not err < 1e-10:
                    raise AssertionError(f"{fw} {op} n={n}: anydiff and direct differ by {err:.2e}")
                cases.append(Case(fw, op, n, direct, ours))
    return cases


def measure(
    case: Case, repeats: int, batch_seconds: float, timer: Callable[[], float] = time.perf_counter
) -> tuple[float, float, float]:
    """Median seconds per call of (direct, anydiff), interleaved batches, and the ratio of the
    fastest batches (robust on a loaded machine, where noise only ever adds time)."""
    ta = timeit.Timer(case.direct, timer=timer)
    tb = timeit.Timer(case.ours, timer=timer)
    # Calls per batch from the slower of the two, so both batches last about batch_seconds.
    per_call = max(ta.timeit(3) / 3, tb.timeit(3) / 3)
    number = max(1, int(batch_seconds / max(per_call, 1e-9)))
    da, db = [], []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            da.append(ta.timeit(number) / number)
            db.append(tb.timeit(number) / number)
    finally:
        if gc_was:
            gc.enable()
    return statistics.median(da), statistics.median(db), min(db) / min(da)


def machine_info(frameworks: list[str]) -> list[str]:
    lines = [
        f"- Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical CPUs",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, anydiff {ad.__version__}",
    ]
    versions = []
    for name in frameworks:
        mod = importlib.import_module(name)
        versions.append(f"{name} {getattr(mod, '__version__', '?')}")
    if "autograd" in frameworks and versions:
        from importlib.metadata import version

        versions = [v if not v.startswith("autograd") else f"autograd {version('autograd')}"
                    for v in versions]
    if versions:
        lines.append("- " + ", ".join(versions) + " (all on CPU; JAX with x64 enabled)")
    try:
        import torch

        lines.append(f"- torch threads: {torch.get_num_threads()}")
    except Exception:
        pass
    return lines


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n <= 1000 and fewer repeats")
    parser.add_argument("--frameworks", default="jax,torch,autograd")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved batch pairs")
    parser.add_argument("--batch-seconds", type=float, default=None)
    parser.add_argument("--output", default=None, help="also write the markdown to this file")
    parser.add_argument("--operators", default=",".join(SIZES))
    parser.add_argument("--cpu", action="store_true",
                        help="CPU time of this process instead of wall-clock time")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    timer = time.process_time if args.cpu else time.perf_counter
    repeats = args.repeats or (7 if args.quick else 21)
    batch_seconds = args.batch_seconds or (0.02 if args.quick else 0.05)
    warnings.simplefilter("ignore")

    wanted = [s.strip() for s in args.frameworks.split(",") if s.strip()]
    frameworks, skipped = available(wanted)
    for name, why in skipped.items():
        print(f"skipping {name}: {why}", file=sys.stderr)
    if args.threads and "torch" in frameworks:
        import torch

        torch.set_num_threads(args.threads)
    operators = tuple(o.strip() for o in args.operators.split(",") if o.strip())
    cases = build_cases(frameworks, args.quick, operators)

    out = ["## Prepared anydiff calls vs the frameworks called directly", ""]
    out += machine_info(frameworks)
    clock = "CPU time of this process" if args.cpu else "wall-clock time"
    out += [f"- {repeats} interleaved batch pairs of ~{batch_seconds * 1e3:.0f} ms, median per call "
            f"({clock})",
            "", "| framework | operator | n | direct | anydiff | ratio | ratio of minima |",
            "|---|---|---:|---:|---:|---:|---:|"]
    print("\n".join(out), flush=True)
    for case in cases:
        direct, ours, min_ratio = measure(case, repeats, batch_seconds, timer)
        row = (f"| {case.framework} | {case.operator} | {case.n} | {fmt_time(direct)} | "
               f"{fmt_time(ours)} | {ours / direct:.3f} | {min_ratio:.3f} |")
        out.append(row)
        print(row, flush=True)
    if skipped:
        out += ["", "Skipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
