"""NumPy entry points: ``__array_ufunc__`` / ``__array_function__`` handlers and indexing.

Each supported NumPy function maps to a handler that either binds one primitive from
:mod:`._rules` or is a composite of other NumPy calls (which dispatch again), so composites
need no derivative rules of their own.  Anything not listed raises :class:`EngineError`.
"""

from __future__ import annotations

import operator
import sys
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError, no_rule
from ._intercept import original
from ._tracer import Prim, Traced, ViewMap, bind

HANDLERS: dict[Any, Callable] = {}


def implements(*funcs: Any) -> Callable:
    def deco(h: Callable) -> Callable:
        for f in funcs:
            # NumPy dispatches with its own functions: register those even when this module
            # is first imported during a trace, while np.zeros & co. are the wrappers
            HANDLERS[original(f)] = h
        return h

    return deco


def _np_name(func: Any) -> str:
    mod = getattr(func, "__module__", None) or "numpy"
    mod = mod.replace("numpy", "np", 1) if mod.startswith("numpy") else mod
    return f"{mod}.{getattr(func, '__name__', repr(func))}"


def apply_function(func: Any, args: tuple, kwargs: dict) -> Any:
    h = HANDLERS.get(func)
    if h is None:
        h = HANDLERS.get(original(func))  # like= dispatch passes the public np.zeros (a wrapper)
    if h is None:
        raise no_rule(_np_name(func))
    return h(*args, **kwargs)


# ---------------------------------------------------------------------------- ufuncs

_UFUNCS: dict[Any, Prim] = {**R.UNARY, **R.BINARY}
for _u in R.NONDIFF_UFUNCS:
    _UFUNCS[_u] = R.nondiff(_u.__name__, _u)
_scipy_done = False


def _scipy_rules() -> None:
    """Rules for scipy.special ufuncs, built only once scipy is already imported by the user."""
    global _scipy_done
    sp = sys.modules.get("scipy.special")
    if sp is None or _scipy_done:
        return
    _scipy_done = True
    from ._scipy_special import ufunc_rules

    _UFUNCS.update(ufunc_rules(sp))


def _reduce(
    ufunc: Any,
    x: Any,
    axis: Any = 0,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    red = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min}.get(ufunc)
    if red is None or kw or out is not None:
        raise no_rule(f"np.{ufunc.__name__}.reduce")
    return red(x, axis=axis, keepdims=keepdims)


def apply_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    if method == "reduce":
        return _reduce(ufunc, *inputs, **kwargs)
    if method == "at":
        return _numpy_more.ufunc_at(ufunc, *inputs, **kwargs)
    if method != "__call__":
        raise no_rule(f"np.{ufunc.__name__}.{method}")
    out = kwargs.pop("out", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    if kwargs:
        raise no_rule(f"np.{ufunc.__name__} with {sorted(kwargs)}")
    if ufunc is np.matmul:
        r = matmul(*inputs)
    else:
        prim = _UFUNCS.get(ufunc)
        if prim is None:
            _scipy_rules()
            prim = _UFUNCS.get(ufunc)
        if prim is None:
            mod = "np" if getattr(np, ufunc.__name__, None) is ufunc else "scipy.special"
            raise no_rule(f"{mod}.{ufunc.__name__}")
        r = bind(prim, inputs, {})
    if dtype is not None:
        r = astype(r, dtype)
    if out is not None:
        return _write_out(out[0] if isinstance(out, tuple) else out, r)
    return r


def _write_out(out: Any, r: Any) -> Any:
    if isinstance(out, Traced):
        assign_inplace(out, r)
        return out
    if isinstance(r, Traced) and r._trace is not None:
        raise EngineError(
            "writing a traced result into a plain ndarray (out=...) would drop its derivative; "
            "create the output with np.empty_like(x) or anydiff.engine.empty_buffer"
        )
    np.copyto(out, r)
    return out


# ---------------------------------------------------------------------------- indexing


def _as_int(v: Any) -> Any:
    return None if v is None else operator.index(v)


def split_index(index: Any, ndim: int) -> tuple[tuple, list, bool]:
    """Normalise ``index`` to a full template (no Ellipsis) plus the index arrays it uses."""
    if not isinstance(index, tuple):
        index = (index,)
    items: list[Any] = []
    arrs: list[Any] = []
    adv = False
    consumed = 0
    for it in index:
        if it is None or it is Ellipsis:
            items.append(it)
        elif isinstance(it, slice):
            items.append(slice(_as_int(it.start), _as_int(it.stop), _as_int(it.step)))
            consumed += 1
        elif isinstance(it, (Traced, np.ndarray, list)) or isinstance(it, (bool, np.bool_)):
            a = it if isinstance(it, Traced) else np.asarray(it)
            kind = a.dtype.kind
            if kind == "b":
                consumed += a.ndim
                if isinstance(a, Traced):
                    a._escape("boolean-mask indexing with a traced mask (data-dependent shape)")
            elif kind in "iu":
                consumed += 1
                adv = True
            else:
                raise IndexError("arrays used as indices must be of integer or boolean type")
            items.append(R.ARR)
            arrs.append(a)
        else:
            items.append(operator.index(it))
            consumed += 1
    fill = (slice(None),) * max(ndim - consumed, 0)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k : k + 1] = fill
        while Ellipsis in items:  # numpy allows only one; later ones would be an error there
            raise IndexError("an index can only have a single ellipsis ('...')")
    else:
        items.extend(fill)
    return tuple(items), arrs, adv


