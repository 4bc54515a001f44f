"""Shared helpers of the derivative rules: shapes, dtypes, broadcasting, lazy cotangents.

Conventions (shapes): a forward tangent of an operand ``x`` is ``(B, *x.shape)`` (a batch of
``B`` directions as a leading axis) or ``None`` (zero); a reverse cotangent ``g`` has the shape
of the output ``y``.  Rules return cotangents that may still be broadcast or have the wrong
dtype: the reverse pass fits them (``fit``) to each input's shape and dtype in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._tracer import Prim, Traced


def shape_of(a: Any) -> tuple[int, ...]:
    s = getattr(a, "shape", None)
    return s if s is not None else np.shape(a)


def ndim_of(a: Any) -> int:
    return len(shape_of(a))


def dtype_of(a: Any) -> np.dtype:
    d = getattr(a, "dtype", None)
    return d if d is not None else np.result_type(a)


def is_complex(a: Any) -> bool:
    return dtype_of(a).kind == "c"


def cj(a: Any) -> Any:
    """Conjugate, skipped (no copy) for real values."""
    if isinstance(a, (bool, int, float)):
        return a
    return np.conjugate(a) if dtype_of(a).kind == "c" else a


def bt(t: Any, nd: int) -> Any:
    """Tangent ``(B, *s)`` with 1-axes after B, so it broadcasts against ``nd``-dim arrays."""
    k = nd - (ndim_of(t) - 1)
    if k <= 0:
        return t
    s = shape_of(t)
    return np.reshape(t, s[:1] + (1,) * k + s[1:])


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an operand of ``shape`` was broadcast."""
    gs = shape_of(g)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    if lead > 0:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and shape_of(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape) if shape_of(g) != shape else g


