"""Dependency rules of data movement: reshape, transpose, broadcast, casts, concatenate, indexing, where.

Data movement is exact: the rule applies the operation itself to a *position map* (``arange`` of the
operand's size, shaped like it) and gathers the rows of the operand's pattern at the positions the
result reads.  Several operands (concatenate, setitem) first have their patterns stacked, with the
position maps offset to match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import UnsupportedError
from ..engine._rules_core import _kshape
from ..engine._rules_shape import build_index
from . import _index as ix
from . import _np
from ._trace import LOCAL_HINT, Call


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _index_arrays(c: Call, start: int) -> tuple:
    """The index-array operands from ``start`` on, refusing value-dependent ones in global mode."""
    arrs = []
    for i in range(start, len(c.xs)):
        if not c.usable[i]:
            raise UnsupportedError(
                f"{c.prim.name} with an index array computed from traced values (argmax, argsort, "
                "searchsorted of x...): which elements are read depends on x, so no pattern valid "
                "at every x exists; " + LOCAL_HINT + "."
            )
        arrs.append(_np.asarray(c.xs[i]))
    return tuple(arrs)


def _same(c: Call) -> Any:
    return c.Ps[0]


def _transpose(c: Call) -> Any:
    return ix.gather(c.Ps[0], ix.positions(c.shape(0)).transpose(c.params["axes"]).ravel())


def _broadcast(c: Call) -> Any:
    return ix.broadcast_rows(c.Ps[0], c.shape(0), c.yshape)


def _concat(c: Call) -> Any:
    parts, maps, off = [], [], 0
    for i, P in enumerate(c.Ps):
        s = c.shape(i)
        parts.append((P, _size(s)))
        maps.append(ix.positions(s, off))
        off += _size(s)
    pm = np.concatenate(maps, axis=c.params["axis"])
    return ix.gather(ix.rows_of(parts, c.n_in), pm.ravel())


_MAX_CHOICES = 4096  # value-dependent integer indices: how many candidate positions are enumerated


def _getitem(c: Call) -> Any:
    pm = ix.positions(c.shape(0))
    unknown = [i for i in range(1, len(c.xs)) if not c.usable[i]]
    if not unknown:
        return ix.gather(c.Ps[0], pm[build_index(c.params["idx"], _index_arrays(c, 1))].ravel())
    # global mode, indices computed from x (np.sort, take_along_axis of argsort, x[argmax(x)]): an
    # element may read any position along the axes those indices address, so the pattern is the
    # union over every candidate value of them
    axes = _axes_of(c.params["idx"], len(c.shape(0)))
    sizes = [c.shape(0)[axes[i - 1]] for i in unknown]
    if any(np.asarray(c.xs[i]).dtype.kind == "b" for i in unknown) or int(np.prod(sizes)) > _MAX_CHOICES:
        _index_arrays(c, 1)  # raises, naming the cause
    arrs = [np.asarray(a) for a in c.xs[1:]]
    out = None
    for combo in np.ndindex(*sizes):
        for i, k in zip(unknown, combo):
            arrs[i - 1] = np.full(np.shape(c.xs[i]), k, dtype=np.int64)
        rows = ix.gather(c.Ps[0], pm[build_index(c.params["idx"], tuple(arrs))].ravel())
        out = rows if out is None else out + rows
    return out


def _axes_of(tmpl: tuple, ndim: int) -> list[int]:
    """For each index-array placeholder of an index template, the axis of ``x`` it indexes."""
    from ..engine._rules_shape import ARR

    axes, ax = [], 0
    for it in tmpl:
        if it is None:
            continue  # np.newaxis consumes no axis
        if it is ARR:
            axes.append(ax)
        ax += 1
    return axes


def _setitem(c: Call) -> Any:
    idx = build_index(c.params["idx"], _index_arrays(c, 2))
    ys, vs = c.shape(0), c.shape(1)
    pm = ix.positions(ys).copy()
    pm[idx] = ix.positions(vs, _size(ys))  # NumPy broadcasts v over the selection, as the write does
    stacked = ix.rows_of([(c.Ps[0], _size(ys)), (c.Ps[1], _size(vs))], c.n_in)
    return ix.gather(stacked, pm.ravel())


def _index_add(c: Call) -> Any:
    # out = zeros(shape); out[idx] += g (np.add.at when indices repeat): output k collects every g
    # element written to it
    idx = build_index(c.params["idx"], _index_arrays(c, 1))
    shape = c.params["shape"]
    target = ix.positions(shape)[idx]
    src = np.broadcast_to(ix.positions(c.shape(0)), target.shape)
    G = ix.coords(target.ravel(), src.ravel(), (_size(shape), c.Ps[0].shape[0]))
    return ix.matmul(G, c.Ps[0])


def _where(c: Call) -> Any:
    yshape = c.yshape
    cond = c.value(0)
    rows = []
    for i in (1, 2):
        P = c.Ps[i]
        if P is None:
            continue
        Pb = ix.broadcast_rows(P, c.shape(i), yshape)
        if cond is not None:  # the branch taken is known (local mode, or a fixed condition)
            k = np.broadcast_to(cond.astype(bool), yshape)
            Pb = ix.mask_rows(Pb, k if i == 1 else ~k)
        rows.append(Pb)
    return ix.union(*rows)


RULES: dict[str, Callable[[Call], Any]] = {
    "reshape": _same,
    "astype": _same,
    "copy": _same,
    "transpose": _transpose,
    "broadcast_to": _broadcast,
    "concatenate": _concat,
    "getitem": _getitem,
    "setitem": _setitem,
    "index_add": _index_add,
    "where": _where,
}


def reduced_positions(xshape: tuple[int, ...], axes: tuple[int, ...] | None) -> np.ndarray:
    """For each element of an array of ``xshape`` (C order), its position in the reduction over ``axes``."""
    kshape = _kshape(xshape, axes)
    return np.broadcast_to(ix.positions(kshape), xshape).ravel()
