"""The ``math`` module on traced scalars: ``math.sin(x[0])`` as ``np.sin(x[0])``.

``math``'s functions convert their argument with ``float()``, which would drop the derivative
(and raises ``EngineError``).  While a trace runs, :mod:`._intercept` swaps the functions
listed in :data:`MATH` in the ``math`` module for wrappers that, when an argument is a traced
array, call the NumPy (or ``scipy.special``) function with the same meaning and return a 0-d
traced array; any other call gets ``math``'s own result.  Names bound with ``from math import
sin`` before the trace are the originals: they still raise ``EngineError``, never drop.

``np.vectorize`` objects are swapped the same way (their ``__call__``): on traced arguments
the Python function runs once per element of the broadcast arguments, on traced scalars, and
the results are stacked (NumPy's own loop would convert the traced arrays to plain ones).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._tracer import Traced


def _special(name: str) -> Callable:
    def f(x: Any) -> Any:
        import scipy.special

        return getattr(scipy.special, name)(x)

    return f


def _log(x: Any, base: Any = None) -> Any:
    return np.log(x) if base is None else np.log(x) / np.log(base)


def _hypot(*xs: Any) -> Any:
    if len(xs) == 2:
        return np.hypot(*xs)
    return np.sqrt(sum(x * x for x in xs))


#: ``math`` function name -> the array function with the same meaning
MATH: dict[str, Callable] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "atan2": np.arctan2,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": _log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "cbrt": np.cbrt,
    "pow": np.power,
    "hypot": _hypot,
    "fabs": np.abs,
    "degrees": np.degrees,
    "radians": np.radians,
    "erf": _special("erf"),
    "erfc": _special("erfc"),
    "gamma": _special("gamma"),
    "lgamma": _special("gammaln"),
}
ORIGINAL: dict[str, Callable] = {n: getattr(math, n) for n in MATH if hasattr(math, n)}


def _scalar(r: Any) -> Any:
    shape = np.shape(r)
    if shape == ():
        return r
    if int(np.prod(shape)) != 1:
        raise TypeError("only length-1 arrays can be converted to Python scalars")
    return np.reshape(r, ())


def _wrap(name: str) -> Callable:
    orig, arr = ORIGINAL[name], MATH[name]

    @functools.wraps(orig)
    def wrapper(*args: Any) -> Any:
        for a in args:
            if type(a) is Traced:
                ops = (b if type(b) is Traced else np.asarray(b, dtype=float) for b in args)
                return _scalar(arr(*ops))
        return orig(*args)

    return wrapper


WRAPPERS: dict[str, Callable] = {n: _wrap(n) for n in ORIGINAL}


_VECTORIZE_CALL = np.vectorize.__call__


def _vectorize_call(self: Any, *args: Any, **kw: Any) -> Any:
    if not any(type(a) is Traced for a in (*args, *kw.values())):
        return _VECTORIZE_CALL(self, *args, **kw)
    from . import _rules as R
    from ._errors import no_rule

    if kw or self.signature is not None or self.excluded:
        raise no_rule("np.vectorize with keyword arguments, signature= or excluded=")
    arrays = [a if type(a) is Traced else np.asarray(a) for a in args]
    shape = np.broadcast_shapes(*[R.shape_of(a) for a in arrays])
    parts = [np.broadcast_to(a, shape) for a in arrays]
    outs = [self.pyfunc(*[p[idx] for p in parts]) for idx in np.ndindex(*shape)]
    if any(isinstance(o, tuple) for o in outs):
        raise no_rule("np.vectorize of a function with several outputs")
    if not outs:
        return np.zeros(shape)
    r = np.stack([o if type(o) is Traced else np.asarray(o, dtype=float) for o in outs])
    return np.reshape(r, shape)


def install() -> None:
    for name, w in WRAPPERS.items():
        if getattr(math, name) is ORIGINAL[name]:  # leave someone else's patch alone
            setattr(math, name, w)
    if np.vectorize.__call__ is _VECTORIZE_CALL:
        np.vectorize.__call__ = _vectorize_call


def uninstall() -> None:
    for name, w in WRAPPERS.items():
        if getattr(math, name) is w:
            setattr(math, name, ORIGINAL[name])
    if np.vectorize.__call__ is _vectorize_call:
        np.vectorize.__call__ = _VECTORIZE_CALL
