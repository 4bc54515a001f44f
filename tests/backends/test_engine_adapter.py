"""AutoEngine through the interface: modes, tapes in preps, mutation, threads, second order."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import anydiff as ad

MODES = [ad.AutoEngine("reverse"), ad.AutoEngine("forward")]
X = np.array([0.5, -1.0, 2.0])


def mutating(x):
    """Plain NumPy with in-place assignment into buffers created inside f."""
    y = np.zeros_like(x)
    y[0] = x[0] * x[1]
    y[1:] = np.sin(x[1:])
    y += x**2
    y[-1] *= 3.0
    return y


def mutating_jac(x):
    J = np.diag(2 * x)
    J[0, 0] += x[1]
    J[0, 1] += x[0]
    J[1, 1] += np.cos(x[1])
    J[2, 2] += np.cos(x[2])
    J[2] *= 3.0
    return J


@pytest.mark.parametrize("b", MODES, ids=lambda b: b.mode)
def test_mutation_matches_analytic(b):
    np.testing.assert_allclose(ad.jacobian(mutating, b, X), mutating_jac(X), rtol=1e-13)
    g = ad.gradient(lambda x: np.sum(mutating(x) ** 2), b, X)
    np.testing.assert_allclose(g, 2 * mutating_jac(X).T @ mutating(X), rtol=1e-12)


@pytest.mark.parametrize("b", MODES, ids=lambda b: b.mode)
def test_mutation_is_beyond_jax_and_autograd_but_not_engine(b):
    f = lambda x: np.sum(mutating(x))  # noqa: E731
    expected = mutating_jac(X).sum(axis=0)
    np.testing.assert_allclose(ad.gradient(f, b, X), expected, rtol=1e-12)
    if ad.check_available("autograd"):
        with pytest.raises(ad.AnydiffError):
            ad.gradient(f, "autograd", X)


@pytest.mark.parametrize("b", MODES, ids=lambda b: b.mode)
def test_inplace_form_and_cache(b):
    def f(y, x, c):
        c[:] = x * 2
        y[:] = c**2
        y[0] += x[1]

    y = np.zeros(3)
    val, J = ad.value_and_jacobian(f, b, X, ad.Cache(np.zeros(3)), y=y)
    expected = np.diag(8 * X)
    expected[0, 1] += 1
    np.testing.assert_allclose(J, expected, rtol=1e-13)
    np.testing.assert_allclose(y, val)


def test_tape_replayed_at_new_points_and_retraced_on_control_flow():
    prep = ad.prepare_gradient(lambda x: np.sum(np.tanh(x) ** 2), "engine", X)
    assert "replay=True" in repr(prep)
    x1 = np.array([1.5, 0.1, -0.3])
    np.testing.assert_allclose(prep(x1), 2 * np.tanh(x1) / np.cosh(x1) ** 2, rtol=1e-13)

    def branchy(x):
        return np.sum(x**2) if x[0] > 0 else np.sum(x**3)

    prep = ad.prepare_gradient(branchy, "engine", X)
    assert "replay=False" in repr(prep)
    x_neg = np.array([-1.0, 2.0, 0.5])
    np.testing.assert_allclose(prep(x_neg), 3 * x_neg**2)
    np.testing.assert_allclose(prep(X), 2 * X)


def test_prepared_tape_from_several_threads():
    prep = ad.prepare_gradient(lambda x: np.sum(np.sin(x) * x), "engine", X)
    points = [X * k for k in range(1, 7)]
    out: dict[int, np.ndarray] = {}

    def work(i):
        for _ in range(30):
            out[i] = prep(points[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(points))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, x in enumerate(points):
        np.testing.assert_allclose(out[i], np.cos(x) * x + np.sin(x), rtol=1e-13)


@pytest.mark.parametrize(
    "b",
    [
        ad.AutoEngine(),
        ad.SecondOrder(ad.AutoEngine("forward"), ad.AutoEngine("reverse")),
        ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoEngine()),
    ],
    ids=["native", "fwd-over-rev", "fd-over-engine"],
)
def test_second_order(b):
    f = lambda x: np.sum(np.exp(x[:-1]) * x[1:] ** 2)  # noqa: E731
    x = np.array([0.2, -0.4, 0.9])
    H = np.zeros((3, 3))
    H[0, 0] = np.exp(x[0]) * x[1] ** 2
    H[1, 1] = np.exp(x[1]) * x[2] ** 2 + 2 * np.exp(x[0])
    H[2, 2] = 2 * np.exp(x[1])
    H[0, 1] = H[1, 0] = 2 * np.exp(x[0]) * x[1]
    H[1, 2] = H[2, 1] = 2 * np.exp(x[1]) * x[2]
    rtol = 1e-6 if isinstance(b, ad.SecondOrder) and b.outer == ad.AutoFiniteDiff() else 1e-13
    np.testing.assert_allclose(ad.hessian(f, b, x), H, rtol=rtol, atol=rtol)
    t = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.hvp(f, b, x, t), H @ t, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(
        ad.second_derivative(lambda s: np.exp(s) * s**2, b, 0.7),
        np.exp(0.7) * (0.49 + 2.8 + 2), rtol=rtol,
    )


def test_agrees_with_autograd_to_1e12():
    pytest.importorskip("autograd")
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 3))

    def f(x, A):
        return np.sum(np.log1p(np.exp(A @ x))) + 0.5 * np.sum(x**2)

    x = rng.normal(size=3)
    c = ad.Constant(A)
    for op in ("gradient", "hessian"):
        ours = getattr(ad, op)(f, "engine", x, c)
        theirs = getattr(ad, op)(f, "autograd", x, c)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_unsupported_operation_fails_loudly():
    with pytest.raises(ad.UnsupportedError, match="engine|backend"):
        ad.gradient(lambda x: np.sum(np.linalg.qr(np.outer(x, x))[0]), "engine", X)
    with pytest.raises(ad.UnsupportedError):
        ad.gradient(lambda x: float(x[0]) * 2.0, "engine", X)


@pytest.mark.parametrize("b", MODES, ids=lambda b: b.mode)
def test_jacobian_real_to_complex(b):
    """Reverse-mode rows need two pullbacks when x is real and y complex (generic jacobian)."""
    x = np.array([0.3, 1.2, -0.7])
    J = ad.jacobian(lambda x: np.exp(1j * x) * x, b, x)
    np.testing.assert_allclose(J, np.diag(np.exp(1j * x) * (1j * x + 1)), rtol=1e-13)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_cache_with_value_dependent_branch_retraces(mode):
    """A prepared tape that re-traces (the branch depends on x) with an ``ad.Cache`` scratch
    buffer: the buffer still held the first recording's traced values and the second recording
    raised 'record() does not nest'."""

    def f(y, x, c):
        c[:] = x * 2
        y[:] = c**2 if x[0] > 0 else c**3
        y[0] += x[1]

    b = ad.AutoEngine(mode)
    y = np.zeros(3)
    prep = ad.prepare_jacobian(f, b, X, ad.Cache(np.zeros(3)), y=y)
    for x in (X, -X, X):
        want = np.diag(8 * x) if x[0] > 0 else np.diag(24 * x**2)
        want[0, 1] += 1
        J = ad.jacobian(f, b, x, ad.Cache(np.zeros(3)), y=y, prep=prep)
        np.testing.assert_allclose(J, want, rtol=1e-13)
