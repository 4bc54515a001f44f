"""svd (vectors), qr, eig (vectors), pinv and complex Hermitian eigh: both modes against
central differences of NumPy's own functions, and against JAX where it has the rule."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import check_both_modes

import anydiff as ad
from anydiff import engine as E

rng = np.random.default_rng(7)
C43, C33, C34 = rng.standard_normal((4, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 4))


def _svd_f(shape):
    m, n = shape
    k = min(m, n)
    cu, cs, cv = rng.standard_normal((m, k)), rng.standard_normal(k), rng.standard_normal((k, n))

    def f(x, np_=np):
        U, s, Vh = np_.linalg.svd(np_.reshape(x, shape), full_matrices=False)
        # not sign-invariant: the derivative of NumPy's actual vectors (LAPACK's signs)
        return np_.stack([np_.sum(U * cu), np_.sum(s * cs), np_.sum(Vh * cv)])

    return f


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_svd_vectors_match_fd_and_autograd(shape):
    import autograd.numpy as anp

    x = rng.standard_normal(shape[0] * shape[1])
    f = _svd_f(shape)
    check_both_modes(f, x, f_ag=lambda z: f(z, anp))


def test_svd_repeated_singular_values_function_of_values_stays_finite():
    def f(x):
        _, s, _ = np.linalg.svd(np.reshape(x, (2, 2)), full_matrices=False)
        return np.sum(s)  # the nuclear norm: U Vᵀ is its gradient, also at A = I

    x = np.eye(2).ravel()
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(E.jacobian(f, x, mode=mode), np.eye(2).ravel(), atol=1e-12)


def test_svd_full_matrices_of_non_square_raises():
    with pytest.raises(E.EngineError, match="full_matrices"):
        E.grad(lambda x: np.sum(np.linalg.svd(x.reshape(3, 2))[0]), np.arange(6.0))
    # complex vectors have a rule now (tests/engine/test_engine_gaps.py)


def _qr_f(shape):
    cq, cr = rng.standard_normal(shape), rng.standard_normal((shape[1], shape[1]))

    def f(x, np_=np):
        Q, Rm = np_.linalg.qr(np_.reshape(x, shape))
        return np_.stack([np_.sum(Q * cq), np_.sum(Rm * cr)])

    return f


@pytest.mark.parametrize("shape", [(3, 3), (4, 2)])
def test_qr_matches_fd(shape):
    check_both_modes(_qr_f(shape), rng.standard_normal(shape[0] * shape[1]))


def test_qr_matches_jax():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    shape = (4, 2)
    x = rng.standard_normal(8)
    f = _qr_f(shape)
    J_jax = np.asarray(jax.jacfwd(lambda z: f(z, jnp))(jnp.asarray(x)))
    np.testing.assert_allclose(E.jacobian(f, x, mode="reverse"), J_jax, rtol=1e-10, atol=1e-11)


def test_qr_mode_r_and_wide_raises():
    x = rng.standard_normal(6)
    check_both_modes(lambda z: np.sum(np.linalg.qr(z.reshape(3, 2), mode="r") * C33[:2, :2]), x)
    with pytest.raises(E.EngineError, match="wide"):
        E.grad(lambda z: np.sum(np.linalg.qr(z.reshape(2, 3))[0]), x)


def _eig_f(base):
    cw, cv = rng.standard_normal(3), rng.standard_normal((2, 3, 3))

    def f(x):
        w, V = np.linalg.eig(base + 0.3 * np.reshape(x, (3, 3)))
        return np.stack(
            [
                np.sum(np.real(w) * cw) + np.sum(np.imag(w) * cw[::-1]),
                np.sum(np.real(V) * cv[0]) + np.sum(np.imag(V) * cv[1]),
            ]
        )

    return f


@pytest.mark.parametrize(
    "base",
    [np.diag([1.0, 2.0, 4.0]), np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.5], [0.2, 0.0, 2.0]])],
    ids=["real-eigenvalues", "complex-pair"],
)
def test_eig_vectors_match_fd_of_numpy(base):
    # FD of np.linalg.eig itself: the tangents follow LAPACK's normalisation (unit norm,
    # largest component real), including the complex-pair case
    x = rng.standard_normal(9) * 0.5
    w = np.linalg.eig(base + 0.3 * x.reshape(3, 3))[0]
    assert (np.abs(np.imag(w)) > 0.1).any() == (base[0, 1] != 0)
    check_both_modes(_eig_f(base), x, rtol_fd=1e-6, atol_fd=1e-6)


def test_eig_real_tape_raises_when_eigenvalues_turn_complex():
    tape = E.record(lambda z: np.sum(np.real(np.linalg.eig(z.reshape(2, 2))[0])), np.array([1.0, 0, 0, 2]))
    with pytest.raises(E.EngineError, match="complex here"):
        tape.value_and_grad(np.array([0.0, 1, -1, 0]))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4)])
def test_pinv_matches_fd_and_autograd(shape):
    import autograd.numpy as anp

    c = rng.standard_normal(shape[::-1])

    def f(z, m=np):
        return m.sum(m.linalg.pinv(m.reshape(z, shape)) * c)

    check_both_modes(f, rng.standard_normal(shape[0] * shape[1]), f_ag=lambda z: f(z, anp))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_complex_hermitian_eigh_matches_fd_of_numpy(uplo):
    # x holds real and imaginary parts; the function is NOT phase-invariant, so this checks
    # that the tangents follow LAPACK's phase (row 0 real for "L", row n-1 for "U")
    cv = rng.standard_normal((2, 3, 3))
    cw = rng.standard_normal(3)

    def f(x):
        X = np.reshape(x[:9], (3, 3)) + 1j * np.reshape(x[9:], (3, 3))
        H = X + np.conj(X.T) + np.diag([0.0, 3.0, 6.0])
        w, V = np.linalg.eigh(H, UPLO=uplo)
        return np.stack([np.sum(w * cw), np.sum(np.real(V) * cv[0]) + np.sum(np.imag(V) * cv[1])])

    check_both_modes(f, rng.standard_normal(18) * 0.4)


def test_complex_eigh_phase_invariant_matches_autograd():
    import autograd
    import autograd.numpy as anp

    P = rng.standard_normal((3, 3))

    def f(x, m=np):
        X = m.reshape(x[:9], (3, 3)) + 1j * m.reshape(x[9:], (3, 3))
        H = X + m.conj(X.T) + m.diag(m.array([0.0, 3.0, 6.0]))
        w, V = m.linalg.eigh(H)
        return m.sum(w**3) + m.sum(m.abs(V) ** 2 * P)

    x = rng.standard_normal(18) * 0.4
    g_ag = autograd.grad(lambda z: f(z, anp))(x)
    for b in (ad.AutoEngine("reverse"), ad.AutoEngine("forward")):
        np.testing.assert_allclose(ad.gradient(f, b, x), g_ag, rtol=1e-10, atol=1e-11)


def test_stacked_svd_qr_pinv():
    x = rng.standard_normal(12)
    check_both_modes(lambda z: np.sum(np.linalg.svd(z.reshape(2, 3, 2), full_matrices=False)[0] ** 3), x)
    check_both_modes(lambda z: np.sum(np.linalg.qr(z.reshape(2, 3, 2))[1] * C33[:2, :2]), x)
    check_both_modes(lambda z: np.sum(np.linalg.pinv(z.reshape(2, 2, 3)) ** 2), x)


def test_support_page_lists_the_decompositions_as_supported():
    from anydiff.engine import _support

    funcs = _support.supported()["NumPy functions"]
    for name in ("np.linalg.svd", "np.linalg.qr", "np.linalg.eig", "np.linalg.pinv", "np.linalg.eigh"):
        assert name in funcs and name in _support.DECOMPOSITIONS and name not in _support.unsupported()
    assert "math.sin" in _support.supported()["math module (on traced scalars)"]


def test_eig_matches_autograd_on_a_real_spectrum():
    import autograd
    import autograd.numpy as anp

    base = np.diag([1.0, 2.0, 4.0])
    cv = rng.standard_normal((3, 3))
    x = rng.standard_normal(9) * 0.5

    def f(z, m=np):
        w, V = m.linalg.eig(base + 0.3 * m.reshape(z, (3, 3)))
        return m.sum(m.real(w) ** 2) + m.sum(m.real(V) * cv)

    g_ag = autograd.grad(lambda z: f(z, anp))(x)
    for b in (ad.AutoEngine("reverse"), ad.AutoEngine("forward")):
        np.testing.assert_allclose(ad.gradient(f, b, x), g_ag, rtol=1e-10, atol=1e-12)
