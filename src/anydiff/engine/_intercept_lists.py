"""NumPy functions given a Python list/tuple of traced values: ``np.mean([a, b, c])``.

NumPy dispatches ``__array_function__`` on the arguments its dispatcher names, and a list is
not a traced array, so ``np.mean([a, b])`` never reaches the engine: NumPy converts the list
in C, which would drop the derivatives (and raises ``EngineError``).  While a trace runs,
:mod:`._intercept` swaps the functions of :data:`NAMES` in the ``numpy`` namespace for
wrappers that stack such a list first (as ``np.array`` of it would in plain NumPy, with the
engine's ``np.array`` of traced values) and then call NumPy's function, which dispatches.
Any other call goes straight to NumPy's function (one type check per positional argument).

Only functions whose positional arguments are array-likes (or axes) are listed: reductions,
statistics, products and a few helpers (each swap costs: entering and leaving a trace swaps
them all, ~7–10 µs on the shared CI machine; a call without a list pays ~0.2 µs).  Ufuncs
(``np.sin([a, b])``) are objects with methods and are not swapped: wrap the list in
``np.array`` there.  Names bound with
``from numpy import mean`` before the trace are NumPy's originals and still raise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tracer import Traced

#: NumPy functions (``numpy.`` attributes) whose list/tuple operands of traced values are stacked
NAMES = (
    "sum mean max min amax amin prod std var median average ptp cumsum cumprod nansum nanmean "
    "nanmax nanmin quantile percentile argmax argmin sort diff dot vdot inner outer where clip "
    "ravel atleast_1d atleast_2d diag polyval trapezoid cov linalg.norm linalg.det select"
).split()


def _float_traced(obj: Any) -> bool:
    """Whether a (nested) list/tuple holds a traced float/complex value."""
    for o in obj:
        t = type(o)
        if t is Traced:
            if o.dtype.kind in "fc":
                return True
        elif (t is list or t is tuple) and _float_traced(o):
            return True
    return False


def _wrap(orig: Callable) -> Callable:
    @functools.wraps(orig)
    def wrapper(*args: Any, **kw: Any) -> Any:
        for a in args:
            t = type(a)
            if (t is list or t is tuple) and _float_traced(a):
                from ._numpy_api import _build

                ops = [_build(b) if type(b) in (list, tuple) and _float_traced(b) else b for b in args]
                return orig(*ops, **kw)
        return orig(*args, **kw)

    return wrapper


def _wrap_select(orig: Callable) -> Callable:
    """``np.select``: NumPy dispatches on the conditions and choices only, not on ``default``;
    a traced default becomes the choice of a last condition that always holds (same result)."""

    @functools.wraps(orig)
    def wrapper(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
        if type(default) is Traced:
            return orig([*condlist, True], [*choicelist, default])
        return orig(condlist, choicelist, default)

    return wrapper


def _named(name: str, w: Callable) -> Callable:
    w.__anydiff_list_wrapper__ = name  # type: ignore[attr-defined]
    return w


def _namespace(name: str) -> tuple[Any, str]:
    mod, _, attr = name.rpartition(".")
    return (getattr(np, mod) if mod else np), attr


ORIGINAL: dict[str, Callable] = {}
WRAPPERS: dict[str, Callable] = {}
for _n in NAMES:
    _ns, _a = _namespace(_n)
    _f = getattr(_ns, _a, None)
    if _f is not None and not isinstance(_f, np.ufunc):
        ORIGINAL[_n] = _f
        WRAPPERS[_n] = _named(_n, (_wrap_select if _n == "select" else _wrap)(_f))


def original(func: Any) -> Any:
    """NumPy's own function for one of these wrappers, else ``func``."""
    name = getattr(func, "__anydiff_list_wrapper__", None)
    return ORIGINAL[name] if name is not None and WRAPPERS.get(name) is func else func


def _groups() -> list[tuple[dict, list[str], list, list]]:
    """Per namespace dict: the attributes, NumPy's functions and the wrappers (parallel lists)."""
    out: dict[int, tuple[dict, list[str], list, list]] = {}
    for n, w in WRAPPERS.items():
        ns, attr = _namespace(n)
        d, attrs, origs, wraps = out.setdefault(id(ns), (ns.__dict__, [], [], []))
        attrs.append(attr)
        origs.append(ORIGINAL[n])
        wraps.append(w)
    return list(out.values())


_GROUPS = _groups()
_ready: list = []


def _swap(d: dict, attrs: list[str], old: list, new: list) -> None:
    """``d[attrs] = new`` where ``d`` holds ``old`` (someone else's patch is left alone); one
    dict update in the usual case, where every name holds ``old``."""
    if [d.get(a) for a in attrs] == old:
        d.update(zip(attrs, new))
        return
    for a, o, w in zip(attrs, old, new):
        if d.get(a) is o:
            d[a] = w


def install() -> None:
    if not _ready:
        from . import _numpy_api  # noqa: F401 - registers its rules on NumPy's own functions first

        _ready.append(True)
    for d, attrs, origs, wraps in _GROUPS:
        _swap(d, attrs, origs, wraps)


def uninstall() -> None:
    for d, attrs, origs, wraps in _GROUPS:
        _swap(d, attrs, wraps, origs)
