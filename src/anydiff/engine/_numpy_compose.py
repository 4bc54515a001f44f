"""NumPy functions written as compositions of functions the engine differentiates (so each works
in both modes and nests): NaN-aware variances and scans, stacking helpers (``dstack``,
``block``), ``delete``, ``choose``, ``vander``, ``ediff1d``, ``cumulative_sum``/``_prod``,
``matrix_transpose``, ``tensorsolve``/``tensorinv``, ``ldexp``, ``unwrap``, weighted
``histogram``, and the in-place ``put``/``put_along_axis``.

Where a function's result depends on the values only through piecewise-constant choices
(``unwrap``'s jumps, ``histogram``'s bins, whether an array holds NaN), the choice is read on the
values and the trace notes it, so a recorded tape re-traces rather than replaying it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import implements
from ._numpy_extra import UFUNC_COMPOSITES
from ._tracer import Traced, primal


def _note(a: Any, why: str) -> None:
    if isinstance(a, Traced):
        a._escape(why)


# ---------------------------------------------------------------------------- NaN-aware


@implements(np.nanvar)
def _nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    if out is not None or kw.get("where") is not None or kw.get("mean") is not None:
        raise no_rule("np.nanvar with out/where/mean")
    nan = np.isnan(primal(a))
    _note(a, "np.nanvar: where the NaNs are")
    d = np.where(nan, 0.0, a - np.nanmean(a, axis=axis, keepdims=True))
    sq = np.real(d * np.conjugate(d)) if R.dtype_of(a).kind == "c" else d * d
    n = np.sum(~nan, axis=axis, keepdims=keepdims)
    return np.sum(sq, axis=axis, keepdims=keepdims) / (n - ddof)


@implements(np.nanstd)
def _nanstd(a: Any, *args: Any, **kw: Any) -> Any:
    return np.sqrt(_nanvar(a, *args, **kw))


@implements(np.nancumsum)
def _nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _note(a, "np.nancumsum: where the NaNs are")
    return np.cumsum(np.where(np.isnan(primal(a)), 0.0, a), axis=axis)


@implements(np.nancumprod)
def _nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _note(a, "np.nancumprod: where the NaNs are")
    return np.cumprod(np.where(np.isnan(primal(a)), 1.0, a), axis=axis)


def _without_nan(name: str, a: Any) -> None:
    _note(a, f"np.{name}: whether the array holds NaN")
    if np.isnan(primal(a)).any():
        raise no_rule(f"np.{name} of an array holding NaN (per-slice NaN counts)")


@implements(np.nanmedian)
def _nanmedian(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    _without_nan("nanmedian", a)
    return np.median(a, axis=axis, keepdims=keepdims)


@implements(np.nanquantile)
def _nanquantile(a: Any, q: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
    _without_nan("nanquantile", a)
    return np.quantile(a, q, axis, *args, **kw)


@implements(np.nanpercentile)
def _nanpercentile(a: Any, q: Any, axis: Any = None, *args: Any, **kw: Any) -> Any:
    _without_nan("nanpercentile", a)
    return np.percentile(a, q, axis, *args, **kw)


# ---------------------------------------------------------------------------- building arrays


@implements(np.dstack)
def _dstack(tup: Any) -> Any:
    return np.concatenate([np.atleast_3d(a) for a in tup], axis=2)


def _block_depth(arrays: Any) -> int:
    return 1 + _block_depth(arrays[0]) if isinstance(arrays, list) and arrays else 0


def _block_ndim(arrays: Any) -> int:
    if isinstance(arrays, list):
        return max(_block_ndim(a) for a in arrays)
    return R.ndim_of(arrays)


@implements(np.block)
def _block(arrays: Any) -> Any:
    depth = _block_depth(arrays)
    nd = max(depth, _block_ndim(arrays))

    def build(a: Any, level: int) -> Any:
        if not isinstance(a, list):
            if isinstance(a, tuple):
                raise TypeError("np.block takes nested lists, not tuples")
            return np.reshape(a, (1,) * (nd - R.ndim_of(a)) + tuple(R.shape_of(a)))
        # the innermost lists join along the last axis, their parents along the one before, ...
        return np.concatenate([build(e, level + 1) for e in a], axis=-(depth - level))

    return build(arrays, 0)


@implements(np.vander)
def _vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    n = R.shape_of(x)[0] if N is None else int(N)
    powers = range(n) if increasing else range(n - 1, -1, -1)
    return np.stack([x**k if k else np.ones_like(x) for k in powers], axis=1)


@implements(np.ediff1d)
def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    d = np.diff(np.ravel(ary))
    parts = [np.ravel(p) for p in (to_begin,) if p is not None] + [d]
    parts += [np.ravel(p) for p in (to_end,) if p is not None]
    return np.concatenate(parts) if len(parts) > 1 else d


def _cumulative(scan: Any, x: Any, axis: Any, include_initial: bool, initial: float) -> Any:
    if axis is None:
        if R.ndim_of(x) > 1:
            raise ValueError("axis must be given for arrays of more than one dimension")
        axis = 0
    r = scan(x, axis=axis)
    if not include_initial:
        return r
    shape = list(R.shape_of(r))
    shape[axis] = 1
    return np.concatenate([np.full(tuple(shape), initial, dtype=R.dtype_of(r)), r], axis=axis)


if hasattr(np, "cumulative_sum"):

    @implements(np.cumulative_sum)
    def _cumulative_sum(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        return _cumulative(np.cumsum, x, axis, include_initial, 0.0)

    @implements(np.cumulative_prod)
    def _cumulative_prod(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        return _cumulative(np.cumprod, x, axis, include_initial, 1.0)


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


@implements(np.choose)
def _choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    if out is not None or mode != "raise":
        raise no_rule("np.choose with out or mode other than 'raise'")
    idx = np.asarray(primal(a))
    parts = np.broadcast_arrays(*[np.asarray(primal(c)) for c in choices], idx)
    shape = parts[-1].shape
    stacked = np.stack([np.broadcast_to(c, shape) for c in choices])
    return np.take_along_axis(stacked, np.broadcast_to(idx, shape)[None], axis=0)[0]


# ---------------------------------------------------------------------------- elementwise


def _ldexp(x1: Any, x2: Any, **kw: Any) -> Any:
    if isinstance(x2, Traced) and R.dtype_of(x2).kind not in "iu":
        raise no_rule("np.ldexp with a traced exponent")
    return x1 * np.exp2(np.asarray(primal(x2), dtype=float))


def _vecdot(a: Any, b: Any, /, *, axis: int = -1, **kw: Any) -> Any:
    return np.sum(np.conjugate(a) * b, axis=axis)


def _matvec(m: Any, v: Any, /, **kw: Any) -> Any:
    return np.sum(m * np.expand_dims(v, -2), axis=-1)


def _vecmat(v: Any, m: Any, /, **kw: Any) -> Any:
    return np.sum(np.expand_dims(np.conjugate(v), -1) * m, axis=-2)


for _u, _comp in (
    (np.ldexp, _ldexp),
    (getattr(np, "vecdot", None), _vecdot),
    (getattr(np, "matvec", None), _matvec),
    (getattr(np, "vecmat", None), _vecmat),
):
    if _u is not None:
        UFUNC_COMPOSITES.setdefault(_u, _comp)


@implements(np.unwrap)
def _unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * np.pi) -> Any:
    _note(p, "np.unwrap: where the jumps are")
    v = np.asarray(primal(p))
    return p + (np.unwrap(v, discont=discont, axis=axis, period=period) - v)  # + a step function


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
    if axis is None:  # all entries, as one vector
        r = np.linalg.norm(np.ravel(x), ord=ord)
        return np.reshape(r, (1,) * R.ndim_of(x)) if keepdims else r
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


#: numpy.linalg's Array API names: the same functions on the last axes
_LINALG_ALIASES = {
    "matmul": lambda a, b, /: np.matmul(a, b),
    "vecdot": lambda a, b, /, *, axis=-1: _vecdot(a, b, axis=axis),
    "outer": lambda a, b, /: np.outer(a, b),
    "cross": lambda a, b, /, *, axis=-1: np.cross(a, b, axis=axis),
    "diagonal": lambda x, /, *, offset=0: np.diagonal(x, offset, axis1=-2, axis2=-1),
    "trace": lambda x, /, *, offset=0, dtype=None: np.trace(x, offset, axis1=-2, axis2=-1),
    "tensordot": lambda a, b, /, *, axes=2: np.tensordot(a, b, axes),
    "vector_norm": _linalg_vector_norm,
    "matrix_norm": lambda x, /, *, keepdims=False, ord="fro": np.linalg.norm(x, ord, (-2, -1), keepdims),
}
for _name, _impl in _LINALG_ALIASES.items():
    if hasattr(np.linalg, _name):
        implements(getattr(np.linalg, _name))(_impl)


# ---------------------------------------------------------------------------- histogram


@implements(np.histogram)
def _histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None) -> tuple:
    # the bin of each sample is piecewise constant in a: the counts carry the weights' derivative
    _note(a, "np.histogram: the bin of each sample")
    av = np.ravel(np.asarray(primal(a)))
    pw = None if weights is None else np.ravel(primal(weights))  # NumPy's checks of weighted bins
    edges = np.histogram_bin_edges(av, primal(bins), range, weights=pw)
    k = np.searchsorted(edges, av, side="right") - 1
    k[av == edges[-1]] = len(edges) - 2  # the last bin is closed, as NumPy
    sel = np.nonzero((k >= 0) & (k < len(edges) - 1))[0]
    w = None if weights is None else np.ravel(weights)[sel]
    hist = np.bincount(k[sel], weights=w, minlength=len(edges) - 1)
    if isinstance(a, Traced) and range is None and np.ndim(primal(bins)) == 0 and edges[-1] > edges[0]:
        # a bin count (or rule) without a range: equal bins from min(a) to max(a), which move with a
        lo, hi = np.min(a), np.max(a)
        edges = lo + (hi - lo) * ((edges - edges[0]) / (edges[-1] - edges[0]))
    if density:
        hist = hist / np.sum(hist) / np.diff(edges)
    return hist, edges


# ---------------------------------------------------------------------------- in place


@implements(np.put)
def _put(a: Any, ind: Any, v: Any, mode: str = "raise") -> None:
    if mode != "raise":
        raise no_rule("np.put with mode other than 'raise'")
    idx = np.ravel(np.asarray(primal(ind)))
    vals = np.ravel(v) if isinstance(v, Traced) else np.asarray(v)
    if R.shape_of(vals) != idx.shape:  # NumPy repeats the values cyclically
        vals = np.take(vals, np.arange(idx.size) % max(int(np.size(primal(vals))), 1))
    shape = tuple(R.shape_of(a))
    a[np.unravel_index(idx % int(np.prod(shape)), shape)] = vals


@implements(np.put_along_axis)
def _put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> None:
    idx = np.asarray(primal(indices))
    if axis is None:
        raise no_rule("np.put_along_axis with axis=None")
    nd = R.ndim_of(arr)
    axis %= nd
    shape = np.broadcast_shapes(
        idx.shape, tuple(1 if k == axis else s for k, s in enumerate(R.shape_of(arr)))
    )
    full = []
    for k in range(nd):
        if k == axis:
            full.append(np.broadcast_to(idx, shape))
        else:
            r = np.arange(R.shape_of(arr)[k]).reshape([-1 if j == k else 1 for j in range(nd)])
            full.append(np.broadcast_to(r, shape))
    arr[tuple(full)] = np.broadcast_to(values, shape) if not isinstance(values, Traced) else values
