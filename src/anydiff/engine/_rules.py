"""The derivative rules table: one :class:`Prim` per primitive array operation.

Conventions (shapes): a forward tangent of an operand ``x`` is ``(B, *x.shape)`` (a batch of
``B`` directions as a leading axis) or ``None`` (zero); a reverse cotangent ``g`` has the shape
of the output ``y``.  Rules return cotangents that may still be broadcast or have the wrong
dtype: the reverse pass fits them (``fit``) to each input's shape and dtype in one place.

Elementwise operations define their partial derivatives once (``d``, or ``h`` for
derivatives of the form ``1 / h``); forward mode multiplies by them, reverse mode multiplies
by their conjugate (holomorphic convention, so real-valued ``f`` of complex ``x`` gets
``df/dRe x + i df/dIm x``).  Every rule is written with NumPy calls that dispatch on traced
arrays, so rules can themselves be differentiated (forward-over-reverse, forward-over-forward).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import EngineError
from ._tracer import Prim, bind

# ---------------------------------------------------------------------------- helpers


def shape_of(a: Any) -> tuple[int, ...]:
    s = getattr(a, "shape", None)
    return s if s is not None else np.shape(a)


def ndim_of(a: Any) -> int:
    return len(shape_of(a))


def dtype_of(a: Any) -> np.dtype:
    d = getattr(a, "dtype", None)
    return d if d is not None else np.result_type(a)


def is_complex(a: Any) -> bool:
    return dtype_of(a).kind == "c"


def cj(a: Any) -> Any:
    """Conjugate, skipped (no copy) for real values."""
    if isinstance(a, (bool, int, float)):
        return a
    return np.conjugate(a) if dtype_of(a).kind == "c" else a


def bt(t: Any, nd: int) -> Any:
    """Tangent ``(B, *s)`` with 1-axes after B, so it broadcasts against ``nd``-dim arrays."""
    k = nd - (ndim_of(t) - 1)
    if k <= 0:
        return t
    s = shape_of(t)
    return np.reshape(t, s[:1] + (1,) * k + s[1:])


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an operand of ``shape`` was broadcast."""
    gs = shape_of(g)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    if lead > 0:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and shape_of(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape) if shape_of(g) != shape else g


