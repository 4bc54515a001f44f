"""Unprepared JAX gradient calls: the cost of computing with f as it is now.

An unprepared call (``ad.gradient(f, "jax", x)``) traces f once per call to a jaxpr and reuses
the compiled kernel only when the jaxpr and its constants equal a cached one. Target:
on an unchanged program an unprepared call costs
at most one trace of f on top of the prepared call, i.e.

    ratio = (unprepared - prepared) / trace  <=  1

Columns (microseconds of CPU time of this process per call, best of ``--repeat`` rounds of
``--number`` calls; ``--wall`` measures wall-clock time instead, which on a shared, loaded
machine mostly measures the other processes):

* ``prepared``   ``prep(x)`` of ``ad.prepare_gradient(f, "jax", x)``
* ``unprepared`` ``ad.gradient(f, "jax", x)`` in a loop, the same f (unchanged program)
* ``inline``     ``ad.gradient(lambda v: ..., "jax", x)``, a new lambda object every call
* ``trace``      ``jax.make_jaxpr(lambda v: f(v))(x)``: one trace of f (under x64, as anydiff
                 traces float64). The fresh lambda matters: ``jax.make_jaxpr(f)`` caches its
                 trace by the identity of ``f`` (so it is stale for a changed closure, too),
                 and a repeated ``jax.make_jaxpr(f)(x)`` measures that cache, not a trace.
* ``ratio``      ``(unprepared - prepared) / trace`` (and the same for ``inline``)

Run: ``python benchmarks/bench_unprepared_jax.py [--number 100] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import anydiff as ad


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def measure(fns: dict, numbers: dict, repeat: int, timer: Any) -> dict[str, float]:
    """Best time per call of each function, microseconds; the functions take turns in every
    round, so load on a shared machine affects them alike."""
    for fn in fns.values():
        fn()  # warm (compiles)
    out = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = timeit.Timer(fn, timer=timer).timeit(number=numbers[k]) / numbers[k] * 1e6
            out[k] = min(out[k], t)
    return out


def row(n: int, number: int, repeat: int, timer: Any) -> dict[str, float]:
    x = np.random.default_rng(0).normal(size=n)
    prep = ad.prepare_gradient(rosenbrock, "jax", x)
    np.testing.assert_allclose(ad.gradient(rosenbrock, "jax", x), prep(x), rtol=1e-14)

    def trace():
        with jax.enable_x64(True):
            jax.make_jaxpr(lambda v: rosenbrock(v))(x)

    def inline():
        ad.gradient(
            lambda v: jnp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2), "jax", x
        )

    fns = {
        "prepared": lambda: prep(x),
        "unprepared": lambda: ad.gradient(rosenbrock, "jax", x),
        "inline": inline,
        "trace": trace,
    }
    numbers = {k: number * (20 if k == "prepared" else 1) for k in fns}
    r = measure(fns, numbers, repeat, timer)
    r["ratio"] = (r["unprepared"] - r["prepared"]) / r["trace"]
    r["ratio_inline"] = (r["inline"] - r["prepared"]) / r["trace"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 1000])
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = ap.parse_args()
    timer = time.perf_counter if args.wall else time.process_time
    what = "wall-clock" if args.wall else "CPU"
    print(f"jax {jax.__version__}, f = Rosenbrock, float64; {what} microseconds per call")
    print(f"{'n':>6} {'prepared':>9} {'unprepared':>11} {'inline':>9} {'trace':>9} "
          f"{'ratio':>6} {'ratio inline':>13}")
    for n in args.sizes:
        r = row(n, args.number, args.repeat, timer)
        print(f"{n:>6} {r['prepared']:>9.1f} {r['unprepared']:>11.1f} {r['inline']:>9.1f} "
              f"{r['trace']:>9.1f} {r['ratio']:>6.2f} {r['ratio_inline']:>13.2f}")


if __name__ == "__main__":
    main()
