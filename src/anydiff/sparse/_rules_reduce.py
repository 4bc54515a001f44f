"""Dependency rules of reductions and scans: sum, max/min, prod, logsumexp, cumsum, cumprod.

A reduction is ``G @ P`` with ``G`` mapping each element to its reduced position; a scan along an
axis is the lower-triangular ``G`` of that axis.  Nonlinear reductions (prod, logsumexp, cumprod)
also make every pair of inputs of one reduced element interact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine._rules_core import _kshape
from . import _index as ix
from . import _np
from ._rules_shape import reduced_positions
from ._trace import Call


def _n_out(c: Call) -> int:
    return int(np.prod(_kshape(c.shape(0), c.params["axis"]), dtype=np.int64))


def _sum(c: Call) -> Any:
    return ix.scatter(c.Ps[0], reduced_positions(c.shape(0), c.params["axis"]), _n_out(c))


def _nonlinear(c: Call) -> Any:
    R = _sum(c)
    c.pair(R, R)
    return R


def _extreme(c: Call) -> Any:
    # global: every element of the slice may be the extreme one; local: only those equal to it
    out_of = reduced_positions(c.shape(0), c.params["axis"])
    x = c.value(0)
    if x is not None and x.size:
        yk = _np.asarray(c.y).reshape(_kshape(c.shape(0), c.params["axis"]))
        hit = (x == yk) | np.isnan(yk)
        out_of = np.where(hit.ravel(), out_of, -1)
    return ix.scatter(c.Ps[0], out_of, _n_out(c))


def _scan_matrix(shape: tuple[int, ...], axis: int) -> Any:
    """``G[out, src] = 1`` when ``src`` precedes or equals ``out`` along ``axis`` (same other indices)."""
    pos = np.moveaxis(ix.positions(shape), axis, -1)
    n = shape[axis]
    k, j = np.tril_indices(n)  # k >= j: output k reads element j
    dst, src = pos[..., k], pos[..., j]
    size = int(np.prod(shape, dtype=np.int64))
    return ix.coords(dst.ravel(), src.ravel(), (size, size))


def _cumsum(c: Call) -> Any:
    return ix.matmul(_scan_matrix(c.shape(0), c.params["axis"]), c.Ps[0])


def _cumprod(c: Call) -> Any:
    R = _cumsum(c)
    c.pair(R, R)
    return R


RULES: dict[str, Callable[[Call], Any]] = {
    "sum": _sum,
    "max": _extreme,
    "min": _extreme,
    "prod": _nonlinear,
    "logsumexp": _nonlinear,
    "cumsum": _cumsum,
    "cumprod": _cumprod,
}
