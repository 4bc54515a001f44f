"""NumPy's in-place writers: ``np.put``, ``np.put_along_axis``, ``np.place``, ``np.putmask``,
``np.copyto``, ``np.multiply.at`` / ``maximum.at`` / ``minimum.at`` / ``divide.at``, each as
the indexed assignment it stands for (so it needs, like ``y[i] = v``,
an array created inside ``f`` when the written values are traced).

Index and mask arguments are constants (a traced mask is read as its concrete value, and a
tape that saw one re-traces).  ``mode=`` of ``np.put``: ``"raise"``, ``"wrap"``, ``"clip"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._numpy_api import implements
from ._numpy_elementwise import _concrete
from ._numpy_more import UFUNC_AT_ROUNDS


def _const(v: Any, fn: str) -> np.ndarray:
    return np.asarray(_concrete(v, f"np.{fn}(traced index or mask)"))


@implements(np.put)
def _put(a: Any, ind: Any, v: Any, mode: str = "raise") -> None:
    shape = R.shape_of(a)
    size = int(np.prod(shape))
    ind = _const(ind, "put").astype(np.intp).ravel()
    if mode == "wrap":
        ind = ind % size
    elif mode == "clip":
        ind = np.clip(ind, 0, size - 1)
    elif np.any((ind >= size) | (ind < -size)):
        raise IndexError(f"index {ind.max()} is out of bounds for axis 0 with size {size}")
    vals = np.reshape(v, (-1,))
    n = R.shape_of(vals)[0]
    if n != ind.size:  # NumPy repeats v cyclically
        vals = vals[np.arange(ind.size) % n]
    a[np.unravel_index(ind % size, shape)] = vals


@implements(np.put_along_axis)
def _put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> None:
    indices = _const(indices, "put_along_axis")
    if axis is None:
        _put(arr, indices, values)
        return
    shape = R.shape_of(arr)
    nd = len(shape)
    axis %= nd
    idx: list[Any] = []
    for d in range(nd):
        if d == axis:
            idx.append(indices)
        else:
            shp = [1] * nd
            shp[d] = shape[d]
            idx.append(np.arange(shape[d]).reshape(shp))
    arr[tuple(idx)] = values


@implements(np.putmask)
def _putmask(a: Any, mask: Any, values: Any) -> None:
    mask = np.broadcast_to(_const(mask, "putmask"), R.shape_of(a))
    vals = np.reshape(values, (-1,))
    n = R.shape_of(vals)[0]
    # values line up with the flat positions of a (repeated cyclically), not with the hits
    flat = np.flatnonzero(mask)
    a[np.unravel_index(flat, R.shape_of(a))] = vals[flat % n]


@implements(np.place)
def _place(arr: Any, mask: Any, vals: Any) -> None:
    mask = np.broadcast_to(_const(mask, "place"), R.shape_of(arr))
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return
    v = np.reshape(vals, (-1,))
    n = R.shape_of(v)[0]
    if n == 0:
        raise ValueError("Cannot insert from an empty array!")
    # vals fill the hits in order (repeated cyclically)
    arr[np.unravel_index(hits, R.shape_of(arr))] = v[np.arange(hits.size) % n]


@implements(np.copyto)
def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    if where is True:
        new = np.broadcast_to(src, R.shape_of(dst))
    else:
        new = np.where(_const(where, "copyto"), src, dst)
    dst[...] = new


def _at_rounds(ufunc: Any, a: Any, indices: Any, b: Any) -> None:
    """``ufunc.at(a, indices, b)``: repeated indices apply one after the other, so the hits are
    applied in rounds in which every index occurs once (``a[i] = ufunc(a[i], b_k)``)."""
    shape = R.shape_of(a)
    pos = np.arange(int(np.prod(shape))).reshape(shape)[_const_index(indices)]
    flat = pos.ravel()
    vals = (
        np.reshape(np.broadcast_to(b, pos.shape), (-1,))
        if R.shape_of(b) != pos.shape
        else np.reshape(b, (-1,))
    )
    order = np.argsort(flat, kind="stable")
    srt = flat[order]
    starts = np.r_[0, np.flatnonzero(np.diff(srt)) + 1]
    rank = np.empty(flat.size, dtype=int)
    rank[order] = np.arange(flat.size) - np.repeat(starts, np.diff(np.r_[starts, flat.size]))
    for r in range(int(rank.max()) + 1 if flat.size else 0):
        sel = np.flatnonzero(rank == r)
        where = np.unravel_index(flat[sel], shape)
        a[where] = ufunc(a[where], vals[sel])


def _const_index(indices: Any) -> Any:
    if isinstance(indices, tuple):
        return tuple(_const(i, "ufunc.at") if not isinstance(i, slice) else i for i in indices)
    return _const(indices, "ufunc.at") if not isinstance(indices, slice) else indices


UFUNC_AT_ROUNDS.update({u: _at_rounds for u in (np.multiply, np.maximum, np.minimum, np.divide)})


@implements(np.choose)
def _choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """``np.choose``: per entry, the choice its (constant) index names."""
    idx = _const(a, "choose").astype(np.intp)
    n = len(choices)
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif np.any((idx < 0) | (idx >= n)):
        raise ValueError("invalid entry in choice array")
    shape = np.broadcast_shapes(idx.shape, *[R.shape_of(c) for c in choices])
    stacked = np.stack([np.broadcast_to(c, shape) for c in choices])
    return np.take_along_axis(stacked, np.broadcast_to(idx, shape)[None], axis=0)[0]