def getitem(x: Any, index: Any) -> Any:
    tmpl, arrs, adv = split_index(index, R.ndim_of(x))
    r = bind(R.GETITEM, [x, *arrs], {"idx": tmpl, "adv": adv})
    if not arrs and isinstance(x, Traced):  # a basic index is a view in numpy: track it
        if not isinstance(r, Traced):
            r = Traced(None, r)
        r._view = (x, index, x._ver)
    return r


def setitem(y: Traced, index: Any, v: Any) -> None:
    tmpl, arrs, _ = split_index(index, y.ndim)
    if isinstance(v, (list, tuple)) and _has_traced(v):  # y[k] = [a, b]
        v = _build(v)
    r = bind(R.SETITEM, [y, v, *arrs], {"idx": tmpl})
    assign_inplace(y, r)


def assign_inplace(t: Traced, new: Any) -> None:
    """Make ``t`` hold ``new``; a view also writes ``new`` through to its base array."""
    view = t._view
    if view is None:
        t._become(new)
        return
    base, index, _ = view
    t._view = None
    if type(index) is ViewMap:  # reshape/transpose view: the write replaces the whole base
        assign_inplace(base, index.inv(new))
    else:
        setitem(base, index, new)
    t._become(new)
    t._view = (base, index, base._ver)


def _as_view(base: Any, r: Any, fwd: Callable, inv: Callable) -> Any:
    """Mark ``r`` (computed as ``fwd(base)``) as a numpy-style view of ``base``."""
    if isinstance(base, Traced):
        if not isinstance(r, Traced):
            r = Traced(None, r)
        r._view = (base, ViewMap(fwd, inv), base._ver)
    return r


def astype(x: Any, dtype: Any) -> Any:
    dtype = np.dtype(dtype)
    if R.dtype_of(x) == dtype:
        return bind(R.COPY, [x], {})
    return bind(R.ASTYPE, [x], {"dtype": dtype})


# ---------------------------------------------------------------------------- creation


def _lift_like(x: Any, value: np.ndarray) -> Any:
    """A constant shaped like ``x`` that belongs to ``x``'s trace (so it accepts writes)."""
    if isinstance(x, Traced):
        if x._trace is None:
            return Traced(None, value)
        return x._trace.lift(value)
    return value


def _like(maker: Callable) -> Callable:
    def h(a: Any, *args: Any, dtype: Any = None, shape: Any = None, **kw: Any) -> Any:
        shp = R.shape_of(a) if shape is None else shape
        dt = R.dtype_of(a) if dtype is None else dtype
        return _lift_like(a, maker(shp, dt, *args))

    return h


implements(np.zeros_like)(_like(lambda s, d: np.zeros(s, d)))
implements(np.ones_like)(_like(lambda s, d: np.ones(s, d)))
implements(np.empty_like)(_like(lambda s, d: np.zeros(s, d)))


@implements(np.full_like)
def _full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None, **kw: Any) -> Any:
    shp = R.shape_of(a) if shape is None else shape
    dt = R.dtype_of(a) if dtype is None else dtype
    buf = _lift_like(a, np.zeros(shp, dt))
    if isinstance(fill_value, Traced):
        buf[...] = fill_value
        return buf
    return _lift_like(a, np.full(shp, fill_value, dt))