def fit(g: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Cotangent ``g`` reduced to an input's ``shape`` and cast to its ``dtype``."""
    g = unbroadcast(g, shape)
    gd = dtype_of(g)
    if gd != dtype:
        if gd.kind == "c" and dtype.kind != "c":
            g = np.real(g)
        g = g.astype(dtype) if dtype_of(g) != dtype else g
    return g


def fit_tangent(t: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Forward tangent broadcast to ``(B, *shape)`` and cast to ``dtype``."""
    ts = shape_of(t)
    if ts[1:] != shape:
        t = np.broadcast_to(bt(t, len(shape)), ts[:1] + tuple(shape))
    td = dtype_of(t)
    if td != dtype:
        if td.kind == "c" and dtype.kind != "c":
            t = np.real(t)
        if dtype_of(t) != dtype:
            t = t.astype(dtype)
    return t


def _norm_axes(axis: Any, nd: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    if not isinstance(axis, tuple):
        axis = (axis,)
    return tuple(sorted(int(a) % nd if nd else 0 for a in axis))


def _kshape(xshape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return (1,) * len(xshape)
    return tuple(1 if i in axes else s for i, s in enumerate(xshape))


def _shift(axes: tuple[int, ...] | None, nd: int) -> tuple[int, ...]:
    return tuple(range(1, nd + 1)) if axes is None else tuple(a + 1 for a in axes)


class Lazy:
    """A scaled cotangent ``s * g``, or ``s * ones(shape)`` when ``g`` is None (reverse only).

    Multiplying by a constant, negating, and the cotangent of a full sum are then free: the
    factor is folded into the next operation that touches the array anyway (``r *= 2 * s``
    in the rule of ``x ** 2``, ``buf[i] -= g`` when scattering).  Only backward closures
    marked ``lazy`` ever see one; everything else gets :meth:`value`.
    """

    __slots__ = ("g", "s", "shape", "dtype")

    def __init__(self, g: Any, s: Any, shape: tuple, dtype: np.dtype):
        self.g, self.s, self.shape, self.dtype = g, s, shape, dtype

    def value(self) -> Any:
        if self.g is None:
            return np.full(self.shape, self.s, dtype=self.dtype)
        return self.g if self.s == 1 else self.g * self.s

    def scaled(self, c: Any) -> Lazy:
        return Lazy(self.g, self.s * c, self.shape, self.dtype)


def lazy_of(g: Any, c: Any) -> Lazy:
    """``c * g`` as a :class:`Lazy` (``g`` an array or a Lazy)."""
    if type(g) is Lazy:
        return g.scaled(c)
    return Lazy(g, c, g.shape, g.dtype)


def _lazy(f: Callable) -> Callable:
    f.lazy = True  # type: ignore[attr-defined]
    return f


def _real(*xs: Any) -> bool:
    return all(dtype_of(x).kind != "c" for x in xs)


def _is_scalar_const(a: Any) -> bool:
    # exactly a Python int/float: a literal of f (np.float64 subclasses float but is data)
    return type(a) is int or type(a) is float


def _reuse(holder: list, k: int, ufunc: Any, *args: Any) -> Any:
    """``ufunc(*args)`` written into the buffer kept in ``holder[k]`` from the previous call.

    Backward temporaries are the same shapes on every replay; reusing their memory avoids
    the allocator returning and re-faulting large blocks on each call.  Safe because the
    backward pass never mutates a cotangent it did not allocate itself, and the gradient it
    returns is copied unless it is freshly allocated (``finish_grad``).
    """
    buf = holder[k]
    if buf is not None:
        try:
            return ufunc(*args, out=buf)
        except (ValueError, TypeError):  # shape/dtype differs (e.g. a complex cotangent)
            pass
    r = ufunc(*args)
    if type(r) is np.ndarray and r.ndim:
        holder[k] = r
    return r


def nondiff(name: str, f: Callable) -> Prim:
    return Prim(name, f, diff=False)


# ---------------------------------------------------------------------------- operands


def as_operand(a: Any) -> Any:
    """A non-traced operand as every rule expects it: lists and tuples become arrays.

    NumPy converts sequences with ``np.asarray`` before any ufunc or function runs; the
    rules read ``.shape``/``.dtype`` of their operands, so the traces convert them the same
    way, once, before a rule sees them.  A sequence holding traced values is stacked (as
    ``np.array([...])`` of them would be in plain NumPy), keeping their derivatives.
    Python and NumPy scalars stay as they are: Python scalars are *weak* in NumPy's type
    promotion (``float32 x + 1.0`` stays float32), and the fast reverse closures treat a
    Python number written in ``f`` as a literal.
    """
    t = type(a)
    if t is list or t is tuple:
        from ._numpy_api import _build, _has_traced  # lazy: _numpy_api imports the rules

        return _build(a) if _has_traced(a) else np.asarray(a)
    return a


def operands(args: list | tuple) -> list | tuple:
    """``args`` with every list/tuple operand converted by :func:`as_operand` (same object if none)."""
    for a in args:
        t = type(a)
        if t is list or t is tuple:
            return [as_operand(b) for b in args]
    return args


def outranked(args: list | tuple, level: int) -> bool:
    """Whether a converted operand (a stacked list of traced values) belongs to an inner trace.

    Dispatch chose the trace at ``level`` from the operands it saw; a list may have hidden a
    value of a more deeply nested transformation, which must then process the operation.
    """
    for a in args:
        if type(a) is Traced and a._trace is not None and a._trace.level > level:
            return True
    return False


def dispatch_operands(prim: Prim, args: list | tuple, level: int) -> tuple[list | tuple, bool]:
    """A trace's first step on a differentiable primitive: ``args`` with lists/tuples as
    arrays (before any rule reads them), and whether a converted operand belongs to a deeper
    trace (:func:`outranked`), which must then process the call (``bind`` it again)."""
    if not prim.diff:
        return args, False
    new = operands(args)
    if new is args:
        return args, False
    return new, outranked(new, level)
