"""``np.sum``/``prod``/``max``/``min`` (with ``where=`` / ``initial=``), ``mean``, ``var``,
``std``, ``cumsum``, ``diff`` and the engine's ``logsumexp`` (split out of :mod:`._numpy_api`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _write_out, astype, implements, reshape
from ._tracer import Prim, Traced, bind


def _reduction(prim: Prim) -> Callable:
    def h(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        **kw: Any,
    ) -> Any:
        where, initial = kw.pop("where", True), kw.pop("initial", None)
        if kw:
            raise no_rule(f"np.{prim.name} with {sorted(kw)}")
        neutral = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}[prim.name]
        if where is not True:  # entries left out count as the neutral element
            if initial is None and prim.name in ("max", "min"):
                raise no_rule(f"np.{prim.name} with where= and no initial=")
            a = np.where(where, a, neutral)
        r = bind(prim, [a], {"axis": R._norm_axes(axis, R.ndim_of(a)), "keepdims": bool(keepdims)})
        if initial is not None:
            combine = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}
            r = combine[prim.name](r, initial)
        if dtype is not None:
            r = astype(r, dtype)
        return r if out is None else _write_out(out, r)

    return h


implements(np.sum)(_reduction(R.SUM))
implements(np.prod)(_reduction(R.PROD))
implements(np.max, np.amax)(_reduction(R.MAX))
implements(np.min, np.amin)(_reduction(R.MIN))


def _count(a: Any, axis: Any, keepdims: bool, where: Any) -> Any:
    """How many entries each reduction over ``axis`` sees (an int, or a constant array with
    ``where=``)."""
    s = R.shape_of(a)
    if where is True:
        axes = R._norm_axes(axis, len(s))
        return int(np.prod(s)) if axes is None else int(np.prod([s[i] for i in axes]))
    while isinstance(where, Traced):  # a mask computed from x: a tape re-traces at each call
        where._escape("where=(traced mask)")
        where = where._value
    w = np.broadcast_to(np.asarray(where, dtype=bool), s)
    return np.sum(w, axis=axis, keepdims=keepdims)


def _no_extra(name: str, kw: dict) -> None:
    if kw:  # an option we do not implement must not be dropped silently
        raise no_rule(f"np.{name} with {sorted(kw)}")


@implements(np.mean)
def _mean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    where: Any = True,
    **kw: Any,
) -> Any:
    _no_extra("mean", kw)
    n = _count(a, axis, keepdims, where)
    total = np.sum(a, axis=axis, keepdims=keepdims, where=where) if where is not True else np.sum(
        a, axis=axis, keepdims=keepdims
    )
    if R.dtype_of(a).kind in "biu":
        total = astype(total, np.float64)
    r = total / n
    if dtype is not None:
        r = astype(r, dtype)
    return r if out is None else _write_out(out, r)


@implements(np.var)
def _var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where: Any = True,
    mean: Any = np._NoValue,
    correction: Any = np._NoValue,
    **kw: Any,
) -> Any:
    _no_extra("var", kw)
    if correction is not np._NoValue:  # the Array API spelling of ddof
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    m = _mean(a, axis=axis, keepdims=True, where=where) if mean is np._NoValue else mean
    d = a - m
    sq = np.real(d * np.conjugate(d)) if R.dtype_of(a).kind == "c" else d * d
    n = _count(a, axis, keepdims, where)
    if where is True:
        r = np.sum(sq, axis=axis, keepdims=keepdims) / max(n - ddof, 0)  # NumPy clamps at 0
    else:
        r = np.sum(sq, axis=axis, keepdims=keepdims, where=where) / np.maximum(n - ddof, 0)
    if dtype is not None:
        r = astype(r, dtype)
    return r if out is None else _write_out(out, r)


@implements(np.std)
def _std(a: Any, *args: Any, **kw: Any) -> Any:
    kw.update(zip(("axis", "dtype", "out", "ddof", "keepdims"), args))  # NumPy's positional order
    out = kw.pop("out", None)
    r = bind(R.ROOT, [_var(a, **kw)], {"p": 2})  # derivative 0 where var == 0
    return r if out is None else _write_out(out, r)


@implements(np.cumsum)
def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    if axis is None:
        a = reshape(a, (-1,))
        axis = 0
    return bind(R.CUMSUM, [a], {"axis": axis % R.ndim_of(a)})


@implements(np.diff)
def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue, append: Any = np._NoValue) -> Any:
    nd = R.ndim_of(a)
    ax = axis % nd
    # prepend/append (scalars broadcast to one slice along ``axis``) are concatenated first, as
    # NumPy does; they used to be swallowed by ``**kw``, a silently wrong derivative
    parts = []
    for extra in (prepend, append):
        if extra is np._NoValue:
            parts.append(None)
            continue
        if R.ndim_of(extra) == 0:
            shape = list(R.shape_of(a))
            shape[ax] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        seq = [p for p in (parts[0], a, parts[1]) if p is not None]
        a = np.concatenate(seq, axis=ax)
    for _ in range(n):
        hi = tuple(slice(1, None) if i == ax else slice(None) for i in range(nd))
        lo = tuple(slice(None, -1) if i == ax else slice(None) for i in range(nd))
        a = a[hi] - a[lo]
    return a


def logsumexp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(a), axis))`` computed stably; shape of ``a`` reduced over ``axis``."""
    return bind(R.LOGSUMEXP, [a], {"axis": R._norm_axes(axis, R.ndim_of(a)), "keepdims": bool(keepdims)})
