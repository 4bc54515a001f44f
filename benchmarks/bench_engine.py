"""Benchmark: prepared anydiff.engine tapes against HIPS autograd on three functions.

Run ``python benchmarks/bench_engine.py`` (``--quick`` for fewer repeats).  For each function
it times, in one process and side by side:

* ``f``: the plain NumPy function,
* ``engine``: ``tape.value_and_grad(x, *args)`` on a tape recorded once (replayed each call),
* ``autograd vg`` / ``autograd g``: ``autograd.value_and_grad`` / ``autograd.grad``,

reporting the median time per call over several ``timeit`` repeats, the speed-up over
autograd, and the ratio (value and gradient) / f.  BLAS is pinned to one thread by default
(``--threads`` changes it) so that timings are stable on shared machines; both systems use
the same BLAS either way.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats (a rough check)")
    p.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    p.add_argument("--plain-only", action="store_true", help="only the plain NumPy/SciPy table")
    p.add_argument("--buffers", action="store_true", help="only the buffer-loop scaling table (n = 1e3, 1e4)")
    return p.parse_args()


ARGS = _parse() if __name__ == "__main__" else argparse.Namespace(quick=True, threads="1")
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, ARGS.threads)

import statistics  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from anydiff import engine as E  # noqa: E402

# ---------------------------------------------------------------------------- functions
# each is written once against a module ``m`` (numpy, or autograd.numpy for the reference)


def logistic(m: Any, b: Any, X: Any, y: Any, lse: Any = None) -> Any:
    p = 1 / (1 + m.exp(-X @ b))
    return m.sum(m.log(m.where(y, p, 1 - p)))


MLP_SIZES = [784, 256, 256, 10]
MLP_SHAPES = list(zip(MLP_SIZES[:-1], MLP_SIZES[1:]))


def mlp(m: Any, w: Any, X: Any, Y: Any, lse: Any) -> Any:
    i = 0
    h = X
    for k, (a, b) in enumerate(MLP_SHAPES):
        W = w[i : i + a * b].reshape(a, b)
        i += a * b
        c = w[i : i + b]
        i += b
        h = h @ W + c
        if k < len(MLP_SHAPES) - 1:
            h = m.tanh(h)
    return -m.sum(Y * (h - lse(h, axis=1, keepdims=True))) / X.shape[0]


def mlp_by_hand(w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """The MLP's value and gradient written by hand in NumPy (the floor for the engine)."""
    Ws, i = [], 0
    for a, b in MLP_SHAPES:
        Ws.append((w[i : i + a * b].reshape(a, b), w[i + a * b : i + a * b + b]))
        i += a * b + b
    hs = [X]
    for k, (W, c) in enumerate(Ws):
        h = hs[-1] @ W
        h += c
        if k < len(Ws) - 1:
            np.tanh(h, out=h)
        hs.append(h)
    h = hs.pop()
    m = h.max(axis=1, keepdims=True)
    e = np.exp(h - m)
    s = e.sum(axis=1, keepdims=True)
    n = X.shape[0]
    v = -np.sum(Y * (h - (np.log(s) + m))) / n
    G = (e / s * Y.sum(axis=1, keepdims=True) - Y) / n
    g = np.empty_like(w)
    i = len(w)
    for k in range(len(Ws) - 1, -1, -1):
        W, c = Ws[k]
        a, b = W.shape
        i -= a * b + b
        np.matmul(hs[k].T, G, out=g[i : i + a * b].reshape(a, b))
        np.sum(G, axis=0, out=g[i + a * b : i + a * b + b])
        if k:
            G = G @ W.T
            G *= 1 - hs[k] * hs[k]
    return v, g


