"""More NumPy entry points (handlers registered into :data:`._numpy_api.HANDLERS`).

Mostly composites of other NumPy calls, so they need no rules of their own and work in both
modes and nested.  New primitives: ``sinc`` (with its first two derivatives), ``logaddexp2``.
Conventions where NumPy's function has kinks or jumps: ``nan_to_num`` has derivative 1 at
finite entries and 0 at replaced ones; ``angle`` of a real array is piecewise constant (0);
``partition``/``sort`` route the derivative to the element that lands in each slot;
``real_if_close`` decides on the values (a tape that sees it re-traces).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import (
    _UFUNCS,
    assign_inplace,
    concatenate,
    implements,
    reshape,
    split_index,
    transpose,
)
from ._numpy_elementwise import _concrete, _take_along_axis
from ._scipy_linalg import np_convolve, np_correlate
from ._tracer import Traced, bind

implements(np.convolve)(np_convolve)
implements(np.correlate)(np_correlate)

# ---------------------------------------------------------------------------- ufuncs

_LN2 = math.log(2.0)
_UFUNCS[np.degrees] = R.unary("degrees", np.degrees, d=lambda x, y: 180 / math.pi)
_UFUNCS[np.radians] = R.unary("radians", np.radians, d=lambda x, y: math.pi / 180)
_UFUNCS[np.logaddexp2] = R.binary(
    "logaddexp2", np.logaddexp2, lambda a, b, z: np.exp2(a - z), lambda a, b, z: np.exp2(b - z)
)


def _predicate(func: Any) -> Any:
    def h(*args: Any, **kw: Any) -> Any:  # boolean results: no derivative, no error
        return bind(R.nondiff(func.__name__, lambda *v: func(*v, **kw)), list(args), {})

    return h


for _u in (np.isneginf, np.isposinf, np.iscomplex, np.isreal):
    implements(_u)(_predicate(_u))


# ---------------------------------------------------------------------------- sinc


def _safe(x: Any) -> Any:
    return np.where(x == 0, 1.0, x)


def _sinc1_impl(x: Any) -> Any:  # sinc'(x) = (cos(pi x) - sinc(x)) / x, 0 at 0
    xs = _safe(x)
    return np.where(x == 0, 0.0, (np.cos(np.pi * xs) - np.sinc(xs)) / xs)


def _sinc2_impl(x: Any) -> Any:  # sinc''(x) = (-pi sin(pi x) - 2 sinc'(x)) / x, -pi^2/3 at 0
    xs = _safe(x)
    return np.where(x == 0, -(np.pi**2) / 3, (-np.pi * np.sin(np.pi * xs) - 2 * _sinc1_impl(xs)) / xs)


def _no_third(x: Any, y: Any) -> Any:
    raise no_rule("the third derivative of np.sinc")


SINC2 = R.unary("sinc''", _sinc2_impl, d=_no_third)
SINC1 = R.unary("sinc'", _sinc1_impl, d=lambda x, y: bind(SINC2, [x], {}))
SINC = R.unary("sinc", np.sinc, d=lambda x, y: bind(SINC1, [x], {}))


@implements(np.sinc)
def _sinc(x: Any) -> Any:
    return bind(SINC, [x], {})


# ---------------------------------------------------------------------------- shapes


@implements(np.fliplr)
def _fliplr(m: Any) -> Any:
    return np.flip(m, axis=1)


@implements(np.flipud)
def _flipud(m: Any) -> Any:
    return np.flip(m, axis=0)


@implements(np.rot90)
def _rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    nd = R.ndim_of(m)
    a0, a1 = axes[0] % nd, axes[1] % nd
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return np.flip(np.flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(np.flip(m, a1), perm)
    return np.flip(transpose(m, perm), a1)


@implements(np.rollaxis)
def _rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    nd = R.ndim_of(a)
    axis %= nd
    start = start % (nd + 1) if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return a
    return np.moveaxis(a, axis, start)


@implements(np.atleast_3d)
def _atleast_3d(*arys: Any) -> Any:
    res = []
    for a in arys:
        s = R.shape_of(a)
        nd = len(s)
        new = (1, 1, 1) if nd == 0 else (1, s[0], 1) if nd == 1 else s + (1,) if nd == 2 else s
        res.append(reshape(a, new))
    return res[0] if len(res) == 1 else res


def _split_axis(axis: int) -> Any:
    def h(ary: Any, indices_or_sections: Any) -> Any:
        nd = R.ndim_of(ary)
        ax = axis if not (axis == 1 and nd == 1) else 0  # hsplit of 1-D splits axis 0
        if nd <= ax and axis != 1:
            raise ValueError(f"split along axis {axis} needs at least {axis + 1} dimensions")
        return np.split(ary, indices_or_sections, axis=ax)

    return h


implements(np.hsplit)(_split_axis(1))
implements(np.vsplit)(_split_axis(0))
implements(np.dsplit)(_split_axis(2))


@implements(np.append)
def _append(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], axis=0)
    return concatenate([arr, values], axis=axis)


@implements(np.insert)
def _insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        arr = reshape(arr, (-1,))
    elif R.ndim_of(arr) != 1:
        from ._numpy_options import insert_axis

        return insert_axis(arr, obj, values, axis)
    n = R.shape_of(arr)[0]
    vshape = R.shape_of(values)
    vsize = int(np.prod(vshape))
    # the layout NumPy produces, computed on codes: -1-i is arr[i], j >= 0 is values.flat[j]
    codes = np.insert(-1 - np.arange(n), obj, np.arange(vsize).reshape(vshape))
    gather = np.where(codes < 0, -1 - codes, n + codes)
    vals = reshape(values, (-1,)) if vsize else values
    dt = np.result_type(R.dtype_of(arr), R.dtype_of(values))
    both = concatenate(
        [
            np.asarray(arr, dtype=dt) if not isinstance(arr, Traced) else arr,
            vals if isinstance(vals, Traced) else np.asarray(vals, dtype=R.dtype_of(arr)),
        ],
        axis=0,
    )
    return both[gather]


@implements(np.linspace)
def _linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    **kw: Any,
) -> Any:
    if axis != 0:
        from ._numpy_options import linspace_axis

        y, step = _linspace(start, stop, num, endpoint, True, dtype)
        return linspace_axis(y, step, axis, retstep)
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=float)
    nd = max(R.ndim_of(start), R.ndim_of(stop))
    t = t.reshape((num,) + (1,) * nd)
    delta = stop - start
    step = delta / div if div > 0 else delta * np.nan
    y = start + t * step if div > 0 else start + t * delta
    if endpoint and num > 1:  # NumPy sets the last sample to stop exactly
        y = concatenate([y[:-1], reshape(stop + 0.0 * start, (1,) + R.shape_of(y)[1:])], axis=0)
    if dtype is not None:
        y = y.astype(dtype)
    return (y, step) if retstep else y


# ---------------------------------------------------------------------------- reductions & co.


@implements(np.cumprod)
def _cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Running products: one primitive whose rules are exact at zeros (a zero-safe scan)."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    if dtype is not None:
        a = a.astype(dtype)
    r = bind(R.CUMPROD, [a], {"axis": axis % R.ndim_of(a)})
    if out is not None:
        out[...] = r
        return out
    return r


@implements(np.partition)
def _partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None) -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return _take_along_axis(a, np.argpartition(a, kth, axis=axis), axis)


@implements(np.select)
def _select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = np.where(c, v, out)
    return out


@implements(np.nan_to_num)
def _nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
    if R.dtype_of(x).kind == "c":
        return np.nan_to_num(np.real(x), nan=nan, posinf=posinf, neginf=neginf) + 1j * np.nan_to_num(
            np.imag(x), nan=nan, posinf=posinf, neginf=neginf
        )
    fi = np.finfo(R.dtype_of(x)) if R.dtype_of(x).kind == "f" else None
    if fi is None:
        return x
    hi = fi.max if posinf is None else posinf
    lo = fi.min if neginf is None else neginf
    return np.where(np.isnan(x), nan, np.where(np.isposinf(x), hi, np.where(np.isneginf(x), lo, x)))


@implements(np.real_if_close)
def _real_if_close(a: Any, tol: float = 100) -> Any:
    if R.dtype_of(a).kind != "c":
        return a
    im = np.asarray(_concrete(np.imag(a), "np.real_if_close(traced) (decides on the values)"))
    t = tol * np.finfo(R.dtype_of(a)).eps if tol > 1 else tol
    return np.real(a) if np.all(np.abs(im) < t) else a


@implements(np.angle)
def _angle(z: Any, deg: bool = False) -> Any:
    if R.dtype_of(z).kind == "c":
        r = np.arctan2(np.imag(z), np.real(z))
    else:
        r = np.where(z < 0, np.pi, 0.0) + 0.0 * z
    return r * (180 / np.pi) if deg else r


@implements(np.gradient)
def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    nd = R.ndim_of(f)
    axes = list(range(nd)) if axis is None else [a % nd for a in np.atleast_1d(axis).tolist()]
    if len(varargs) == 0:
        hs: list = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        hs = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        hs = list(varargs)  # spacings, or coordinates along each axis
    else:
        raise TypeError("invalid number of arguments")
    out = []
    for ax, h in zip(axes, hs):
        n = R.shape_of(f)[ax]
        if n < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient")

        def s(sl: slice, ax: int = ax) -> tuple:
            return (slice(None),) * ax + (sl,)

        if np.ndim(h) == 0:
            parts = _gradient_uniform(f, s, h, edge_order)
        else:
            if tuple(R.shape_of(h)) != (n,):
                raise ValueError("when 1d, distances must match the length of the corresponding dimension")
            parts = _gradient_coords(f, s, np.diff(h), ax, nd, edge_order)
        out.append(concatenate(parts, axis=ax))
    return out[0] if len(out) == 1 else tuple(out)


def _gradient_uniform(f: Any, s: Callable, h: Any, edge_order: int) -> list:
    mid = (f[s(slice(2, None))] - f[s(slice(None, -2))]) / (2.0 * h)
    if edge_order == 1:
        first = (f[s(slice(1, 2))] - f[s(slice(0, 1))]) / h
        last = (f[s(slice(-1, None))] - f[s(slice(-2, -1))]) / h
    else:
        first = (-1.5 * f[s(slice(0, 1))] + 2.0 * f[s(slice(1, 2))] - 0.5 * f[s(slice(2, 3))]) / h
        last = (0.5 * f[s(slice(-3, -2))] - 2.0 * f[s(slice(-2, -1))] + 1.5 * f[s(slice(-1, None))]) / h
    return [first, mid, last]


def _gradient_coords(f: Any, s: Callable, dx: Any, ax: int, nd: int, edge_order: int) -> list:
    """NumPy's second-order differences on a non-uniform grid (``dx``: the coordinate steps)."""
    shp = [1] * nd
    shp[ax] = -1

    def c(v: Any) -> Any:
        return np.reshape(v, shp)

    hd, hs = dx[:-1], dx[1:]
    a, b, cc = -hs / (hd * (hd + hs)), (hs - hd) / (hd * hs), hd / (hs * (hd + hs))
    mid = c(a) * f[s(slice(None, -2))] + c(b) * f[s(slice(1, -1))] + c(cc) * f[s(slice(2, None))]
    if edge_order == 1:
        first = (f[s(slice(1, 2))] - f[s(slice(0, 1))]) / dx[0]
        last = (f[s(slice(-1, None))] - f[s(slice(-2, -1))]) / dx[-1]
        return [first, mid, last]
    d1, d2 = dx[0], dx[1]
    first = (
        -(2.0 * d1 + d2) / (d1 * (d1 + d2)) * f[s(slice(0, 1))]
        + (d1 + d2) / (d1 * d2) * f[s(slice(1, 2))]
        - d1 / (d2 * (d1 + d2)) * f[s(slice(2, 3))]
    )
    d1, d2 = dx[-2], dx[-1]
    last = (
        d2 / (d1 * (d1 + d2)) * f[s(slice(-3, -2))]
        - (d2 + d1) / (d1 * d2) * f[s(slice(-2, -1))]
        + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * f[s(slice(-1, None))]
    )
    return [first, mid, last]