# NumPy's ``like=`` (NEP 35) sends creation functions here when ``like`` is a traced array:
# ``np.zeros(n, like=x)`` is the one-keyword way to get a buffer that accepts traced writes.
# The result is a constant buffer (as from ``empty_buffer``) that joins whichever
# transformation first writes a traced value into it.


@implements(np.zeros, np.empty)
def _zeros_like_kw(shape: Any, dtype: Any = float, order: str = "C", **kw: Any) -> Traced:
    return Traced(None, np.zeros(shape, dtype=dtype))


@implements(np.ones)
def _ones_like_kw(shape: Any, dtype: Any = None, order: str = "C", **kw: Any) -> Traced:
    return Traced(None, np.ones(shape, dtype=dtype))


@implements(np.full)
def _full_like_kw(shape: Any, fill_value: Any, dtype: Any = None, **kw: Any) -> Any:
    if isinstance(fill_value, Traced):
        buf = Traced(None, np.zeros(shape, dtype=dtype or fill_value.dtype))
        buf[...] = fill_value
        return buf
    return Traced(None, np.full(shape, fill_value, dtype=dtype))


def _has_traced(obj: Any) -> bool:
    if isinstance(obj, Traced):
        return True
    return isinstance(obj, (list, tuple)) and any(_has_traced(o) for o in obj)


def _build(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)) and _has_traced(obj):
        return _stack([_build(o) for o in obj])
    return obj


@implements(np.array, np.asarray, np.asanyarray)
def _array_like_kw(obj: Any, dtype: Any = None, *args: Any, **kw: Any) -> Any:
    """``np.array([x[0], 2 * x[1]], like=x)``: nested sequences of traced values -> np.stack."""
    if isinstance(obj, Traced):
        r = obj if kw.get("copy") is False else bind(R.COPY, [obj], {})
    elif _has_traced(obj):
        r = _build(obj)
    else:
        return np.array(obj, dtype=dtype)
    return astype(r, dtype) if dtype is not None and R.dtype_of(r) != np.dtype(dtype) else r


@implements(np.copy)
def _copy(a: Any, *args: Any, **kw: Any) -> Any:
    return bind(R.COPY, [a], {})


@implements(np.shape)
def _shape(a: Any) -> tuple:
    return R.shape_of(a)


@implements(np.ndim)
def _ndim(a: Any) -> int:
    return R.ndim_of(a)


@implements(np.size)
def _size(a: Any, axis: Any = None) -> int:
    s = R.shape_of(a)
    return int(np.prod(s)) if axis is None else s[axis]


@implements(np.result_type)
def _result_type(*arrays: Any) -> Any:
    return np.result_type(*[R.dtype_of(a) if isinstance(a, Traced) else a for a in arrays])


@implements(np.iscomplexobj)
def _iscomplexobj(x: Any) -> bool:
    return R.dtype_of(x).kind == "c"


@implements(np.isrealobj)
def _isrealobj(x: Any) -> bool:
    return R.dtype_of(x).kind != "c"


# ---------------------------------------------------------------------------- shape ops


@implements(np.reshape)
def reshape(a: Any, shape: Any = None, order: str = "C", **kw: Any) -> Any:
    if shape is None:
        shape = kw.pop("newshape")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if -1 in shape:
        n = int(np.prod(R.shape_of(a)))
        known = int(np.prod([s for s in shape if s != -1]))
        shape = tuple(n // known if s == -1 else s for s in shape)
    old = R.shape_of(a)
    if shape == old:
        return a
    r = bind(R.RESHAPE, [a], {"shape": shape})
    return _as_view(a, r, lambda b: reshape(b, shape), lambda v: reshape(v, old))


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    nd = R.ndim_of(a)
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(x) % nd for x in axes)
    if axes == tuple(range(nd)):
        return a
    r = bind(R.TRANSPOSE, [a], {"axes": axes})
    back = tuple(np.argsort(axes).tolist())
    return _as_view(a, r, lambda b: transpose(b, axes), lambda v: transpose(v, back))