def mlp_products(w: np.ndarray, X: np.ndarray, Y: np.ndarray) -> Callable[[], None]:
    """The MLP's matrix products alone (3 forward, 5 backward), into preallocated outputs."""
    Ws, i = [], 0
    for a, b in MLP_SHAPES:
        Ws.append(w[i : i + a * b].reshape(a, b))
        i += a * b + b
    hs = [X] + [np.tanh(np.ones((X.shape[0], b)) * 0.1) for _, b in MLP_SHAPES[:-1]]
    Gs = [np.ones((X.shape[0], b)) for _, b in MLP_SHAPES]
    outs = [np.empty((X.shape[0], W.shape[1])) for W in Ws] + [np.empty(W.shape) for W in Ws]
    dhs = [np.empty((X.shape[0], W.shape[0])) for W in Ws]

    def run() -> None:
        for k, W in enumerate(Ws):
            np.matmul(hs[k], W, out=outs[k])
            np.matmul(hs[k].T, Gs[k], out=outs[len(Ws) + k])
            if k:
                np.matmul(Gs[k], W.T, out=dhs[k])

    return run


def rosenbrock(m: Any, x: Any, lse: Any = None) -> Any:
    return m.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def problems() -> list[tuple[str, Callable, np.ndarray, tuple]]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 3))
    y = rng.random(500) > 0.5
    n_w = sum(a * b + b for a, b in MLP_SHAPES)
    Xm = rng.standard_normal((128, 784))
    Ym = np.eye(10)[rng.integers(0, 10, 128)]
    return [
        ("logistic log-likelihood (n=500, k=3)", logistic, rng.standard_normal(3), (X, y)),
        (
            "MLP 784-256-256-10, batch 128 (tanh, softmax CE)",
            mlp,
            rng.standard_normal(n_w) * 0.05,
            (Xm, Ym),
        ),
        ("chained Rosenbrock (n=10000)", rosenbrock, rng.standard_normal(10000), ()),
    ]


# ---------------------------------------------------------------------------- timing


