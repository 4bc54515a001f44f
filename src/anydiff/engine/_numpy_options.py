"""Options of NumPy functions beyond their common form, as composites of engine operations:
``np.pad`` statistic, ramp and odd-reflection modes, ``linspace`` along another axis,
``logspace`` / ``geomspace``, ``insert`` along an axis.
Each is written with NumPy calls that dispatch to existing rules, so both modes, tapes and
nesting need nothing new."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import concatenate, implements, reshape
from ._tracer import primal

STAT_MODES = {"maximum": np.max, "minimum": np.min, "mean": np.mean, "median": np.median}


def pairs(v: Any, nd: int) -> list:
    """NumPy's ``((before, after),) * nd`` reading of ``stat_length`` / ``end_values`` (entries
    kept as given, so traced end values stay traced)."""
    if hasattr(v, "shape"):  # an array (traced too)
        b = np.broadcast_to(v, (nd, 2))
        return [[b[i, 0], b[i, 1]] for i in range(nd)]
    if not isinstance(v, (list, tuple)):
        return [[v, v]] * nd
    rows = [list(r) if isinstance(r, (list, tuple, np.ndarray)) else [r] for r in v]
    if all(len(r) == 1 for r in rows) and len(rows) in (1, 2) and not isinstance(v[0], (list, tuple)):
        rows = [[r[0] for r in rows] * (3 - len(rows))]  # (a,) or (before, after) for every axis
    rows = [r * 2 if len(r) == 1 else r for r in rows]
    return rows * nd if len(rows) == 1 else rows


def _take_range(a: Any, ax: int, lo: int, hi: int) -> Any:
    return a[(slice(None),) * ax + (slice(lo, hi),)]


def _repeat_along(block: Any, ax: int, k: int) -> Any:
    return concatenate([block] * k, axis=ax) if k > 1 else block


def pad_extra(a: Any, widths: np.ndarray, mode: str, kw: dict) -> Any:
    """``np.pad`` with mode ``maximum``/``minimum``/``mean``/``median`` (``stat_length=``),
    ``linear_ramp`` (``end_values=``) or ``empty`` (zeros, as JAX), one axis after the other
    as NumPy pads (later axes' statistics see the earlier axes' padding)."""
    nd = R.ndim_of(a)
    stat = pairs(kw.pop("stat_length", None), nd) if mode in STAT_MODES else None
    ends = pairs(kw.pop("end_values", 0), nd) if mode == "linear_ramp" else None
    if kw:
        raise no_rule(f"np.pad with mode={mode!r} and {sorted(kw)}")
    out = a
    for ax in range(nd):
        before, after = (int(w) for w in widths[ax])
        n = R.shape_of(out)[ax]
        parts = []
        for side, k in ((0, before), (1, after)):
            if k == 0:
                parts.append(None)
                continue
            if mode == "empty":
                shp = list(R.shape_of(out))
                shp[ax] = k
                parts.append(np.zeros(shp, dtype=R.dtype_of(out)))
            elif mode in STAT_MODES:
                L = n if stat[ax][side] is None else max(1, min(int(stat[ax][side]), n))
                seg = _take_range(out, ax, 0, L) if side == 0 else _take_range(out, ax, n - L, n)
                parts.append(_repeat_along(STAT_MODES[mode](seg, axis=ax, keepdims=True), ax, k))
            else:  # linear_ramp: from the end value to the edge value, the edge excluded
                edge = _take_range(out, ax, 0, 1) if side == 0 else _take_range(out, ax, n - 1, n)
                w = np.arange(k) / k if side == 0 else np.arange(k - 1, -1, -1) / k
                shape = [1] * nd
                shape[ax] = k
                w = w.reshape(shape)
                parts.append(ends[ax][side] * (1 - w) + edge * w)
        out = concatenate([p for p in (parts[0], out, parts[1]) if p is not None], axis=ax)
    return out


def pad_odd(out: Any, widths: np.ndarray, mode: str) -> Any:
    """``reflect`` / ``symmetric`` with ``reflect_type='odd'``: ``2 edge - reflected``; widths
    up to one reflection (a longer pad raises)."""
    nd = R.ndim_of(out)
    for ax in range(nd):
        before, after = (int(w) for w in widths[ax])
        n = R.shape_of(out)[ax]
        if max(before, after) > (n - 1 if mode == "reflect" else n):
            raise no_rule("np.pad with reflect_type='odd' wider than the array")
        idx = np.pad(np.arange(n), (before, after), mode=mode)
        taken = np.take(out, idx, axis=ax)
        shape = [1] * nd
        shape[ax] = -1
        pos = np.arange(idx.size).reshape(shape)
        e0, e1 = _take_range(out, ax, 0, 1), _take_range(out, ax, n - 1, n)
        out = np.where(pos < before, 2 * e0 - taken, np.where(pos >= before + n, 2 * e1 - taken, taken))
    return out


def linspace_axis(y: Any, step: Any, axis: int, retstep: bool) -> Any:
    """``linspace(..., axis=k)``: the samples' axis (first in ``y``) moved to ``k``."""
    y = np.moveaxis(y, 0, axis if axis >= 0 else R.ndim_of(y) + axis)
    return (y, step) if retstep else y


