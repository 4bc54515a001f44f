"""``np.sum``/``prod``/``max``/``min`` (with ``where=`` / ``initial=``), ``mean``, ``var``,
``std``, ``cumsum``, ``diff`` and the engine's ``logsumexp`` (split out of :mod:`._numpy_api`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _write_out, astype, implements, reshape
from ._tracer import Prim, bind


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
    return np.sum(sq, axis=axis, keepdims=keepdims) / max(n - ddof, 0)  # NumPy clamps at 0


@implements(np.std)
def _std(a: Any, *args: Any, **kw: Any) -> Any:
    return bind(R.ROOT, [_var(a, *args, **kw)], {"p": 2})  # derivative 0 where var == 0


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
