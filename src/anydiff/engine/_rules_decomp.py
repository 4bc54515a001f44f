"""Matrix decompositions with vectors: ``svd`` (reduced), ``qr`` (reduced), ``eig``, ``pinv``.

Each is one primitive whose output packs the factors into a single array (unpacked by the
handler with basic indexing, like ``eigh``), so the rules see all factors at once.  The rules
read the factors from the primitive's *output* ``y`` (never by decomposing again), so they
dispatch on traced values and can themselves be differentiated.  Shapes (2-D ``a``; stacked
arrays go one matrix at a time):

* ``svd(a, full_matrices=False)``, ``a`` real or complex ``(m, n)``, ``k = min(m, n)``: packed
  ``[U; s; Vhᴴ]`` of shape ``(m + 1 + n, k)``.  Complex vectors have a phase gauge (``U D``,
  ``V D`` with a diagonal unitary ``D`` is an SVD too): the tangent puts the undetermined
  ``i Im(Uᴴ dA V)_jj / s_j`` on ``U``'s columns and none on ``V``'s, so derivatives of
  gauge-invariant functions (``|U|²``, ``U S Vᴴ``, ``|u_jᴴ b|``) are exact; others are
  derivatives of that continuous branch, not of LAPACK's phases.  Derivative of the vectors
  exists for distinct nonzero singular values (inf/nan otherwise, as ``eigh`` at a repeated
  eigenvalue; a function of the singular values only stays finite).  ``full_matrices=True``
  on a non-square matrix raises: the extra columns are not unique.
* ``qr(a)`` (``mode="reduced"`` or ``"r"``), ``a`` real or complex ``(m, n)`` with ``m >= n``
  and full column rank: packed ``[Q; R]`` of shape ``(m + n, n)``.  Wide matrices raise.
  LAPACK's complex ``R`` has a real diagonal, so the factors are unique and so is their
  derivative (``Qᴴ dQ`` then has the imaginary diagonal of ``Qᴴ dA R⁻¹``).
* ``eig(a)``, ``a`` real or complex ``(n, n)`` with distinct eigenvalues: packed ``[w; V]`` of
  shape ``(n + 1, n)``.  The vectors' tangents follow LAPACK's normalisation (unit norm, largest
  component real), so they are the derivative of what ``np.linalg.eig`` returns.  A real ``a``
  whose eigenvalues were all real when traced gives real outputs, as in NumPy.
* ``pinv(a)``: the derivative of the pseudo-inverse at constant rank (the rank ``rcond`` finds),
  ``dX = -X dA X + X Xᴴ dAᴴ (I - A X) + (I - X A) dAᴴ Xᴴ X``.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import OTHER_BACKENDS, EngineError, no_rule
from ._numpy_api import implements
from ._rules_linalg import _times_f
from ._tracer import Prim, bind, primal


def _swap(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _inv_gaps(d: Any, n: int) -> Any:
    """``F_ij = 1 / d_ij`` off the diagonal, 0 on it (inf where ``d_ij = 0``: degenerate)."""
    eye = np.eye(n)
    with np.errstate(divide="ignore"):
        return (1.0 - eye) / (d + eye)


# ---------------------------------------------------------------------------- svd


def _svd_impl(a: Any, driver: str | None = None) -> Any:
    if driver is None:
        U, s, Vh = np.linalg.svd(a, full_matrices=False)
    else:  # called as scipy.linalg.svd: SciPy's LAPACK driver, so SciPy's signs
        import scipy.linalg

        U, s, Vh = scipy.linalg.svd(a, full_matrices=False, lapack_driver=driver)
    return np.concatenate([U, s[None, :].astype(U.dtype), R.cj(Vh.T)], axis=0)


def _H(a: Any) -> Any:
    """Conjugate transpose (a plain transpose of real arrays)."""
    return R.cj(_swap(a))


def _imag_diag(m: Any) -> Any:
    """``i Im(diag(m))`` as a diagonal matrix (batched over leading axes): the gauge terms."""
    k = R.shape_of(m)[-1]
    i = np.arange(k)
    return np.eye(k) * (1j * np.imag(m[..., i, i]))[..., None, :]


def _svd_parts(y: Any, m: int) -> tuple[Any, Any, Any, Any]:
    U, s, V = y[:m], y[m], y[m + 1 :]
    if R.is_complex(s):
        s = np.real(s)
    k = R.shape_of(s)[0]
    s2 = s * s
    return U, s, V, _inv_gaps(s2[None, :] - s2[:, None], k)  # F_ij = 1 / (s_j² - s_i²)


def _svd_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    m, n = R.shape_of(xs[0])
    U, s, V, F = _svd_parts(y, m)
    k = R.shape_of(s)[0]
    dA = ts[0]  # (B, m, n)
    dP = np.matmul(np.matmul(_H(U), dA), V)  # (B, k, k)
    i = np.arange(k)
    ds = dP[:, i, i]
    dPS = dP * s
    SdP = s[:, None] * dP
    with np.errstate(invalid="ignore"):  # inf * 0 only at a degenerate spectrum (no derivative)
        dU = np.matmul(U, F * (dPS + _H(dPS)))
        dV = np.matmul(V, F * (SdP + _H(SdP)))
    with np.errstate(divide="ignore", invalid="ignore"):
        if R.is_complex(dP):  # the phase gauge: U's columns take Im(dP_ii), V's none
            ds = np.real(ds)
            dU = dU + np.matmul(U, _imag_diag(dP) / s)
        if m > k:  # the part of dA V outside span(U)
            dU = dU + (np.matmul(dA, V) - np.matmul(U, dP)) / s
        if n > k:
            dV = dV + (np.matmul(_H(dA), U) - np.matmul(V, _H(dP))) / s
    return np.concatenate([dU, ds[:, None, :], dV], axis=1)


def _svd_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    m, n = R.shape_of(xs[0])
    U, s, V, F = _svd_parts(y, m)
    k = R.shape_of(s)[0]
    gU, gs, gV = g[:m], g[m], g[m + 1 :]
    UhgU = _H(U) @ gU
    J = _times_f(F, UhgU)
    K = _times_f(F, _H(V) @ gV)
    Gp = np.diag(np.real(gs) if R.is_complex(gs) else gs) + (J + _H(J)) * s + s[:, None] * (K + _H(K))
    with np.errstate(divide="ignore", invalid="ignore"):
        if R.is_complex(UhgU):  # adjoint of the phase gauge term of the tangent
            Gp = Gp + _imag_diag(UhgU) / s
        gA = U @ Gp @ _H(V)
        if m > k:
            gA = gA + ((gU - U @ UhgU) / s) @ _H(V)
        if n > k:
            gA = gA + U @ _H((gV - V @ (_H(V) @ gV)) / s)
    return (gA,)


SVD = Prim("linalg.svd", _svd_impl, _svd_jvp, _svd_vjp)
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def svd(a: Any, full_matrices: bool = True, driver: str | None = None) -> Any:
    """``np.linalg.svd(a, full_matrices)`` with vectors, for a real or complex 2-D ``a``
    (``driver``: the ``lapack_driver`` of ``scipy.linalg.svd``, for calls made through SciPy)."""
    m, n = R.shape_of(a)
    if full_matrices and m != n:
        raise EngineError(
            "np.linalg.svd(full_matrices=True) of a non-square matrix: the extra singular "
            "vectors are not unique, so they have no derivative; pass full_matrices=False"
        )
    packed = bind(SVD, [a], {} if driver is None else {"driver": driver})
    S = packed[m]
    return SVDResult(packed[:m], np.real(S) if R.is_complex(S) else S, _H(packed[m + 1 :]))


# ---------------------------------------------------------------------------- qr


def _qr_impl(a: Any, scipy: bool = False) -> Any:
    if scipy:
        from scipy import linalg as sla  # (the name `scipy` is the parameter here)

        Q, Rm = sla.qr(a, mode="economic")
    else:
        Q, Rm = np.linalg.qr(a)
    return np.concatenate([Q, Rm], axis=0)


def _qr_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    m = R.shape_of(xs[0])[0]
    Q, Rm = y[:m], y[m:]
    X = np.matmul(ts[0], np.linalg.inv(Rm))  # dA R⁻¹, (B, m, n)
    C = np.matmul(_H(Q), X)
    low = np.tril(C, -1)
    dO = low - _H(low)  # anti-Hermitian: Qᴴ dQ restricted to span(Q)
    if R.is_complex(C):  # LAPACK's R has a real diagonal: dR R⁻¹ too, so Qᴴ dQ takes Im(C_ii)
        dO = dO + _imag_diag(C)
    dQ = np.matmul(Q, dO - C) + X
    dR = np.matmul(C - dO, Rm)
    return np.concatenate([dQ, dR], axis=1)


def _qr_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    m = R.shape_of(xs[0])[0]
    Q, Rm = y[:m], y[m:]
    gQ, gR = g[:m], g[m:]
    H = _H(Q) @ gQ - gR @ _H(Rm)
    D = np.tril(H - _H(H), -1) - H
    if R.is_complex(H):
        D = D + _imag_diag(H)
    GX = gQ + Q @ D
    return (GX @ _H(np.linalg.inv(Rm)),)


QR = Prim("linalg.qr", _qr_impl, _qr_jvp, _qr_vjp)
QRResult = namedtuple("QRResult", ["Q", "R"])


def qr(a: Any, mode: str = "reduced", scipy: bool = False) -> Any:
    """``np.linalg.qr(a, mode)`` for a real or complex 2-D ``a`` with ``m >= n`` (modes
    reduced, r); LAPACK's complex ``R`` has a real diagonal, which fixes ``Q``'s phases."""
    m, n = R.shape_of(a)
    if m < n:
        raise no_rule("np.linalg.qr of a wide matrix (m < n: Q R is not unique in its last columns)")
    if mode == "complete" and m > n:
        raise no_rule("np.linalg.qr with mode='complete' of a tall matrix (Q's extra columns are not unique)")
    if mode not in ("reduced", "r", "complete"):
        raise no_rule(f"np.linalg.qr with mode={mode!r} (only 'reduced', 'r' and square 'complete')")
    d = np.abs(np.diagonal(np.linalg.qr(primal(a), mode="r")))
    if n and not d.min() > n * np.finfo(float).eps * max(d.max(), np.finfo(float).tiny):
        raise EngineError(
            "np.linalg.qr of a rank-deficient matrix: Q is not unique there, so it has no "
            f"derivative; {OTHER_BACKENDS}"
        )
    packed = bind(QR, [a], {"scipy": True} if scipy else {})
    if mode == "r":
        return packed[m:]
    return QRResult(packed[:m], packed[m:])


# ---------------------------------------------------------------------------- eig


def _eig_impl(a: Any, real: bool) -> Any:
    w, V = np.linalg.eig(a)
    if real and w.dtype.kind == "c":
        raise EngineError(
            "np.linalg.eig: the eigenvalues were real where the function was traced and are "
            "complex here; the output dtype changed, so the recorded tape does not apply "
            "(prepare again at this point, or use an unprepared call)"
        )
    packed = np.concatenate([w[None, :], V], axis=0)
    return packed if real else packed.astype(np.result_type(packed, np.complex64))


def _eig_parts(y: Any) -> tuple[Any, Any, Any, Any]:
    w, V = y[0], y[1:]
    n = R.shape_of(w)[0]
    F = _inv_gaps(w[None, :] - w[:, None], n)  # F_ij = 1 / (w_j - w_i)
    # LAPACK makes each vector's largest component real: the index is a static fact
    k = np.argmax(np.abs(primal(V)), axis=0)
    return w, V, F, k


def _eig_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    w, V, F, k = _eig_parts(y)
    n = R.shape_of(w)[0]
    P = np.matmul(np.matmul(np.linalg.inv(V), ts[0]), V)  # (B, n, n)
    i = np.arange(n)
    dw = P[:, i, i]
    with np.errstate(invalid="ignore"):
        du = np.matmul(V, F * P)
    if p["real"]:  # real vectors: only the unit norm to keep
        dv = du - V * np.sum(V * du, axis=-2, keepdims=True)
    else:
        dv = du - V * np.real(np.sum(np.conjugate(V) * du, axis=-2, keepdims=True))
        c = np.imag(dv[:, k, i]) / np.real(V[k, i])  # keep V[k_j, j] real
        dv = dv - 1j * V * c[:, None, :]
    return np.concatenate([dw[:, None, :], dv], axis=1)


def _eig_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    w, V, F, k = _eig_parts(y)
    n = R.shape_of(w)[0]
    gw, G1 = g[0], g[1:]
    i = np.arange(n)
    if not p["real"]:  # adjoint of the phase fix: it feeds back through V[k_j, j]
        gamma = np.imag(np.sum(np.conjugate(G1) * V, axis=0))
        onehot = np.arange(n)[:, None] == k[None, :]  # E[k_j, j] = i γ_j / V[k_j, j]
        G1 = G1 + onehot * (1j * gamma / np.real(V[k, i]))
        delta = np.real(np.sum(np.conjugate(G1) * V, axis=0))
    else:
        delta = np.sum(G1 * V, axis=0)
    Gdu = G1 - V * delta
    Vh = np.conjugate(V).T
    GP = _times_f(np.conjugate(F), Vh @ Gdu) + np.diag(gw)
    return (np.conjugate(np.linalg.inv(V)).T @ GP @ Vh,)


EIG = Prim("linalg.eig", _eig_impl, _eig_jvp, _eig_vjp)
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])


def eig(a: Any) -> Any:
    """``np.linalg.eig(a)`` of a 2-D ``a`` (distinct eigenvalues for a derivative)."""
    real = not R.is_complex(a) and np.linalg.eigvals(primal(a)).dtype.kind != "c"
    packed = bind(EIG, [a], {"real": real})
    return EigResult(packed[0], packed[1:])


# ---------------------------------------------------------------------------- pinv


def _pinv_impl(a: Any, kw: tuple) -> Any:
    return np.linalg.pinv(a, **dict(kw))


def _h(a: Any) -> Any:
    return np.conjugate(_swap(a))


def _pinv_jvp(ts: list, xs: list, X: Any, p: dict) -> Any:
    A = xs[0]
    m, n = R.shape_of(A)
    dA = ts[0]
    dAh = _h(dA)
    XXh = X @ _h(X)
    XhX = _h(X) @ X
    I_AX = np.eye(m) - A @ X
    I_XA = np.eye(n) - X @ A
    return (
        -np.matmul(np.matmul(X, dA), X)
        + np.matmul(np.matmul(XXh, dAh), I_AX)
        + np.matmul(np.matmul(I_XA, dAh), XhX)
    )


def _pinv_vjp(G: Any, xs: list, X: Any, need: tuple, p: dict) -> tuple:
    A = xs[0]
    m, n = R.shape_of(A)
    Xh, Gh = _h(X), _h(G)
    gA = -Xh @ G @ Xh + (np.eye(m) - A @ X) @ Gh @ (X @ Xh) + (Xh @ X) @ Gh @ (np.eye(n) - X @ A)
    return (gA,)


PINV = Prim("linalg.pinv", _pinv_impl, _pinv_jvp, _pinv_vjp)


# ---------------------------------------------------------------------------- handlers


def _per(fn: Any, a: Any, *rest: Any) -> Any:
    from ._numpy_linalg import _per_matrix

    return _per_matrix(lambda m: fn(m, *rest), a)


@implements(np.linalg.svd)
def _svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    if not compute_uv:
        from ._rules_linalg2 import svdvals

        if R.ndim_of(a) > 2:
            return _per(svdvals, a)
        return svdvals(a)
    if R.ndim_of(a) > 2:
        return _per(svd, a, full_matrices)
    return svd(a, full_matrices)


@implements(np.linalg.qr)
def _qr(a: Any, mode: str = "reduced") -> Any:
    if R.ndim_of(a) > 2:
        return _per(qr, a, mode)
    return qr(a, mode)


@implements(np.linalg.eig)
def _eig(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per(eig, a)
    return eig(a)


@implements(np.linalg.pinv)
def _pinv(a: Any, rcond: Any = None, hermitian: bool = False, **kw: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per(lambda m: _pinv(m, rcond, hermitian, **kw), a)
    opts = dict(kw, hermitian=bool(hermitian))
    if rcond is not None:
        opts["rcond"] = rcond
    return bind(PINV, [a], {"kw": tuple(sorted(opts.items()))})
