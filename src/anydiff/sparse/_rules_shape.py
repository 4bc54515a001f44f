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


def _over_candidates(c: Call, start: int, rule: Callable[[tuple], Any]) -> Any:
    """``rule(index_arrays)``, or in global mode, where some index arrays are computed from x
    (np.sort, take_along_axis of argsort, ``x[argmax(x)]``, ``y[argmax(x)] = v``), the union of
    ``rule`` over every value those indices could take along the axes they address."""
    unknown = [i for i in range(start, len(c.xs)) if not c.usable[i]]
    if not unknown:
        return rule(_index_arrays(c, start))
    axes = _axes_of(c.params["idx"], len(c.shape(0)))
    sizes = [c.shape(0)[axes[i - start]] for i in unknown]
    boolean = any(_np.asarray(c.xs[i]).dtype.kind == "b" for i in unknown)
    if boolean or int(np.prod(sizes)) > _MAX_CHOICES:
        _index_arrays(c, start)  # raises, naming the cause
    arrs = [_np.asarray(a) for a in c.xs[start:]]
    out = None
    for combo in np.ndindex(*sizes):
        for i, k in zip(unknown, combo):
            arrs[i - start] = _np.zeros(np.shape(c.xs[i]), dtype=np.int64) + k
        rows = rule(tuple(arrs))
        out = rows if out is None else out + rows
    return out


def _getitem(c: Call) -> Any:
    pm = ix.positions(c.shape(0))

    def read(arrs: tuple) -> Any:
        return ix.gather(c.Ps[0], pm[build_index(c.params["idx"], arrs)].ravel())

    return _over_candidates(c, 1, read)


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
    ys, vs = c.shape(0), c.shape(1)
    stacked = ix.rows_of([(c.Ps[0], _size(ys)), (c.Ps[1], _size(vs))], c.n_in)

    def write(arrs: tuple) -> Any:
        pm = ix.positions(ys).copy()
        pm[build_index(c.params["idx"], arrs)] = ix.positions(vs, _size(ys))  # v broadcasts, as in the write
        return ix.gather(stacked, pm.ravel())

    return _over_candidates(c, 2, write)


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