@implements(np.interp)
def _interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    """Piecewise-linear interpolation; the derivative in ``x`` is the slope of the segment to
    the right of ``x`` (at a knot too), 0 outside ``xp`` and at its last point."""
    if period is not None:
        raise no_rule("np.interp with period=")
    # segment indices and masks are computed with (non-differentiable) engine operations, so a
    # replayed tape recomputes them at the new point
    from ._numpy_api import _build, _has_traced

    # lists as NumPy takes them (x = 0.5 and xp = [0, 1, 2] are common)
    x, xp, fp = (
        _build(v) if _has_traced(v) else np.asarray(v) if isinstance(v, (list, tuple)) else v
        for v in (x, xp, fp)
    )
    n = R.shape_of(xp)[0]
    i = np.clip(np.searchsorted(xp, x, side="right"), 1, n - 1)  # segment [i-1, i]
    x0, x1 = xp[i - 1], xp[i]
    f0, f1 = fp[i - 1], fp[i]
    y = f0 + (f1 - f0) * ((x - x0) / (x1 - x0))
    lo = fp[0] if left is None else left
    hi = fp[n - 1] if right is None else right
    return np.where(x < xp[0], lo, np.where(x >= xp[n - 1], hi, y))


@implements(np.polyval)
def _polyval(p: Any, x: Any) -> Any:
    """Horner's scheme: ``p[0] x^(n-1) + ... + p[n-1]``."""
    p, x = (v if isinstance(v, Traced) else np.asarray(v) for v in (p, x))  # lists, as NumPy
    y: Any = 0.0 * x
    for k in range(R.shape_of(p)[0]):
        y = y * x + p[k]
    return y


