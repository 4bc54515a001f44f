"""Optimizer benchmark: ``anydiff.optimize`` against SciPy fed hand-written derivatives.

1. L-BFGS-B on the chained Rosenbrock function (n = 10⁴) and on the logistic regression
   (n = 500 observations, k = 3): total wall time of one ``minimize`` call (preparation
   included) and f-evaluations for ``anydiff.optimize.minimize`` on each backend, SciPy with
   an analytic value-and-gradient (``jac=True``), and SciPy with 2-point finite differences
   (Rosenbrock at n = 200 only: each finite-difference gradient costs n evaluations of f).
   Preparation (tracing, compiling) is timed apart too, as one ``prepare_gradient``.
2. Sparse least squares on the Brusselator steady state (N = 32, 2048 unknowns):
   ``AutoSparse(backend)`` against the dense Jacobian of the same backend.

Runs are interleaved (one run of every variant, in an order rotated each repeat, then the next
repeat); the tables give the median and the minimum wall time and the median CPU time, so a
machine whose load changes affects every variant alike.

Run: ``PYTHONPATH=src python benchmarks/bench_optimize.py [--repeats 5] [--backends engine,jax]
[--no-dense]``
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy.optimize
from scipy.special import expit

import anydiff as ad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from brusselator_least_squares import brusselator, start  # noqa: E402
from logistic_regression import simulate  # noqa: E402

OPTIONS = {"maxiter": 15000, "maxfun": 30000}
# The chained Rosenbrock function needs about n / 2 L-BFGS-B iterations from the classic start
# (the correction travels along the chain): at n = 10⁴ every variant runs a fixed budget of
# iterations instead, stopped by maxiter, which compares the same work.
BUDGET = {"maxiter": 500, "maxfun": 30000}


def rosenbrock(x):
    xp = ad.array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_vg(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The hand-written value and gradient."""
    d = x[1:] - x[:-1] ** 2
    e = 1.0 - x[:-1]
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * e
    g[1:] += 200.0 * d
    return float(np.sum(100.0 * d * d + e * e)), g


def neg_loglik(beta, x, y):
    xp = ad.array_namespace(beta)
    z = x @ beta
    return xp.sum(xp.log1p(xp.exp(z)) - y * z)


