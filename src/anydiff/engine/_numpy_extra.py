"""Statistics, padding and products that scientific code calls (composites, no new primitives).

Each handler is written with other NumPy calls, so it works in both modes, nested, and on
tapes.  Conventions: ``median`` / ``quantile`` / ``percentile`` (method ``"linear"``) route the
derivative to the sorted elements they interpolate; ``ptp`` is ``max - min``; the ``nan*``
reductions treat NaN entries as absent (derivative 0 there); ``maximum.accumulate`` /
``minimum.accumulate`` follow the element that holds the running extreme (the later one on
ties); ``lstsq`` is ``pinv(a) @ b`` (full-rank or constant-rank ``a``); ``cov`` / ``corrcoef``
without weights.  Unsupported options raise ``EngineError`` naming them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import implements
from ._numpy_elementwise import _concrete
from ._tracer import Traced, is_traced, primal


def _np_index(x: Any) -> Any:
    """The plain value of ``x`` used as an index, mask, sign or bin: a value computed from the
    traced input makes a tape re-trace at each call (a replay would reuse the recorded one)."""
    return np.asarray(_concrete(x, "a traced value used as an index, mask or sign"))


# ---------------------------------------------------------------------------- statistics


@implements(np.cov)
def _cov(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    dtype: Any = None,
) -> Any:
    if fweights is not None or aweights is not None:
        raise no_rule("np.cov with fweights/aweights")
    X = np.atleast_2d(m)
    if not rowvar and R.shape_of(X)[0] != 1:
        X = X.T
    if y is not None:
        Y = np.atleast_2d(y)
        if not rowvar and R.shape_of(Y)[0] != 1:
            Y = Y.T
        X = np.concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = R.shape_of(X)[1]
    Xc = X - np.mean(X, axis=1, keepdims=True)
    C = Xc @ (np.conjugate(Xc).T if R.is_complex(Xc) else Xc.T) / max(n - ddof, 0)
    return np.squeeze(C)


@implements(np.corrcoef)
def _corrcoef(x: Any, y: Any = None, rowvar: bool = True, **kw: Any) -> Any:
    c = _cov(x, y, rowvar)
    if R.ndim_of(c) == 0:
        return c / c
    d = np.diagonal(c)
    s = np.sqrt(np.real(d) if R.is_complex(d) else d)
    return c / s[:, None] / s[None, :]


#: NumPy's quantile methods without a jump in q: the sorted positions (lo, frac) they blend
_QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _quantile_sorted(srt: Any, q: Any, axis: int, method: str = "linear") -> Any:
    """Interpolation between the sorted entries along ``axis``: ``linear`` (NumPy's default),
    or the entry ``lower`` / ``higher`` / ``nearest`` (ties to even, as NumPy) / ``midpoint``."""
    n = R.shape_of(srt)[axis]
    qa = np.asarray(q, dtype=float)
    pos = qa * (n - 1)
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    if method == "higher":
        lo, frac = np.ceil(pos).astype(int), 0.0 * frac
    elif method == "nearest":
        lo, frac = np.around(pos).astype(int), 0.0 * frac
    elif method == "lower":
        frac = 0.0 * frac
    elif method == "midpoint":
        frac = np.where(frac > 0, 0.5, 0.0)
    hi = np.minimum(lo + 1, n - 1)
    a_lo = np.take(srt, lo.ravel(), axis=axis)
    a_hi = np.take(srt, hi.ravel(), axis=axis)
    shape = [1] * R.ndim_of(a_lo)
    shape[axis] = -1
    fr = np.reshape(frac.ravel(), shape)
    r = a_lo + (a_hi - a_lo) * fr  # NumPy's own formula (its rounding too)
    r = np.moveaxis(r, axis, 0)
    return np.reshape(r, qa.shape + R.shape_of(r)[1:])


def _quantile(a: Any, q: Any, axis: Any, keepdims: bool, method: str, name: str) -> Any:
    if method not in _QUANTILE_METHODS:
        raise no_rule(f"{name} with method={method!r} (only {', '.join(_QUANTILE_METHODS)})")
    if axis is None:
        srt = np.sort(np.ravel(a))
        r = _quantile_sorted(srt, q, 0, method)
        if keepdims:
            r = np.reshape(r, np.shape(q) + (1,) * R.ndim_of(a))
        return r
    if not isinstance(axis, (int, np.integer)):
        raise no_rule(f"{name} over several axes")
    ax = int(axis) % R.ndim_of(a)
    r = _quantile_sorted(np.sort(a, axis=ax), q, ax, method)
    if keepdims:
        r = np.expand_dims(r, np.ndim(q) + ax)
    return r


def _quantile_call(a: Any, q: Any, axis: Any, keepdims: bool, method: str, kw: dict,
                   name: str) -> Any:
    """np.quantile / np.percentile (q as a fraction) after refusing the options they cannot
    honour: weights= and interpolation= raise rather than being dropped."""
    if kw.pop("weights", None) is not None or kw.pop("interpolation", None) is not None or kw:
        raise no_rule(f"{name} with weights= or interpolation= (use method=)")
    return _quantile(a, q, axis, keepdims, method, name)


@implements(np.quantile)
def _np_quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    return _quantile_call(a, _np_index(q), axis, keepdims, method, kw, "np.quantile")


@implements(np.percentile)
def _np_percentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    return _quantile_call(a, _np_index(q) / 100.0, axis, keepdims, method, kw, "np.percentile")


@implements(np.median)
def _np_median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    return _quantile(a, 0.5, axis, keepdims, "linear", "np.median")


@implements(np.ptp)
def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def _nan_mask(a: Any) -> Any:
    # an engine operation on traced a (recorded: a replayed tape recomputes the NaN pattern)
    return np.isnan(a)


@implements(np.nansum)
def _nansum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    return np.sum(np.where(_nan_mask(a), 0.0, a), axis=axis, keepdims=keepdims)


@implements(np.nanprod)
def _nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    return np.prod(np.where(_nan_mask(a), 1.0, a), axis=axis, keepdims=keepdims)


@implements(np.nanmean)
def _nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    ok = ~_nan_mask(a)
    return _nansum(a, axis=axis, keepdims=keepdims) / np.sum(ok, axis=axis, keepdims=keepdims)


@implements(np.nanmax)
def _nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    return np.max(np.where(_nan_mask(a), -np.inf, a), axis=axis, keepdims=keepdims)


@implements(np.nanmin)
def _nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    return np.min(np.where(_nan_mask(a), np.inf, a), axis=axis, keepdims=keepdims)


def accumulate_extreme(ufunc: Any, a: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
    """``np.maximum.accumulate`` / ``np.minimum.accumulate``: the running extreme, as a gather
    of the element holding it (a static index, found on the values); ``np.logaddexp.accumulate``
    (and ``logaddexp2``): the running log-sum-exp."""
    if out is not None or dtype is not None:
        raise no_rule(f"np.{ufunc.__name__}.accumulate with out/dtype")
    if ufunc in (np.logaddexp, np.logaddexp2):  # log(cumsum(exp)), shifted by the maximum
        k = 1.0 if ufunc is np.logaddexp else math.log(2.0)
        m = np.max(a, axis=axis, keepdims=True)
        return m + np.log(np.cumsum(np.exp((a - m) * k), axis=axis)) / k
    pa = _np_index(a)
    acc = ufunc.accumulate(pa, axis=axis)
    n = pa.shape[axis]
    shape = [1] * pa.ndim
    shape[axis] = n
    ar = np.arange(n).reshape(shape)
    idx = np.maximum.accumulate(np.where(pa == acc, ar, 0), axis=axis)
    return np.take_along_axis(a, idx, axis=axis)


# ---------------------------------------------------------------------------- shape


@implements(np.pad)
def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kw: Any) -> Any:
    from . import _numpy_options as O

    extra = (*O.STAT_MODES, "linear_ramp", "empty")
    if not isinstance(mode, str) or mode not in ("constant", "edge", "reflect", "symmetric", "wrap", *extra):
        raise no_rule(f"np.pad with mode={mode!r} (a callable)")
    nd = R.ndim_of(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2))
    if mode in extra:
        return O.pad_extra(array, widths, mode, kw)
    const = O.pairs(kw.pop("constant_values", 0), nd) if mode == "constant" else None
    odd = kw.pop("reflect_type", "even") == "odd" and mode in ("reflect", "symmetric")
    if kw:
        raise no_rule(f"np.pad with {sorted(kw)}")
    if odd:
        return O.pad_odd(array, widths, mode)
    out = array
    for ax in range(nd):
        before, after = (int(w) for w in widths[ax])
        n = R.shape_of(out)[ax]
        if mode == "constant":
            idx = np.pad(np.arange(n), (before, after), constant_values=-1)
            taken = np.take(out, np.clip(idx, 0, max(n - 1, 0)), axis=ax)
            shape = [1] * nd
            shape[ax] = -1
            fill = np.reshape(np.where(np.arange(idx.size) < before, const[ax][0], const[ax][1]), shape)
            out = np.where((idx >= 0).reshape(shape), taken, fill)
        else:
            idx = np.pad(np.arange(n), (before, after), mode=mode)
            out = np.take(out, idx, axis=ax)
    return out


@implements(np.meshgrid)
def _meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    nd = len(xi)
    shapes = [R.shape_of(x) for x in xi]
    outs = []
    for i, x in enumerate(xi):
        s = [1] * nd
        s[i] = -1
        outs.append(np.reshape(x, s))
    if indexing == "xy" and nd > 1:
        outs = [np.swapaxes(o, 0, 1) for o in outs]
    if not sparse:
        full = [int(np.prod(s)) for s in shapes]
        if indexing == "xy" and nd > 1:
            full[0], full[1] = full[1], full[0]
        outs = [np.copy(np.broadcast_to(o, tuple(full))) for o in outs]
    return tuple(outs)


@implements(np.compress)
def _compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    idx = np.nonzero(np.asarray(_np_index(condition), dtype=bool))[0]
    if axis is None:
        return np.take(np.ravel(a), idx)
    return np.take(a, idx, axis=axis)


@implements(np.extract)
def _extract(condition: Any, arr: Any) -> Any:
    return _compress(np.ravel(_np_index(condition)), np.ravel(arr))


@implements(np.unique)
def _unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    **kw: Any,
) -> Any:
    """The sorted distinct values, as a gather of their first occurrences (the derivative goes
    there); the indices and counts are NumPy's (a tape that sees ``unique`` re-traces: the
    output's shape depends on the values)."""
    from ._numpy_elementwise import _concrete

    if axis is not None:
        raise no_rule("np.unique with axis=")
    plain = _concrete(ar, "np.unique(traced) (data-dependent shape)")
    res = np.unique(
        plain, return_index=True, return_inverse=return_inverse, return_counts=return_counts, **kw
    )
    vals = np.take(np.ravel(ar), res[1])
    extra = [res[1]] if return_index else []
    extra += list(res[2:])
    return tuple([vals, *extra]) if extra else vals


# ---------------------------------------------------------------------------- products


@implements(np.kron)
def _kron(a: Any, b: Any) -> Any:
    nd = max(R.ndim_of(a), R.ndim_of(b))
    sa = (1,) * (nd - R.ndim_of(a)) + R.shape_of(a)
    sb = (1,) * (nd - R.ndim_of(b)) + R.shape_of(b)
    ia = tuple(v for d in sa for v in (d, 1))  # a's axes interleaved with singleton axes
    ib = tuple(v for d in sb for v in (1, d))
    r = np.reshape(a, ia) * np.reshape(b, ib)
    return np.reshape(r, tuple(x * y for x, y in zip(sa, sb)))


@implements(np.linalg.multi_dot)
def _multi_dot(arrays: Any, *, out: Any = None) -> Any:
    arrays = list(arrays)
    r = arrays[0]
    for a in arrays[1:]:
        r = np.dot(r, a)
    return r


@implements(np.linalg.lstsq)
def _lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    m, n = R.shape_of(a)
    x = np.linalg.pinv(a) @ b
    pa = np.asarray(primal(a))  # differentiated at constant rank: the replay keeps it
    rank = np.linalg.matrix_rank(pa)
    s = np.linalg.svd(a, compute_uv=False)
    if rank == n and m > n:
        r = b - a @ x
        res = np.sum(np.real(r * np.conjugate(r)) if R.is_complex(r) else r * r, axis=0)
        res = np.reshape(res, (1,)) if R.ndim_of(b) == 1 else res
    else:
        res = np.zeros((0,), dtype=R.dtype_of(pa))
    return x, res, rank, s


@implements(np.linalg.cond)
def _cond(x: Any, p: Any = None) -> Any:
    if p is None or p == 2 or p == -2:
        s = np.linalg.svd(x, compute_uv=False)
        return s[0] / s[-1] if p != -2 else s[-1] / s[0]
    return np.linalg.norm(x, p) * np.linalg.norm(np.linalg.inv(x), p)


def matrix_norm(x: Any, ord: Any, axis: tuple, keepdims: bool) -> Any:
    """``norm(x, ord, axis)`` over the axis pair ``axis`` (rows, columns) for ``ord`` in 1, -1,
    inf, -inf: the max/min of the absolute column (1) or row (inf) sums, per stacked matrix."""
    nd = R.ndim_of(x)
    rows, cols = axis[0] % nd, axis[1] % nd
    summed, picked = (rows, cols) if ord in (1, -1) else (cols, rows)
    sums = np.sum(np.abs(x), axis=summed, keepdims=True)
    r = (np.max if ord in (1, np.inf) else np.min)(sums, axis=picked, keepdims=True)
    return r if keepdims else np.squeeze(r, axis=(rows, cols))


def _float_operands(*args: Any) -> list:
    """Constant operands as float arrays of the result type (lists, ints, bools, constant
    buffers), as NumPy's float-only loops of ``copysign`` / ``heaviside`` cast them."""
    args = tuple(a if is_traced(a) else primal(a) for a in args)
    vals = [R.dtype_of(a) if is_traced(a) else a if isinstance(a, (int, float)) else np.asarray(a)
            for a in args]
    dt = np.result_type(*vals, 1.0)
    return [a if is_traced(a) else np.asarray(a, dtype=dt) for a in args]


def _copysign(x: Any, y: Any) -> Any:
    # |x| with the sign of y: derivative sign(x) * sign(y) in x, 0 in y (piecewise constant)
    x, y = _float_operands(x, y)
    neg = np.signbit(y)  # recorded on traced y: a replay recomputes the signs
    return np.where(neg, -np.abs(x), np.abs(x))


def _fmod(x: Any, y: Any) -> Any:
    # x - y * trunc(x / y): C's remainder (sign of x); trunc is piecewise constant
    return x - y * np.trunc(x / y)


def _divmod(x: Any, y: Any) -> Any:
    return np.floor_divide(x, y), np.remainder(x, y)


def _heaviside(x: Any, h: Any) -> Any:
    # a step: derivative 0 in x (also at 0, the kink convention), the value h where x == 0
    x, h = _float_operands(x, h)
    return np.where(x > 0, 1.0, np.where(x < 0, 0.0, h))


#: ufuncs computed as compositions of ufuncs with rules (dispatched by ``apply_ufunc``)
UFUNC_COMPOSITES = {np.copysign: _copysign, np.fmod: _fmod, np.divmod: _divmod, np.heaviside: _heaviside}


@implements(np.bincount)
def _bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """Counts (a constant) or, with traced ``weights``, their sums per bin: an index-add of the
    weights into ``max(minlength, x.max() + 1)`` bins (``x``: the constant integer bins)."""
    xi = _np_index(x)
    if weights is None or not isinstance(weights, Traced):
        return np.bincount(xi, None if weights is None else _np_index(weights), minlength)
    from ._numpy_api import split_index
    from ._tracer import bind

    n = max(int(minlength), int(xi.max()) + 1 if xi.size else 0)
    w = np.reshape(weights, (-1,)).astype(np.result_type(weights.dtype, np.float64))
    tmpl, arrs, _ = split_index((xi.ravel(),), 1)
    return bind(R.INDEX_ADD, [w, *arrs], {"idx": tmpl, "shape": (n,), "adv": True})


@implements(np.fill_diagonal)
def _fill_diagonal(a: Any, val: Any, wrap: bool = False) -> None:
    """In place, as NumPy: the main diagonal of ``a`` (2-D, or all sides equal) gets ``val``
    (repeated cyclically when shorter)."""
    shp = R.shape_of(a)
    if not isinstance(a, Traced):
        raise no_rule("np.fill_diagonal of a plain ndarray with a traced value (create it inside f)")
    if len(shp) > 2 and len(set(shp)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    if wrap and len(shp) == 2 and shp[0] > shp[1] + 1:
        raise no_rule("np.fill_diagonal with wrap=True on a tall matrix")
    n = min(shp)
    k = np.arange(n)
    if R.ndim_of(val) > 0:
        v = np.reshape(val, (-1,))
        val = v[k % R.shape_of(v)[0]]
    a[(k,) * len(shp)] = val


@implements(np.piecewise)
def _piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """Each function evaluated on its condition's entries (as NumPy), later conditions win;
    entries no condition selects are 0 (or the extra "otherwise" function's value)."""
    conds = [
        np.asarray(_np_index(c), dtype=bool) for c in (condlist if isinstance(condlist, list) else [condlist])
    ]
    if len(funclist) == len(conds) + 1:  # the last function is "otherwise"
        conds.append(~np.any(np.stack(conds), axis=0))
    out = np.zeros_like(x)
    for c, fn in zip(conds, funclist):
        c = np.broadcast_to(c, R.shape_of(x))
        if not c.any():
            continue
        out = np.where(c, 0.0, out)
        sel = x[c]
        val = fn(sel, *args, **kw) if callable(fn) else fn
        part = np.zeros_like(x)
        part[c] = val  # a buffer of this trace (np.zeros_like of a traced x)
        out = out + part
    return out


@implements(np.apply_along_axis)
def _apply_along_axis(func1d: Any, axis: int, arr: Any, *args: Any, **kw: Any) -> Any:
    """``func1d`` on each 1-D slice along ``axis``, results stacked where the axis was."""
    nd = R.ndim_of(arr)
    ax = int(axis) % nd
    moved = np.moveaxis(arr, ax, -1)
    batch = R.shape_of(moved)[:-1]
    outs = [func1d(moved[idx], *args, **kw) for idx in np.ndindex(*batch)]
    res = np.stack([np.asarray(o) if not isinstance(o, Traced) else o for o in outs])
    res = np.reshape(res, batch + R.shape_of(res)[1:])
    tail = R.ndim_of(res) - len(batch)  # result axes of func1d go where `axis` was
    return (
        np.moveaxis(res, tuple(range(len(batch), len(batch) + tail)), tuple(range(ax, ax + tail)))
        if tail
        else res
    )
