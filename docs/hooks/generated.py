"""mkdocs hook: tables generated from the code at build time, so the docs cannot drift from it.

A page writes a marker such as ``<!-- generated: backend-capabilities -->`` on its own line; the
hook replaces it with the table built from the live objects:

- ``backend-capabilities``: every registered backend's ability attributes (``b.traits``);
- ``operators``: the operator table (``anydiff._operators.OPERATORS``) and the names it generates;
- ``engine-operations``: the engine's rule tables (NumPy ufuncs and functions, ``scipy.special``).

The same functions are used by ``tests/test_docs_site.py`` (importable as ``docs.hooks.generated``
or by path). New backends, operators or engine handlers appear without edits here.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)

TRAIT_TITLES = {
    "forward_fast": "fast forward mode",
    "reverse_fast": "fast reverse mode",
    "inplace_function": "in-place `f(y, x)`",
    "mutation": "mutation inside `f`",
    "complex_numbers": "complex numbers",
    "plain_numpy": "plain NumPy code",
}


def _mark(v: Any) -> str:
    return "✓" if v is True else "✗" if v is False else str(v)


def _backend_instances() -> list[Any]:
    """The default instance of every registered backend, plus each other `mode` whose abilities
    differ from the default's (the engine's forward mode, say)."""
    from anydiff._registry import BACKEND_CLASSES

    out = []
    for cls in BACKEND_CLASSES.values():
        b = cls()
        out.append(b)
        if any(f.name == "mode" for f in fields(cls)):
            for mode in ("forward", "reverse"):
                try:
                    other = cls(mode=mode)
                except Exception:  # a class whose modes are named otherwise
                    continue
                if other != b and other.traits != b.traits:
                    out.append(other)
    return out


def backend_capabilities() -> str:
    rows = _backend_instances()
    keys = list(rows[0].traits)
    head = ["backend", "name", "install"] + [TRAIT_TITLES.get(k, k) for k in keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b in rows:
        extra = f'`pip install "anydiff[{b.extra}]"`' if b.extra else "included"
        cells = [f"`{b!r}`", f'`"{b.name}"`', extra] + [_mark(b.traits[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "`SecondOrder(outer, inner)` has the abilities of `inner` (which runs the first-order code); "
        "`MixedMode(forward, reverse)` pairs two backends for bidirectional colouring."
    )
    return "\n".join(lines)


def operators() -> str:
    from anydiff._operators import OPERATORS

    lines = [
        "| operator | value form | tangent | in-place `y=` | preparation | result |",
        "|---|---|---|---|---|---|",
    ]
    for op in OPERATORS.values():
        tangent = {"x": "`t` like x", "y": "`w` like y", None: "—"}[op.tangent]
        preps = f"`prepare_{op.name}`" + (f", `prepare_{op.name}_same_point`" if op.has_same_point else "")
        lines.append(
            f"| `{op.name}` | `{op.value_name}` | {tangent} | {_mark(op.inplace)} | {preps} | "
            f"{op.summary.replace('|', '/')} |"
        )
    return "\n".join(lines)


def _np_name(func: Any) -> str:
    name = getattr(func, "__name__", repr(func))
    mod = getattr(func, "__module__", None) or "numpy"
    if isinstance(func, type(__import__("numpy").add)):  # ufuncs have no useful __module__
        import numpy as np

        mod = "numpy" if getattr(np, name, None) is func else "scipy.special"
    mod = mod.replace("numpy._core.", "numpy.").replace("numpy.linalg._linalg", "numpy.linalg")
    if mod.startswith("numpy.") and mod.split(".")[1] not in ("linalg", "fft", "random"):
        mod = "numpy"
    return mod.replace("numpy", "np", 1) + "." + name


def engine_operations() -> str:
    import scipy.special  # noqa: F401  (the engine builds its scipy.special rules once imported)

    from anydiff.engine import _numpy_api as api

    build = getattr(api, "_scipy_rules", None)
    if build is not None:
        build()
    ufuncs = getattr(api, "_UFUNCS", {})
    handlers = getattr(api, "HANDLERS", {})
    groups: dict[str, set[str]] = {"differentiable": set(), "zero": set(), "shape": set()}
    for u, prim in ufuncs.items():
        groups["differentiable" if getattr(prim, "diff", True) else "zero"].add(_np_name(u))
    for func, handler in handlers.items():
        if _np_name(func) in groups["zero"]:  # ufuncs listed both ways: the ufunc rule decides
            continue
        qual = getattr(handler, "__qualname__", "")
        kind = "zero" if "_nondiff" in qual else "shape" if "_data_shaped" in qual else "differentiable"
        groups[kind].add(_np_name(func))
    titles = {
        "differentiable": "With derivative rules (forward and reverse mode)",
        "zero": "Piecewise constant or non-float results (derivative zero, recorded on the tape)",
        "shape": "Data-dependent shapes (computed from values; a tape that meets one re-traces)",
    }
    out = [f"{sum(len(v) for v in groups.values())} NumPy / SciPy callables dispatch to the engine.", ""]
    for key, title in titles.items():
        names = sorted(groups[key])
        out += [f"**{title}** ({len(names)}):", "", ", ".join(f"`{n}`" for n in names), ""]
    return "\n".join(out).rstrip()


GENERATORS = {
    "backend-capabilities": backend_capabilities,
    "operators": operators,
    "engine-operations": engine_operations,
}


def render(markdown: str) -> str:
    """Replace every marker in ``markdown`` by its generated table (unknown markers raise)."""
    return MARKER.sub(lambda m: GENERATORS[m.group(1)](), markdown)


def on_page_markdown(markdown: str, page: Any = None, config: Any = None, files: Any = None) -> str:
    return render(markdown)
