"""Elementwise, selection and rearranging entry points (split out of :mod:`._numpy_api`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._numpy_api import (
    HANDLERS,
    _as_view,
    _mean,
    _stack,
    _write_out,
    implements,
    reshape,
)
from ._tracer import Prim, Traced, bind, primal


@implements(np.where)
def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:  # np.nonzero(condition): constant indices, data-dependent shape
        return np.nonzero(condition)
    return bind(WHERE, [condition, x, y], {})


def _where_jvp(ts: list, xs: list, out: Any, p: dict) -> Any:
    nd = R.ndim_of(out)
    c = xs[0]
    tx = 0 if ts[1] is None else R.bt(ts[1], nd)
    ty = 0 if ts[2] is None else R.bt(ts[2], nd)
    return np.where(c, tx, ty)


WHERE = Prim(
    "where",
    np.where,
    _where_jvp,
    lambda g, xs, out, need, p: (
        None,
        np.where(xs[0], g, 0) if need[1] else None,
        np.where(xs[0], 0, g) if need[2] else None,
    ),
)


@implements(np.clip)
def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    a_min = kw.get("min", a_min)
    a_max = kw.get("max", a_max)
    if a_min is not None:
        a = np.maximum(a, a_min)
    if a_max is not None:
        a = np.minimum(a, a_max)
    return a if out is None else _write_out(out, a)


@implements(np.real)
def _real(val: Any) -> Any:
    # ``z.real`` is a view in NumPy (of a real array: the array's own data): it sees later
    # writes into ``z``, and writes into it change ``z``
    if type(val) is Traced and not R.is_complex(val):
        return val
    r = bind(R.REAL, [val], {})
    return _as_view(val, r, _real, lambda v: v + 1j * bind(R.IMAG, [val], {}))


@implements(np.imag)
def _imag(val: Any) -> Any:
    r = bind(R.IMAG, [val], {})
    if not R.is_complex(val):
        return r  # a new read-only array of zeros in NumPy
    return _as_view(val, r, _imag, lambda v: bind(R.REAL, [val], {}) + 1j * v)


@implements(np.around, np.round)
def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    return bind(R.nondiff("round", lambda x: np.round(x, decimals)), [a], {})


def _nondiff_fn(func: Any) -> Callable:
    prim = R.nondiff(func.__name__, func)

    def h(*args: Any, **kw: Any) -> Any:
        if kw:
            return bind(R.nondiff(func.__name__, lambda *a: func(*a, **kw)), list(args), {})
        return bind(prim, list(args), {})

    return h


for _f in (
    np.argmax,
    np.argmin,
    np.argsort,
    np.any,
    np.all,
    np.isclose,
    np.count_nonzero,
    np.sign,
    np.floor,
    np.ceil,
    np.isnan,
    np.isfinite,
    np.isinf,
):
    HANDLERS[_f] = _nondiff_fn(_f)


def _concrete(a: Any, why: str) -> Any:
    """The plain value of ``a``, marking every enclosing tape non-replayable."""
    while isinstance(a, Traced):
        a._escape(why)
        a = a._value
    return a


def _data_shaped(func: Any) -> Callable:
    # results whose *shape* depends on the data: computed from plain values, and a tape that
    # sees one re-traces (a replay could not know the new shape)
    def h(*args: Any, **kw: Any) -> Any:
        why = f"np.{func.__name__}(traced) (data-dependent shape)"
        return func(*[_concrete(a, why) for a in args], **kw)

    return h


for _f in (np.nonzero, np.flatnonzero, np.argwhere):  # np.unique: _numpy_extra
    HANDLERS[_f] = _data_shaped(_f)
HANDLERS[np.searchsorted] = _nondiff_fn(np.searchsorted)
HANDLERS[np.digitize] = _nondiff_fn(np.digitize)  # integer bins: no derivative
HANDLERS[np.argpartition] = _nondiff_fn(np.argpartition)


@implements(np.allclose)
def _allclose(*args: Any, **kw: Any) -> Any:
    return bool(np.all(np.isclose(*args, **kw)))


@implements(np.array_equal)
def _array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    return R.shape_of(a1) == R.shape_of(a2) and bool(np.all(np.equal(a1, a2)))


@implements(np.take_along_axis)
def _take_along_axis(arr: Any, indices: Any, axis: Any) -> Any:
    if axis is None:
        arr, axis = reshape(arr, (-1,)), 0
    nd = R.ndim_of(arr)
    axis %= nd
    idx: list[Any] = []
    ishape = R.shape_of(indices)
    ashape = R.shape_of(arr)
    for d in range(nd):
        if d == axis:
            idx.append(indices)
        else:  # the other axes broadcast between arr and indices, as in NumPy
            shp = [1] * nd
            shp[d] = ashape[d]
            keep = ashape[d] != 1 or ishape[d] == 1
            idx.append(np.arange(ashape[d]).reshape(shp) if keep else np.zeros(shp, int))
    return arr[tuple(idx)]


@implements(np.sort)
def _sort(a: Any, axis: Any = -1, **kw: Any) -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return _take_along_axis(a, np.argsort(a, axis=axis), axis)


@implements(np.repeat)
def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    nd = R.ndim_of(a)
    n = R.shape_of(a)[axis % nd]
    idx = np.repeat(np.arange(n), repeats)
    return a[(slice(None),) * (axis % nd) + (idx,)]


@implements(np.tile)
def _tile(A: Any, reps: Any) -> Any:
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = max(R.ndim_of(A), len(reps))
    A = reshape(A, (1,) * (nd - R.ndim_of(A)) + R.shape_of(A))
    reps = (1,) * (nd - len(reps)) + reps
    for ax, r in enumerate(reps):
        if r != 1:
            n = R.shape_of(A)[ax]
            A = A[(slice(None),) * ax + (np.tile(np.arange(n), r),)]
    return A


@implements(np.roll)
def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    if axis is None:
        return reshape(_roll(reshape(a, (-1,)), shift, 0), R.shape_of(a))
    nd = R.ndim_of(a)
    if np.ndim(shift) or np.ndim(axis):  # several axes: one roll per axis, as NumPy
        shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
        for s_, ax_ in zip(shifts.ravel().tolist(), axes.ravel().tolist()):
            a = _roll(a, int(s_), int(ax_))
        return a
    n = R.shape_of(a)[axis % nd]
    idx = (np.arange(n) - shift) % n if n else np.arange(0)
    return a[(slice(None),) * (axis % nd) + (idx,)]


@implements(np.split, np.array_split)
def _split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    nd = R.ndim_of(ary)
    n = R.shape_of(ary)[axis % nd]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = np.cumsum([0] + sizes).tolist()
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    pre = (slice(None),) * (axis % nd)
    return [ary[pre + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


@implements(np.average)
def _average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: Any = np._NoValue
) -> Any:
    keep = False if keepdims is np._NoValue else bool(keepdims)
    if weights is None:
        avg = _mean(a, axis=axis, keepdims=keep)
        cnt = np.sum(np.ones_like(a), axis=axis, keepdims=keep)
    else:
        if R.ndim_of(weights) != R.ndim_of(a) and axis is not None and R.ndim_of(weights) == 1:
            # 1-D weights along ``axis``: NumPy lines them up with that axis
            shape = [1] * R.ndim_of(a)
            shape[axis % R.ndim_of(a)] = R.shape_of(weights)[0]
            weights = reshape(weights, tuple(shape))
        cnt = np.sum(weights * np.ones_like(a), axis=axis, keepdims=keep)
        avg = np.sum(a * weights, axis=axis, keepdims=keep) / cnt
    if returned:  # (average, sum of weights), as NumPy
        return avg, np.broadcast_to(cnt, R.shape_of(avg)) if R.shape_of(cnt) != R.shape_of(avg) else cnt
    return avg


@implements(np.cross)
def _cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None) -> Any:
    if axis is not None:  # as NumPy: ``axis`` overrides the three others
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    na, nb = R.shape_of(a)[-1], R.shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    c2 = a0 * b1 - a1 * b0
    if na == nb == 2:  # the z component only, as NumPy
        return c2
    # a 2-vector has z = 0
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    c0 = a1 * b2 if a2 is None else (-a2 * b1 if b2 is None else a1 * b2 - a2 * b1)
    c1 = -a0 * b2 if a2 is None else (a2 * b0 if b2 is None else a2 * b0 - a0 * b2)
    return np.moveaxis(_stack([c0, c1, c2], axis=-1), -1, axisc)


@implements(np.take)
def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    nd = R.ndim_of(a)
    if mode != "raise":  # constant indices wrapped or clipped into range first, as NumPy
        n = R.shape_of(a)[axis % nd]
        idx = np.asarray(primal(indices))
        indices = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    r = a[(slice(None),) * (axis % nd) + (indices,)]
    return r if out is None else _write_out(out, r)


WHERE.fast = R._fast_where