def neg_loglik_vg(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    z = x @ beta
    return float(np.sum(np.logaddexp(0.0, z) - y * z)), x.T @ (expit(z) - y)


def jax_by_hand(f: Callable, *consts: np.ndarray) -> Callable:
    """What a JAX user writes for SciPy without anydiff: jit(value_and_grad) in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    vg = jax.jit(jax.value_and_grad(f))
    cj = [jax.numpy.asarray(c) for c in consts]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = vg(x, *cj)
        return float(v), np.asarray(g)

    return fun


def rosen_x0(n: int) -> np.ndarray:
    x0 = np.ones(n)
    x0[::2] = -1.2
    return x0


def _time(fn: Callable) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result), with the garbage collector off as in
    timeit: with JAX loaded, a full collection walks its large object graph (tens of ms), which
    would land on whichever variant happens to allocate when it triggers."""
    gc.collect()
    gc.disable()
    try:
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        return time.perf_counter() - t, time.process_time() - c, out
    finally:
        gc.enable()


def _fmt(s: float) -> str:
    return f"{s * 1e6:.0f} µs" if s < 1e-3 else f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def prepare_objective(f: Callable, x0: np.ndarray, backend: str, *contexts) -> Callable:
    """What minimize does before SciPy's first iteration: the prepared value-and-gradient and
    its first call (JAX compiles the value form then)."""
    from anydiff.optimize._flat import FlatProblem
    from anydiff.optimize._objective import Objective

    def run():
        obj = Objective(f, FlatProblem(x0), backend, contexts)
        obj.fun(x0)
        return obj

    return run


def run_problem(title: str, variants: dict[str, Callable], prep: dict[str, Callable], repeats: int,
                ref: str) -> list[tuple]:
    """Interleaved repeats of whole runs; prints the median and the minimum wall time, the median
    CPU time and their ratios to ``ref``, iterations, f-evaluations and preparation times."""
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    results: dict[str, object] = {}
    names = list(variants)
    for r in range(repeats):
        # Rotate the order each repeat: no variant always runs first (cold caches after the
        # previous variant's run) or last.
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn = variants[name]
            w, c, res = _time(fn)
            wall[name].append(w)
            cpu[name].append(c)
            results[name] = res
    prep_t = {k: float(np.median([_time(p)[0] for _ in range(3)])) for k, p in prep.items()}
    med = {k: float(np.median(v)) for k, v in wall.items()}
    low = {k: float(np.min(v)) for k, v in wall.items()}
    cmed = {k: float(np.median(v)) for k, v in cpu.items()}
    print(f"\n{title}", flush=True)
    print("| variant | wall, median | ratio | wall, min | ratio | CPU, median | ratio | nit | nfev "
          "| preparation |\n|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in variants:
        res = results[name]
        p = prep_t.get(name)
        print(f"| {name} | {_fmt(med[name])} | {med[name] / med[ref]:.2f} | {_fmt(low[name])} | "
              f"{low[name] / low[ref]:.2f} | {_fmt(cmed[name])} | {cmed[name] / cmed[ref]:.2f} | "
              f"{res.nit} | {res.nfev} | {_fmt(p) if p is not None else '-'} |", flush=True)
        rows.append((name, med[name], low[name], cmed[name], res.nit, res.nfev, p))
    return rows


def per_evaluation(backends: list[str], n: int) -> None:
    """Median time of one point's value and gradient (SciPy's fun(x) then jac(x)) at fresh points:
    the hand-written function against minimize's cached prepared value_and_gradient."""
    from anydiff.optimize._flat import FlatProblem
    from anydiff.optimize._objective import Objective

    x0 = rosen_x0(n)
    points = [x0 + 1e-6 * i for i in range(2000)]

    def med(fn: Callable) -> float:
        it = iter(points)
        fn(next(it))
        ts = []
        for x in it:
            t = time.perf_counter()
            fn(x)
            ts.append(time.perf_counter() - t)
        return float(np.median(ts))

    ref = med(rosenbrock_vg)
    line = f"| {n} | {_fmt(ref)} |"
    for b in backends:
        obj = Objective(rosenbrock, FlatProblem(x0), b, ())
        t = med(lambda x, obj=obj: (obj.fun(x), obj.jac(x)))
        line += f" {_fmt(t)} ({t / ref:.1f}×) |"
    print(line, flush=True)


def lbfgs_rosenbrock(backends: list[str], repeats: int, n: int = 10_000, n_fd: int = 200) -> None:
    x0 = rosen_x0(n)
    variants: dict[str, Callable] = {
        "scipy, analytic gradient": lambda: scipy.optimize.minimize(
            rosenbrock_vg, x0, jac=True, method="L-BFGS-B", options=BUDGET),
    }
    if "jax" in backends:
        variants["scipy, jax.jit(value_and_grad) by hand"] = lambda: scipy.optimize.minimize(
            jax_by_hand(rosenbrock), x0, jac=True, method="L-BFGS-B", options=BUDGET)
    prep = {}
    for b in backends:
        variants[f"anydiff.optimize, {b}"] = lambda b=b: ad.optimize.minimize(
            rosenbrock, x0, b, method="L-BFGS-B", options=BUDGET)
        prep[f"anydiff.optimize, {b}"] = prepare_objective(rosenbrock, x0, b)
    run_problem(f"L-BFGS-B, chained Rosenbrock, n = {n}, {BUDGET['maxiter']} iterations", variants,
                prep, repeats, "scipy, analytic gradient")
    x0 = rosen_x0(n_fd)
    fd = {
        "scipy, analytic gradient": lambda: scipy.optimize.minimize(
            rosenbrock_vg, x0, jac=True, method="L-BFGS-B", options=OPTIONS),
        "scipy, 2-point finite differences": lambda: scipy.optimize.minimize(
            lambda x: float(rosenbrock(x)), x0, method="L-BFGS-B", options=OPTIONS),
    }
    prep = {}
    for b in backends:
        fd[f"anydiff.optimize, {b}"] = lambda b=b: ad.optimize.minimize(
            rosenbrock, x0, b, method="L-BFGS-B", options=OPTIONS)
        prep[f"anydiff.optimize, {b}"] = prepare_objective(rosenbrock, x0, b)
    run_problem(f"L-BFGS-B, chained Rosenbrock, n = {n_fd} (finite differences)", fd, prep, repeats,
                "scipy, analytic gradient")


def lbfgs_logistic(backends: list[str], repeats: int) -> None:
    x, y, _ = simulate()
    y = y.astype(np.float64)
    x0 = np.zeros(3)
    variants: dict[str, Callable] = {
        "scipy, analytic gradient": lambda: scipy.optimize.minimize(
            neg_loglik_vg, x0, args=(x, y), jac=True, method="L-BFGS-B"),
        "scipy, 2-point finite differences": lambda: scipy.optimize.minimize(
            lambda b: neg_loglik_vg(b, x, y)[0], x0, method="L-BFGS-B"),
    }
    if "jax" in backends:
        variants["scipy, jax.jit(value_and_grad) by hand"] = lambda: scipy.optimize.minimize(
            jax_by_hand(neg_loglik, x, y), x0, jac=True, method="L-BFGS-B")
    prep = {}
    cx, cy = ad.Constant(x), ad.Constant(y)
    for b in backends:
        variants[f"anydiff.optimize, {b}"] = lambda b=b: ad.optimize.minimize(
            neg_loglik, x0, b, cx, cy, method="L-BFGS-B")
        prep[f"anydiff.optimize, {b}"] = prepare_objective(neg_loglik, x0, b, cx, cy)
    run_problem("L-BFGS-B, logistic regression, n = 500, k = 3", variants, prep, repeats,
                "scipy, analytic gradient")


def sparse_least_squares(backends: list[str], repeats: int, dense: bool) -> None:
    x0 = start(32)
    kw = {"xtol": 1e-12, "ftol": 1e-12, "tr_options": {"atol": 1e-12, "btol": 1e-12}}
    variants: dict[str, Callable] = {}
    for b in backends:
        variants[f"AutoSparse({b}), lsmr"] = lambda b=b: ad.optimize.least_squares(
            brusselator, x0, ad.AutoSparse(b), **kw)
    if dense:
        for b in backends:
            variants[f"dense {b}, exact"] = lambda b=b: ad.optimize.least_squares(
                brusselator, x0, b, xtol=1e-12, ftol=1e-12)
    times: dict[str, list[float]] = {k: [] for k in variants}
    results = {}
    for r in range(repeats):
        for name, fn in variants.items():
            if name.startswith("dense") and r > 0:
                continue  # seconds per Jacobian: one run is enough to see the gap
            t, _, res = _time(fn)
            times[name].append(t)
            results[name] = res
    ref = next(iter(variants))
    print("\nSparse least squares, Brusselator steady state, N = 32 (2048 unknowns)")
    print(f"{'variant':<26} {'total':>10} {'x ref':>7} {'nfev':>6} {'njev':>6} {'max |u - 1|':>12}")
    for name in variants:
        res = results[name]
        t = float(np.median(times[name]))
        err = float(np.max(np.abs(res.x[..., 0] - 1.0)))
        print(f"{name:<26} {_fmt(t):>10} {t / np.median(times[ref]):>7.2f} {res.nfev:>6} {res.njev:>6} "
              f"{err:>12.1e}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--backends", default="engine,jax")
    p.add_argument("--no-dense", action="store_true")
    p.add_argument("--only", default="evals,rosenbrock,logistic,lsq")
    a = p.parse_args()
    backends = [b for b in a.backends.split(",") if ad.check_available(b)]
    only = a.only.split(",")
    print(f"backends: {backends}; {a.repeats} interleaved repeats, medians")
    if "evals" in only:
        print("\nOne point's value and gradient (median over 2000 fresh points)")
        print("| n | hand-written | " + " | ".join(f"anydiff, {b}" for b in backends) + " |")
        print("|---|---|" + "---|" * len(backends))
        for n in (200, 10_000):
            per_evaluation(backends, n)
    if "rosenbrock" in only:
        lbfgs_rosenbrock(backends, a.repeats)
    if "logistic" in only:
        lbfgs_logistic(backends, a.repeats)
    if "lsq" in only:
        sparse_least_squares(backends, max(1, a.repeats // 2), not a.no_dense)


if __name__ == "__main__":
    main()