@implements(np.trapezoid)
def _trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    nd = R.ndim_of(y)
    axis %= nd
    hi = (slice(None),) * axis + (slice(1, None),)
    lo = (slice(None),) * axis + (slice(None, -1),)
    if x is None:
        d: Any = dx
    else:
        d = np.diff(x)
        if R.ndim_of(x) == 1 and nd > 1:
            shp = [1] * nd
            shp[axis] = R.shape_of(d)[0]
            d = reshape(d, tuple(shp))
    return np.sum(d * (y[hi] + y[lo]) / 2.0, axis=axis)


# ---------------------------------------------------------------------------- einsum sublists


def einsum_sublists(args: tuple) -> tuple[str, list]:
    """``einsum(op0, sub0, op1, sub1, ..., [out])`` -> ``(subscripts, operands)``."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def spell(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else letters[int(s)] for s in sub)

    ops = list(args[0::2][: len(args) // 2])
    subs = list(args[1::2][: len(args) // 2])
    spec = ",".join(spell(s) for s in subs)
    if len(args) % 2 == 1:
        spec += "->" + spell(args[-1])
    return spec, ops


# ---------------------------------------------------------------------------- ufunc.at


#: other ufuncs' ``at`` (registered by :mod:`._numpy_writes`): applied in rounds of unique indices
UFUNC_AT_ROUNDS: dict[Any, Callable] = {}


def ufunc_at(ufunc: Any, a: Any, indices: Any, b: Any = None) -> None:
    """``np.add.at(a, indices, b)`` / ``np.subtract.at``: unbuffered accumulation into ``a``."""
    if ufunc in UFUNC_AT_ROUNDS and b is not None:
        UFUNC_AT_ROUNDS[ufunc](ufunc, a, indices, b)
        return
    if ufunc not in (np.add, np.subtract) or b is None:
        raise no_rule(f"np.{ufunc.__name__}.at")
    if not isinstance(a, Traced):
        raise no_rule(f"np.{ufunc.__name__}.at into a plain ndarray with traced values (create it inside f)")
    tmpl, arrs, adv = split_index(indices, R.ndim_of(a))
    target = np.zeros(R.shape_of(a))[indices].shape
    vals = np.broadcast_to(b, target) if R.shape_of(b) != target else b
    if ufunc is np.subtract:
        vals = -vals
    add = bind(R.INDEX_ADD, [vals, *arrs], {"idx": tmpl, "shape": R.shape_of(a), "adv": True})
    assign_inplace(a, a + add)


from . import _numpy_options, _rules_fft, _rules_linalg2  # noqa: E402,F401 - their handlers