@implements(np.swapaxes)
def _swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    nd = R.ndim_of(a)
    p = list(range(nd))
    i, j = axis1 % nd, axis2 % nd
    p[i], p[j] = p[j], p[i]
    return transpose(a, p)


@implements(np.moveaxis)
def _moveaxis(a: Any, source: Any, destination: Any) -> Any:
    nd = R.ndim_of(a)
    src = [s % nd for s in np.atleast_1d(source).tolist()]
    dst = [d % nd for d in np.atleast_1d(destination).tolist()]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


@implements(np.ravel)
def _ravel(a: Any, order: str = "C") -> Any:
    return reshape(a, (-1,))


@implements(np.squeeze)
def _squeeze(a: Any, axis: Any = None) -> Any:
    s = R.shape_of(a)
    if axis is None:
        new = tuple(n for n in s if n != 1)
    else:
        ax = {x % len(s) for x in (axis if isinstance(axis, tuple) else (axis,))}
        new = tuple(n for i, n in enumerate(s) if i not in ax)
    return reshape(a, new)


@implements(np.expand_dims)
def _expand_dims(a: Any, axis: Any) -> Any:
    s = list(R.shape_of(a))
    axes = axis if isinstance(axis, tuple) else (axis,)
    nd = len(s) + len(axes)
    for ax in sorted(x % nd for x in axes):
        s.insert(ax, 1)
    return reshape(a, tuple(s))


@implements(np.broadcast_to)
def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> Any:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if R.shape_of(a) == shape:
        return a
    return bind(R.BROADCAST, [a], {"shape": shape})


@implements(np.atleast_1d)
def _atleast_1d(*arys: Any) -> Any:
    res = [reshape(a, (1,)) if R.ndim_of(a) == 0 else a for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.atleast_2d)
def _atleast_2d(*arys: Any) -> Any:
    res = []
    for a in arys:
        nd = R.ndim_of(a)
        res.append(reshape(a, (1, 1)) if nd == 0 else reshape(a, (1,) + R.shape_of(a)) if nd == 1 else a)
    return res[0] if len(res) == 1 else res


@implements(np.flip)
def _flip(m: Any, axis: Any = None) -> Any:
    nd = R.ndim_of(m)
    axes = range(nd) if axis is None else [a % nd for a in (axis if isinstance(axis, tuple) else (axis,))]
    idx = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(nd))
    return m[idx]


@implements(np.concatenate)
def concatenate(arrays: Any, axis: Any = 0, out: Any = None, dtype: Any = None, **kw: Any) -> Any:
    arrays = [_build(a) if isinstance(a, (list, tuple)) else a for a in arrays]  # [x[0], 1.0] pieces
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    nd = R.ndim_of(arrays[0])
    return bind(R.CONCAT, arrays, {"axis": axis % nd})


@implements(np.stack)
def _stack(arrays: Any, axis: int = 0, out: Any = None, **kw: Any) -> Any:
    arrays = list(arrays)
    nd = R.ndim_of(arrays[0]) + 1
    return concatenate([_expand_dims(a, axis % nd) for a in arrays], axis=axis % nd)


@implements(np.hstack)
def _hstack(tup: Any, **kw: Any) -> Any:
    arrs = [_atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if R.ndim_of(arrs[0]) == 1 else 1)


@implements(np.vstack)
def _vstack(tup: Any, **kw: Any) -> Any:
    return concatenate([_atleast_2d(a) for a in tup], axis=0)


@implements(np.column_stack)
def _column_stack(tup: Any) -> Any:
    arrs = [reshape(a, (-1, 1)) if R.ndim_of(a) < 2 else a for a in tup]
    return concatenate(arrs, axis=1)


# ---------------------------------------------------------------------------- reductions


def _reduction(prim: Prim) -> Callable:
    def h(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        **kw: Any,
    ) -> Any:
        if kw.get("where", True) is not True or kw.get("initial") is not None:
            raise no_rule(f"np.{prim.name} with where=/initial=")
        r = bind(prim, [a], {"axis": R._norm_axes(axis, R.ndim_of(a)), "keepdims": bool(keepdims)})
        if dtype is not None:
            r = astype(r, dtype)
        return r if out is None else _write_out(out, r)

    return h


implements(np.sum)(_reduction(R.SUM))
implements(np.prod)(_reduction(R.PROD))
implements(np.max, np.amax)(_reduction(R.MAX))
implements(np.min, np.amin)(_reduction(R.MIN))


