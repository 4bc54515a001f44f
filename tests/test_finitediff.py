"""AutoFiniteDiff: accuracy of each method against analytic derivatives, and evaluation counts."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad


def f_vec(x):
    return np.sin(x) * np.exp(0.3 * x)


def df_vec(x):
    return np.diag(np.exp(0.3 * x) * (np.cos(x) + 0.3 * np.sin(x)))


def f_scal(x):
    return np.sum(np.log1p(x**2)) + x[0] * x[-1]


def grad_scal(x):
    g = 2 * x / (1 + x**2)
    g[0] += x[-1]
    g[-1] += x[0]
    return g


def hess_scal(x):
    H = np.diag(2 * (1 - x**2) / (1 + x**2) ** 2)
    H[0, -1] += 1
    H[-1, 0] += 1
    return H


X = np.array([0.3, -1.2, 2.5, 40.0])

# Relative accuracy each method reaches on these smooth functions (float64).
FIRST_ORDER_RTOL = {"central": 1e-7, "forward": 1e-5, "backward": 1e-5, "complex": 1e-13}


def rel_err(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.mark.parametrize("method", ["central", "forward", "backward", "complex"])
def test_first_order_accuracy(method):
    b = ad.AutoFiniteDiff(method=method)
    tol = FIRST_ORDER_RTOL[method]
    assert rel_err(ad.jacobian(f_vec, b, X), df_vec(X)) < tol
    assert rel_err(ad.gradient(f_scal, b, X), grad_scal(X)) < tol
    t = np.array([1.0, -2.0, 0.5, 0.1])
    assert rel_err(ad.pushforward(f_vec, b, X, t), df_vec(X) @ t) < tol
    assert rel_err(ad.pullback(f_vec, b, X, t), df_vec(X).T @ t) < tol
    assert rel_err(ad.derivative(np.sin, b, 0.7), np.cos(0.7)) < tol


def test_central_is_more_accurate_than_forward():
    errs = {
        m: rel_err(ad.gradient(f_scal, ad.AutoFiniteDiff(method=m), X), grad_scal(X))
        for m in ("forward", "central")
    }
    assert errs["central"] < errs["forward"] / 10


def test_second_order_accuracy():
    b = ad.AutoFiniteDiff()
    assert rel_err(ad.hessian(f_scal, b, X), hess_scal(X)) < 1e-6
    t = np.array([0.5, 1.0, -1.0, 2.0])
    assert rel_err(ad.hvp(f_scal, b, X, t), hess_scal(X) @ t) < 1e-6
    assert rel_err(ad.second_derivative(np.sin, b, 0.7), -np.sin(0.7)) < 1e-6
    y, dy, d2y = ad.value_derivative_and_second_derivative(np.sin, b, 0.7)
    assert y == np.sin(0.7) and rel_err(dy, np.cos(0.7)) < 1e-9


def test_float32_steps_scale_with_eps():
    x32 = X.astype(np.float32)
    g = ad.gradient(f_scal, "finitediff", x32)
    assert g.dtype == np.float32
    assert rel_err(g, grad_scal(X)) < 1e-3


def test_steps_scale_with_x():
    # A fixed absolute step of ~6e-6 would be lost in rounding at x = 1e8: the relative one is not.
    x = np.array([1e8, 2e8])
    assert rel_err(ad.gradient(lambda x: np.sum(x**2), "finitediff", x), 2 * x) < 1e-8


def test_rel_and_abs_step_overrides():
    b_rel = ad.AutoFiniteDiff(method="forward", rel_step=1e-3)
    g = ad.gradient(lambda x: np.sum(x**2), b_rel, np.array([1.0]))
    np.testing.assert_allclose(g, [2.0 + 1e-3], rtol=1e-9)  # forward difference error is exactly h
    b_abs = ad.AutoFiniteDiff(method="forward", abs_step=1e-2)
    g = ad.gradient(lambda x: np.sum(x**2), b_abs, np.array([5.0]))
    np.testing.assert_allclose(g, [10.0 + 1e-2], rtol=1e-9)
    with pytest.raises(ValueError):
        ad.AutoFiniteDiff(rel_step=-1.0)
    with pytest.raises(ValueError):
        ad.AutoFiniteDiff(method="fwd")


class Counter:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *a):
        self.calls += 1
        return self.f(*a)


@pytest.mark.parametrize(
    "method, plain, valued",
    [("forward", 5, 5), ("backward", 5, 5), ("central", 8, 9), ("complex", 5, 5)],
)
def test_jacobian_evaluation_counts(method, plain, valued):
    """n + 1 (one-sided, and complex step: f(x) in real arithmetic is how NaN propagates), 2n
    (central) evaluations for n = 4, when prepared."""
    b = ad.AutoFiniteDiff(method=method)
    f = Counter(f_vec)
    prep = ad.prepare_jacobian(f, b, X)
    f.calls = 0
    prep(X)
    assert f.calls == plain
    f.calls = 0
    prep.value_and_jacobian(X)
    assert f.calls <= valued


def test_unprepared_jacobian_costs_no_extra_evaluation():
    f = Counter(f_vec)
    ad.jacobian(f, "finitediff", X)
    assert f.calls == 2 * X.size


def test_complex_step_rejects_non_analytic_code():
    with pytest.raises(ad.UnsupportedError, match="imaginary part"):
        ad.gradient(lambda x: np.sum(np.real(x) ** 2), ad.AutoFiniteDiff(method="complex"), X)


def test_complex_holomorphic_and_real_valued():
    z = np.array([1 + 2j, -0.5 + 0.3j])
    J = ad.jacobian(lambda z: z**3, "finitediff", z)
    np.testing.assert_allclose(J, np.diag(3 * z**2), rtol=1e-8)
    w = np.array([1 - 1j, 2 + 0.5j])
    np.testing.assert_allclose(
        ad.pullback(lambda z: z**3, "finitediff", z, w), np.conj(3 * z**2) * w, rtol=1e-8
    )
    # Real-valued f: gradient is df/dRe + i df/dIm (steepest ascent) = 2 z for |z|^2.
    g = ad.gradient(lambda z: np.sum(np.abs(z) ** 2), "finitediff", z)
    np.testing.assert_allclose(g, 2 * z, rtol=1e-8)


def test_mutation_and_inplace_form():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0] * x[1]
        y[1:] = np.cumsum(x)[1:]
        y += 1
        return y

    J = ad.jacobian(f, "finitediff", np.array([2.0, 3.0, 4.0]))
    np.testing.assert_allclose(J, [[3, 2, 0], [1, 1, 0], [1, 1, 1]], atol=1e-8)

    def f_inplace(y, x):
        y[:] = x**2

    ybuf = np.zeros(3)
    y, J = ad.value_and_jacobian(f_inplace, "finitediff", np.array([1.0, 2.0, 3.0]), y=ybuf)
    np.testing.assert_allclose(ybuf, [1, 4, 9])
    np.testing.assert_allclose(J, np.diag([2, 4, 6]), atol=1e-8)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_nan_propagates():
    g = ad.gradient(lambda x: np.sum(np.sqrt(x)), "finitediff", np.array([-1.0, 4.0]))
    assert np.all(np.isnan(g))  # the sum is NaN, so every difference of it is
    J = ad.jacobian(np.sqrt, "finitediff", np.array([-1.0, 4.0]))
    assert np.isnan(J[0, 0]) and abs(J[1, 1] - 0.25) < 1e-8


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
def test_steps_follow_a_less_precise_output(method):
    # Before: f returning float32 for a float64 x was differenced with float64-sized steps:
    # forward differences gave exactly 0, central ones 0.3 % errors, Hessians lost whole
    # entries ([[0, 0], [0, 12]] for diag(6, 12)). Steps now follow y's precision.
    b = ad.AutoFiniteDiff(method=method)
    x = np.array([1.0, 2.0])
    tol = dict(rtol=2e-3, atol=1e-3)  # float32 accuracy of the class (one-sided: ~sqrt(eps32))
    np.testing.assert_allclose(ad.jacobian(lambda x: (x**2).astype(np.float32), b, x),
                               np.diag(2 * x), **tol)
    s32 = lambda x: np.float32(np.sum(x**3))  # noqa: E731
    np.testing.assert_allclose(ad.gradient(s32, b, x), 3 * x**2, **tol)
    np.testing.assert_allclose(ad.pushforward(lambda x: (x**2).astype(np.float32), b, x, np.ones(2)),
                               2 * x, **tol)
    np.testing.assert_allclose(ad.hessian(s32, b, x), np.diag(6 * x), rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(ad.hvp(s32, b, x, np.ones(2)), 6 * x, rtol=1e-3, atol=1e-2)

    def fill(y, x):
        y[:] = x**2

    np.testing.assert_allclose(ad.jacobian(fill, b, x, y=np.zeros(2, dtype=np.float32)),
                               np.diag(2 * x), **tol)
