"""NumPy functions written as compositions of functions the engine differentiates (so each works
in both modes and nests): stacking helpers (``dstack``, ``block``), ``ediff1d``, ``vander``,
``matrix_transpose``, ``delete``, the ufuncs ``ldexp`` / ``frexp``, ``unwrap``,
``vecdot``/``matvec``/``vecmat``, ``tensorsolve``/``tensorinv``, numpy.linalg's Array API names,
and ``histogram`` (traced weights; edges that move with the data).

Where a function's result depends on the values only through piecewise-constant choices
(``unwrap``'s jumps, ``histogram``'s bins, ``frexp``'s exponent), the choice is read on the
values and the trace notes it, so a recorded tape re-traces rather than replaying it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _build, _carries_trace, _has_traced, implements
from ._numpy_elementwise import _concrete
from ._numpy_extra import UFUNC_COMPOSITES, _np_index
from ._tracer import Traced, primal


def _arr(v: Any) -> Any:
    """A list or tuple as an array (traced entries stacked, as ``np.array`` of them would)."""
    return _build(v) if _has_traced(v) else np.asarray(v) if isinstance(v, (list, tuple)) else v


# ---------------------------------------------------------------------------- building arrays


@implements(np.dstack)
def _dstack(tup: Any) -> Any:
    return np.concatenate([np.atleast_3d(a) for a in tup], axis=2)


@implements(np.block)
def _block(arrays: Any) -> Any:
    """``np.block``: the innermost lists join along the last axis, the next ones along the
    axis before, ...; pieces get leading unit axes up to the common number of axes."""

    def depth(a: Any) -> int:
        return 1 + depth(a[0]) if isinstance(a, list) and a else 0

    def leaves(a: Any) -> list:
        return [y for x in a for y in leaves(x)] if isinstance(a, list) else [a]

    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists can be used to arrange blocks (np.block)")
    d = depth(arrays)
    nd = max([d] + [R.ndim_of(_arr(v)) for v in leaves(arrays)])

    def build(a: Any, level: int) -> Any:
        if isinstance(a, list):
            return np.concatenate([build(x, level + 1) for x in a], axis=level - d)
        v = _arr(a)
        return np.reshape(v, (1,) * (nd - R.ndim_of(v)) + R.shape_of(v))

    return build(arrays, 0)


@implements(np.ediff1d)
def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    d = np.diff(np.reshape(ary, (-1,)))
    parts = [np.reshape(_arr(v), (-1,)) for v in (to_begin,) if v is not None]
    parts += [d] + [np.reshape(_arr(v), (-1,)) for v in (to_end,) if v is not None]
    return np.concatenate(parts) if len(parts) > 1 else d


@implements(np.vander)
def _vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    n = R.shape_of(x)[0] if N is None else int(N)
    powers = range(n) if increasing else range(n - 1, -1, -1)
    return np.stack([x**k if k else np.ones_like(x) for k in powers], axis=1)


def _matrix_transpose(x: Any, /) -> Any:
    if R.ndim_of(x) < 2:
        raise ValueError("matrix_transpose needs an array of at least 2 dimensions")
    return np.swapaxes(x, -1, -2)


for _f in (getattr(np, "matrix_transpose", None), getattr(np.linalg, "matrix_transpose", None)):
    if _f is not None:
        implements(_f)(_matrix_transpose)


# ---------------------------------------------------------------------------- selecting


@implements(np.delete)
def _delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    if axis is None:
        arr, axis = np.ravel(arr), 0
    n = R.shape_of(arr)[axis]
    keep = np.delete(np.arange(n), primal(obj) if not isinstance(obj, slice) else obj)
    return np.take(arr, keep, axis=axis)


# ---------------------------------------------------------------------------- elementwise


def _ldexp(x: Any, n: Any) -> Any:
    if isinstance(n, Traced) and R.dtype_of(n).kind not in "iu":
        raise no_rule("np.ldexp with a traced exponent")
    return x * np.exp2(np.asarray(_np_index(n), dtype=float))


def _frexp(x: Any) -> Any:
    e = np.frexp(np.asarray(_concrete(x, "np.frexp(traced) (its integer exponent)")))[1]  # constants
    return x * np.exp2(-e.astype(float)), e


UFUNC_COMPOSITES.update({np.ldexp: _ldexp, np.frexp: _frexp})


@implements(np.unwrap)
def _unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * math.pi) -> Any:
    """``p`` plus NumPy's corrections, multiples of ``period`` (piecewise constant: a tape that
    sees them re-traces)."""
    pv = np.asarray(_concrete(p, "np.unwrap(traced) (its jumps)"))
    return p + (np.unwrap(pv, discont=discont, axis=axis, period=period) - pv)


def _vecdot(a: Any, b: Any, /, *, axis: int = -1, **kw: Any) -> Any:
    return np.sum(np.conjugate(a) * b, axis=axis)


def _matvec(m: Any, v: Any, /, **kw: Any) -> Any:
    return np.sum(m * np.expand_dims(v, -2), axis=-1)


def _vecmat(v: Any, m: Any, /, **kw: Any) -> Any:
    return np.sum(np.expand_dims(np.conjugate(v), -1) * m, axis=-2)


for _u, _comp in (
    (getattr(np, "vecdot", None), _vecdot),
    (getattr(np, "matvec", None), _matvec),
    (getattr(np, "vecmat", None), _vecmat),
):
    if _u is not None:
        UFUNC_COMPOSITES.setdefault(_u, _comp)


# ---------------------------------------------------------------------------- linear algebra


@implements(np.linalg.tensorinv)
def _tensorinv(a: Any, ind: int = 2) -> Any:
    shape = tuple(R.shape_of(a))
    rows, cols = shape[:ind], shape[ind:]
    m = np.reshape(a, (int(np.prod(rows)), int(np.prod(cols))))
    return np.reshape(np.linalg.inv(m), cols + rows)


@implements(np.linalg.tensorsolve)
def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    if axes is not None:
        nd = R.ndim_of(a)
        rest = [k for k in range(nd) if k not in [ax % nd for ax in axes]]
        a = np.transpose(a, rest + [ax % nd for ax in axes])
    sa = tuple(R.shape_of(a))
    nb = R.ndim_of(b)
    out_shape = sa[nb:]
    m = np.reshape(a, (int(np.prod(sa[:nb])), int(np.prod(out_shape))))
    return np.reshape(np.linalg.solve(m, np.ravel(b)), out_shape)


def _linalg_vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """The norm of the vectors over ``axis`` (an int or any tuple of axes, all if None: those
    entries flattened into one vector, never a matrix norm)."""
    nd = R.ndim_of(x)
    axes = tuple(range(nd)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % nd for a in axes))
    rest = [a for a in range(nd) if a not in axes]
    flat = np.reshape(np.transpose(x, rest + list(axes)), tuple(R.shape_of(x)[a] for a in rest) + (-1,))
    r = np.linalg.norm(flat, ord=ord, axis=-1)
    return np.expand_dims(r, axes) if keepdims else r


def _matrix_rank(A: Any, *args: Any, **kw: Any) -> Any:
    """An integer read on the values (no derivative; a tape that sees it re-traces)."""
    a = _concrete(A, "np.linalg.matrix_rank(traced) (an integer, read on the values)")
    return np.linalg.matrix_rank(a, *args, **{k: primal(v) for k, v in kw.items()})


#: numpy.linalg's Array API names: the same functions on the last axes
_LINALG_ALIASES = {
    "matmul": lambda a, b, /: np.matmul(a, b),
    "vecdot": lambda a, b, /, *, axis=-1: _vecdot(a, b, axis=axis),
    "outer": lambda a, b, /: np.outer(a, b),
    "cross": lambda a, b, /, *, axis=-1: np.cross(a, b, axis=axis),
    "diagonal": lambda x, /, *, offset=0: np.diagonal(x, offset, axis1=-2, axis2=-1),
    "trace": lambda x, /, *, offset=0, dtype=None: np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype),
    "tensordot": lambda a, b, /, *, axes=2: np.tensordot(a, b, axes),
    "vector_norm": _linalg_vector_norm,
    "matrix_rank": _matrix_rank,
    "matrix_norm": lambda x, /, *, keepdims=False, ord="fro": np.linalg.norm(x, ord, (-2, -1), keepdims),
}
for _name, _impl in _LINALG_ALIASES.items():
    if hasattr(np.linalg, _name):
        implements(getattr(np.linalg, _name))(_impl)


# ---------------------------------------------------------------------------- histogram


@implements(np.histogram)
def _histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None) -> tuple:
    # the bin of each sample is piecewise constant in a: the counts carry the weights' derivative
    av = np.ravel(np.asarray(_concrete(a, "np.histogram(traced) (the bin of each sample)")))
    if _carries_trace([bins]):
        raise no_rule("np.histogram with traced bin edges")
    pw = None if weights is None else np.ravel(primal(weights))  # NumPy's checks of weighted bins
    edges = np.histogram_bin_edges(av, bins, range, weights=pw)
    k = np.searchsorted(edges, av, side="right") - 1
    k[av == edges[-1]] = len(edges) - 2  # the last bin is closed, as NumPy
    sel = np.nonzero((k >= 0) & (k < len(edges) - 1))[0]
    w = None if weights is None else np.ravel(weights)[sel]
    hist = np.bincount(k[sel], weights=w, minlength=len(edges) - 1)
    if isinstance(a, Traced) and range is None and np.ndim(bins) == 0 and edges[-1] > edges[0]:
        # a bin count (or rule) without a range: equal bins from min(a) to max(a), which move with a
        lo, hi = np.min(a), np.max(a)
        edges = lo + (hi - lo) * ((edges - edges[0]) / (edges[-1] - edges[0]))
    if density:
        hist = hist / np.sum(hist) / np.diff(edges)
    return hist, edges
