"""Sparse Jacobian benchmark: ``AutoSparse(b)`` prepared vs dense ``b`` prepared vs asdex.

Brusselator (vectorised, periodic 2-D, x of shape (N, N, 2), 6 non-zeros per row) at N = 6, 24, 32
(``--full`` adds 48 and 128) and the chained-Rosenbrock Hessian (n = 100, 10⁴). Per-call times are
the median of repeated calls of the prepared object; "prep" is detection + colouring + compilation.
asdex (``jax.jit(asdex.jacobian_from_coloring(...))``) is installed in a throwaway venv as in
``bench_coloring.py`` (``--no-asdex`` skips it).

Run: ``PYTHONPATH=src python benchmarks/bench_sparse_jacobian.py [--full] [--backends jax,engine]
[--record]``; ``--record`` writes the Brusselator and Rosenbrock rows into the ``"sparse"`` key of
``benchmarks/results.json`` (the other keys are left alone), which ``plot_benchmarks.py`` draws.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import anydiff as ad


def brusselator(x):
    """du = 1 + u²v - 4.4u + α Δu, dv = 3.4u - u²v + α Δv on a periodic N×N grid (Array API)."""
    xp = ad.array_namespace(x)
    n = x.shape[0]
    alpha = 10.0 * (n - 1) ** 2 / 1.0
    u, v = x[..., 0], x[..., 1]

    def lap(a):
        # Periodic neighbours by slicing (the Array API has roll, the engine's namespace does not).
        up = xp.concat([a[-1:, :], a[:-1, :]], axis=0)
        down = xp.concat([a[1:, :], a[:1, :]], axis=0)
        left = xp.concat([a[:, -1:], a[:, :-1]], axis=1)
        right = xp.concat([a[:, 1:], a[:, :1]], axis=1)
        return up + down + left + right - 4.0 * a

    du = 1.0 + u * u * v - 4.4 * u + alpha * lap(u)
    dv = 3.4 * u - u * u * v + alpha * lap(v)
    return xp.stack([du, dv], axis=-1)


def rosenbrock(x):
    xp = ad.array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _median_call(fn, *args, budget=0.3, max_calls=200):
    fn(*args)
    times = []
    t_end = time.perf_counter() + budget
    while len(times) < 3 or (time.perf_counter() < t_end and len(times) < max_calls):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _asdex_row(f, x, hessian=False):
    try:
        import asdex
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    xj = jax.numpy.asarray(x)
    if hessian:
        (cp, t_col) = _timed(lambda: asdex.hessian_coloring(f, xj))
        fn = jax.jit(asdex.hessian_from_coloring(f, cp))
    else:
        (cp, t_col) = _timed(lambda: asdex.jacobian_coloring(f, xj))
        fn = jax.jit(asdex.jacobian_from_coloring(f, cp))
    _, t_jit = _timed(lambda: jax.block_until_ready(fn(xj)))
    call = _median_call(lambda: jax.block_until_ready(fn(xj)))
    return cp.num_colors if hasattr(cp, "num_colors") else getattr(cp, "ncolors", None), t_col + t_jit, call


def main() -> None:
    full = "--full" in sys.argv
    if "--no-asdex" not in sys.argv:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from bench_coloring import _ensure_asdex

        _ensure_asdex()
    backends = ["jax", "engine", "torch", "autograd", "finitediff"]
    for a in sys.argv:
        if a.startswith("--backends="):
            backends = a.split("=", 1)[1].split(",")
    backends = [b for b in backends if ad.check_available(b)]
    sizes = [6, 24, 32] + ([48, 128] if full else [])
    print(f"{'problem':22s} {'backend':10s} | {'col':>4s} {'kind':7s} {'prep s':>8s} {'sparse ms':>10s} "
          f"{'dense ms':>9s} {'speed-up':>8s} | {'asdex col':>9s} {'asdex prep':>10s} {'asdex ms':>9s} "
          f"{'vs asdex':>8s}")
    rng = np.random.default_rng(0)
    for n in sizes:
        x0 = rng.uniform(0.5, 1.5, (n, n, 2))
        x1 = rng.uniform(0.5, 1.5, (n, n, 2))
        asd = _asdex_row(brusselator, x0)
        for b in backends:
            prep, t_prep = _timed(lambda b=b, x0=x0: ad.prepare_jacobian(brusselator, ad.AutoSparse(b), x0))
            sparse_ms = 1e3 * _median_call(prep, x1)
            dense_ms = float("nan")
            if n <= 32 and not (b in ("finitediff", "autograd", "torch", "engine") and n > 24):
                dprep = ad.prepare_jacobian(brusselator, b, x0)
                dense_ms = 1e3 * _median_call(dprep, x1, budget=0.5, max_calls=20)
            _print(f"brusselator N={n}", b, prep, t_prep, sparse_ms, dense_ms, asd if b == "jax" else None)
    for n in (100, 10**4):
        x0 = rng.uniform(-1, 1, n)
        x1 = rng.uniform(-1, 1, n)
        asd = _asdex_row(rosenbrock, x0, hessian=True)
        for b in backends:
            if b == "finitediff":
                b = ad.SecondOrder("finitediff", "finitediff")
            prep, t_prep = _timed(lambda b=b, x0=x0: ad.prepare_hessian(rosenbrock, ad.AutoSparse(b), x0))
            sparse_ms = 1e3 * _median_call(prep, x1)
            dense_ms = float("nan")
            if n <= 100:
                dprep = ad.prepare_hessian(rosenbrock, b, x0)
                dense_ms = 1e3 * _median_call(dprep, x1, budget=0.5, max_calls=20)
            name = b if isinstance(b, str) else "fd(fd)"
            _print(f"rosenbrock H n={n}", name, prep, t_prep, sparse_ms, dense_ms,
                   asd if b == "jax" else None)
    if "--record" in sys.argv:
        _record(ROWS)


ROWS: list[list] = []  # [problem, N or n, backend, ncolors, kind, prep_s, sparse_ms, dense_ms, asdex_ms]
COLUMNS = ["problem", "N", "backend", "ncolors", "kind", "prep_s", "sparse_ms", "dense_ms", "asdex_ms"]


def _record(rows: list[list]) -> None:
    """Write ``rows`` as the ``"sparse"`` key of results.json, leaving the other keys' text as it
    is (the key is kept last in the file, so a new record replaces the old one textually)."""
    import json

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    before = json.loads(text)
    at = text.find('\n  "sparse": ')
    head = text[:at].rstrip().rstrip(",") if at >= 0 else text.rstrip()[:-1].rstrip()
    about = ("bench_sparse_jacobian.py on the shared 2-core VM (loaded by other jobs), "
             f"{time.strftime('%Y-%m-%d')}; times in ms per prepared call (median), prep in s.")
    body = ",\n".join("      " + json.dumps(r) for r in rows)
    entry = (f'{{\n    "about": {json.dumps(about)},\n    "columns": {json.dumps(COLUMNS)},\n'
             f'    "rows": [\n{body}\n    ]\n  }}')
    text = f'{head},\n  "sparse": {entry}\n}}\n'
    after = json.loads(text)
    after.pop("sparse")
    before.pop("sparse", None)
    if after != before:
        raise RuntimeError("results.json: recording the sparse key would change other keys")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"recorded {len(rows)} rows in {path} (key 'sparse')")


def _print(problem, b, prep, t_prep, sparse_ms, dense_ms, asd):
    kind, size = problem.split(" ")[0], int(problem.rsplit("=", 1)[1])
    nan = lambda v: None if v != v else round(v, 4)  # noqa: E731
    ROWS.append([kind, size, b, prep.ncolors, prep.coloring, round(t_prep, 4), nan(sparse_ms),
                 nan(dense_ms), None if asd is None else round(1e3 * asd[2], 4)])
    speed = dense_ms / sparse_ms if dense_ms == dense_ms else float("nan")
    if asd is not None:
        a_col, a_prep, a_call = asd
        tail = f"{a_col!s:>9s} {a_prep:10.3f} {1e3 * a_call:9.3f} {sparse_ms / (1e3 * a_call):8.2f}"
    else:
        tail = f"{'':>9s} {'':>10s} {'':>9s} {'':>8s}"
    print(f"{problem:22s} {b:10s} | {prep.ncolors:4d} {prep.coloring:7s} {t_prep:8.3f} {sparse_ms:10.3f} "
          f"{dense_ms:9.3f} {speed:8.1f} | {tail}", flush=True)


if __name__ == "__main__":
    main()
