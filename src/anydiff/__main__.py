"""Command line: ``python -m anydiff compare`` and ``python -m anydiff info``.

``compare`` runs scenario catalogues on the chosen backends and prints a backend x operator
matrix: agreement with the reference (✓ / ✗ / unsupported), the largest relative error and the
median time of a warm prepared call. ``compare --second-order`` prints the outer x inner matrix
of ``SecondOrder`` pairs instead (✓ / unsupported / ✗ per pair, from the second-order
scenarios). Both exit with status 1 when anything disagrees, and 2 on unknown backend or
catalogue names (the valid names are listed on stderr).

``--format table|markdown|json|csv`` chooses the output; JSON and CSV are machine-readable and
nothing else is written to stdout. ``--output FILE`` writes the output to FILE. Progress bars
go to stderr, only when it is a terminal, and never with ``--no-progress``.

``info`` lists the backends, whether they are installed, and their abilities (``--json`` too).

Backends are names (``jax``, ``torch``, ``autograd``, ``finitediff``, ``engine``) with an
optional mode or method after a colon: ``jax:forward``, ``torch:reverse``,
``finitediff:complex``, ``engine:forward``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "markdown", "json", "csv")
_OPTION = {"jax": "mode", "torch": "mode", "engine": "mode", "finitediff": "method"}
_CHOICES = {
    "jax": ("forward", "reverse"), "torch": ("forward", "reverse"),
    "engine": ("forward", "reverse"), "finitediff": ("central", "forward", "backward", "complex"),
}


class UsageError(Exception):
    """An unknown name on the command line (exit status 2)."""


def valid_backend_names() -> list[str]:
    """Every name ``--backends`` accepts."""
    from anydiff._registry import BACKEND_CLASSES

    names = []
    for name in BACKEND_CLASSES:
        names.append(name)
        names += [f"{name}:{c}" for c in _CHOICES.get(name, ())]
    return names


def parse_backend(text: str) -> Any:
    """``"jax"`` -> ``"jax"``; ``"jax:forward"`` -> ``AutoJax(mode="forward")``."""
    from anydiff._registry import BACKEND_CLASSES

    text = text.strip()
    if text not in valid_backend_names():
        raise UsageError(
            f"unknown backend {text!r}; valid names: {', '.join(valid_backend_names())}"
        )
    name, _, choice = text.partition(":")
    if not choice:
        return name
    return BACKEND_CLASSES[name](**{_OPTION[name]: choice})


def _label(b: Any) -> str:
    if isinstance(b, str):
        return b
    option = _OPTION.get(b.name)
    return f"{b.name}:{getattr(b, option)}" if option else b.name


def _fmt_time(t: float | None) -> str:
    if t is None:
        return ""
    if t < 1e-3:
        return f"{t * 1e6:.0f}µs"
    if t < 1:
        return f"{t * 1e3:.1f}ms"
    return f"{t:.2f}s"


def _summarise(rows: list) -> dict[str, Any]:
    """One backend x operator cell from its report rows."""
    failed = [r for r in rows if r.status == "failed"]
    checked = [r for r in rows if r.status != "skipped"]
    rels = [r.rel_err for r in checked if r.rel_err is not None]
    worst = max(rels) if rels else None
    warm = [r.time for r in checked if r.variant == "prepared_call" and r.time is not None]
    status = ("failed" if failed else "passed" if checked
              else "unsupported" if rows else "none")
    return {
        "status": status, "max_rel_err": worst,
        "median_time": statistics.median(warm) if warm else None,
        "passed": len(checked) - len(failed), "failed": len(failed),
        "skipped": len(rows) - len(checked),
    }


def _cell_text(c: dict[str, Any]) -> str:
    if c["status"] == "none":
        return "·"
    if c["status"] == "unsupported":
        return "unsupported"
    w = c["max_rel_err"]
    err = "nan" if w is not None and w != w else (f"{w:.0e}" if w else "0")
    mark = "✗" if c["status"] == "failed" else "✓"
    return f"{mark} {err} {_fmt_time(c['median_time'])}".rstrip()


def _render(fmt: str, headers: list[str], rows: list[list[str]], records: Any,
            notes: list[str]) -> str:
    from anydiff.testing._report import render_table

    if fmt == "json":
        return json.dumps(records, indent=2, default=str) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        keys = list(records["rows"][0]) if records["rows"] else []
        w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        w.writeheader()
        for r in records["rows"]:
            w.writerow(r)
        return buf.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines + [""] + notes) + "\n"
    return render_table(headers, rows) + "\n" + ("\n" + "\n".join(notes) if notes else "") + "\n"


def _progress(args: argparse.Namespace) -> bool | None:
    # tqdm writes to stderr; only to a terminal and never when asked not to.
    return False if args.no_progress or not sys.stderr.isatty() else True


def _scenarios(spec: str) -> tuple[list[str], list]:
    from anydiff.testing import CATALOGUES

    names = list(CATALOGUES) if spec == "all" else [n.strip() for n in spec.split(",")]
    unknown = [n for n in names if n not in CATALOGUES]
    if unknown:
        raise UsageError(
            f"unknown scenario catalogue(s) {', '.join(map(repr, unknown))}; valid names: "
            f"{', '.join(CATALOGUES)}, all"
        )
    return names, [s for n in names for s in CATALOGUES[n]()]


def _compare(args: argparse.Namespace) -> tuple[int, str]:
    from anydiff.testing import installed_backends, run_differentiation
    from anydiff.testing._scenario import OPERATORS

    backends = ([parse_backend(b) for b in args.backends.split(",")] if args.backends
                else installed_backends())
    if args.second_order:
        return _second_order(args, backends)
    names, scenarios = _scenarios(args.scenarios)
    if args.quick:
        # One scenario per operator and catalogue: enough to see that every path works.
        seen: set[tuple] = set()
        quick = []
        for s in scenarios:
            key = (s.op, s.tags, s.requires, s.raises)
            if key not in seen:
                seen.add(key)
                quick.append(s)
        scenarios = quick
        variants: tuple[str, ...] | None = ("plain", "prepared", "prepared_call")
    elif args.full:
        variants = None
    else:
        variants = ("plain", "prepared", "prepared_call", "mismatch")
    print(f"anydiff compare: {len(scenarios)} scenarios ({', '.join(names)}) on "
          f"{', '.join(map(_label, backends))}; variants: "
          f"{', '.join(variants) if variants else 'all'}", file=sys.stderr)
    from anydiff.testing._reference import label
    from anydiff.testing._sparse_runner import sparse_runs

    # The sparse family runs as AutoSparse(b) for every backend b (its own rows).
    runs, coloring_notes = sparse_runs(backends, scenarios, _label)
    from anydiff.testing import DifferentiationReport

    report = DifferentiationReport()
    for _, b, group in runs:
        report.extend(run_differentiation([b], group, variants=variants,
                                          progress=_progress(args)))
    ops = [op for op in OPERATORS if any(s.op == op for s in scenarios)]
    records: dict[str, Any] = {"kind": "compare", "catalogues": names,
                               "scenarios": len(scenarios), "operators": ops, "rows": []}
    matrix = []
    for shown, b, _ in runs:
        rows = [r for r in report if r.backend == label(b)]
        line = [shown]
        for op in ops:
            c = _summarise([r for r in rows if r.operator == op])
            records["rows"].append({"backend": shown, "operator": op, **c})
            line.append(_cell_text(c))
        matrix.append(line)
    colorings = coloring_notes(report)
    if colorings["records"]:
        records["colorings"] = colorings["records"]
        for row in records["rows"]:  # CSV rows all need the same columns
            row["colors"] = colorings["cells"].get((row["backend"], row["operator"]), "")
    records["summary"] = {"passed": len(report.passed), "failed": len(report.failed),
                          "skipped": len(report.skipped)}
    records["failures"] = [
        {"backend": r.backend, "scenario": r.scenario, "operator": r.operator,
         "variant": r.variant, "message": r.message} for r in report.failed
    ]
    notes = ["cell: ✓ agrees / ✗ disagrees with the reference, largest relative error, median "
             "time of a warm prepared call; unsupported: every case raised UnsupportedError"]
    skipped: dict[tuple[str, str], int] = {}
    for r in report.skipped:
        key = (r.backend, r.message.split("\n")[0][:100])
        skipped[key] = skipped.get(key, 0) + 1
    if skipped:
        notes.append("\nskipped:")
        notes += [f"  {b}: {n} case(s): {msg}" for (b, msg), n in sorted(skipped.items())]
    notes += colorings["lines"]
    notes.append(f"\n{report.summary()}")
    if report.failed:
        notes.append("\nfailures:\n" + report.table(("failed",)))
    out = _render(args.format, ["backend", *ops], matrix, records, notes)
    return (1 if report.failed else 0), out


def second_order_status(pair: Any, scenarios: list, progress: bool | None = False) -> dict:
    """``{"status": "supported" | "unsupported" | "failed", ...}`` of one SecondOrder pair."""
    from anydiff.testing import run_differentiation

    report = run_differentiation(
        [pair], scenarios, variants=("plain", "value", "prepared", "prepared_call",
                                     "same_point"), progress=progress)
    if report.failed:
        status = "failed"
        detail = "; ".join(f"{r.scenario} {r.variant}: {r.message}" for r in report.failed[:3])
    elif report.skipped and not report.passed:
        status, detail = "unsupported", report.skipped[0].message
    else:
        status, detail = "supported", report.summary()
    return {"status": status, "detail": " ".join(detail.split())[:300]}


def _second_order(args: argparse.Namespace, backends: list) -> tuple[int, str]:
    import anydiff as ad
    from anydiff._registry import resolve as resolve_backend
    from anydiff.testing import default_scenarios

    scen = [s for s in default_scenarios() if s.order == 2 and not s.requires]
    if args.quick:
        seen: set[str] = set()
        scen = [s for s in scen if not (s.op in seen or seen.add(s.op))]
    objs = [resolve_backend(b) for b in backends]
    print(f"anydiff compare --second-order: {len(objs)} x {len(objs)} pairs, "
          f"{len(scen)} scenarios", file=sys.stderr)
    from tqdm.auto import tqdm

    records: dict[str, Any] = {"kind": "second_order", "backends": list(map(_label, backends)),
                               "rows": []}
    labels = list(map(_label, backends))
    pairs = [(a, b) for a in range(len(objs)) for b in range(len(objs))]
    bar = tqdm(pairs, disable=not _progress(args), file=sys.stderr, leave=False,
               desc="pairs", unit="pair")
    cells: dict[tuple[str, str], dict] = {}
    for a, b in bar:
        c = second_order_status(ad.SecondOrder(objs[a], objs[b]), scen)
        cells[(labels[a], labels[b])] = c
        records["rows"].append({"outer": labels[a], "inner": labels[b], **c})
    mark = {"supported": "✓", "unsupported": "unsupported", "failed": "✗"}
    matrix = [[f"{o} (outer)"] + [mark[cells[(o, i)]["status"]] for i in labels] for o in labels]
    notes = ["rows: outer backend, columns: inner backend; ✓ right results, unsupported: "
             "UnsupportedError (never a number), ✗ wrong results or another error"]
    bad = [r for r in records["rows"] if r["status"] == "failed"]
    if bad:
        notes.append("\nfailures:")
        notes += [f"  SecondOrder({r['outer']}, {r['inner']}): {r['detail']}" for r in bad]
    out = _render(args.format, ["outer \\ inner", *labels], matrix, records, notes)
    return (1 if bad else 0), out


def _info(args: argparse.Namespace) -> tuple[int, str]:
    from importlib import metadata

    import anydiff
    from anydiff._registry import _FRAMEWORK, BACKEND_CLASSES
    from anydiff.testing import installed
    from anydiff.testing._report import render_table

    traits = list(next(iter(BACKEND_CLASSES.values()))().traits)
    rows, records = [], []
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
        records.append({"backend": name, "installed": ok, "framework": module or "numpy",
                        "version": version or None, "reason": why or None,
                        "modes": list(_CHOICES.get(name, ())),
                        "traits": {t: b.traits[t] for t in traits}})
        rows.append([name, "yes" if ok else "no", f"{module or '(numpy)'} {version}".strip(),
                     *("yes" if b.traits[t] else "-" for t in traits)])
        if not ok and args.verbose:
            rows[-1].append(why)
    if args.json:
        doc = {"anydiff": anydiff.__version__, "available": anydiff.available_backends(),
               "backends": records}
        return 0, json.dumps(doc, indent=2, default=str) + "\n"
    text = render_table(["backend", "installed", "framework", *traits], rows)
    text += (f"\n\nanydiff {anydiff.__version__}; available: "
             f"{', '.join(anydiff.available_backends())}\n")
    return 0, text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m anydiff`` and the ``anydiff`` console script."""
    parser = argparse.ArgumentParser(
        prog="anydiff", description="Compare and inspect anydiff's AD backends."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="run scenarios on backends and print a matrix")
    c.add_argument("--backends", help="comma-separated backend names, optionally with a mode "
                   "(jax:forward, finitediff:complex); default: all installed")
    c.add_argument("--scenarios", default="default",
                   help="comma-separated catalogues (default, pytree, complex, sparse, "
                   "mutation, closure, errors, edge, raising, bridge, implicit) or all; sparse runs as "
                   "AutoSparse(b) for every backend b")
    c.add_argument("--second-order", action="store_true",
                   help="print the outer x inner matrix of SecondOrder pairs")
    c.add_argument("--quick", action="store_true",
                   help="one scenario per operator and catalogue, fewer variants")
    c.add_argument("--full", action="store_true",
                   help="every variant (value forms, out=, non-strict and same-point preps)")
    c.add_argument("--format", choices=FORMATS, default="table", help="output format")
    c.add_argument("--output", metavar="FILE", help="write the output to FILE")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    i = sub.add_parser("info", help="list backends and their abilities")
    i.add_argument("-v", "--verbose", action="store_true", help="say why a backend is missing")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.add_argument("--output", metavar="FILE", help="write the output to FILE")
    args = parser.parse_args(argv)
    try:
        code, text = _compare(args) if args.command == "compare" else _info(args)
    except UsageError as exc:
        print(f"anydiff {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
