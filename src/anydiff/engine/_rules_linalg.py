"""Products and linear algebra: matmul, einsum, solve, inv, det, slogdet, cholesky, eigh (2-D)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import EngineError
from ._rules_core import _real, _reuse, bt, cj, dtype_of, is_complex, ndim_of, nondiff, shape_of
from ._tracer import Prim, primal


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


_LETTERS = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba"


def _free_letter(spec: str) -> str:
    return next(c for c in _LETTERS if c not in spec)


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
    spec = p["spec"]
    ins, out_s = spec.split("->")
    ins_l = ins.split(",")
    fresh = iter(c for c in _LETTERS if c not in spec)
    res: list[Any] = []
    for i, n in enumerate(need):
        if not n:
            res.append(None)
            continue
        res.append(_einsum_operand_grad(g, xs, i, ins_l, out_s, fresh))
    return tuple(res)


def _einsum_operand_grad(g: Any, xs: list, i: int, ins_l: list, out_s: str, fresh: Any) -> Any:
    """Cotangent of operand ``i`` of an einsum: one einsum of ``g`` with the other operands.

    Handles an ellipsis anywhere in the operand's subscripts (its axes are put back where
    they were, and summed where the operand was broadcast), letters summed only inside
    operand ``i`` (their cotangent broadcasts), and repeated letters (a diagonal: each
    repetition is renamed and tied to the original by an identity matrix).
    """
    xshape = shape_of(xs[i])
    pre, ell, post = ins_l[i].partition("...")
    ne = len(xshape) - len(pre) - len(post)  # axes covered by the operand's ellipsis
    ell_at = len(pre)
    others = [s for j, s in enumerate(ins_l) if j != i]
    ops = [g, *[cj(x) for j, x in enumerate(xs) if j != i]]
    seen: set[str] = set()
    new_sub: list[str] = []
    for k, c in enumerate(pre + post):
        if c in seen:  # a repeated letter: a fresh one, tied to c by an identity
            f = next(fresh)
            size = xshape[k if k < len(pre) else k + ne]
            others.append(c + f)
            ops.append(np.eye(size, dtype=dtype_of(g) if dtype_of(g).kind in "fc" else float))
            c = f
        seen.add(c)
        new_sub.append(c)
    sub_pre, sub_post = new_sub[: len(pre)], new_sub[len(pre) :]
    elsewhere = out_s + "".join(others)
    kept = [c for c in new_sub if c in elsewhere]
    # NumPy cannot sum ellipsis axes away in an explicit output: keep them, summed below
    s = ",".join([out_s, *others]) + "->" + ("..." if ell or "..." in elsewhere else "") + "".join(kept)
    r = np.einsum(s, *ops)
    rs = shape_of(r)
    e_r = rs[: len(rs) - len(kept)]
    k_sizes = rs[len(rs) - len(kept) :]
    if len(e_r) > ne:  # ellipsis axes the operand did not have (broadcast): summed
        r = np.sum(r, axis=tuple(range(len(e_r) - ne)))
        e_r = e_r[len(e_r) - ne :]
    e_x = xshape[ell_at : ell_at + ne]
    e_r = (1,) * (ne - len(e_r)) + e_r
    if shape_of(r) != e_r + k_sizes:
        r = np.reshape(r, e_r + k_sizes)
    bc = tuple(k for k in range(ne) if e_x[k] == 1 and e_r[k] != 1)
    if bc:  # size-1 ellipsis axes of the operand that broadcast
        r = np.sum(r, axis=bc, keepdims=True)
    # r is ordered (ellipsis axes, kept letters); the operand is (pre, ellipsis, post)
    names: list[Any] = [("...", k) for k in range(ne)] + kept
    order: list[Any] = sub_pre + [("...", k) for k in range(ne)] + sub_post
    present = [nm for nm in order if nm in names]
    perm = [names.index(nm) for nm in present]
    if perm != list(range(len(perm))):
        r = np.transpose(r, perm)
    sizes = dict(zip(present, shape_of(r)))
    full = tuple(sizes.get(nm, 1) for nm in order)
    if full != shape_of(r):
        r = np.reshape(r, full)
    return np.broadcast_to(r, xshape) if full != xshape else r


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


def _adjugate(a: Any, y: Any) -> Any:
    """``adj(a) = det(a) inv(a)``, also where ``a`` is singular (then from the SVD).

    ``d det(a) = trace(adj(a) da)``: the derivative exists everywhere, while ``inv`` fails
    at a singular matrix.  With ``a = U diag(s) V^H``, ``adj(a) = det(U) det(V^H) V diag(e) U^H``
    where ``e_i`` is the product of the other singular values (zero-safe, see prod).
    A numerically singular ``a`` (condition number above 1e8) takes the SVD route too: there
    ``det(a) * inv(a)`` multiplies a rounding-error determinant by a huge inverse, and its
    derivative (the second derivative of ``det``) cancels catastrophically.
    """
    s = np.linalg.svd(np.asarray(primal(a)), compute_uv=False)
    if s.size and s[-1] > 1e-8 * s[0]:
        try:
            return y * np.linalg.inv(a)
        except np.linalg.LinAlgError:
            pass
    if type(a) is not np.ndarray:  # a is traced: a second derivative at a singular matrix
        raise EngineError(
            "a higher derivative of np.linalg.det at a singular matrix has no rule in "
            "anydiff.engine; use backend 'jax', 'torch' or 'finitediff' for this function"
        )
    from ._rules_reduce import _exclusive_products

    u, s, vt = np.linalg.svd(a)
    e = _exclusive_products(s, None)
    return (np.linalg.det(u) * np.linalg.det(vt)) * ((np.conjugate(vt).T * e) @ np.conjugate(u).T)


DET = Prim(
    "linalg.det",
    np.linalg.det,
    lambda ts, xs, y, p: np.einsum("ij,bji->b", _adjugate(xs[0], y), ts[0]),
    lambda g, xs, y, need, p: (g * cj(_adjugate(xs[0], y).T),),
)


def _logabsdet_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[1]


def _sign_impl(a: Any) -> Any:
    return np.linalg.slogdet(a)[0]


def _inv_or_limit(a: Any) -> Any:
    """``inv(a)``, the derivative of ``log|det a|``; at a singular ``a`` (log|det| = -inf) its
    limit ``adj(a) / 0``: infinite entries (nan where the adjugate is 0), not a LinAlgError."""
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        pass
    with np.errstate(divide="ignore", invalid="ignore"):
        return _adjugate(a, np.zeros((), dtype=dtype_of(a))) / 0.0


LOGABSDET = Prim(
    "linalg.slogdet",
    _logabsdet_impl,
    lambda ts, xs, y, p: np.real(np.einsum("ij,bji->b", _inv_or_limit(xs[0]), ts[0])),
    lambda g, xs, y, need, p: (g * cj(_inv_or_limit(xs[0])).T,),
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


def _eigh_impl(a: Any, uplo: str = "L", scipy: Any = False) -> Any:
    # NumPy's own call with the user's UPLO: the eigenvectors' signs are LAPACK's, exactly as
    # in plain NumPy (decomposing a transposed copy instead flips some of them); scipy=True:
    # scipy.linalg.eigh's (another LAPACK driver, other signs), for calls made through SciPy
    if scipy:
        from scipy import linalg as sla  # (the name `scipy` is the parameter here)

        w, v = sla.eigh(a, lower=uplo == "L", driver=None if scipy is True else scipy)
    else:
        w, v = np.linalg.eigh(a, UPLO=uplo)
    return np.concatenate([w[:, None], v], axis=1)  # one output: [w | V], shape (n, n+1)


def _read_sym(t: Any, uplo: str) -> Any:
    """The Hermitian matrix eigh decomposes when given ``t``: only one triangle is read.

    ``UPLO="L"``: ``tril(t, -1) + tril(t, -1)ᴴ + diag(Re t_ii)`` (LAPACK ignores the imaginary
    part of the diagonal); ``"U"``: the same with ``triu(t, 1)``.
    """
    tri = np.tril(t, -1) if uplo == "L" else np.triu(t, 1)
    eye = np.eye(shape_of(t)[-1])
    diag = (np.real(t) if is_complex(t) else t) * eye
    return tri + np.conjugate(np.swapaxes(tri, -1, -2)) + diag


def _eigh_parts(y: Any) -> tuple[Any, Any, Any]:
    w = y[:, 0]
    if is_complex(w):
        w = np.real(w)
    v = y[:, 1:]
    n = shape_of(w)[0]
    dw = w[None, :] - w[:, None]  # w_j - w_i
    off = 1.0 - np.eye(n)
    with np.errstate(divide="ignore"):  # inf for a repeated eigenvalue: eigenvectors not unique
        F = off / (dw + np.eye(n))
    return w, v, F


def _times_f(F: Any, m: Any) -> Any:
    """``F * m`` with ``inf * 0 = 0``: where ``m`` is exactly 0 (no eigenvector cotangent, e.g.
    a function of the eigenvalues only) a repeated eigenvalue contributes nothing; a nonzero
    ``m`` there still gives inf/nan, since the eigenvectors' derivative does not exist."""
    with np.errstate(invalid="ignore"):  # the inf * 0 entries are the ones replaced
        return np.where(m == 0, 0.0, F * m)


