"""Naming what converted a traced array into a plain value, for error messages (
the message says what actually happened — the SciPy/NumPy function, or the user's source line
and whether it was a write into a plain array or a call such as ``float``/``math.exp``)."""

from __future__ import annotations

_LIB_TOPS = ("numpy", "scipy")


def _library_caller() -> str:
    """Name the SciPy/NumPy function that converted the traced array, when one did."""
    import linecache
    import sys

    f = sys._getframe(2)
    outer = None  # the outermost library frame is the public function the user called
    for _ in range(40):
        if f is None:
            break
        name = f.f_globals.get("__name__", "")
        if name.split(".", 1)[0] in _LIB_TOPS:
            outer = f
        elif not name.startswith("anydiff.engine"):
            break  # the first user frame: whatever called the user's code is not the culprit
        f = f.f_back
    if outer is None:
        return ""
    mod = outer.f_globals.get("__name__", "").split(".")
    pub = ".".join(m for m in mod if not m.startswith("_"))
    named = f"{pub}.{outer.f_code.co_name}"
    code = outer.f_code.co_name
    generic = code in _GENERIC or code.startswith("_") or code.endswith("wrapper")
    wrapped = _wrapped_function(outer) if generic else ""
    if wrapped:  # a decorator's wrapper: name the function it wraps (scipy.stats.entropy)
        named, generic = wrapped, False
    if f is not None and generic:
        # a decorator's wrapper (``scipy.wrapper``) names nothing: show the user's call too
        line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
        named += f" called at `{line}` ({f.f_code.co_filename}:{f.f_lineno})" if line else ""
    return named


def _wrapped_function(frame: object) -> str:
    """The public SciPy/NumPy function a decorator's ``wrapper`` frame wraps, or ``""``."""
    for v in getattr(frame, "f_locals", {}).values():
        name, mod = getattr(v, "__name__", None), getattr(v, "__module__", None)
        if not callable(v) or not isinstance(name, str) or not isinstance(mod, str):
            continue
        if name in _GENERIC or name.startswith("_") or mod.split(".", 1)[0] not in _LIB_TOPS:
            continue
        return ".".join([m for m in mod.split(".") if not m.startswith("_")] + [name])
    return ""


_GENERIC = frozenset(("wrapper", "inner", "__call__", "decorator", "wrapped", "fun", "func", "f"))


def describe_conversion(kind: str) -> str:
    """What converted a traced array into a plain value, for error messages.

    ``kind`` is the conversion (``"float"``, ``"complex"``, ``"ndarray"``).  The description
    names the entry point: the SciPy/NumPy function that converted it (when the conversion
    happened inside one), else the user's source line, telling a write into a plain array
    (``y[i] = v``) apart from a call such as ``float(v)`` or ``math.exp(v)``.
    """
    import dis
    import linecache
    import sys

    lib = _library_caller()
    if lib:
        top = lib.split(".")[0]
        # NumPy functions that have rules still convert a *list* of traced values in C
        hint = (
            " (given a list or tuple of traced values, build the array first: "
            "np.mean(np.array([...])) or np.stack)"
            if top == "numpy" and kind == "ndarray"
            else ""
        )
        return (
            f"{lib} (a {top} function without an engine rule for these arguments) converted a traced "
            f"array to a plain {'ndarray' if kind == 'ndarray' else kind} inside compiled or "
            f"non-dispatching code{hint}"
        )
    f = sys._getframe(1)
    while f is not None and f.f_globals.get("__name__", "").startswith("anydiff.engine"):
        f = f.f_back
    if f is None:  # pragma: no cover - always called from some frame
        return f"{kind}(traced)"
    code = f.f_code
    op = dis.opname[code.co_code[f.f_lasti]] if 0 <= f.f_lasti < len(code.co_code) else ""
    where = f"{code.co_filename}:{f.f_lineno}"
    src = ""
    try:
        pos = list(code.co_positions())[f.f_lasti // 2]
        if pos[0] is not None and pos[0] == pos[1]:
            line = linecache.getline(code.co_filename, pos[0])
            src = line[pos[2] : pos[3]].strip() if pos[2] is not None else line.strip()
    except Exception:  # pragma: no cover - source unavailable
        src = ""
    shown = f"`{src}` ({where})" if src else where
    if op.startswith("STORE_SUBSCR"):
        return f"writing a traced value into a plain NumPy array at {shown}"
    # np.float64 & co. are C scalar types: they cannot return a traced value
    fix = (
        f" ({kind}() and np.float64() & co. cannot return a traced value: use the value itself, "
        "or x.astype(np.float64) / np.asarray(x, dtype=np.float64) to change its dtype)"
        if kind in ("float", "complex")
        else ""
    )
    if src.startswith(f"{kind}("):
        return f"{kind}(traced) at {shown}{fix}"
    what = {"float": "a Python float", "complex": "a Python complex"}.get(kind, "a plain ndarray")
    return f"{shown}, which converts a traced value to {what}{fix}"
