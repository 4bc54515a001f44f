"""hvp / hessian (forward-over-reverse) and nested forward mode against analytic results."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff import engine as E


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hess(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
    return H


def test_hessian_rosenbrock() -> None:
    x = np.random.default_rng(0).standard_normal(5)
    np.testing.assert_allclose(E.hessian(rosen, x), rosen_hess(x), rtol=1e-12, atol=1e-9)


def test_hvp_matches_hessian() -> None:
    x = np.random.default_rng(1).standard_normal(5)
    v = np.random.default_rng(2).standard_normal(5)
    np.testing.assert_allclose(E.hvp(rosen, x, v), rosen_hess(x) @ v, rtol=1e-12, atol=1e-9)


def test_hessian_of_quadratic_forms_and_linalg() -> None:
    rng = np.random.default_rng(4)
    A = rng.standard_normal((4, 4))
    A = A @ A.T + 4 * np.eye(4)
    x = rng.standard_normal(4)
    np.testing.assert_allclose(E.hessian(lambda z: 0.5 * z @ A @ z, x), A, rtol=1e-12)
    # f = log det(A + diag(z)) -> H_ij = -(M^-1)_ij^2 with M = A + diag(z)
    H = E.hessian(lambda z: np.linalg.slogdet(A + np.diag(z))[1], x)
    Mi = np.linalg.inv(A + np.diag(x))
    np.testing.assert_allclose(H, -(Mi * Mi.T), rtol=1e-10)
    # f = sum(exp(x) * sin(x)): diagonal Hessian 2 exp(x) cos(x)
    H = E.hessian(lambda z: np.sum(np.exp(z) * np.sin(z)), x)
    np.testing.assert_allclose(H, np.diag(2 * np.exp(x) * np.cos(x)), rtol=1e-12, atol=1e-14)


def test_hessian_mlp_like_against_autograd() -> None:
    import autograd
    import autograd.numpy as anp

    rng = np.random.default_rng(5)
    X = rng.standard_normal((7, 3))

    def f(m, w):
        h = m.tanh(X @ w.reshape(3, 2))
        return m.sum(h**2) + m.sum(m.maximum(w, 0.0) ** 3) + m.max(h)

    w = rng.standard_normal(6)
    np.testing.assert_allclose(
        E.hessian(lambda z: f(np, z), w),
        autograd.hessian(lambda z: f(anp, z))(w),
        rtol=1e-11,
        atol=1e-12,
    )


def test_second_derivative_forward_over_forward() -> None:
    f = lambda x: np.sin(x) * x**3  # noqa: E731
    x = np.array([0.7, -1.2])
    u = np.ones(2)

    def df(z):
        return E.jvp(f, z, [u])[1][0]

    d2 = E.jvp(df, x, [u])[1][0]
    expected = -np.sin(x) * x**3 + 6 * np.cos(x) * x**2 + 6 * x * np.sin(x)
    np.testing.assert_allclose(d2, expected, rtol=1e-12)


def test_no_perturbation_confusion() -> None:
    # d/dx [x * d/dy (x + y)] = 1 (a confused engine gives 2)
    def inner(x):
        return E.jvp(lambda y: x + y, np.array([1.0]), [np.ones(1)])[1][0]

    out = E.jvp(lambda x: x * inner(x), np.array([1.0]), [np.ones(1)])[1][0]
    np.testing.assert_allclose(out, [1.0])
    g = E.grad(lambda x: np.sum(x * E.grad(lambda y: np.sum(x * y), np.ones(1))), np.array([3.0]))
    np.testing.assert_allclose(g, [6.0])


def test_hessian_through_eigh_and_cholesky() -> None:
    rng = np.random.default_rng(8)
    A = rng.standard_normal((3, 3))
    A = A @ A.T + 3 * np.eye(3)
    x = rng.standard_normal(3) * 0.3

    def f(z):
        M = A + np.diag(z)
        return np.sum(np.linalg.eigvalsh(M) ** 3) + np.sum(np.linalg.cholesky(M) ** 2)

    H = E.hessian(f, x)
    # an independent reference: HIPS autograd's Hessian of the same function
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")

    def fa(z):
        M = A + anp.diag(z)
        return anp.sum(anp.linalg.eigh(M)[0] ** 3) + anp.sum(anp.linalg.cholesky(M) ** 2)

    np.testing.assert_allclose(H, autograd.hessian(fa)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)
