"""Finite differences: time and accuracy of anydiff's stencils and Richardson extrapolation
against numdifftools and ``scipy.differentiate.jacobian``.

Problems (float64, analytic references):

* Jacobian of a smooth 100 -> 100 map ``y = sin(A x) * exp(0.1 x)``;
* gradient of a smooth 10^4-dimensional ``f(x) = sum(sin(x) x^2) + sum(log1p(x^2))``.

numdifftools is optional: install it in a throwaway environment (never in the project's), e.g.
``python -m venv --system-site-packages /tmp/ndt && /tmp/ndt/bin/pip install numdifftools`` and
run this script with ``/tmp/ndt/bin/python``; without it its rows are skipped with a note.

Run: ``python benchmarks/bench_finitediff.py [--repeat 3] [--n-grad 10000]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import anydiff as ad

RNG = np.random.default_rng(0)
N_JAC = 100
A = RNG.standard_normal((N_JAC, N_JAC)) / np.sqrt(N_JAC)


def jac_f(x: np.ndarray) -> np.ndarray:
    """(n,) -> (n,); also vectorised over trailing axes (scipy.differentiate needs that)."""
    return np.sin(np.tensordot(A, x, axes=1)) * np.exp(0.1 * x)


def jac_exact(x: np.ndarray) -> np.ndarray:
    u = A @ x
    return np.cos(u)[:, None] * A * np.exp(0.1 * x)[:, None] + np.diag(np.sin(u) * 0.1 * np.exp(0.1 * x))


def grad_f(x: np.ndarray) -> np.ndarray:
    return np.sum(np.sin(x) * x ** 2) + np.sum(np.log1p(x ** 2))


def grad_exact(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * x ** 2 + 2 * x * np.sin(x) + 2 * x / (1 + x ** 2)


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a).reshape(ref.shape) - ref)) / np.max(np.abs(ref)))


def anydiff_rows(op: str, f: Callable, x: np.ndarray) -> list[tuple[str, Callable]]:
    rows = []
    for label, b in [("anydiff central order 2", ad.AutoFiniteDiff()),
                     ("anydiff central order 4", ad.AutoFiniteDiff(order=4)),
                     ("anydiff central order 6", ad.AutoFiniteDiff(order=6)),
                     ("anydiff richardson", ad.AutoFiniteDiff(method="richardson"))]:
        prep = getattr(ad, f"prepare_{op}")(f, b, x)
        rows.append((label, lambda prep=prep: prep(x)))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--n-grad", type=int, default=10_000)
    p.add_argument("--skip-slow", action="store_true", help="skip numdifftools' gradient")
    args = p.parse_args()
    try:
        import numdifftools as nd
    except ImportError:
        nd = None
        print("note: numdifftools is not installed; its rows are skipped (see the docstring).")
    try:
        from scipy.differentiate import jacobian as sp_jacobian
    except ImportError:
        sp_jacobian = None
        print("note: scipy.differentiate (SciPy >= 1.15) is missing; its rows are skipped.")

    print("| problem | method | time (s) | rel. error vs analytic |\n|---|---|---|---|")
    x = RNG.uniform(-1, 1, N_JAC)
    ref = jac_exact(x)
    rows = anydiff_rows("jacobian", jac_f, x)
    if nd is not None:
        rows.append(("numdifftools Jacobian (default)", lambda: nd.Jacobian(jac_f)(x)))
    if sp_jacobian is not None:
        rows.append(("scipy.differentiate.jacobian", lambda: sp_jacobian(jac_f, x).df))
    for label, fn in rows:
        t, J = timed(fn, args.repeat)
        print(f"| Jacobian 100->100 | {label} | {t:.4f} | {rel_err(J, ref):.1e} |")

    n = args.n_grad
    x = RNG.uniform(-1, 1, n)
    ref = grad_exact(x)
    rows = anydiff_rows("gradient", grad_f, x)
    if nd is not None and not args.skip_slow:
        rows.append(("numdifftools Gradient (default)", lambda: nd.Gradient(grad_f)(x)))
    for label, fn in rows:
        t, g = timed(fn, 1 if n > 1000 else args.repeat)
        print(f"| gradient 10^{int(np.log10(n))} -> 1 | {label} | {t:.3f} | {rel_err(g, ref):.1e} |")
    if sp_jacobian is not None:
        print(f"note: scipy.differentiate.jacobian skipped for the {n}-d gradient: it evaluates f "
              f"on an ({n}, {n}, k) array of abscissae ({8 * n * n / 1e9:.1f} GB per k).")


if __name__ == "__main__":
    main()
