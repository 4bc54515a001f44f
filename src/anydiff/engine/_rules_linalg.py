"""Products and linear algebra: matmul, einsum, solve, inv, det, slogdet, cholesky, eigh (2-D)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import EngineError
from ._rules_core import _real, _reuse, bt, cj, is_complex, ndim_of, nondiff, shape_of
from ._tracer import Prim


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


MATMUL.fast = _fast_matmul
