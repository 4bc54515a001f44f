"""Command line: ``python -m anydiff compare`` and ``python -m anydiff info``.

``compare`` runs scenario catalogues on every installed backend and prints a backend x operator
matrix: agreement with the reference (✓ / ✗ / skip), the largest relative error and the median
time of a warm prepared call. It exits with status 1 when any backend disagrees.
``info`` lists the backends, whether they are installed, and their abilities.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence


def _fmt_time(t: float | None) -> str:
    if t is None:
        return ""
    if t < 1e-3:
        return f"{t * 1e6:.0f}µs"
    if t < 1:
        return f"{t * 1e3:.1f}ms"
    return f"{t:.2f}s"


def _cell(rows: list) -> str:
    """One matrix cell from the report rows of a backend x operator."""
    if not rows:
        return "·"
    failed = [r for r in rows if r.status == "failed"]
    checked = [r for r in rows if r.status != "skipped"]
    if not checked:
        return "skip"
    rels = [r.rel_err for r in checked if r.rel_err is not None]
    worst = max(rels) if rels else None
    err = "nan" if worst is not None and worst != worst else (f"{worst:.0e}" if worst else "0")
    warm = [r.time for r in checked if r.variant == "prepared_call" and r.time is not None]
    time = _fmt_time(statistics.median(warm)) if warm else ""
    return f"{'✗' if failed else '✓'} {err} {time}".rstrip()


def _compare(args: argparse.Namespace) -> int:
    from anydiff.testing import CATALOGUES, installed_backends, run_differentiation
    from anydiff.testing._report import render_table
    from anydiff.testing._scenario import OPERATORS

    backends = args.backends.split(",") if args.backends else installed_backends()
    names = list(CATALOGUES) if args.scenarios == "all" else args.scenarios.split(",")
    unknown = [n for n in names if n not in CATALOGUES]
    if unknown:
        print(f"unknown catalogue(s) {unknown}; choose from {list(CATALOGUES)} or 'all'",
              file=sys.stderr)
        return 2
    scenarios = [s for n in names for s in CATALOGUES[n]()]
    if args.quick:
        # One scenario per operator and catalogue: enough to see that every path works.
        seen: set[tuple] = set()
        quick = []
        for s in scenarios:
            key = (s.op, s.tags, s.requires)
            if key not in seen:
                seen.add(key)
                quick.append(s)
        scenarios = quick
        variants: tuple[str, ...] | None = ("plain", "prepared", "prepared_call")
    elif args.full:
        variants = None
    else:
        variants = ("plain", "prepared", "prepared_call", "mismatch")
    print(
        f"anydiff compare: {len(scenarios)} scenarios ({', '.join(names)}) on "
        f"{', '.join(backends)}; variants: {', '.join(variants) if variants else 'all'}",
    )
    report = run_differentiation(
        backends, scenarios, variants=variants, progress=not args.no_progress
    )
    ops = [op for op in OPERATORS if any(s.op == op for s in scenarios)]
    from anydiff.testing._reference import label

    matrix = []
    for b in backends:
        lab = label(b)
        rows = [r for r in report if r.backend == lab]
        matrix.append([lab] + [_cell([r for r in rows if r.operator == op]) for op in ops])
    print()
    print(render_table(["backend", *ops], matrix))
    print("\ncell: ✓ agrees / ✗ disagrees with the reference, largest relative error, median "
          "time of a warm prepared call")
    skipped: dict[tuple[str, str], int] = {}
    for r in report.skipped:
        key = (r.backend, r.message.split("\n")[0][:100])
        skipped[key] = skipped.get(key, 0) + 1
    if skipped:
        print("\nskipped:")
        for (b, msg), n in sorted(skipped.items()):
            print(f"  {b}: {n} case(s): {msg}")
    print(f"\n{report.summary()}")
    if report.failed:
        print("\nfailures:\n" + report.table(("failed",)))
        return 1
    return 0


def _info(args: argparse.Namespace) -> int:
    from importlib import metadata

    from anydiff._registry import _FRAMEWORK, BACKEND_CLASSES
    from anydiff.testing import installed
    from anydiff.testing._report import render_table

    traits = list(next(iter(BACKEND_CLASSES.values()))().traits)
    rows = []
    for name, cls in BACKEND_CLASSES.items():
        ok, why = installed(name)
        module = _FRAMEWORK.get(name)
        version = ""
        if module is not None:
            try:
                version = metadata.version(module)
            except metadata.PackageNotFoundError:
                version = ""
        b = cls()
        rows.append([name, "yes" if ok else "no", f"{module or '(numpy)'} {version}".strip(),
                     *("yes" if b.traits[t] else "-" for t in traits)])
        if not ok and args.verbose:
            rows[-1].append(why)
    print(render_table(["backend", "installed", "framework", *traits], rows))
    import anydiff

    print(f"\nanydiff {anydiff.__version__}; available: {', '.join(anydiff.available_backends())}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m anydiff`` and the ``anydiff`` console script."""
    parser = argparse.ArgumentParser(
        prog="anydiff", description="Compare and inspect anydiff's AD backends."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="run scenarios on every backend and print a matrix")
    c.add_argument("--backends", help="comma-separated backend names (default: all installed)")
    c.add_argument("--scenarios", default="default",
                   help="comma-separated catalogues: default, pytree, complex, sparse, or all")
    c.add_argument("--quick", action="store_true",
                   help="one scenario per operator and catalogue, fewer variants")
    c.add_argument("--full", action="store_true",
                   help="every variant (value forms, out=, non-strict and same-point preps)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    i = sub.add_parser("info", help="list backends and their abilities")
    i.add_argument("-v", "--verbose", action="store_true", help="say why a backend is missing")
    args = parser.parse_args(argv)
    if args.command == "compare":
        return _compare(args)
    return _info(args)


if __name__ == "__main__":
    sys.exit(main())
