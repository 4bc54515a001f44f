"""AutoFiniteDiff(order=...): stencil weights, accuracy per order, evaluation counts, steps."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import _fd_stencils as st

rng = np.random.default_rng(3)
N = 12
A = rng.standard_normal((N, N)) / np.sqrt(N)


def f(x):
    return np.sin(A @ x) * np.exp(0.3 * x) + np.cos(x) ** 2


def jac(x):
    u = A @ x
    return np.cos(u)[:, None] * A * np.exp(0.3 * x)[:, None] + np.diag(
        np.sin(u) * 0.3 * np.exp(0.3 * x) - 2 * np.cos(x) * np.sin(x)
    )


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


def test_weights_are_the_textbook_stencils():
    assert st.weights("central", 4) == ((-2, -1, 1, 2), (1 / 12, -2 / 3, 2 / 3, -1 / 12))
    offs, w = st.weights("central", 6)
    assert offs == (-3, -2, -1, 1, 2, 3)
    assert np.allclose(w, np.array([-1, 9, -45, 45, -9, 1]) / 60, rtol=0, atol=1e-16)
    assert st.weights("forward", 2) == ((0, 1, 2), (-1.5, 2.0, -0.5))
    assert st.weights("backward", 1) == ((0, -1), (1.0, -1.0))


@pytest.mark.parametrize("method,order", [("central", p) for p in (2, 4, 6, 8)]
                         + [(m, p) for m in ("forward", "backward") for p in range(1, 7)])
def test_weights_satisfy_taylor_conditions(method, order):
    offs, w = st.weights(method, order)
    for k in range(len(offs)):
        moment = sum(Fraction(wi) * Fraction(o) ** k for o, wi in zip(offs, w))
        size = sum(abs(wi) * abs(o) ** k for o, wi in zip(offs, w))  # rounding scale of w
        assert abs(float(moment) - (k == 1)) < 4e-16 * size


# Relative accuracy on a smooth float64 function with |x| <= 2 (measured: order 2 7e-11,
# order 4 7e-13, order 6 1e-13 over 20 random points of a 20-d version; margins ~10x).
TARGET = {("central", 2): 1e-9, ("central", 4): 1e-11, ("central", 6): 2e-12,
          ("central", 8): 2e-12, ("forward", 4): 1e-10, ("backward", 6): 1e-10,
          ("forward", 1): 1e-6, ("backward", 2): 1e-8}


@pytest.mark.parametrize("method,order", list(TARGET))
def test_accuracy_per_order(method, order):
    b = ad.AutoFiniteDiff(method, order=order)
    worst = 0.0
    for _ in range(5):
        x = rng.uniform(-2, 2, N)
        worst = max(worst, rel(ad.jacobian(f, b, x), jac(x)))
        t = rng.standard_normal(N)
        worst = max(worst, rel(ad.pushforward(f, b, x, t), jac(x) @ t))
        worst = max(worst, rel(ad.pullback(f, b, x, t), jac(x).T @ t))
    assert worst < TARGET[(method, order)]


def test_higher_order_beats_lower_order():
    x = rng.uniform(-2, 2, N)
    e = {p: rel(ad.jacobian(f, ad.AutoFiniteDiff(order=p), x), jac(x)) for p in (2, 4, 6)}
    assert e[4] < e[2] / 10 and e[6] < e[2] / 10


class Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


@pytest.mark.parametrize("method,order", [("central", p) for p in (2, 4, 6, 8)]
                         + [(m, p) for m in ("forward", "backward") for p in (1, 2, 3, 6)])
def test_evaluations_equal_stencil_points(method, order):
    points = len(st.weights(method, order)[0])  # one-sided stencils include x itself
    b = ad.AutoFiniteDiff(method, order=order)
    x, t = rng.uniform(-1, 1, 5), rng.standard_normal(5)
    prep = ad.prepare_pushforward(f5 := Counter(np.sin), b, x, t)
    f5.calls = 0
    prep(x, t)
    assert f5.calls == points
    prep = ad.prepare_jacobian(g := Counter(np.sin), b, x)
    g.calls = 0
    prep(x)
    center = 1 if method != "central" else 0
    assert g.calls == 5 * (points - center) + center


@pytest.mark.parametrize("order", [2, 4, 6])
def test_steps_scale_with_order_and_are_exact(order):
    b = ad.AutoFiniteDiff(order=order)
    from anydiff._registry import get_adapter

    ad_ = get_adapter(b)
    x = np.array([0.3, -5.5, 1e3, 3.0])
    h = ad_._coord_steps(x, 1, False)
    eps = np.finfo(float).eps
    s = np.exp2(np.floor(np.log2(np.maximum(1, np.abs(x)))))
    assert np.allclose(h, eps ** (1 / (order + 1)) * s, rtol=1e-6)
    assert np.all((x + h) - x == h)


def test_order_is_normalised_and_validated():
    assert ad.AutoFiniteDiff(order=2) == ad.AutoFiniteDiff()
    assert ad.AutoFiniteDiff("forward").order == 1
    assert hash(ad.AutoFiniteDiff(order=4)) == hash(ad.AutoFiniteDiff("central", None, None, 4))
    for bad in [dict(order=3), dict(method="forward", order=7), dict(method="complex", order=2),
                dict(method="richardson", order=4), dict(order=True), dict(error="yes"),
                dict(method="complex", error=True)]:
        with pytest.raises(ad.AnydiffValueError):
            ad.AutoFiniteDiff(**bad)


def test_gradient_and_derivative_with_order():
    b = ad.AutoFiniteDiff(order=6)
    x = rng.uniform(-1, 1, N)
    g = ad.gradient(lambda v: np.sum(f(v)), b, x)
    assert rel(g, jac(x).sum(axis=0)) < 1e-11
    assert abs(ad.derivative(np.sin, b, 0.7) - np.cos(0.7)) < 1e-12


def test_engine_traces_higher_order_stencils_as_inner():
    # SecondOrder(engine, fd) differentiates the difference quotient: the steps carry no
    # derivative (piecewise-constant scale), so the Hessian is right.
    b = ad.SecondOrder(ad.AutoEngine(), ad.AutoFiniteDiff(order=4))
    x = np.array([0.3, -0.7, 1.1])
    H = ad.hessian(lambda v: np.sum(np.sin(v) * v[0]), b, x)
    Href = np.diag(-np.sin(x) * x[0])
    Href[0, :] += np.cos(x)
    Href[:, 0] += np.cos(x)
    assert rel(H, Href) < 1e-9


def test_float16_and_integer_x_are_clear_errors():
    with pytest.raises(TypeError):
        ad.jacobian(np.sin, ad.AutoFiniteDiff(order=4), np.array([1, 2]))
    r = ad.jacobian(np.sin, ad.AutoFiniteDiff(order=4), np.array([0.5], dtype=np.float32))
    assert r.dtype == np.float32 and abs(r[0, 0] - np.cos(0.5)) < 1e-3


def test_nan_propagates():
    J = ad.jacobian(lambda v: np.log(v), ad.AutoFiniteDiff(order=4), np.array([-1.0, 2.0]))
    assert np.isnan(J[0, 0]) and abs(J[1, 1] - 0.5) < 1e-10
