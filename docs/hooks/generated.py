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


def engine_operations() -> str:
    from anydiff.engine import _support

    return _support.markdown().rstrip()


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
