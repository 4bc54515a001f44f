"""Matrix functions by the block-triangular Fréchet identity: ``scipy.linalg.logm`` (and the
helper that ``expm`` shares); ``expm_frechet`` (the blocks of one ``expm``) and ``cosm``,
``sinm``, ``tanm``, ``coshm``, ``sinhm``, ``tanhm`` written with ``expm``.

For a primary matrix function ``f`` (analytic on the spectrum),
``f([[A, E], [0, A]]) = [[f(A), L(A, E)], [0, f(A)]]``, where ``L(A, E)`` is the Fréchet
derivative of ``f`` at ``A`` in the direction ``E``: one evaluation of ``f`` on a ``2n x 2n``
matrix gives a directional derivative, accurate to the algorithm's own accuracy on that
matrix.  The reverse rule is the adjoint of ``E -> L(A, E)`` under ``<X, Y> = Re tr(Xᴴ Y)``,
``G -> conj(L(Aᵀ, conj(G)))`` (:func:`frechet_adjoint`; ``L(Aᴴ, G)`` for real power-series
coefficients; the principal ``log`` of a real matrix with negative eigenvalues, on its branch
cut, is differentiable in real directions only, and the adjoint uses those).  The rules call the
function itself, so they nest (second derivatives).

``scipy.linalg.funm`` is not covered: its Schur–Parlett recurrence divides by differences of
eigenvalues, and the block matrix repeats every eigenvalue of ``A``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError, no_rule
from ._tracer import Prim, bind


def _H(a: Any) -> Any:
    return np.conjugate(np.swapaxes(a, -1, -2))


def frechet_block(fn: Callable, a: Any, e: Any) -> Any:
    """``L_f(A, E)`` for ``a`` of shape ``(..., n, n)`` and ``e`` of shape ``(B, ..., n, n)`` (or
    ``a``'s shape): the top-right block of ``fn([[A, E], [0, A]])``."""
    n = R.shape_of(a)[-1]
    shp = R.shape_of(e)
    A = np.broadcast_to(a, shp)
    Z = np.zeros(shp, dtype=np.result_type(R.dtype_of(a), R.dtype_of(e)))
    top = np.concatenate([A, e], axis=-1)
    bot = np.concatenate([Z, A], axis=-1)
    return fn(np.concatenate([top, bot], axis=-2))[..., :n, n:]


def frechet_adjoint(fn: Callable, a: Any, g: Any) -> Any:
    """The adjoint of ``E -> L_f(A, E)`` (under ``Re tr(Xᴴ Y)``) applied to ``g``.

    ``L_f(A, ·)`` is complex-linear and its transpose under ``tr(Xᵀ Y)`` is ``L_f(Aᵀ, ·)`` for
    every primary matrix function (in ``A``'s eigenbasis it is a Hadamard product with the
    symmetric matrix of divided differences), so the adjoint is ``conj(L_f(Aᵀ, conj(g)))``
    (``L_f(Aᴴ, g)`` for real power-series coefficients).  A real ``A`` with a complex ``f(A)``
    (``log`` of a matrix with negative eigenvalues, on the branch cut) is only differentiable
    in real directions: there ``L_f(A, ·)`` is real-linear, ``E -> Re L + i Im L``, and the
    adjoint is ``Re L_f(Aᵀ, Re g) + Im L_f(Aᵀ, Im g)``, from real directions only.
    """
    at = np.swapaxes(a, -1, -2)
    if R.is_complex(a) or not R.is_complex(g):
        return R.cj(frechet_block(fn, at, R.cj(g)))
    return np.real(frechet_block(fn, at, np.real(g))) + np.imag(frechet_block(fn, at, np.imag(g)))


def _each(f: Callable, a: Any) -> Any:
    """``f`` of every matrix of a stack ``(..., n, n)`` (one code path for every SciPy version)."""
    a = np.asarray(a)
    if a.ndim > 2:
        return np.stack([f(m) for m in a.reshape((-1,) + a.shape[-2:])]).reshape(a.shape)
    return f(a)


# ---------------------------------------------------------------------------- logm


def _logm_impl(a: Any, cplx: Any) -> Any:
    """``cplx``: True (complex output), False (real; raise if SciPy's is complex), ``"real"``
    (the real part: block matrices in the rules, real in exact arithmetic)."""
    import scipy.linalg as sl

    F = np.asarray(_each(sl.logm, a))
    if cplx is True:
        return F.astype(np.result_type(F.dtype, np.complex64))
    if F.dtype.kind == "c":
        if cplx != "real":
            raise EngineError(
                "scipy.linalg.logm: the logarithm was real when the tape was recorded and is "
                "complex here (an eigenvalue crossed the negative real axis); record the tape "
                "at this point"
            )
        F = F.real
    return F


def _logm_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    c = p["cplx"] is True
    return frechet_block(lambda m: _logm(m, c or "real"), xs[0], ts[0])


def _logm_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    c = p["cplx"] is True
    return (frechet_adjoint(lambda m: _logm(m, c or "real"), xs[0], g),)


LOGM = Prim("scipy.linalg.logm", _logm_impl, _logm_jvp, _logm_vjp)


def _logm(a: Any, cplx: Any) -> Any:
    return bind(LOGM, [a], {"cplx": cplx})


def logm(A: Any, disp: Any = True) -> Any:
    """Principal matrix logarithm of ``A`` (``(..., n, n)``), SciPy's values: real for a real
    matrix without eigenvalues on the closed negative real axis, complex otherwise."""
    import scipy.linalg as sl

    from ._tracer import primal

    if R.ndim_of(A) < 2 or R.shape_of(A)[-1] != R.shape_of(A)[-2]:
        raise no_rule("scipy.linalg.logm of a non-square or 1-D array")
    a0 = np.asarray(primal(A))
    F0 = _each(sl.logm, a0)  # SciPy's own choice of real or complex output at this point
    F = _logm(A, bool(R.is_complex(a0) or np.asarray(F0).dtype.kind == "c"))
    if disp is False:
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.linalg.norm(_each(sl.expm, np.asarray(F0)) - a0, 1) / np.linalg.norm(a0, 1)
        return F, float(err)
    return F


def expm_frechet(
    A: Any, E: Any, method: Any = None, compute_expm: bool = True, check_finite: bool = True
) -> Any:
    """``scipy.linalg.expm_frechet``: the blocks of ``expm([[A, E], [0, A]]) = [[e^A, L], [0, e^A]]``."""
    import scipy.linalg as sla

    n = R.shape_of(A)[-1]
    big = sla.expm(np.block([[A, E], [np.zeros((n, n)), A]]))
    L = big[:n, n:]
    return (big[:n, :n], L) if compute_expm else L


def _trig_m(kind: str) -> Callable:
    """``cosm`` / ``sinm`` / ``tanm`` / ``coshm`` / ``sinhm`` / ``tanhm`` from ``expm``."""

    def impl(A: Any) -> Any:
        import scipy.linalg as sla

        real = not R.is_complex(A)
        if kind in ("cosm", "sinm", "tanm"):
            e = sla.expm(1j * A)
            c, s = (
                (np.real(e), np.imag(e))
                if real
                else (0.5 * (e + sla.expm(-1j * A)), -0.5j * (e - sla.expm(-1j * A)))
            )
        else:
            ep, em = sla.expm(A), sla.expm(-A)
            c, s = 0.5 * (ep + em), 0.5 * (ep - em)
        if kind in ("cosm", "coshm"):
            return c
        if kind in ("sinm", "sinhm"):
            return s
        return np.linalg.solve(c, s)  # tan = cos⁻¹ sin (they commute)

    impl.__name__ = kind
    return impl


TABLE: dict[str, Callable] = {
    "logm": logm,
    "expm_frechet": expm_frechet,
    **{k: _trig_m(k) for k in ("cosm", "sinm", "tanm", "coshm", "sinhm", "tanhm")},
}