@implements(np.mean)
def _mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    s = R.shape_of(a)
    axes = R._norm_axes(axis, len(s))
    n = int(np.prod(s)) if axes is None else int(np.prod([s[i] for i in axes]))
    total = np.sum(a, axis=axis, keepdims=keepdims)
    if R.dtype_of(a).kind in "biu":
        total = astype(total, np.float64)
    return total / n


@implements(np.var)
def _var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    d = a - _mean(a, axis=axis, keepdims=True)
    sq = np.real(d * np.conjugate(d)) if R.dtype_of(a).kind == "c" else d * d
    s = R.shape_of(a)
    axes = R._norm_axes(axis, len(s))
    n = int(np.prod(s)) if axes is None else int(np.prod([s[i] for i in axes]))
    return np.sum(sq, axis=axis, keepdims=keepdims) / (n - ddof)


@implements(np.std)
def _std(a: Any, *args: Any, **kw: Any) -> Any:
    return np.sqrt(_var(a, *args, **kw))


@implements(np.cumsum)
def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    if axis is None:
        a = reshape(a, (-1,))
        axis = 0
    return bind(R.CUMSUM, [a], {"axis": axis % R.ndim_of(a)})


@implements(np.diff)
def _diff(a: Any, n: int = 1, axis: int = -1, **kw: Any) -> Any:
    nd = R.ndim_of(a)
    ax = axis % nd
    for _ in range(n):
        hi = tuple(slice(1, None) if i == ax else slice(None) for i in range(nd))
        lo = tuple(slice(None, -1) if i == ax else slice(None) for i in range(nd))
        a = a[hi] - a[lo]
    return a