def _real_row(uplo: str, n: int) -> int:
    """The row LAPACK's Hermitian eigenvectors have real (``zheevd`` via ``zhetrd``): the first
    for ``UPLO="L"``, the last for ``"U"``; the vectors' tangents keep it real."""
    return 0 if uplo == "L" else n - 1


def _eigh_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    w, v, F = _eigh_parts(y)
    uplo = p.get("uplo", "L")
    vh = np.conjugate(v.T) if is_complex(v) else v.T
    m = np.matmul(np.matmul(vh, _read_sym(ts[0], uplo)), v)  # (B, n, n)
    n = shape_of(w)[0]
    i = np.arange(n)
    dw = m[:, i, i]
    with np.errstate(invalid="ignore"):  # nan only in eigenvector tangents at a degeneracy
        dv = np.matmul(v, F * m)
    if is_complex(v):
        dw = np.real(dw)
        r = _real_row(uplo, n)  # LAPACK's phase: row r of v is real, so is its tangent
        c = np.imag(dv[:, r, :]) / np.real(v[r])
        dv = dv - 1j * v * c[:, None, :]
    return np.concatenate([dw[:, :, None], dv], axis=2)


def _eigh_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    w, v, F = _eigh_parts(y)
    uplo = p.get("uplo", "L")
    n = shape_of(w)[0]
    gw = g[:, 0]
    gv = g[:, 1:]
    if is_complex(v):
        gw = np.real(gw)
        r = _real_row(uplo, n)  # adjoint of the phase fix of the jvp
        gamma = np.imag(np.sum(np.conjugate(gv) * v, axis=0))
        onehot = (np.arange(n) == r)[:, None]
        gv = gv + onehot * (1j * gamma / np.real(v[r]))
        vh = np.conjugate(v.T)
    else:
        vh = v.T
    inner = np.diag(gw) + _times_f(F, np.matmul(vh, gv))
    t = np.matmul(np.matmul(v, inner), vh)
    # the adjoint of _read_sym: the (real part of the) diagonal once, each read off-diagonal
    # entry from both its own and its mirrored (conjugated) position
    tri = (lambda a: np.tril(a, -1)) if uplo == "L" else (lambda a: np.triu(a, 1))
    th = np.conjugate(t.T) if is_complex(t) else t.T
    diag = (np.real(t) if is_complex(t) else t) * np.eye(n)
    return (diag + tri(t) + tri(th),)


