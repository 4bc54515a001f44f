"""Non-differentiated arguments (``Constant``, ``Cache``) and batches of tangents (``Batch``)."""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_VALUE_TYPES = (type(None), bool, int, float, complex, str, bytes, np.generic, np.dtype, type)
_CALLABLE_TYPES = (types.FunctionType, types.BuiltinFunctionType, np.ufunc)
_BY_VALUE = _VALUE_TYPES + _CALLABLE_TYPES


def by_value(a: Any) -> bool:
    """Whether a non-array context value can be compared when a prep decides to reuse work: an
    immutable value (or a tuple / frozenset of them), or a function, compared by identity as
    closures are (frozen).

    Anything else (an object whose attributes ``f`` reads, a list) may change in place
    between calls while staying the same object, which a comparison cannot see: every backend
    that reuses a trace must re-trace for it (or prove the new trace equal)."""
    if isinstance(a, (tuple, frozenset)):
        return all(by_value(b) for b in a)
    return isinstance(a, _BY_VALUE) or a is Ellipsis


class Context:
    """Base of the context wrappers: an extra argument of ``f`` that is not differentiated."""

    __slots__ = ("value",)
    role: str = "context"

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class Constant(Context):
    """Data that ``f`` reads and never mutates. Its value may change between preparation and call.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> f = lambda x, a: (a * x**2).sum()
        >>> ad.gradient(f, "finitediff", np.ones(2), ad.Constant(np.array([1.0, 2.0]))).round(6)
        array([2., 4.])
    """

    __slots__ = ()
    role = "constant"


class Cache(Context):
    """Scratch space that ``f`` may overwrite; backends may swap in a buffer of their own kind
    (a tensor for torch, a traced buffer for the engine). Its contents on return are unspecified.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> def f(x, buf):
        ...     buf[:] = x * 2
        ...     return (buf**2).sum()
        >>> ad.gradient(f, "finitediff", np.ones(2), ad.Cache(np.zeros(2))).round(6)
        array([8., 8.])
    """

    __slots__ = ()
    role = "cache"


def as_context(arg: Any) -> Context:
    """Bare extra arguments are treated as ``Constant`` (documented convenience)."""
    return arg if isinstance(arg, Context) else Constant(arg)


class Batch(tuple):
    """Several tangents (or cotangents) evaluated together; operators return a ``Batch`` of results.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> f = lambda x: x**2
        >>> x = np.array([1.0, 2.0])
        >>> ts = ad.Batch(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
        >>> [t.round(6) for t in ad.pushforward(f, "finitediff", x, ts)]
        [array([2., 0.]), array([0., 4.])]
    """

    def __new__(cls, *items: Any) -> Batch:
        if len(items) == 0:
            from ._errors import AnydiffValueError

            raise AnydiffValueError("Batch needs at least one tangent.")
        return super().__new__(cls, items)

    def __repr__(self) -> str:
        return f"Batch({', '.join(repr(i) for i in self)})"