def logsumexp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(a), axis))`` computed stably; shape of ``a`` reduced over ``axis``."""
    return bind(R.LOGSUMEXP, [a], {"axis": R._norm_axes(axis, R.ndim_of(a)), "keepdims": bool(keepdims)})


# ---------------------------------------------------------------------------- elementwise


@implements(np.where)
def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        raise no_rule("np.where(condition) (data-dependent shape)")
    return bind(WHERE, [condition, x, y], {})


def _where_jvp(ts: list, xs: list, out: Any, p: dict) -> Any:
    nd = R.ndim_of(out)
    c = xs[0]
    tx = 0 if ts[1] is None else R.bt(ts[1], nd)
    ty = 0 if ts[2] is None else R.bt(ts[2], nd)
    return np.where(c, tx, ty)


WHERE = Prim(
    "where",
    np.where,
    _where_jvp,
    lambda g, xs, out, need, p: (
        None,
        np.where(xs[0], g, 0) if need[1] else None,
        np.where(xs[0], 0, g) if need[2] else None,
    ),
)


@implements(np.clip)
def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    a_min = kw.get("min", a_min)
    a_max = kw.get("max", a_max)
    if a_min is not None:
        a = np.maximum(a, a_min)
    if a_max is not None:
        a = np.minimum(a, a_max)
    return a if out is None else _write_out(out, a)


@implements(np.real)
def _real(val: Any) -> Any:
    return bind(R.REAL, [val], {})


@implements(np.imag)
def _imag(val: Any) -> Any:
    return bind(R.IMAG, [val], {})


@implements(np.around, np.round)
def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    return bind(R.nondiff("round", lambda x: np.round(x, decimals)), [a], {})


def _nondiff_fn(func: Any) -> Callable:
    prim = R.nondiff(func.__name__, func)

    def h(*args: Any, **kw: Any) -> Any:
        if kw:
            return bind(R.nondiff(func.__name__, lambda *a: func(*a, **kw)), list(args), {})
        return bind(prim, list(args), {})

    return h


for _f in (
    np.argmax,
    np.argmin,
    np.argsort,
    np.any,
    np.all,
    np.isclose,
    np.count_nonzero,
    np.sign,
    np.floor,
    np.ceil,
    np.isnan,
    np.isfinite,
    np.isinf,
):
    HANDLERS[_f] = _nondiff_fn(_f)


def _concrete(a: Any, why: str) -> Any:
    """The plain value of ``a``, marking every enclosing tape non-replayable."""
    while isinstance(a, Traced):
        a._escape(why)
        a = a._value
    return a


def _data_shaped(func: Any) -> Callable:
    # results whose *shape* depends on the data: computed from plain values, and a tape that
    # sees one re-traces (a replay could not know the new shape)
    def h(*args: Any, **kw: Any) -> Any:
        why = f"np.{func.__name__}(traced) (data-dependent shape)"
        return func(*[_concrete(a, why) for a in args], **kw)

    return h


for _f in (np.nonzero, np.flatnonzero, np.argwhere, np.unique):
    HANDLERS[_f] = _data_shaped(_f)
HANDLERS[np.searchsorted] = _nondiff_fn(np.searchsorted)
HANDLERS[np.argpartition] = _nondiff_fn(np.argpartition)


@implements(np.allclose)
def _allclose(*args: Any, **kw: Any) -> Any:
    return bool(np.all(np.isclose(*args, **kw)))


@implements(np.array_equal)
def _array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    return R.shape_of(a1) == R.shape_of(a2) and bool(np.all(np.equal(a1, a2)))


@implements(np.take_along_axis)
def _take_along_axis(arr: Any, indices: Any, axis: Any) -> Any:
    if axis is None:
        arr, axis = reshape(arr, (-1,)), 0
    nd = R.ndim_of(arr)
    axis %= nd
    idx: list[Any] = []
    ishape = R.shape_of(indices)
    for d in range(nd):
        if d == axis:
            idx.append(indices)
        else:
            shp = [1] * nd
            shp[d] = ishape[d]
            idx.append(np.arange(ishape[d]).reshape(shp))
    return arr[tuple(idx)]


@implements(np.sort)
def _sort(a: Any, axis: Any = -1, **kw: Any) -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return _take_along_axis(a, np.argsort(a, axis=axis), axis)


@implements(np.repeat)
def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    nd = R.ndim_of(a)
    n = R.shape_of(a)[axis % nd]
    idx = np.repeat(np.arange(n), repeats)
    return a[(slice(None),) * (axis % nd) + (idx,)]


@implements(np.tile)
def _tile(A: Any, reps: Any) -> Any:
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = max(R.ndim_of(A), len(reps))
    A = reshape(A, (1,) * (nd - R.ndim_of(A)) + R.shape_of(A))
    reps = (1,) * (nd - len(reps)) + reps
    for ax, r in enumerate(reps):
        if r != 1:
            n = R.shape_of(A)[ax]
            A = A[(slice(None),) * ax + (np.tile(np.arange(n), r),)]
    return A


@implements(np.roll)
def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    if axis is None:
        return reshape(_roll(reshape(a, (-1,)), shift, 0), R.shape_of(a))
    nd = R.ndim_of(a)
    n = R.shape_of(a)[axis % nd]
    idx = (np.arange(n) - shift) % n if n else np.arange(0)
    return a[(slice(None),) * (axis % nd) + (idx,)]


@implements(np.split, np.array_split)
def _split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    nd = R.ndim_of(ary)
    n = R.shape_of(ary)[axis % nd]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = np.cumsum([0] + sizes).tolist()
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    pre = (slice(None),) * (axis % nd)
    return [ary[pre + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


@implements(np.average)
def _average(a: Any, axis: Any = None, weights: Any = None, **kw: Any) -> Any:
    if weights is None:
        return _mean(a, axis=axis)
    return np.sum(a * weights, axis=axis) / np.sum(weights * np.ones_like(a), axis=axis)


@implements(np.cross)
def _cross(a: Any, b: Any, **kw: Any) -> Any:
    if R.shape_of(a)[-1:] != (3,) or R.shape_of(b)[-1:] != (3,) or kw:
        raise no_rule("np.cross other than 3-vectors along the last axis")
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return _stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


@implements(np.take)
def _take(a: Any, indices: Any, axis: Any = None, **kw: Any) -> Any:
    if axis is None:
        return reshape(a, (-1,))[indices]
    nd = R.ndim_of(a)
    return a[(slice(None),) * (axis % nd) + (indices,)]


# ---------------------------------------------------------------------------- products


def matmul(a: Any, b: Any) -> Any:
    va, vb = R.ndim_of(a) == 1, R.ndim_of(b) == 1
    if va:
        a = reshape(a, (1,) + R.shape_of(a))
    if vb:
        b = reshape(b, R.shape_of(b) + (1,))
    r = bind(R.MATMUL, [a, b], {})
    s = R.shape_of(r)
    if va and vb:
        return reshape(r, s[:-2])
    if va:
        return reshape(r, s[:-2] + s[-1:])
    if vb:
        return reshape(r, s[:-1])
    return r


@implements(np.dot)
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    na, nb = R.ndim_of(a), R.ndim_of(b)
    if na == 0 or nb == 0:
        r = np.multiply(a, b)
    elif nb <= 2:
        r = matmul(a, b) if na <= 2 or nb == 1 else _tensordot(a, b, axes=([na - 1], [0]))
    else:
        r = _tensordot(a, b, axes=([na - 1], [nb - 2]))
    return r if out is None else _write_out(out, r)


@implements(np.vdot)
def _vdot(a: Any, b: Any) -> Any:
    return matmul(np.conjugate(reshape(a, (-1,))), reshape(b, (-1,)))


@implements(np.inner)
def _inner(a: Any, b: Any) -> Any:
    if R.ndim_of(a) == 0 or R.ndim_of(b) == 0:
        return np.multiply(a, b)
    return _tensordot(a, b, axes=([-1], [-1]))


@implements(np.outer)
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@implements(np.tensordot)
def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    na, nb = R.ndim_of(a), R.ndim_of(b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [x % na for x in ax_a]
    ax_b = [x % nb for x in ax_b]
    la = list(_LETTERS[:na])
    lb = list(_LETTERS[na : na + nb])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in ax_a] + [c for j, c in enumerate(lb) if j not in ax_b]
    return _einsum("".join(la) + "," + "".join(lb) + "->" + "".join(out), a, b)


@implements(np.einsum)
def _einsum(subscripts: Any, *operands: Any, optimize: Any = False, **kw: Any) -> Any:
    if not isinstance(subscripts, str):  # einsum(op0, sublist0, op1, sublist1, ..., [out])
        subscripts, ops = _numpy_more.einsum_sublists((subscripts, *operands))
        return _einsum(subscripts, *ops, optimize=optimize)
    spec = subscripts.replace(" ", "")
    if "->" not in spec:
        letters = spec.replace(",", "").replace(".", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        spec = spec + "->" + ("..." if "..." in spec else "") + out
    return bind(R.EINSUM, list(operands), {"spec": spec})


@implements(np.trace)
def _trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, **kw: Any) -> Any:
    return np.sum(_diagonal(a, offset, axis1, axis2), axis=-1)


@implements(np.diagonal)
def _diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    nd = R.ndim_of(a)
    a = _moveaxis(a, [axis1 % nd, axis2 % nd], [nd - 2, nd - 1])
    n, m = R.shape_of(a)[-2:]
    i = np.arange(max(0, -offset), min(n, m - offset)) if m - offset > 0 else np.arange(0)
    return a[..., i, i + offset]


@implements(np.diag)
def _diag(v: Any, k: int = 0) -> Any:
    if R.ndim_of(v) == 2:
        return _diagonal(v, k)
    n = R.shape_of(v)[0] + abs(k)
    i = np.arange(R.shape_of(v)[0])
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    return bind(R.INDEX_ADD, [v, rows, cols], {"idx": (R.ARR, R.ARR), "shape": (n, n), "adv": True})


def _tri(keep: Callable) -> Callable:
    def h(m: Any, k: int = 0) -> Any:
        n, c = R.shape_of(m)[-2:]
        mask = keep(np.ones((n, c), dtype=bool), k)
        return np.where(mask, m, 0)

    return h


implements(np.tril)(_tri(np.tril))
implements(np.triu)(_tri(np.triu))


# ---------------------------------------------------------------------------- linalg


def _square2d(a: Any, name: str) -> None:
    if R.ndim_of(a) != 2:
        raise no_rule(f"np.linalg.{name} of stacked (>2-D) matrices")


def _per_matrix(fn: Callable, *arrays: Any) -> Any:
    """``fn`` applied to each matrix of stacked ``(..., n, n)`` arrays, results stacked.

    A composite of 2-D rules (one per matrix), so derivatives need nothing new; results that
    are tuples (``slogdet``, ``eigh``) are stacked per field.
    """
    batch = R.shape_of(arrays[0])[:-2]
    outs = [fn(*[a[idx] for a in arrays]) for idx in np.ndindex(*batch)]
    if isinstance(outs[0], tuple):
        fields = [_stack([o[k] for o in outs]) for k in range(len(outs[0]))]
        return type(outs[0])(*[reshape(f, batch + R.shape_of(f)[1:]) for f in fields])
    r = _stack(outs)
    return reshape(r, batch + R.shape_of(r)[1:])


@implements(np.linalg.solve)
def _solve(a: Any, b: Any) -> Any:
    if R.ndim_of(a) > 2:  # stacked: b is (..., n, k), or (n,) / (..., n) as NumPy 2 reads it
        nb = R.ndim_of(b)
        if nb == 1:
            return _per_matrix(lambda m: _solve(m, b), a)
        if nb == R.ndim_of(a) - 1:
            return _per_matrix(lambda m, v: _solve(m, v[:, None])[:, 0], a, _broadcast_to(
                b, R.shape_of(a)[:-1]))
        shp = np.broadcast_shapes(R.shape_of(a)[:-2], R.shape_of(b)[:-2])
        return _per_matrix(_solve, _broadcast_to(a, shp + R.shape_of(a)[-2:]),
                           _broadcast_to(b, shp + R.shape_of(b)[-2:]))
    _square2d(a, "solve")
    if R.ndim_of(b) > 2:
        raise no_rule("np.linalg.solve with stacked right-hand sides")
    return bind(R.SOLVE, [a, b], {})


@implements(np.linalg.inv)
def _inv(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_inv, a)
    _square2d(a, "inv")
    return bind(R.INV, [a], {})


@implements(np.linalg.det)
def _det(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_det, a)
    _square2d(a, "det")
    return bind(R.DET, [a], {})


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


@implements(np.linalg.slogdet)
def _slogdet(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_slogdet, a)
    _square2d(a, "slogdet")
    return SlogdetResult(bind(R.SLOGDET_SIGN, [a], {}), bind(R.LOGABSDET, [a], {}))


@implements(np.linalg.cholesky)
def _cholesky(a: Any, upper: bool = False) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(lambda m: _cholesky(m, upper), a)
    _square2d(a, "cholesky")
    L = bind(R.CHOLESKY, [a], {})
    return np.conjugate(L.T) if upper else L


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


@implements(np.linalg.eigh)
def _eigh(a: Any, UPLO: str = "L") -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(lambda m: _eigh(m, UPLO), a)
    _square2d(a, "eigh")
    if UPLO != "L":
        a = np.swapaxes(a, -1, -2)  # the upper triangle of a is the lower one of a^T
    if R.dtype_of(a).kind == "c":
        raise no_rule("np.linalg.eigh of complex matrices")
    packed = bind(R.EIGH, [a], {})
    return EighResult(packed[:, 0], packed[:, 1:])


@implements(np.linalg.eigvalsh)
def _eigvalsh(a: Any, UPLO: str = "L") -> Any:
    return _eigh(a, UPLO)[0]


@implements(np.linalg.norm)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = R.ndim_of(x)
    vector = (
        (axis is None and nd == 1)
        or isinstance(axis, (int, np.integer))
        or (isinstance(axis, tuple) and len(axis) == 1)
    )
    ax = None if axis is None else axis
    if ord is None or (ord in ("fro", 2) and not (ord == 2 and not vector)):
        if R.dtype_of(x).kind == "c":
            sq = np.real(x * np.conjugate(x))
        else:
            sq = x * x
        return np.sqrt(np.sum(sq, axis=ax, keepdims=keepdims))
    if vector and ord == 1:
        return np.sum(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and ord in (np.inf, float("inf")):
        return np.max(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and ord in (-np.inf,):
        return np.min(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and isinstance(ord, (int, float)) and ord not in (0,):
        return np.sum(np.abs(x) ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    if not vector and ord in ("nuc", 2, -2) and axis is None and nd == 2 and not keepdims:
        from ._rules_linalg2 import svdvals

        s = svdvals(x)
        return np.sum(s) if ord == "nuc" else np.max(s) if ord == 2 else np.min(s)
    raise no_rule(f"np.linalg.norm with ord={ord!r} on a matrix")


WHERE.fast = R._fast_where

from . import _numpy_more  # noqa: E402,F401 - registers further handlers (kept in their own module)