def median_time(fn: Callable[[], Any], quick: bool) -> float:
    """Median seconds per call over ``repeat`` timeit runs of ``number`` calls each."""
    for _ in range(20):  # warm up caches and the allocator before measuring
        fn()
    t = timeit.Timer(fn)
    number, _ = t.autorange()  # calls per run so that one run takes >= 0.2 s
    number = max(1, number // (4 if quick else 1))
    runs = t.repeat(repeat=3 if quick else 7, number=number)
    return statistics.median(runs) / number


def fmt(t: float) -> str:
    return f"{t * 1e6:,.0f} µs" if t < 1e-2 else f"{t * 1e3:,.2f} ms"


def measure(fun: Callable, x: np.ndarray, args: tuple) -> tuple[float, ...]:
    """Median seconds per call of f, engine tape, autograd value_and_grad and grad."""
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp as ag_lse

    def f_np(z: Any, *a: Any) -> Any:
        return fun(np, z, *a, lse=E.special.logsumexp)

    def f_ag(z: Any) -> Any:
        return fun(anp, z, *args, lse=ag_lse)

    tape = E.record(f_np, x, *args)
    assert tape.replayable, tape
    ag_vg = autograd.value_and_grad(f_ag)
    ag_g = autograd.grad(f_ag)
    x2 = x + 0.01  # time at a point other than the recorded one: a real replay
    v, g = tape.value_and_grad(x2, *args)
    v_ref, g_ref = ag_vg(x2)
    np.testing.assert_allclose(v, v_ref, rtol=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12)
    return (
        median_time(lambda: f_np(x2, *args), ARGS.quick),
        median_time(lambda: tape.value_and_grad(x2, *args), ARGS.quick),
        median_time(lambda: ag_vg(x2), ARGS.quick),
        median_time(lambda: ag_g(x2), ARGS.quick),
    )


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each function, per round: the functions take turns in batches of
    ~25 ms (order reversed every other round), so a change of machine load hits all alike."""
    batch = {}
    for k, fn in fns.items():
        for _ in range(5):
            fn()
        t0 = time.perf_counter()
        fn()
        batch[k] = max(1, int(0.025 / (time.perf_counter() - t0)))
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(rounds):
        for k in list(fns) if r % 2 == 0 else list(fns)[::-1]:
            fn, n = fns[k], batch[k]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times[k].append((time.perf_counter() - t0) / n)
    return times


def floor_rows() -> dict[str, float]:
    """The MLP's engine tape, autograd vg, hand-written vg and products alone, interleaved:
    the median over rounds of each per-round ratio."""
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp as ag_lse

    _, fun, x, args = problems()[1]
    x2 = x + 0.01
    tape = E.record(lambda z, *a: fun(np, z, *a, lse=E.special.logsumexp), x, *args)
    v, g = mlp_by_hand(x2, *args)
    v_ref, g_ref = tape.value_and_grad(x2, *args)
    np.testing.assert_allclose(v, v_ref, rtol=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12)
    ag_vg = autograd.value_and_grad(lambda z: fun(anp, z, *args, lse=ag_lse))
    t = interleaved(
        {
            "engine": lambda: tape.value_and_grad(x2, *args),
            "autograd": lambda: ag_vg(x2),
            "hand": lambda: mlp_by_hand(x2, *args),
            "products": mlp_products(x2, *args),
        },
        rounds=5 if ARGS.quick else 11,
    )

    def ratio(a: str, b: str) -> float:
        return statistics.median(p / q for p, q in zip(t[a], t[b]))

    out = {k: statistics.median(v) for k, v in t.items()}
    out.update(
        engine_hand=ratio("engine", "hand"),
        ag_engine=ratio("autograd", "engine"),
        ag_hand=ratio("autograd", "hand"),
        ag_products=ratio("autograd", "products"),
    )
    return out


def print_floor(r: dict[str, float]) -> None:
    print(
        "\nMLP against its floor, interleaved in rounds (median of per-round ratios): "
        f"engine {fmt(r['engine'])}, autograd vg {fmt(r['autograd'])}, hand-written NumPy value and "
        f"gradient {fmt(r['hand'])}, its 8 matrix products alone {fmt(r['products'])}; autograd / engine "
        f"{r['ag_engine']:.2f}, engine / hand {r['engine_hand']:.2f}, autograd / hand {r['ag_hand']:.2f}, "
        f"autograd / products {r['ag_products']:.2f} (the most any engine can reach)"
    )


# ---------------------------------------------------------------------------- plain NumPy / SciPy
# Code as users write it: a buffer filled in a loop, SciPy called directly.  autograd
# cannot run the buffer version, so its reference is the same function rewritten with stack.


def loop_buffer(x: Any) -> Any:
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] += x[i] * i
    return np.sum(np.sin(y))


def loop_stacked(x: Any) -> Any:
    import autograd.numpy as anp

    return anp.sum(anp.sin(anp.stack([x[i] * i for i in range(len(x))])))


def scipy_lse(x: Any) -> Any:
    import scipy.special

    return scipy.special.logsumexp(x)


def ag_lse(x: Any) -> Any:
    from autograd.scipy.special import logsumexp

    return logsumexp(x)


def scipy_norm(x: Any) -> Any:
    import scipy.stats

    return np.sum(scipy.stats.norm.logpdf(x, 0.5, 2.0))


def ag_norm(x: Any) -> Any:
    import autograd.numpy as anp
    from autograd.scipy.stats import norm

    return anp.sum(norm.logpdf(x, 0.5, 2.0))


def plain_rows() -> list[tuple[str, float, float, float, float]]:
    """(name, f, engine unprepared vg, engine tape vg, autograd vg) per plain-code function."""
    import autograd

    rng = np.random.default_rng(1)
    cases = [
        ("loop with np.zeros buffer (n=1000; autograd: np.stack rewrite)", loop_buffer, loop_stacked, 1000),
        ("scipy.special.logsumexp (n=100000)", scipy_lse, ag_lse, 100_000),
        ("sum(scipy.stats.norm.logpdf) (n=100000)", scipy_norm, ag_norm, 100_000),
    ]
    rows = []
    for name, f, f_ag, n in cases:
        x = rng.standard_normal(n)
        tape = E.record(f, x)
        assert tape.replayable, tape
        ag_vg = autograd.value_and_grad(f_ag)
        x2 = x + 0.01
        v, g = tape.value_and_grad(x2)
        v_ref, g_ref = ag_vg(x2)
        np.testing.assert_allclose(v, v_ref, rtol=1e-10)
        np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-12)
        calls = (
            lambda f=f, x2=x2: f(x2),
            lambda f=f, x2=x2: E.value_and_grad(f, x2),
            lambda t=tape, x2=x2: t.value_and_grad(x2),
            lambda g=ag_vg, x2=x2: g(x2),
        )
        rows.append((name, *(median_time(c, True) for c in calls)))
        print(f"# done: {name}", file=sys.stderr)
    return rows


def print_plain(rows: list) -> None:
    print(
        "\n| plain NumPy/SciPy function | f | engine value_and_grad (unprepared) "
        "| engine tape value_and_grad | autograd value_and_grad | tape speed-up vs autograd |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, t_f, t_u, t_e, t_ag in rows:
        print(f"| {name} | {fmt(t_f)} | {fmt(t_u)} | {fmt(t_e)} | {fmt(t_ag)} | {t_ag / t_e:.2f}x |")


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    """Best of ``repeat`` single calls (for calls too slow for timeit's autorange)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def buffer_rows(ns: tuple[int, ...] = (1000, 10_000)) -> list[tuple[int, float, float, float, float]]:
    """(n, f, reverse value_and_grad unprepared, forward jvp unprepared, tape replay) for the
    loop that fills an ``np.zeros(n)`` buffer (n traced writes)."""
    rows = []
    for n in ns:
        x = np.random.default_rng(2).standard_normal(n)
        t = np.ones(n)
        tape = E.record(loop_buffer, x)
        x2 = x + 0.01
        v, g = tape.value_and_grad(x2)
        np.testing.assert_allclose(g, np.cos(x2 * np.arange(n)) * np.arange(n), rtol=1e-12, atol=1e-12)
        rep = 3 if n <= 1000 else 2
        rows.append(
            (
                n,
                best_time(lambda x2=x2: loop_buffer(x2), rep),
                best_time(lambda x2=x2: E.value_and_grad(loop_buffer, x2), rep),
                best_time(lambda x2=x2, t=t: E.jvp(loop_buffer, x2, [t]), rep),
                best_time(lambda x2=x2, tape=tape: tape.value_and_grad(x2), rep),
            )
        )
        print(f"# done: buffer loop n={n}", file=sys.stderr)
    return rows


def print_buffers(rows: list) -> None:
    print(
        "\n| buffer loop `y = np.zeros(n); y[i] += x[i] * i` | f | reverse value_and_grad (unprepared) "
        "| forward jvp (unprepared) | tape replay value_and_grad |"
    )
    print("|---|---:|---:|---:|---:|")
    for n, t_f, t_r, t_j, t_t in rows:
        print(f"| n = {n:,} | {fmt(t_f)} | {fmt(t_r)} | {fmt(t_j)} | {fmt(t_t)} |")


def main() -> None:
    if "--buffers" in sys.argv:
        print_buffers(buffer_rows())
        return
    if "--plain-only" in sys.argv:
        print_plain(plain_rows())
        return
    rows = []
    for name, fun, x, args in problems():
        rows.append((name, *measure(fun, x, args)))
        print(f"# done: {name}", file=sys.stderr)

    from importlib.metadata import version

    print(
        f"numpy {np.__version__}, autograd {version('autograd')}, "
        f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}, median of timeit repeats\n"
    )
    print(
        "| function | f | engine tape value_and_grad | autograd value_and_grad | autograd grad "
        "| speed-up vs autograd vg | speed-up vs autograd grad | engine vg / f |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, t_f, t_e, t_avg, t_ag in rows:
        print(
            f"| {name} | {fmt(t_f)} | {fmt(t_e)} | {fmt(t_avg)} | {fmt(t_ag)} "
            f"| {t_avg / t_e:.2f}x | {t_ag / t_e:.2f}x | {t_e / t_f:.2f} |"
        )
    print("\nTargets: speed-up >= 3x on all three; engine vg / f <= 3 on the MLP and Rosenbrock.")
    print_floor(floor_rows())
    print_plain(plain_rows())
    print_buffers(buffer_rows())


if __name__ == "__main__":
    main()