@implements(np.logspace)
def _logspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0, dtype: Any = None,
    axis: int = 0,
) -> Any:
    y = np.linspace(start, stop, num, endpoint=endpoint, axis=axis)
    if R.ndim_of(base):
        base = np.expand_dims(base, axis)
    r = np.power(base, y)
    return r if dtype is None else r.astype(dtype)


@implements(np.geomspace)
def _geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    if np.any(np.asarray(primal(start)) == 0) or np.any(np.asarray(primal(stop)) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    if R.dtype_of(start).kind == "c" or R.dtype_of(stop).kind == "c" or np.any(
        np.sign(np.asarray(primal(start))) != np.sign(np.asarray(primal(stop)))
    ):
        raise no_rule("np.geomspace with complex or sign-changing endpoints")
    sign = np.sign(np.asarray(primal(start)))
    y = sign * np.exp(np.linspace(np.log(sign * start), np.log(sign * stop), num, endpoint=endpoint))
    if num > 0:  # NumPy puts the endpoints in exactly
        rest = R.shape_of(y)[1:]
        parts = [reshape(start + 0.0 * stop, (1, *rest)), y[1 : num - 1 if endpoint else num]]
        if endpoint and num > 1:
            parts.append(reshape(stop + 0.0 * start, (1, *rest)))
        y = concatenate(parts, axis=0)
    y = np.moveaxis(y, 0, axis) if axis != 0 else y
    return y if dtype is None else y.astype(dtype)


def insert_axis(arr: Any, obj: Any, values: Any, axis: int) -> Any:
    """``np.insert`` along ``axis`` of an N-D array (an integer or a sequence of indices): the
    1-D layout of the slices, then one gather along the axis from ``arr`` and the values,
    shaped as NumPy shapes them."""
    nd = R.ndim_of(arr)
    axis = axis % nd
    n = R.shape_of(arr)[axis]
    if not hasattr(values, "_trace"):
        values = np.asarray(values, dtype=R.dtype_of(arr))
    vs = R.shape_of(values)
    probe = np.insert(np.zeros(R.shape_of(arr)), obj, np.zeros(vs), axis=axis)  # NumPy's layout
    m = probe.shape[axis] - n
    codes = np.insert(-1 - np.arange(n), obj, np.arange(m))
    v = reshape(values, (1,) * (nd - len(vs)) + vs)
    if np.ndim(obj) == 0:  # one index: the values' first axis becomes `axis`, as NumPy
        v = np.moveaxis(v, 0, axis)
    vshape = list(probe.shape)
    vshape[axis] = m
    both = concatenate([arr, np.broadcast_to(v, tuple(vshape))], axis=axis)
    return np.take(both, np.where(codes < 0, -1 - codes, n + codes), axis=axis)
