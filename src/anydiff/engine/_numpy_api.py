"""NumPy entry points: ``__array_ufunc__`` / ``__array_function__`` handlers and indexing.

Each supported NumPy function maps to a handler that either binds one primitive from
:mod:`._rules` or is a composite of other NumPy calls (which dispatch again), so composites
need no derivative rules of their own.  Anything not listed raises :class:`EngineError`.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError, no_rule
from ._intercept import original
from ._tracer import Prim, Traced, ViewMap, bind, primal

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
        if not _carries_trace(args) and not _carries_trace(kwargs.values()):
            # only constant buffers (np.zeros/np.array inside f): NumPy's own function on them
            return func(*_plain(args), **dict(zip(kwargs, _plain(kwargs.values()))))
        raise no_rule(_np_name(func))
    if kwargs and kwargs.get("out") is not None:
        # ``out=`` is written here for every handler, so none can drop it silently (several
        # accepted and ignored it: np.cumsum(x, out=buf) left ``buf`` without the derivative)
        kwargs = dict(kwargs)
        out = kwargs.pop("out")
        return _write_out(out, h(*args, **kwargs))
    return h(*args, **kwargs)


def _carries_trace(values: Any) -> bool:
    for a in values:
        if type(a) is Traced and a._trace is not None:
            return True
        if isinstance(a, (list, tuple)) and _carries_trace(a):
            return True
    return False


def _plain(values: Any) -> list:
    out = []
    for a in values:
        if type(a) is Traced:
            a._own = False
            a = a._value
        elif isinstance(a, (list, tuple)):
            a = type(a)(_plain(a)) if type(a) in (list, tuple) else a
        out.append(a)
    return out


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
    from ._scipy_special_more import more_composites, more_rules

    _UFUNCS.update(ufunc_rules(sp))
    _UFUNCS.update(more_rules(sp))
    _numpy_extra.UFUNC_COMPOSITES.update(more_composites(sp))


_LN2 = float(np.log(2.0))


def _reduce(
    ufunc: Any,
    x: Any,
    axis: Any = 0,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    red = {
        np.add: np.sum,
        np.multiply: np.prod,
        np.maximum: np.max,
        np.minimum: np.min,
        np.logaddexp: logsumexp,
        np.logaddexp2: lambda v, axis, keepdims: logsumexp(v * _LN2, axis, keepdims) / _LN2,
    }.get(ufunc)
    if red is None or kw or out is not None:
        raise no_rule(f"np.{ufunc.__name__}.reduce")
    return red(x, axis=axis, keepdims=keepdims)


def apply_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    if method == "reduce":
        return _reduce(ufunc, *inputs, **kwargs)
    if method == "at":
        return _numpy_more.ufunc_at(ufunc, *inputs, **kwargs)
    if method == "accumulate" and ufunc in (np.add, np.multiply) and not kwargs.get("out"):
        acc = np.cumsum if ufunc is np.add else np.cumprod
        return acc(inputs[0], axis=kwargs.get("axis", 0), dtype=kwargs.get("dtype"))
    if method == "accumulate" and ufunc in (np.maximum, np.minimum, np.logaddexp, np.logaddexp2):
        return _numpy_extra.accumulate_extreme(ufunc, *inputs, **kwargs)
    if method == "outer" and len(inputs) == 2 and not kwargs.get("out"):
        # ufunc.outer(a, b) is ufunc(a[..., None, ...], b): a's axes first, then b's
        a, b = inputs
        a = reshape(a, R.shape_of(a) + (1,) * R.ndim_of(b))
        return apply_ufunc(ufunc, "__call__", (a, b), kwargs)
    if method != "__call__":
        raise no_rule(f"np.{ufunc.__name__}.{method}")
    if not _scipy_done and ufunc not in _UFUNCS:
        _scipy_rules()  # a SciPy ufunc: its rules (and composites) are built at first use
    comp = _numpy_extra.UFUNC_COMPOSITES.get(ufunc)
    if comp is not None and not kwargs:
        return comp(*inputs)
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
        if prim is None and not _carries_trace(inputs):
            r = ufunc(*_plain(inputs), **kwargs)  # constant buffers only: NumPy's own result
            return r if out is None else _write_out(out[0] if isinstance(out, tuple) else out, r)
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
        elif isinstance(it, (Traced, np.ndarray, list, tuple)) or isinstance(it, (bool, np.bool_)):
            # a tuple inside the index is a sequence index, as in NumPy (x[(0, 1), (2, 2)])
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
    own = type(x) is Traced and x._own
    r = bind(R.GETITEM, [x, *arrs], {"idx": tmpl, "adv": adv})
    if own and type(r) is Traced and not isinstance(r._value, np.ndarray):
        # one element (``y[i]`` in ``y[i] += v``): a copy in NumPy, so the buffer stays ours;
        # its forward tangent is a view of the buffer's tangent: copy that small slice
        if type(r._aux) is np.ndarray:
            r._aux = r._aux.copy()
        x._own = True
    if not arrs and isinstance(x, Traced) and isinstance(primal(r), np.ndarray):
        # a basic index is a view in numpy: track it (one element, ``y[i]`` of a 1-D ``y``,
        # is a NumPy scalar: a copy, which later writes into ``y`` must not change)
        if not isinstance(r, Traced):
            r = Traced(None, r)
        r._view = (x, index, x._ver)
    return r


def setitem(y: Traced, index: Any, v: Any) -> None:
    tmpl, arrs, _ = split_index(index, y.ndim)
    if isinstance(v, (list, tuple)) and _has_traced(v):  # y[k] = [a, b]
        v = _build(v)
    # a buffer whose array nobody else holds (only written since its last copy) is updated in
    # place: n writes cost O(n) in total, not O(n²) (see Traced._own)
    # (a constant buffer written with a traced value is not: its array becomes a constant of
    # the tape, which every replay would then write into)
    own = y._own and y._view is None and (y._trace is not None or not _carries_trace((v, *arrs)))
    p = {"idx": tmpl, "inplace": True} if own else {"idx": tmpl}
    r = bind(R.SETITEM, [y, v, *arrs], p)
    assign_inplace(y, r)
    if y._view is None and type(y._value) is np.ndarray and (y._aux is None or type(y._aux) is not Traced):
        y._own = True


def assign_inplace(t: Traced, new: Any) -> None:
    """Make ``t`` hold ``new``; a view also writes ``new`` through to its base array."""
    view = t._view
    if view is None:
        t._become(new)
        return
    base, index, _ = view
    t._view = None
    if type(index) is ViewMap:  # reshape/transpose view: the write replaces the whole base
        if index.inv is None:
            t._view = view
            raise ValueError("assignment destination is read-only")
        assign_inplace(base, index.inv(new))
    else:
        setitem(base, index, new)
    t._become(new)
    t._view = (base, index, base._ver)


def _as_view(base: Any, r: Any, fwd: Callable, inv: Callable | None = None) -> Any:
    """Mark ``r`` (computed as ``fwd(base)``) as a numpy-style view of ``base``; without
    ``inv`` a read-only one (``np.diagonal``, ``np.broadcast_to``): writing into it raises."""
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
    order = _reshape_order(a, order)
    if order == "F":  # column-major: reverse the axes, reshape row-major, reverse again
        return transpose(reshape(transpose(a), shape[::-1]))
    if shape == old:
        return a
    r = bind(R.RESHAPE, [a], {"shape": shape})
    if not np.may_share_memory(primal(r), primal(a)):
        return r  # NumPy copies here (``A.T.reshape(-1)``): not a view of ``a``
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
    return reshape(a, (-1,), order=order)


def _reshape_order(a: Any, order: Any) -> str:
    """``"C"`` or ``"F"``: NumPy's index order for reshape / ravel ("A" and "K" follow the
    memory layout of the value, as NumPy does for these)."""
    order = "C" if order is None else str(order).upper()
    if order in ("A", "K"):
        v = a
        while isinstance(v, Traced):
            v = v._value
        flags = getattr(v, "flags", None)
        order = "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous else "C"
    if order not in ("C", "F"):
        raise ValueError(f"order must be one of 'C', 'F', 'A' or 'K' (got {order!r})")
    return order


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
    r = bind(R.BROADCAST, [a], {"shape": shape})
    return _as_view(a, r, lambda b: _broadcast_to(b, shape))


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


# the other handler modules (split by topic; they register into HANDLERS on import)
from ._numpy_reductions import _cumsum, _diff, _mean, _std, _var, logsumexp  # noqa: E402,F401,I001
from . import _numpy_extra, _numpy_linalg, _numpy_more  # noqa: E402,F401,I001
from . import _numpy_compose  # noqa: E402,F401,I001
from ._numpy_elementwise import WHERE, _concrete, _take_along_axis  # noqa: E402,F401
from ._numpy_products import _einsum, _tensordot, matmul  # noqa: E402,F401
from . import _numpy_nanfuncs, _numpy_poly, _numpy_writes  # noqa: E402,F401,I001
