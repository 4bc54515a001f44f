"""AutoFiniteDiff(method="complex"): real results for real f, errors where the complex step
cannot be right (non-analytic f, complex y, complex x), NaN propagated, float16 handled."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anydiff as ad

CS = ad.AutoFiniteDiff(method="complex")
X = np.array([1.0, 2.0, 3.0])


class Counter:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *a):
        self.calls += 1
        return self.f(*a)


def test_real_f_gives_real_arrays():
    f = lambda v: np.sin(v) * v  # noqa: E731
    J = np.diag(np.cos(X) * X + np.sin(X))
    for r, ref in [
        (ad.jacobian(f, CS, X), J),
        (ad.pushforward(f, CS, X, X), J @ X),
        (ad.pullback(f, CS, X, X), J.T @ X),
        (ad.gradient(lambda v: np.sum(f(v)), CS, X), np.diag(J)),
        (ad.derivative(np.sin, CS, 0.5), np.cos(0.5)),
    ]:
        r = np.asarray(r)
        assert r.dtype == np.float64, r.dtype
        np.testing.assert_allclose(r, ref, rtol=1e-14)
    y, J2 = ad.value_and_jacobian(f, CS, X)
    assert y.dtype == np.float64 and J2.dtype == np.float64
    np.testing.assert_allclose(y, f(X), rtol=0)
    y, dy = ad.value_and_derivative(lambda z: z**2, CS, 2.0)
    assert np.asarray(y).dtype == np.float64 and np.asarray(dy).dtype == np.float64
    assert float(dy) == 4.0


def test_prepared_results_are_real_too():
    prep = ad.prepare_jacobian(lambda v: v**3, CS, X)
    J = prep(2 * X)
    assert J.dtype == np.float64
    np.testing.assert_allclose(J, np.diag(3 * (2 * X) ** 2), rtol=1e-14)


@pytest.mark.parametrize(
    "f",
    [
        lambda v: np.sum(np.abs(v) * v),  # old: [1, 2, 3] instead of [2, 4, 6]
        lambda v: np.sum(np.sqrt(v * np.conj(v)) * v),  # |v| written another way
        lambda v: np.sum(np.abs(v) ** 2),
    ],
)
def test_non_analytic_f_is_rejected_at_preparation(f):
    with pytest.raises(ad.UnsupportedError) as info:
        ad.prepare_gradient(f, CS, X)
    msg = str(info.value)
    assert "method='central'" in msg
    assert "real-analytic" in msg or "imaginary part" in msg
    with pytest.raises(ad.UnsupportedError):
        ad.gradient(f, CS, X)


def test_check_names_the_cause_and_happens_at_preparation():
    f = Counter(lambda v: np.abs(v) * v)
    with pytest.raises(ad.UnsupportedError, match="real-analytic in x") as info:
        ad.prepare_jacobian(f, CS, X)
    assert "abs" in str(info.value)
    assert f.calls <= 6 + X.size + 1  # the check, and at most one kernel call before it


@pytest.mark.parametrize(
    "f, op",
    [
        (lambda v: v * (1 + 2j), "jacobian"),  # old: 2e20 entries
        (lambda z: np.exp(1j * z), "derivative"),  # old: 8e19
        (lambda v: np.exp(1j * v), "pushforward"),
    ],
)
def test_complex_y_is_rejected(f, op):
    with pytest.raises(ad.UnsupportedError, match="real-valued f"):
        if op == "jacobian":
            ad.prepare_jacobian(f, CS, X)
        elif op == "derivative":
            ad.prepare_derivative(f, CS, 1.0)
        else:
            ad.prepare_pushforward(f, CS, X, X)


@pytest.mark.filterwarnings("ignore:invalid value", "ignore:divide by zero")
def test_nan_propagates():
    assert np.isnan(ad.derivative(np.sqrt, CS, -1.0))  # old: 1e20
    assert np.isnan(ad.derivative(np.log, CS, -1.0))  # old: pi / 1e-20
    J = ad.jacobian(np.sqrt, CS, np.array([-1.0, 4.0]))
    # The NaN output's whole row is NaN (as with central differences: nan - nan).
    assert np.all(np.isnan(J[0])) and J[1, 1] == 0.25 and J[1, 0] == 0
    g = ad.gradient(lambda v: np.sum(np.sqrt(v)), CS, np.array([-1.0, 4.0]))
    assert np.all(np.isnan(g))  # the sum is NaN
    # A prepared kernel propagates NaN at a later point too.
    prep = ad.prepare_jacobian(np.sqrt, CS, np.array([1.0, 4.0]))
    J = prep(np.array([-1.0, 4.0]))
    assert np.all(np.isnan(J[0])) and J[1, 1] == 0.25
    assert np.all(np.isnan(ad.gradient(lambda v: np.sum(v**2), CS, np.array([np.nan, 1.0]))[:1]))


def test_infinite_value_gives_nan_not_a_huge_number():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = ad.derivative(lambda z: 1 / z, CS, 0.0)  # old: -1e40
    assert np.isnan(d)


def test_float16_is_computed_in_float32_and_cast_back():
    x16 = X.astype(np.float16)
    g = ad.gradient(lambda v: np.sum(v**2), CS, x16)  # old: NaN
    assert g.dtype == np.float16
    np.testing.assert_allclose(g.astype(np.float64), 2 * X, rtol=1e-3)
    J = ad.jacobian(np.sin, CS, x16)
    assert J.dtype == np.float16
    np.testing.assert_allclose(np.diag(J).astype(np.float64), np.cos(X), rtol=2e-3)
    d = ad.derivative(lambda z: z**3, CS, np.float16(2.0))
    assert np.asarray(d).dtype == np.float16 and float(d) == 12.0


def test_float32_stays_float32():
    g = ad.gradient(lambda v: np.sum(np.sin(v)), CS, X.astype(np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(X), rtol=1e-6)


def test_complex_x_is_rejected_at_preparation():
    z = X + 1j
    for prepare in (
        lambda: ad.prepare_gradient(lambda v: np.sum(np.abs(v) ** 2), CS, z),
        lambda: ad.prepare_jacobian(lambda v: v**2, CS, z),
        lambda: ad.prepare_pushforward(lambda v: v**2, CS, z, z),
    ):
        with pytest.raises(ad.UnsupportedError, match="needs real x"):
            prepare()


def test_check_runs_once_per_preparation():
    f = Counter(lambda v: np.sin(v) * v)
    prep = ad.prepare_jacobian(f, CS, X)
    f.calls = 0
    prep(X)
    prep.value_and_jacobian(X)  # the value form's kernel does not check again
    assert f.calls == 2 * (X.size + 1)


def test_accuracy_is_to_rounding_and_branches_on_real_parts_are_fine():
    def f(v):
        return np.where(v > 2.5, v**2, np.exp(v))  # analytic on each side; compares real parts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        J = ad.jacobian(f, CS, X)
    np.testing.assert_allclose(np.diag(J), [np.e, np.exp(2.0), 6.0], rtol=1e-15)
