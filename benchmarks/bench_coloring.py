"""Colouring benchmark: anydiff's greedy colourings vs asdex's greedy largest-first.

Patterns: the 2-D periodic Brusselator Jacobian (N = 32, 128; 2·N² unknowns, 6 non-zeros per row)
and the chained-Rosenbrock Hessian (n = 10⁴, tridiagonal), plus a 10⁶-column banded Jacobian for
scale. Prints colours and colouring times for anydiff (largest_first, and "best" over all orders)
and asdex, and their ratios.

asdex is not a dependency of anydiff: when it is not importable, this script re-runs itself in a
throwaway virtual environment (``--system-site-packages``, ``pip install asdex``) under
``$ANYDIFF_ASDEX_VENV`` (default ``/tmp/anydiff-asdex-venv``). If that fails, it prints a note and
compares with asdex's known 8 colours at N = 32.

Run: ``PYTHONPATH=src python benchmarks/bench_coloring.py [--quick]``
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

from anydiff.sparse._coloring import GreedyColoring

KNOWN_ASDEX = {("brusselator", 32, "column"): 8}


def brusselator_pattern(n: int) -> sp.csr_array:
    """Jacobian pattern of the periodic 2-D Brusselator with x laid out as (N, N, 2) (u, v interleaved).

    Row (i, j, s) depends on (i, j, u), (i, j, v) and the 4 periodic neighbours of species s.
    """
    idx = np.arange(n * n * 2).reshape(n, n, 2)
    rows, cols = [], []
    for s in (0, 1):
        r = idx[:, :, s]
        for target in (idx[:, :, 0], idx[:, :, 1], np.roll(idx[:, :, s], 1, 0), np.roll(idx[:, :, s], -1, 0),
                       np.roll(idx[:, :, s], 1, 1), np.roll(idx[:, :, s], -1, 1)):
            rows.append(r.ravel())
            cols.append(target.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    size = 2 * n * n
    return sp.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(size, size))


def rosenbrock_hessian_pattern(n: int) -> sp.csr_array:
    """Chained Rosenbrock Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²: a tridiagonal Hessian."""
    offs = [-1, 0, 1]
    return sp.csr_array(sp.diags_array([np.ones(n - abs(k)) for k in offs], offsets=offs, shape=(n, n)) != 0)


def banded_pattern(n: int) -> sp.csr_array:
    offs = [-1, 0, 1]
    return sp.csr_array(sp.diags_array([np.ones(n - abs(k)) for k in offs], offsets=offs, shape=(n, n)) != 0)


def _timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def _asdex_colors(asdex, pattern: sp.csr_array, kind: str):
    coo = pattern.tocoo()
    sparsity = asdex.SparsityPattern.from_coo(coo.row.astype(np.int32), coo.col.astype(np.int32),
                                             tuple(pattern.shape))
    fn = {"column": asdex.color_cols, "row": asdex.color_rows, "star": asdex.color_symmetric}[kind]
    fn(sparsity)  # numba compilation outside the timing
    out, t = _timed(lambda: fn(sparsity))
    return int(out[1]), t


def _ensure_asdex():
    try:
        import asdex  # noqa: F401

        return asdex
    except ImportError:
        pass
    if os.environ.get("ANYDIFF_ASDEX_CHILD"):
        return None
    venv = os.environ.get("ANYDIFF_ASDEX_VENV", "/tmp/anydiff-asdex-venv")
    py = os.path.join(venv, "bin", "python")
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
        if subprocess.run([py, "-c", "import asdex"], capture_output=True).returncode:
            subprocess.run([py, "-m", "pip", "install", "-q", "asdex"], check=True, timeout=600)
    except Exception as exc:  # noqa: BLE001 - any failure: fall back to the known numbers
        print(f"note: could not install asdex ({exc}); comparing with the known 8 colours at N = 32")
        return None
    # The child sees this interpreter's packages (anydiff's dependencies) first, then the venv's asdex.
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env = dict(os.environ, ANYDIFF_ASDEX_CHILD="1", PYTHONPATH=os.pathsep.join(paths))
    sys.exit(subprocess.run([py, *sys.argv], env=env).returncode)


def main() -> None:
    quick = "--quick" in sys.argv
    asdex = _ensure_asdex()
    cases = [("brusselator", 32, brusselator_pattern(32), "column"),
             ("brusselator", 32, brusselator_pattern(32), "row"),
             ("brusselator", 128, brusselator_pattern(128), "column"),
             ("rosenbrock-hessian", 10**4, rosenbrock_hessian_pattern(10**4), "star")]
    if not quick:
        cases.append(("banded", 10**6, banded_pattern(10**6), "column"))
    header = f"{'pattern':20s} {'size':>8s} {'kind':6s} | {'LF col':>6s} {'LF ms':>9s} | {'best col':>8s} " \
             f"{'best ms':>9s} | {'asdex col':>9s} {'asdex ms':>9s} | {'col ratio':>9s} {'time ratio':>10s}"
    print(header)
    print("-" * len(header))
    for name, size, pattern, kind in cases:
        symmetric = kind == "star"
        repeat = 1 if pattern.shape[0] > 10**5 else 3
        part = "column" if symmetric else kind
        lf, t_lf = _timed(lambda p=pattern, s=symmetric, k=part: GreedyColoring().color(p, k, s), repeat)
        if pattern.shape[0] > 10**5:
            best, t_best = lf, float("nan")
        else:
            best, t_best = _timed(
                lambda p=pattern, s=symmetric, k=part: GreedyColoring(order="best").color(p, k, s), 1)
        if asdex is not None:
            a_col, a_t = _asdex_colors(asdex, pattern, kind)
        else:
            a_col, a_t = KNOWN_ASDEX.get((name, size, kind)), float("nan")
        ratio = f"{best.ncolors / a_col:9.2f}" if a_col else f"{'n/a':>9s}"
        tratio = f"{t_lf / a_t:10.1f}" if a_col and a_t == a_t else f"{'n/a':>10s}"
        print(f"{name:20s} {size:8d} {kind:6s} | {lf.ncolors:6d} {1e3 * t_lf:9.2f} | {best.ncolors:8d} "
              f"{1e3 * t_best:9.2f} | {a_col if a_col else 'n/a':>9} {1e3 * a_t:9.2f} | {ratio} {tratio}")
    print("col ratio = anydiff best colours / asdex colours; time ratio = anydiff largest_first / asdex time")


if __name__ == "__main__":
    main()
