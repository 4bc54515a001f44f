"""Reduction rules: sum, max/min, prod, logsumexp, cumsum (``axis`` / ``keepdims`` aware)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._rules_core import Lazy, _kshape, _lazy, _norm_axes, _reuse, _shift, cj, dtype_of, ndim_of, shape_of
from ._tracer import Prim, primal


def _sum_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


def _expand(g: Any, xshape: tuple, axes: Any, keepdims: bool) -> Any:
    """Reduced ``g`` reshaped so it broadcasts against the reduced operand of ``xshape``."""
    return g if keepdims else np.reshape(g, _kshape(xshape, axes))


SUM = Prim(
    "sum",
    _sum_impl,
    lambda ts, xs, y, p: np.sum(ts[0], axis=_shift(p["axis"], ndim_of(xs[0])), keepdims=p["keepdims"]),
    lambda g, xs, y, need, p: (
        np.broadcast_to(_expand(g, shape_of(xs[0]), p["axis"], p["keepdims"]), shape_of(xs[0])),
    ),
)


def _sum_compile(p: dict, xs: list) -> Any:
    if isinstance(xs[0], np.ndarray) and xs[0].dtype.kind in "fc":
        axis, keepdims = p["axis"], p["keepdims"]
        red = np.add.reduce
        return lambda x: red(x, axis=axis, keepdims=keepdims)
    return None


SUM.compile = _sum_compile


def _weighted_jvp(weights: Callable) -> Callable:
    def jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
        w = weights(xs[0], _expand(y, shape_of(xs[0]), p["axis"], p["keepdims"]), p)
        return np.sum(w * ts[0], axis=_shift(p["axis"], ndim_of(xs[0])), keepdims=p["keepdims"])

    def vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
        x = xs[0]
        yk = _expand(y, shape_of(x), p["axis"], p["keepdims"])
        return (_expand(g, shape_of(x), p["axis"], p["keepdims"]) * cj(weights(x, yk, p)),)

    return jvp, vjp


def _extreme_w(x: Any, yk: Any, p: dict) -> Any:
    mask = x == yk
    return mask / np.sum(mask, axis=p["axis"], keepdims=True)


def _max_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    return np.max(x, axis=axis, keepdims=keepdims)


def _min_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    return np.min(x, axis=axis, keepdims=keepdims)


def _prod_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    return np.prod(x, axis=axis, keepdims=keepdims)


MAX = Prim("max", _max_impl, *_weighted_jvp(_extreme_w))
MIN = Prim("min", _min_impl, *_weighted_jvp(_extreme_w))


def _exclusive_cumprod(v: Any) -> Any:
    """``out[..., k] = prod(v[..., :k])`` (1 at k = 0) by doubling: log2(n) multiplications.

    Only products and shifts, no division, so it is exact at zeros and every derivative of
    it (computed by the multiply rule when rules are nested) is as well.
    """
    shp = shape_of(v)
    n = shp[-1]
    if n == 0:
        return v
    dt = dtype_of(v)
    p = np.concatenate([np.ones(shp[:-1] + (1,), dtype=dt), v[..., : n - 1]], axis=-1)
    d = 1
    while d < n:
        p = p * np.concatenate([np.ones(shp[:-1] + (d,), dtype=dt), p[..., : n - d]], axis=-1)
        d *= 2
    return p


def _exclusive_products(x: Any, axes: tuple[int, ...] | None) -> Any:
    """For each entry of ``x``, the product of the *other* entries of its reduced slice.

    Shape of ``x``.  The reduced axes are moved last and flattened; the exclusive products are
    (prefix product before k) * (suffix product after k), both by :func:`_exclusive_cumprod`.
    """
    shp = shape_of(x)
    nd = len(shp)
    red = tuple(range(nd)) if axes is None else tuple(axes)
    keep = tuple(i for i in range(nd) if i not in red)
    perm = keep + red
    v = np.transpose(x, perm) if perm != tuple(range(nd)) else x
    kshape = tuple(shp[i] for i in keep)
    rshape = tuple(shp[i] for i in red)
    v = np.reshape(v, kshape + (math.prod(rshape),))
    e = _exclusive_cumprod(v) * _exclusive_cumprod(v[..., ::-1])[..., ::-1]
    e = np.reshape(e, kshape + rshape)
    return np.transpose(e, tuple(np.argsort(perm).tolist())) if perm != tuple(range(nd)) else e


def _prod_w(x: Any, yk: Any, p: dict) -> Any:
    # d prod / d x_k = product of the other entries.  y / x is that product wherever every
    # product y is a finite normal number (a choice on plain values; both formulas agree, with
    # all their derivatives, in a neighbourhood of such a point).  Otherwise (a zero entry:
    # 0 / 0; an underflow or overflow of y: 0 / x, inf / x, or digits lost in a subnormal)
    # the exclusive products are formed directly.
    yv = np.asarray(primal(yk))
    tiny = np.finfo(yv.dtype).tiny if yv.dtype.kind in "fc" else 0
    if np.all(np.isfinite(yv)) and np.all(np.abs(yv) >= tiny):
        return yk / x
    return _exclusive_products(x, p["axis"])


PROD = Prim("prod", _prod_impl, *_weighted_jvp(_prod_w))


def _lse_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: avoid inf - inf
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return np.squeeze(s, axis=axis) if axis is not None else s.reshape(())


LOGSUMEXP = Prim("logsumexp", _lse_impl, *_weighted_jvp(lambda x, yk, p: np.exp(x - yk)))


def _lse_compile(p: dict, xs: list) -> Any:
    """Replay of ``_lse_impl`` on a real array (the same operations, so the same bits) with
    its ``exp(x - m)`` temporary in a buffer reused across calls."""
    x = xs[0]
    if type(x) is not np.ndarray or x.dtype.kind != "f" or not x.size or not x.ndim:
        return None  # (a 0-d x: NumPy's ufuncs return scalars, no buffer to reuse)
    axis, keepdims = p["axis"], p["keepdims"]
    amax, total, isfinite = np.maximum.reduce, np.add.reduce, np.isfinite
    sub, exp, log = np.subtract, np.exp, np.log
    ws: list[Any] = [None]

    def lse(x: Any) -> Any:
        m = amax(x, axis=axis, keepdims=True)
        if not isfinite(m).all():
            m = np.where(isfinite(m), m, 0)
        e = _reuse(ws, 0, sub, x, m)
        exp(e, out=e)
        s = total(e, axis=axis, keepdims=True)
        log(s, out=s)
        s += m
        if keepdims:
            return s
        return np.squeeze(s, axis=axis) if axis is not None else s.reshape(())

    return lse


def _fast_lse(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    """``g * exp(x - y)`` in one reused buffer (real operand of at least one dimension)."""
    if dtype_of(xs[0]).kind != "f" or not ndim_of(xs[0]):
        return None
    a = ins[0]
    kshape = _kshape(shape_of(xs[0]), _norm_axes(p["axis"], ndim_of(xs[0])))
    keep = p["keepdims"]
    ws: list[Any] = [None]
    sub, exp, mul = np.subtract, np.exp, np.multiply

    def f(g: Any, v: list) -> tuple:
        y = v[out]
        if not keep:
            y, g = np.reshape(y, kshape), np.reshape(g, kshape)
        d = _reuse(ws, 0, sub, v[a], y)
        exp(d, out=d)
        if type(d) is not np.ndarray or d.dtype != g.dtype:
            return (g * d,)
        mul(g, d, out=d)
        return (d,)

    return f


LOGSUMEXP.compile = _lse_compile
LOGSUMEXP.fast = _fast_lse


def _cumsum_impl(x: Any, axis: int) -> Any:
    return np.cumsum(x, axis=axis)


CUMSUM = Prim(
    "cumsum",
    _cumsum_impl,
    lambda ts, xs, y, p: np.cumsum(ts[0], axis=p["axis"] + 1),
    lambda g, xs, y, need, p: (np.flip(np.cumsum(np.flip(g, p["axis"]), axis=p["axis"]), p["axis"]),),
)


def _fast_sum(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    xshape = shape_of(xs[0])
    kshape = _kshape(xshape, p["axis"])
    zero = tuple(k == 1 and s != 1 for k, s in zip(kshape, xshape))
    ndarray = np.ndarray
    if all(k == 1 for k in kshape) and xshape:
        # a full reduction: the cotangent is uniform, kept as a factor (see Lazy)
        dt = dtype_of(xs[0])

        @_lazy
        def full(g: Any, v: list) -> tuple:
            if type(g) is Lazy:
                g = g.value()
            return (Lazy(None, g.item(), xshape, dt),)

        return full

    def f(g: Any, v: list) -> tuple:
        # a stride-0 view built directly: np.broadcast_to costs ~10x more per call
        if g.shape != kshape:
            g = g.reshape(kshape)
        if not g.flags.c_contiguous:
            return (np.broadcast_to(g, xshape),)
        strides = tuple(0 if z else st for z, st in zip(zero, g.strides))
        return (ndarray(xshape, g.dtype, g, 0, strides),)

    return f


SUM.fast = _fast_sum


# ---------------------------------------------------------------------------- roots of sums


def _root_impl(s: Any, p: float) -> Any:
    # the same operation NumPy's norm/std use, so values match NumPy's to the last bit
    return np.sqrt(s) if p == 2 else s ** (1.0 / p)


def _root_d(s: Any, y: Any, p: float) -> Any:
    """``dy/ds = y / (p s)``, and 0 where ``s == 0`` (double ``where``: no inf/nan anywhere)."""
    zero = s == 0
    return np.where(zero, 0.0, y / (p * np.where(zero, 1.0, s)))


# ``y = s ** (1/p)`` for a sum of powers ``s = sum |x|**p >= 0`` (norms, std).  At ``s == 0`` the
# derivative is taken as 0: there the composite (a norm at 0, std of a constant) is either
# identically 0 (std over one element) or a cone whose minimal-norm subgradient is 0 -- the
# convention PyTorch uses -- instead of the 0 * inf = nan of sqrt's own rule.
ROOT = Prim(
    "root",
    _root_impl,
    lambda ts, xs, y, p: _root_d(xs[0], y, p["p"]) * ts[0],
    lambda g, xs, y, need, p: (g * _root_d(xs[0], y, p["p"]),),
)


# ---------------------------------------------------------------------------- cumprod


def _affine_scan(a: Any, b: Any) -> Any:
    """``s_k = a_k s_(k-1) + b_k`` along the last axis (``s_(-1) = 0``), by doubling.

    ``a`` broadcasts against ``b`` (e.g. ``(..., n)`` against a tangent batch
    ``(B, ..., n)``).  Hillis-Steele: log2(n) rounds of composing each affine map with the
    one ``d`` steps before it; only products and sums, so it is exact at zeros and its own
    derivatives (nested rules) are too.
    """
    n = shape_of(b)[-1]
    d = 1
    while d < n:
        pad_b = np.zeros(shape_of(b)[:-1] + (d,), dtype=dtype_of(b))
        pad_a = np.ones(shape_of(a)[:-1] + (d,), dtype=dtype_of(a))
        b = b + a * np.concatenate([pad_b, b[..., : n - d]], axis=-1)
        a = a * np.concatenate([pad_a, a[..., : n - d]], axis=-1)
        d *= 2
    return b


def _cumprod_impl(x: Any, axis: int) -> Any:
    return np.cumprod(x, axis=axis)


def _cumprod_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    # dy_k = x_k dy_(k-1) + y_(k-1) t_k: an affine recurrence, no division by x
    ax = p["axis"]
    xm = np.moveaxis(xs[0], ax, -1)
    tm = np.moveaxis(ts[0], ax + 1, -1)
    s = _affine_scan(xm, _exclusive_cumprod(xm) * tm)
    return np.moveaxis(s, -1, ax + 1)


def _cumprod_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    # gx_i = conj(y_(i-1)) u_i with u_i = g_i + conj(x_(i+1)) u_(i+1): the scan from the right
    ax = p["axis"]
    xm = np.moveaxis(cj(xs[0]), ax, -1)
    gm = np.moveaxis(g, ax, -1)
    n = shape_of(xm)[-1]
    xr = xm[..., ::-1]
    pad = np.zeros(shape_of(xm)[:-1] + (min(n, 1),), dtype=dtype_of(xm))  # a_0: u_(n) = 0 anyway
    a = np.concatenate([pad, xr[..., : n - 1]], axis=-1)
    u = _affine_scan(a, gm[..., ::-1])[..., ::-1]
    return (np.moveaxis(_exclusive_cumprod(xm) * u, -1, ax),)


CUMPROD = Prim("cumprod", _cumprod_impl, _cumprod_jvp, _cumprod_vjp)