EIGH = Prim("linalg.eigh", _eigh_impl, _eigh_jvp, _eigh_vjp)


def _fast_matmul(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    if not _real(*xs):
        return None
    mm = np.matmul
    a, b = ins
    ws: list[Any] = [None, None]
    if need[0] and need[1]:
        f = lambda g, v: (  # noqa: E731
            _reuse(ws, 0, mm, g, v[b].swapaxes(-1, -2)),
            _reuse(ws, 1, mm, v[a].swapaxes(-1, -2), g),
        )
    elif need[0]:
        f = lambda g, v: (_reuse(ws, 0, mm, g, v[b].swapaxes(-1, -2)), None)  # noqa: E731
    else:
        f = lambda g, v: (None, _reuse(ws, 1, mm, v[a].swapaxes(-1, -2), g))  # noqa: E731

    def into(g: Any, v: list, outs: tuple) -> tuple:
        """The cotangents, those with an array in ``outs`` written into it (2-D operands)."""
        o0, o1 = outs
        c0 = c1 = None
        if need[0]:
            gb = v[b].swapaxes(-1, -2)
            c0 = _reuse(ws, 0, mm, g, gb) if o0 is None else mm(g, gb, out=o0)
        if need[1]:
            ga = v[a].swapaxes(-1, -2)
            c1 = _reuse(ws, 1, mm, ga, g) if o1 is None else mm(ga, g, out=o1)
        return (c0, c1)

    f.into = into  # type: ignore[attr-defined]
    return f


MATMUL.fast = _fast_matmul
