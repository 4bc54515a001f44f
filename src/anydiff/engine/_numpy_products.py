"""Products: matmul, dot, inner, outer, tensordot, einsum, trace/diagonal, tri (split out of
:mod:`._numpy_api`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import (
    _as_view,
    _moveaxis,
    _write_out,
    astype,
    implements,
    reshape,
)
from ._tracer import bind


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
    out, dtype = kw.pop("out", None), kw.pop("dtype", None)
    kw.pop("order", None)
    kw.pop("casting", None)
    if kw:
        raise no_rule(f"np.einsum with {sorted(kw)}")
    if out is not None or dtype is not None:  # out= used to be dropped silently
        r = _einsum(subscripts, *operands, optimize=optimize)
        r = r if dtype is None else astype(r, dtype)
        return r if out is None else _write_out(out, r)
    if not isinstance(subscripts, str):  # einsum(op0, sublist0, op1, sublist1, ..., [out])
        from ._numpy_more import einsum_sublists

        subscripts, ops = einsum_sublists((subscripts, *operands))
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
    b = _moveaxis(a, [axis1 % nd, axis2 % nd], [nd - 2, nd - 1])
    n, m = R.shape_of(b)[-2:]
    i = np.arange(max(0, -offset), min(n, m - offset)) if m - offset > 0 else np.arange(0)
    # a read-only view in NumPy: later writes into ``a`` show through
    return _as_view(a, b[..., i, i + offset], lambda c: _diagonal(c, offset, axis1, axis2))


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