def fit(g: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Cotangent ``g`` reduced to an input's ``shape`` and cast to its ``dtype``."""
    g = unbroadcast(g, shape)
    gd = dtype_of(g)
    if gd != dtype:
        if gd.kind == "c" and dtype.kind != "c":
            g = np.real(g)
        g = g.astype(dtype) if dtype_of(g) != dtype else g
    return g


def fit_tangent(t: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Forward tangent broadcast to ``(B, *shape)`` and cast to ``dtype``."""
    ts = shape_of(t)
    if ts[1:] != shape:
        t = np.broadcast_to(bt(t, len(shape)), ts[:1] + tuple(shape))
    td = dtype_of(t)
    if td != dtype:
        if td.kind == "c" and dtype.kind != "c":
            t = np.real(t)
        if dtype_of(t) != dtype:
            t = t.astype(dtype)
    return t


def _norm_axes(axis: Any, nd: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    if not isinstance(axis, tuple):
        axis = (axis,)
    return tuple(sorted(int(a) % nd if nd else 0 for a in axis))


def _kshape(xshape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return (1,) * len(xshape)
    return tuple(1 if i in axes else s for i, s in enumerate(xshape))


def _shift(axes: tuple[int, ...] | None, nd: int) -> tuple[int, ...]:
    return tuple(range(1, nd + 1)) if axes is None else tuple(a + 1 for a in axes)


# ---------------------------------------------------------------------------- elementwise


class Lazy:
    """A scaled cotangent ``s * g``, or ``s * ones(shape)`` when ``g`` is None (reverse only).

    Multiplying by a constant, negating, and the cotangent of a full sum are then free: the
    factor is folded into the next operation that touches the array anyway (``r *= 2 * s``
    in the rule of ``x ** 2``, ``buf[i] -= g`` when scattering).  Only backward closures
    marked ``lazy`` ever see one; everything else gets :meth:`value`.
    """

    __slots__ = ("g", "s", "shape", "dtype")

    def __init__(self, g: Any, s: Any, shape: tuple, dtype: np.dtype):
        self.g, self.s, self.shape, self.dtype = g, s, shape, dtype

    def value(self) -> Any:
        if self.g is None:
            return np.full(self.shape, self.s, dtype=self.dtype)
        return self.g if self.s == 1 else self.g * self.s

    def scaled(self, c: Any) -> Lazy:
        return Lazy(self.g, self.s * c, self.shape, self.dtype)


def lazy_of(g: Any, c: Any) -> Lazy:
    """``c * g`` as a :class:`Lazy` (``g`` an array or a Lazy)."""
    if type(g) is Lazy:
        return g.scaled(c)
    return Lazy(g, c, g.shape, g.dtype)


def _lazy(f: Callable) -> Callable:
    f.lazy = True  # type: ignore[attr-defined]
    return f


def _fast_unary(d: Callable | None, h: Callable | None) -> Callable:
    def make(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
        if not _real(xs[0]):
            return None
        a = ins[0]
        ws: list[Any] = [None]
        div, mul = np.true_divide, np.multiply

        @_lazy
        def f(g: Any, v: list) -> tuple:
            if type(g) is Lazy:
                s, g = g.s, g.g
                if g is None:  # uniform cotangent: s * f'(x) in one operation
                    r = (
                        _reuse(ws, 0, mul, d(v[a], v[out]), s)
                        if h is None
                        else _reuse(ws, 0, div, s, h(v[a], v[out]))
                    )
                    return (r,)
                r = (
                    _reuse(ws, 0, mul, g, d(v[a], v[out]))
                    if h is None
                    else _reuse(ws, 0, div, g, h(v[a], v[out]))
                )
                if s != 1:
                    r = r * s if r is not ws[0] else mul(r, s, out=r)
                return (r,)
            if h is not None:
                return (_reuse(ws, 0, div, g, h(v[a], v[out])),)
            return (_reuse(ws, 0, mul, g, d(v[a], v[out])),)

        return f

    return make


def unary(name: str, f: Callable, d: Callable | None = None, h: Callable | None = None) -> Prim:
    """Elementwise ``y = f(x)`` with ``dy/dx = d(x, y)`` or ``1 / h(x, y)``."""
    if h is not None:

        def jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
            return ts[0] / h(xs[0], y)

        def vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
            return (g / cj(h(xs[0], y)),)

    else:
        assert d is not None

        def jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
            return d(xs[0], y) * ts[0]

        def vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
            return (g * cj(d(xs[0], y)),)

    prim = Prim(name, f, jvp, vjp)
    prim.fast = _fast_unary(d, h)
    return prim


def binary(name: str, f: Callable, dx: Callable, dy: Callable) -> Prim:
    """Elementwise ``z = f(x, y)`` with partials ``dx(x, y, z)`` and ``dy(x, y, z)``."""

    def jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
        nd = ndim_of(z)
        out = None
        if ts[0] is not None:
            out = dx(xs[0], xs[1], z) * bt(ts[0], nd)
        if ts[1] is not None:
            c = dy(xs[0], xs[1], z) * bt(ts[1], nd)
            out = c if out is None else out + c
        return out

    def vjp(g: Any, xs: list, z: Any, need: tuple, p: dict) -> tuple:
        return (
            g * cj(dx(xs[0], xs[1], z)) if need[0] else None,
            g * cj(dy(xs[0], xs[1], z)) if need[1] else None,
        )

    return Prim(name, f, jvp, vjp)


def _add_jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
    nd = ndim_of(z)
    a, b = ts
    if a is None:
        return bt(b, nd)
    if b is None:
        return bt(a, nd)
    return bt(a, nd) + bt(b, nd)


def _sub_jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
    nd = ndim_of(z)
    a, b = ts
    if b is None:
        return bt(a, nd)
    return -bt(b, nd) if a is None else bt(a, nd) - bt(b, nd)


ADD = Prim("add", np.add, _add_jvp, lambda g, xs, z, need, p: (g, g))
SUBTRACT = Prim("subtract", np.subtract, _sub_jvp, lambda g, xs, z, need, p: (g, -g if need[1] else None))
NEGATIVE = Prim("negative", np.negative, lambda ts, xs, y, p: -ts[0], lambda g, xs, y, need, p: (-g,))
POSITIVE = Prim("positive", np.positive, lambda ts, xs, y, p: ts[0], lambda g, xs, y, need, p: (g,))


def _mul_jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
    nd = ndim_of(z)
    out = None
    if ts[0] is not None:
        out = xs[1] * bt(ts[0], nd)
    if ts[1] is not None:
        c = xs[0] * bt(ts[1], nd)
        out = c if out is None else out + c
    return out


MULTIPLY = Prim(
    "multiply",
    np.multiply,
    _mul_jvp,
    lambda g, xs, z, need, p: (
        g * cj(xs[1]) if need[0] else None,
        g * cj(xs[0]) if need[1] else None,
    ),
)


def _div_jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
    nd = ndim_of(z)
    out = None
    if ts[0] is not None:
        out = bt(ts[0], nd) / xs[1]
    if ts[1] is not None:
        c = -(z / xs[1]) * bt(ts[1], nd)
        out = c if out is None else out + c
    return out


def _div_vjp(g: Any, xs: list, z: Any, need: tuple, p: dict) -> tuple:
    gx = g / cj(xs[1])
    return (gx if need[0] else None, -gx * cj(z) if need[1] else None)


DIVIDE = Prim("divide", np.true_divide, _div_jvp, _div_vjp)


def _pow_dx(x: Any, y: Any, z: Any) -> Any:
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 2:
            return 2 * x
        if y == 1:
            return np.ones_like(x)
        if y == 0:
            return np.zeros_like(x)
        return y * x ** (y - 1)
    return y * x ** (y - 1)


def _pow_dy(x: Any, y: Any, z: Any) -> Any:
    # log(0) would turn 0 * inf into nan where x == 0 and z == 0: the derivative there is 0
    safe = np.where(x == 0, 1, x) if not isinstance(x, (int, float)) else (x if x != 0 else 1)
    return z * np.log(safe)


def _pow_impl(x: Any, y: Any) -> Any:
    # the ** operator, not np.power: ndarray.__pow__ has fast paths for exponents 2, 0.5, -1...
    return x**y


POWER = binary("power", _pow_impl, _pow_dx, _pow_dy)


def _bal(x: Any, y: Any, z: Any) -> Any:
    # ties split the derivative evenly between the two operands (as HIPS autograd does)
    return (x == z) / (1.0 + (x == y))


MAXIMUM = binary("maximum", np.maximum, _bal, lambda x, y, z: _bal(y, x, z))
MINIMUM = binary("minimum", np.minimum, _bal, lambda x, y, z: _bal(y, x, z))
FMAX = binary("fmax", np.fmax, _bal, lambda x, y, z: _bal(y, x, z))
FMIN = binary("fmin", np.fmin, _bal, lambda x, y, z: _bal(y, x, z))
ARCTAN2 = binary(
    "arctan2", np.arctan2, lambda a, b, z: b / (a * a + b * b), lambda a, b, z: -a / (a * a + b * b)
)
HYPOT = binary("hypot", np.hypot, lambda a, b, z: a / z, lambda a, b, z: b / z)
LOGADDEXP = binary("logaddexp", np.logaddexp, lambda a, b, z: np.exp(a - z), lambda a, b, z: np.exp(b - z))
REMAINDER = binary(
    "remainder",
    np.remainder,
    lambda a, b, z: np.ones_like(z),
    lambda a, b, z: -np.floor_divide(a, b),
)


def _abs_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    x = xs[0]
    if is_complex(x):
        return np.real(np.conjugate(x) * ts[0]) / y
    return np.sign(x) * ts[0]


def _abs_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    x = xs[0]
    return (g * (x / y) if is_complex(x) else g * np.sign(x),)


ABSOLUTE = Prim("absolute", np.absolute, _abs_jvp, _abs_vjp)
REAL = Prim("real", np.real, lambda ts, xs, y, p: np.real(ts[0]), lambda g, xs, y, need, p: (g,))
IMAG = Prim("imag", np.imag, lambda ts, xs, y, p: np.imag(ts[0]), lambda g, xs, y, need, p: (1j * g,))
CONJ = Prim(
    "conjugate",
    np.conjugate,
    lambda ts, xs, y, p: np.conjugate(ts[0]),
    lambda g, xs, y, need, p: (np.conjugate(g),),
)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_PI_2 = 2.0 / math.sqrt(math.pi)

UNARY: dict[Any, Prim] = {
    np.exp: unary("exp", np.exp, d=lambda x, y: y),
    np.exp2: unary("exp2", np.exp2, d=lambda x, y: y * _LN2),
    np.expm1: unary("expm1", np.expm1, d=lambda x, y: y + 1),
    np.log: unary("log", np.log, h=lambda x, y: x),
    np.log2: unary("log2", np.log2, h=lambda x, y: x * _LN2),
    np.log10: unary("log10", np.log10, h=lambda x, y: x * _LN10),
    np.log1p: unary("log1p", np.log1p, h=lambda x, y: 1 + x),
    np.sin: unary("sin", np.sin, d=lambda x, y: np.cos(x)),
    np.cos: unary("cos", np.cos, d=lambda x, y: -np.sin(x)),
    np.tan: unary("tan", np.tan, d=lambda x, y: 1 + y * y),
    np.arcsin: unary("arcsin", np.arcsin, h=lambda x, y: np.sqrt(1 - x * x)),
    np.arccos: unary("arccos", np.arccos, h=lambda x, y: -np.sqrt(1 - x * x)),
    np.arctan: unary("arctan", np.arctan, h=lambda x, y: 1 + x * x),
    np.sinh: unary("sinh", np.sinh, d=lambda x, y: np.cosh(x)),
    np.cosh: unary("cosh", np.cosh, d=lambda x, y: np.sinh(x)),
    np.tanh: unary("tanh", np.tanh, d=lambda x, y: 1 - y * y),
    np.arcsinh: unary("arcsinh", np.arcsinh, h=lambda x, y: np.sqrt(x * x + 1)),
    np.arccosh: unary("arccosh", np.arccosh, h=lambda x, y: np.sqrt(x * x - 1)),
    np.arctanh: unary("arctanh", np.arctanh, h=lambda x, y: 1 - x * x),
    np.sqrt: unary("sqrt", np.sqrt, h=lambda x, y: 2 * y),
    np.cbrt: unary("cbrt", np.cbrt, h=lambda x, y: 3 * y * y),
    np.square: unary("square", np.square, d=lambda x, y: 2 * x),
    np.reciprocal: unary("reciprocal", np.reciprocal, d=lambda x, y: -(y * y)),
    np.deg2rad: unary("deg2rad", np.deg2rad, d=lambda x, y: math.pi / 180),
    np.rad2deg: unary("rad2deg", np.rad2deg, d=lambda x, y: 180 / math.pi),
    np.negative: NEGATIVE,
    np.positive: POSITIVE,
    np.absolute: ABSOLUTE,
    np.fabs: ABSOLUTE,
    np.real: REAL,
    np.imag: IMAG,
    np.conjugate: CONJ,
}

BINARY: dict[Any, Prim] = {
    np.add: ADD,
    np.subtract: SUBTRACT,
    np.multiply: MULTIPLY,
    np.true_divide: DIVIDE,
    np.power: POWER,
    np.float_power: binary("float_power", np.float_power, _pow_dx, _pow_dy),
    np.maximum: MAXIMUM,
    np.minimum: MINIMUM,
    np.fmax: FMAX,
    np.fmin: FMIN,
    np.arctan2: ARCTAN2,
    np.hypot: HYPOT,
    np.logaddexp: LOGADDEXP,
    np.remainder: REMAINDER,
}

# Piecewise-constant or non-float results: derivative zero almost everywhere (exactly what the
# math says, not a dropped derivative), recorded on the tape so replays recompute them.
NONDIFF_UFUNCS = [
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.logical_and,
    np.logical_or,
    np.logical_xor,
    np.logical_not,
    np.isnan,
    np.isinf,
    np.isfinite,
    np.sign,
    np.floor,
    np.ceil,
    np.rint,
    np.trunc,
    np.floor_divide,
    np.signbit,
    np.bitwise_and,
    np.bitwise_or,
    np.bitwise_xor,
    np.invert,
]


def nondiff(name: str, f: Callable) -> Prim:
    return Prim(name, f, diff=False)


# ---------------------------------------------------------------------------- shapes / linear


def _reshape_impl(x: Any, shape: tuple) -> Any:
    return np.reshape(x, shape)


RESHAPE = Prim(
    "reshape",
    _reshape_impl,
    lambda ts, xs, y, p: np.reshape(ts[0], shape_of(ts[0])[:1] + shape_of(y)),
    lambda g, xs, y, need, p: (np.reshape(g, shape_of(xs[0])),),
)


def _transpose_impl(x: Any, axes: tuple) -> Any:
    return np.transpose(x, axes)


TRANSPOSE = Prim(
    "transpose",
    _transpose_impl,
    lambda ts, xs, y, p: np.transpose(ts[0], (0,) + tuple(a + 1 for a in p["axes"])),
    lambda g, xs, y, need, p: (np.transpose(g, tuple(np.argsort(p["axes"]).tolist())),),
)


def _broadcast_impl(x: Any, shape: tuple) -> Any:
    return np.broadcast_to(x, shape)


BROADCAST = Prim(
    "broadcast_to",
    _broadcast_impl,
    lambda ts, xs, y, p: np.broadcast_to(bt(ts[0], len(p["shape"])), shape_of(ts[0])[:1] + p["shape"]),
    lambda g, xs, y, need, p: (g,),
)


def _astype_impl(x: Any, dtype: Any) -> Any:
    if dtype_of(x).kind == "c" and np.dtype(dtype).kind != "c":
        x = np.real(x)
    return x.astype(dtype) if hasattr(x, "astype") else np.asarray(x, dtype=dtype)


ASTYPE = Prim(
    "astype",
    _astype_impl,
    lambda ts, xs, y, p: fit_tangent(ts[0], shape_of(y), np.dtype(p["dtype"])),
    lambda g, xs, y, need, p: (g,),
)
COPY = Prim("copy", np.copy, lambda ts, xs, y, p: ts[0], lambda g, xs, y, need, p: (g,))


def _concat_impl(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


def _concat_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    B = next(shape_of(t)[0] for t in ts if t is not None)
    dt = dtype_of(y)
    parts = [t if t is not None else np.zeros((B,) + shape_of(x), dtype=dt) for t, x in zip(ts, xs)]
    return np.concatenate(parts, axis=p["axis"] + 1)


def _concat_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    ax = p["axis"]
    out = []
    start = 0
    for x, n in zip(xs, need):
        stop = start + shape_of(x)[ax]
        out.append(g[(slice(None),) * ax + (slice(start, stop),)] if n else None)
        start = stop
    return tuple(out)


CONCAT = Prim("concatenate", _concat_impl, _concat_jvp, _concat_vjp)


# ---------------------------------------------------------------------------- reductions


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


def _reshape_compile(p: dict, xs: list) -> Any:
    shape = p["shape"]
    return lambda x: x.reshape(shape)


RESHAPE.compile = _reshape_compile


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
PROD = Prim("prod", _prod_impl, *_weighted_jvp(lambda x, yk, p: yk / x))


def _lse_impl(x: Any, axis: Any, keepdims: bool) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: avoid inf - inf
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return np.squeeze(s, axis=axis) if axis is not None else s.reshape(())


LOGSUMEXP = Prim("logsumexp", _lse_impl, *_weighted_jvp(lambda x, yk, p: np.exp(x - yk)))


def _cumsum_impl(x: Any, axis: int) -> Any:
    return np.cumsum(x, axis=axis)


CUMSUM = Prim(
    "cumsum",
    _cumsum_impl,
    lambda ts, xs, y, p: np.cumsum(ts[0], axis=p["axis"] + 1),
    lambda g, xs, y, need, p: (np.flip(np.cumsum(np.flip(g, p["axis"]), axis=p["axis"]), p["axis"]),),
)


# ---------------------------------------------------------------------------- indexing

ARR = object()  # placeholder in an index template for an index array passed as an operand


def build_index(tmpl: tuple, arrs: tuple) -> tuple:
    if not arrs:
        return tmpl
    it = iter(arrs)
    return tuple(next(it) if t is ARR else t for t in tmpl)


def _getitem_impl(x: Any, *arrs: Any, idx: tuple, adv: bool = False) -> Any:
    return x[build_index(idx, arrs)]


def _batched(t: Any) -> Any:
    """Tangent ``(B, *s)`` -> ``(*s, B)``: a trailing batch axis is left alone by any index."""
    return np.moveaxis(t, 0, -1)


def _getitem_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return np.moveaxis(_batched(ts[0])[build_index(p["idx"], tuple(xs[1:]))], -1, 0)


def _getitem_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    x = xs[0]
    gx = bind(INDEX_ADD, [g, *xs[1:]], {"idx": p["idx"], "shape": shape_of(x), "adv": p["adv"]})
    return (gx,) + (None,) * (len(xs) - 1)


def _index_add_impl(g: Any, *arrs: Any, idx: tuple, shape: tuple, adv: bool) -> Any:
    out = np.zeros(shape, dtype=dtype_of(g))
    ix = build_index(idx, arrs)
    if adv:  # integer index arrays may repeat an element: contributions must add up
        np.add.at(out, ix, g)
    else:
        out[ix] = g
    return out


def _index_add_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    t = ts[0]
    B = shape_of(t)[0]
    r = bind(
        INDEX_ADD,
        [_batched(t), *xs[1:]],
        {"idx": p["idx"], "shape": p["shape"] + (B,), "adv": p["adv"]},
    )
    return np.moveaxis(r, -1, 0)


INDEX_ADD = Prim(
    "index_add",
    _index_add_impl,
    _index_add_jvp,
    lambda g, xs, y, need, p: (g[build_index(p["idx"], tuple(xs[1:]))],) + (None,) * (len(xs) - 1),
)
GETITEM = Prim("getitem", _getitem_impl, _getitem_jvp, _getitem_vjp)


def _getitem_compile(p: dict, xs: list) -> Any:
    if len(xs) == 1:
        idx = p["idx"]
        return lambda x: x[idx]
    return None


def _getitem_accum(buf: np.ndarray, g: Any, xs: list, p: dict) -> None:
    ix = build_index(p["idx"], tuple(xs[1:]))
    if p["adv"]:
        np.add.at(buf, ix, g.value() if type(g) is Lazy else g)
    elif type(g) is Lazy:  # the factor folds into the scatter itself
        if g.g is None:
            buf[ix] += g.s
        elif g.s == -1:
            buf[ix] -= g.g
        else:
            buf[ix] += g.value()
    else:
        buf[ix] += g


GETITEM.compile = _getitem_compile
GETITEM.accum = _getitem_accum


def _setitem_impl(y: Any, v: Any, *arrs: Any, idx: tuple) -> Any:
    out = y.copy()
    out[build_index(idx, arrs)] = v
    return out


def _setitem_jvp(ts: list, xs: list, out: Any, p: dict) -> Any:
    ty, tv = ts[0], ts[1]
    B = shape_of(ty if ty is not None else tv)[0]
    if ty is None:
        ty = np.zeros((B,) + shape_of(out), dtype=dtype_of(out))
    tv_b = 0 if tv is None else _batched(tv)
    r = bind(SETITEM, [_batched(ty), tv_b, *xs[2:]], {"idx": p["idx"]})
    return np.moveaxis(r, -1, 0)


def _setitem_vjp(g: Any, xs: list, out: Any, need: tuple, p: dict) -> tuple:
    ix = build_index(p["idx"], tuple(xs[2:]))
    gy = bind(SETITEM, [g, 0, *xs[2:]], {"idx": p["idx"]}) if need[0] else None
    gv = g[ix] if need[1] else None
    return (gy, gv) + (None,) * (len(xs) - 2)


SETITEM = Prim("setitem", _setitem_impl, _setitem_jvp, _setitem_vjp)


# ---------------------------------------------------------------------------- products


def _matmul_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    a, b = xs
    nd = ndim_of(y)
    out = None
    if ts[0] is not None:
        out = np.matmul(bt(ts[0], nd), b)
    if ts[1] is not None:
        c = np.matmul(a, bt(ts[1], nd))
        out = c if out is None else out + c
    return out


def _matmul_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    a, b = xs
    return (
        np.matmul(g, np.swapaxes(cj(b), -1, -2)) if need[0] else None,
        np.matmul(np.swapaxes(cj(a), -1, -2), g) if need[1] else None,
    )


MATMUL = Prim("matmul", np.matmul, _matmul_jvp, _matmul_vjp)  # operands are >= 2-D here


def _einsum_impl(*ops: Any, spec: str) -> Any:
    return np.einsum(spec, *ops, optimize=len(ops) > 2)


def _free_letter(spec: str) -> str:
    return next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in spec)


def _einsum_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    spec = p["spec"]
    ins, out_s = spec.split("->")
    ins_l = ins.split(",")
    z = _free_letter(spec)
    res = None
    for i, t in enumerate(ts):
        if t is None:
            continue
        s = ",".join(z + s if j == i else s for j, s in enumerate(ins_l)) + "->" + z + out_s
        ops = [t if j == i else x for j, x in enumerate(xs)]
        c = np.einsum(s, *ops)
        res = c if res is None else res + c
    return res


def _einsum_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    ins, out_s = p["spec"].split("->")
    ins_l = ins.split(",")
    res: list[Any] = []
    for i, n in enumerate(need):
        if not n:
            res.append(None)
            continue
        target = ins_l[i]
        letters = target.replace("...", "")
        if len(set(letters)) != len(letters):
            raise EngineError(
                "np.einsum with a repeated index in one operand (a diagonal) has no reverse rule "
                "in anydiff.engine; use backend 'jax', 'torch' or 'finitediff' for this function"
            )
        elsewhere = out_s + "".join(s for j, s in enumerate(ins_l) if j != i)
        kept = "".join(c for c in letters if c in elsewhere)
        red = ("..." if "..." in target else "") + kept
        s = ",".join([out_s] + [s for j, s in enumerate(ins_l) if j != i]) + "->" + red
        r = np.einsum(s, g, *[cj(x) for j, x in enumerate(xs) if j != i])
        if kept != letters:  # letters summed only inside operand i: their gradient broadcasts
            xshape = shape_of(xs[i])
            off = len(xshape) - len(letters)
            shp = xshape[:off] + tuple(xshape[off + k] if c in kept else 1 for k, c in enumerate(letters))
            r = np.broadcast_to(np.reshape(r, shp), xshape)
        res.append(r)
    return tuple(res)


EINSUM = Prim("einsum", _einsum_impl, _einsum_jvp, _einsum_vjp)


# ---------------------------------------------------------------------------- linalg (2-D)


def _solve_impl(a: Any, b: Any) -> Any:
    return np.linalg.solve(a, b)


def _solve_vec(a: Any, rhs: Any, vec: bool) -> Any:
    # batched right-hand sides: (B, n) columns for a vector b, (B, n, k) stacks for a matrix b
    return np.swapaxes(np.linalg.solve(a, np.swapaxes(rhs, 0, 1)), 0, 1) if vec else np.linalg.solve(a, rhs)


def _solve_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    a, b = xs
    rhs = None
    if ts[0] is not None:
        rhs = -np.matmul(ts[0], y)
    if ts[1] is not None:
        rhs = ts[1] if rhs is None else rhs + ts[1]
    return _solve_vec(a, rhs, ndim_of(b) == 1)


def _solve_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    a, b = xs
    gb = np.linalg.solve(np.swapaxes(cj(a), -1, -2), g)
    ga = None
    if need[0]:
        ga = (
            -(gb[:, None] * cj(y)[None, :]) if ndim_of(b) == 1 else -np.matmul(gb, np.swapaxes(cj(y), -1, -2))
        )
    return (ga, gb if need[1] else None)


SOLVE = Prim("linalg.solve", _solve_impl, _solve_jvp, _solve_vjp)

INV = Prim(
    "linalg.inv",
    np.linalg.inv,
    lambda ts, xs, y, p: -np.matmul(np.matmul(y, ts[0]), y),
    lambda g, xs, y, need, p: (-np.matmul(np.matmul(cj(y).T, g), cj(y).T),),
)


def _trace_solve(a: Any, t: Any) -> Any:
    return np.einsum("ij,bji->b", np.linalg.inv(a), t)


DET = Prim(
    "linalg.det",
    np.linalg.det,
    lambda ts, xs, y, p: y * _trace_solve(xs[0], ts[0]),
    lambda g, xs, y, need, p: (g * cj(y * np.linalg.inv(xs[0]).T),),
)


def _logabsdet_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


def _sign_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[0]


LOGABSDET = Prim(
    "linalg.slogdet",
    _logabsdet_impl,
    lambda ts, xs, y, p: np.real(_trace_solve(xs[0], ts[0])),
    lambda g, xs, y, need, p: (g * cj(np.linalg.inv(xs[0])).T,),
)
SLOGDET_SIGN = nondiff("linalg.slogdet.sign", _sign_impl)


def _phi(x: Any) -> Any:
    n = shape_of(x)[-1]
    return np.tril(x) * (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n))


def _chol_jvp(ts: list, xs: list, L: Any, p: dict) -> Any:
    li = np.linalg.inv(L)
    m = np.matmul(np.matmul(li, ts[0]), cj(li).T)
    return np.matmul(L, _phi(m))


def _chol_vjp(g: Any, xs: list, L: Any, need: tuple, p: dict) -> tuple:
    li = np.linalg.inv(L)
    s = np.matmul(np.matmul(cj(li).T, _phi(np.matmul(cj(L).T, g))), li)
    return (0.5 * (s + cj(s).T),)


CHOLESKY = Prim("linalg.cholesky", np.linalg.cholesky, _chol_jvp, _chol_vjp)


def _eigh_impl(a: Any) -> Any:
    w, v = np.linalg.eigh(a)
    return np.concatenate([w[:, None], v], axis=1)  # one output: [w | V], shape (n, n+1)


def _lower_sym(t: Any) -> Any:
    # eigh reads only the lower triangle: the matrix it decomposes is tril(A) + tril(A, -1)^T
    return np.tril(t) + np.swapaxes(np.tril(t, -1), -1, -2)


def _eigh_parts(y: Any) -> tuple[Any, Any, Any]:
    w = y[:, 0]
    v = y[:, 1:]
    n = shape_of(w)[0]
    dw = w[None, :] - w[:, None]  # w_j - w_i
    off = 1.0 - np.eye(n)
    F = off / (dw + np.eye(n))
    return w, v, F


def _eigh_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    w, v, F = _eigh_parts(y)
    m = np.matmul(np.matmul(v.T, _lower_sym(ts[0])), v)  # (B, n, n)
    n = shape_of(w)[0]
    i = np.arange(n)
    dw = m[:, i, i]
    dv = np.matmul(v, F * m)
    return np.concatenate([dw[:, :, None], dv], axis=2)


def _eigh_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    if is_complex(y) or is_complex(g):
        raise EngineError(
            "np.linalg.eigh of complex matrices has no reverse rule in anydiff.engine; "
            "use backend 'jax', 'torch' or 'finitediff' for this function"
        )
    w, v, F = _eigh_parts(y)
    gw = g[:, 0]
    gv = g[:, 1:]
    inner = np.diag(gw) + F * np.matmul(v.T, gv)
    t = np.matmul(np.matmul(v, inner), v.T)
    n = shape_of(w)[0]
    lower = np.tril(np.ones((n, n)), -1)
    return (t * np.eye(n) + (t + t.T) * lower,)


EIGH = Prim("linalg.eigh", _eigh_impl, _eigh_jvp, _eigh_vjp)


# ---------------------------------------------------------------------------- fast reverse
# Closures specialised when a node is recorded on plain arrays: they read their operands
# straight from the slot list (indices baked in), skip the conjugates of real operands and
# the `need` tests.  They bake in only static facts (slot numbers, dtypes, shapes, Python
# scalars written in f), never slot values, so they stay valid when a tape is replayed.
# Signature: fast(params, xs, need, ins, out) -> closure(g, vals) -> cotangents, or None.


def _real(*xs: Any) -> bool:
    return all(dtype_of(x).kind != "c" for x in xs)


def _is_scalar_const(a: Any) -> bool:
    # exactly a Python int/float: a literal of f (np.float64 subclasses float but is data)
    return type(a) is int or type(a) is float


def _reuse(holder: list, k: int, ufunc: Any, *args: Any) -> Any:
    """``ufunc(*args)`` written into the buffer kept in ``holder[k]`` from the previous call.

    Backward temporaries are the same shapes on every replay; reusing their memory avoids
    the allocator returning and re-faulting large blocks on each call.  Safe because the
    backward pass never mutates a cotangent it did not allocate itself, and the gradient it
    returns is copied unless it is freshly allocated (``finish_grad``).
    """
    buf = holder[k]
    if buf is not None:
        try:
            return ufunc(*args, out=buf)
        except (ValueError, TypeError):  # shape/dtype differs (e.g. a complex cotangent)
            pass
    r = ufunc(*args)
    if type(r) is np.ndarray and r.ndim:
        holder[k] = r
    return r


def _fast_add(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    return _lazy(lambda g, v: (g, g))


def _fast_sub(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not need[1]:
        return _lazy(lambda g, v: (g, None))
    return _lazy(lambda g, v: (g, lazy_of(g, -1)))


def _fast_neg(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    return _lazy(lambda g, v: (lazy_of(g, -1),))


def _fast_mul(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not _real(*xs):
        return None
    a, b = ins
    # a Python number written in f (a literal): scaling is deferred into the Lazy factor
    if _is_scalar_const(xs[1]) and not need[1]:
        c = xs[1]
        return _lazy(lambda g, v: (lazy_of(g, c), None))
    if _is_scalar_const(xs[0]) and not need[0]:
        c = xs[0]
        return _lazy(lambda g, v: (None, lazy_of(g, c)))
    ws: list[Any] = [None, None]
    mul = np.multiply
    if need[0] and need[1]:
        return lambda g, v: (_reuse(ws, 0, mul, g, v[b]), _reuse(ws, 1, mul, g, v[a]))
    if need[0]:
        return lambda g, v: (_reuse(ws, 0, mul, g, v[b]), None)
    return lambda g, v: (None, _reuse(ws, 1, mul, g, v[a]))


def _fast_div(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not _real(*xs):
        return None
    b = ins[1]
    ws: list[Any] = [None, None]
    div, mul = np.true_divide, np.multiply
    if not need[1]:
        return lambda g, v: (_reuse(ws, 0, div, g, v[b]), None)

    def f(g: Any, v: list) -> tuple:
        gx = _reuse(ws, 0, div, g, v[b])
        gy = _reuse(ws, 1, mul, gx, v[out])
        return (gx, -gy if gy is not ws[1] else np.negative(gy, out=gy))

    return f


def _fast_pow(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    x, c = xs
    if not (_is_scalar_const(c) and _real(x)) or not need[0] or need[1]:
        return None
    a = ins[0]
    ws: list[Any] = [None]
    mul = np.multiply
    if c == 2:

        @_lazy
        def sq(g: Any, v: list) -> tuple:
            k = 2
            if type(g) is Lazy:
                k = 2 * g.s
                g = g.g
                if g is None:  # uniform cotangent: 2 s x in one operation
                    return (_reuse(ws, 0, mul, v[a], k), None)
            r = _reuse(ws, 0, mul, g, v[a])
            if type(r) is np.ndarray:
                mul(r, k, out=r)  # in place on our own buffer
            else:
                r = r * k
            return (r, None)

        return sq
    return lambda g, v: (_reuse(ws, 0, mul, g, c * v[a] ** (c - 1)), None)


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


def _fast_reshape(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    xshape = shape_of(xs[0])
    return lambda g, v: (g.reshape(xshape),)


def _fast_matmul(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not _real(*xs):
        return None
    mm = np.matmul
    a, b = ins
    ws: list[Any] = [None, None]
    if need[0] and need[1]:
        return lambda g, v: (
            _reuse(ws, 0, mm, g, v[b].swapaxes(-1, -2)),
            _reuse(ws, 1, mm, v[a].swapaxes(-1, -2), g),
        )
    if need[0]:
        return lambda g, v: (_reuse(ws, 0, mm, g, v[b].swapaxes(-1, -2)), None)
    return lambda g, v: (None, _reuse(ws, 1, mm, v[a].swapaxes(-1, -2), g))


def _fast_tanh(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not _real(xs[0]):
        return None
    ws: list[Any] = [None]
    mul, sub = np.multiply, np.subtract

    def f(g: Any, v: list) -> tuple:
        y = v[out]
        d = _reuse(ws, 0, mul, y, y)  # 1 - y^2, computed in one reused buffer
        if type(d) is not np.ndarray or d.dtype != g.dtype or d.shape != g.shape:
            return (g * (1 - y * y),)
        sub(1, d, out=d)
        mul(d, g, out=d)
        return (d,)

    return f


def _fast_where(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    c = ins[0]
    where = np.where
    return lambda g, v: (
        None,
        where(v[c], g, 0) if need[1] else None,
        where(v[c], 0, g) if need[2] else None,
    )


ADD.fast = _fast_add
SUBTRACT.fast = _fast_sub
MULTIPLY.fast = _fast_mul
DIVIDE.fast = _fast_div
POWER.fast = _fast_pow
NEGATIVE.fast = _fast_neg
SUM.fast = _fast_sum
RESHAPE.fast = _fast_reshape
MATMUL.fast = _fast_matmul
UNARY[np.tanh].fast = _fast_tanh
