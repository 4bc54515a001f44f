"""Complex (holomorphic convention) and float32 behaviour."""

from __future__ import annotations

import numpy as np

from anydiff import engine as E

rng = np.random.default_rng(11)
z0 = rng.standard_normal(3) + 1j * rng.standard_normal(3)


def test_holomorphic_jvp_and_vjp() -> None:
    f = lambda z: np.exp(z) * z**2 + np.sin(z) / (1 + z)  # noqa: E731

    def fp(z):
        return np.exp(z) * z**2 + 2 * z * np.exp(z) + np.cos(z) / (1 + z) - np.sin(z) / (1 + z) ** 2

    t = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    y, [jt] = E.jvp(f, z0, [t])
    np.testing.assert_allclose(jt, fp(z0) * t, rtol=1e-12)
    _, pull = E.vjp(f, z0)
    w = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    np.testing.assert_allclose(pull(w), np.conj(fp(z0)) * w, rtol=1e-12)  # J^H w
    J = E.jacobian(f, z0)
    np.testing.assert_allclose(J, np.diag(fp(z0)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(E.jacobian(f, z0, mode="reverse"), J, rtol=1e-12, atol=1e-15)


def test_complex_matmul_and_linalg_jacobians() -> None:
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    for f in (
        lambda z: A @ z,
        lambda z: np.linalg.solve(A, z * z),
        lambda z: np.linalg.inv(A + np.diag(z)) @ z,
    ):
        J = E.jacobian(f, z0)
        h = 1e-7
        fd = np.stack([(f(z0 + h * e) - f(z0 - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
        np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(E.jacobian(f, z0, mode="reverse"), J, rtol=1e-12, atol=1e-14)


def test_real_valued_function_of_complex_gradient() -> None:
    # f = sum |z|^2 + Re(z0 conj z1): grad = df/dRe + i df/dIm
    f = lambda z: np.sum(np.abs(z) ** 2) + np.real(z[0] * np.conj(z[1]))  # noqa: E731
    g = E.grad(f, z0)
    h = 1e-6
    fd = np.array(
        [
            (f(z0 + h * e) - f(z0 - h * e)) / (2 * h)
            + 1j * (f(z0 + 1j * h * e) - f(z0 - 1j * h * e)) / (2 * h)
            for e in np.eye(3)
        ]  # noqa: E501
    )
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    import autograd
    import autograd.numpy as anp

    ag = autograd.grad(lambda z: anp.sum(anp.abs(z) ** 2) + anp.real(z[0] * anp.conj(z[1])))(z0)
    np.testing.assert_allclose(g, np.conj(ag), rtol=1e-12)  # autograd returns the conjugate
    tape = E.record(f, z0)
    np.testing.assert_allclose(tape.grad(z0 * 2), E.grad(f, z0 * 2), rtol=1e-13)


def test_float32_stays_float32() -> None:
    x = rng.standard_normal(5).astype(np.float32)
    f = lambda x: np.sum(np.tanh(x) * 2.0 + x[::-1] ** 2 / 3.0) + np.max(x)  # noqa: E731
    v, g = E.value_and_grad(f, x)
    assert g.dtype == np.float32 and np.asarray(v).dtype == np.float32
    y, [t] = E.jvp(lambda x: np.sin(x) * 0.5, x, [np.ones(5, np.float32)])
    assert y.dtype == np.float32 and t.dtype == np.float32
    tape = E.record(f, x)
    _, g2 = tape.value_and_grad(x * 2)
    assert g2.dtype == np.float32
    np.testing.assert_allclose(g2, E.grad(f, (x * 2).astype(np.float64)), rtol=1e-5)
    assert E.hessian(lambda z: np.sum(z**3), x).dtype == np.float32
