"""anydiff.testing.check_derivatives: passes right derivatives on every backend, catches a
1e-6 relative error in one entry, and calls kinks undecidable instead of failing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import CheckReport, check_derivatives

BACKENDS = [b for b in ["engine", "jax", "torch", "autograd"] if ad.check_available(b)] + [
    ad.AutoEngine("forward"), ad.AutoFiniteDiff(), ad.AutoFiniteDiff(order=4),
    ad.AutoFiniteDiff("complex"), ad.AutoFiniteDiff("richardson"),
]
X = np.array([0.4, -1.1, 0.8])


def vec(x):
    xp = ad.array_namespace(x)
    return xp.sin(x) * x[0] + xp.exp(0.3 * x)


def vec_jac(x):
    J = np.diag(np.cos(x) * x[0] + 0.3 * np.exp(0.3 * x))
    J[:, 0] += np.sin(x)
    return J


def scal(x):
    xp = ad.array_namespace(x)
    return xp.sum(xp.sin(x) * x[0]) + xp.sum(x ** 3) / 3


def scal_grad(x):
    g = np.cos(x) * x[0] + x ** 2
    g[0] += np.sum(np.sin(x))
    return g


def scal_hess(x):
    H = np.diag(-np.sin(x) * x[0] + 2 * x)
    H[0, :] += np.cos(x)
    H[:, 0] += np.cos(x)
    return H


@pytest.mark.parametrize("backend", BACKENDS, ids=repr)
def test_right_derivatives_pass_on_every_backend(backend):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="finite differences cannot decide")
        r = check_derivatives(vec, X, backend=backend)
        assert isinstance(r, CheckReport) and r.ok
        assert [c.operator for c in r.checks] == ["jacobian", "pushforward", "pullback"]
        ops = ["gradient", "hessian", "hvp"]
        r = check_derivatives(scal, X, backend=backend, operators=ops)
        assert r.ok and [c.operator for c in r.checks] == ops
        r = check_derivatives(lambda t: t ** 3, 0.7, backend=backend,
                              operators=["derivative", "second_derivative"])
        assert r.ok


def off_by(fn, index, rel=1e-6):
    def wrong(*args):
        r = np.array(fn(*args), dtype=float)
        r[index] *= 1 + rel
        return r
    return wrong


def test_a_1e6_relative_error_in_one_entry_is_caught():
    assert check_derivatives(vec, X, derivative=vec_jac).ok
    with pytest.raises(AssertionError) as info:
        check_derivatives(vec, X, derivative=off_by(vec_jac, (1, 1)))
    msg = str(info.value)
    J = vec_jac(X)
    assert "jacobian" in msg and "FAILED" in msg and "worst entry (1, 1)" in msg
    assert f"{J[1, 1] * (1 + 1e-6):.12g}" in msg and f"{J[1, 1]:.10g}" in msg and "±" in msg
    # Off-diagonal, gradient, hvp, pullback: every operator's check has that power.
    with pytest.raises(AssertionError, match="worst entry \\(2, 0\\)"):
        check_derivatives(vec, X, derivative=off_by(vec_jac, (2, 0)))
    with pytest.raises(AssertionError, match="gradient"):
        check_derivatives(scal, X, derivative={"gradient": off_by(scal_grad, 2)})
    right = {"gradient": scal_grad, "hessian": scal_hess,
             "hvp": lambda x, t: scal_hess(x) @ t}
    assert check_derivatives(scal, X, derivative=right).ok
    with pytest.raises(AssertionError, match="hessian"):
        check_derivatives(scal, X, derivative={**right, "hessian": off_by(scal_hess, (0, 2))})
    with pytest.raises(AssertionError, match="pullback"):
        check_derivatives(vec, X, derivative={
            "pullback": off_by(lambda x, w: vec_jac(x).T @ w, 1)})


def test_a_wrong_backend_derivative_is_caught():
    # A custom rule that is wrong by 1e-6 relative, seen through a backend.
    if not ad.check_available("jax"):
        pytest.skip("jax not installed")
    import jax

    @jax.custom_jvp
    def g(x):
        return jax.numpy.sin(x)

    @g.defjvp
    def g_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return jax.numpy.sin(x), jax.numpy.cos(x) * (1 + 1e-6) * t

    with pytest.raises(AssertionError, match="FAILED"):
        check_derivatives(lambda x: g(x) if not isinstance(x, np.ndarray) else np.sin(x),
                          X, backend="jax")


def relu_times(x):
    xp = ad.array_namespace(x)
    return xp.maximum(x, 0.0) * x[1]


@pytest.mark.parametrize("backend", BACKENDS[:4] + [ad.AutoFiniteDiff()], ids=repr)
def test_kinks_are_undecided_not_failed(backend):
    x = np.array([0.0, 1.3])  # relu's kink at x[0]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = check_derivatives(relu_times, x, backend=backend)
    assert r.ok and r.checks[0].undecided >= 1
    for msg in w:  # only the "cannot decide" warning, if the backend's choice at 0 differs
        assert "cannot decide" in str(msg.message)


def test_kink_disagreement_warns_and_smooth_error_still_fails():
    x = np.array([0.0, 1.3])

    def claimed(x):  # 0.37 at the kink (anything goes there), right elsewhere
        return np.array([[0.37 * x[1], max(x[0], 0)], [0.0, 2 * x[1]]])

    with pytest.warns(UserWarning, match="finite differences cannot decide here"):
        assert check_derivatives(relu_times, x, derivative=claimed).ok
    with pytest.raises(AssertionError, match="worst entry \\(1, 1\\)"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_derivatives(relu_times, x, derivative=off_by(claimed, (1, 1)))


def test_float32_is_checked_in_float64():
    x32 = X.astype(np.float32)
    r = check_derivatives(vec, x32, derivative=vec_jac)
    assert "float64" in r.dtype and "float32" in r.dtype
    with pytest.raises(AssertionError):
        check_derivatives(vec, x32, derivative=off_by(vec_jac, (0, 0)))

    def stubborn(x):  # insists on float32: checked in float32, with float32 tolerances
        return np.sin(np.asarray(x, dtype=np.float32))

    r = check_derivatives(stubborn, x32, derivative=lambda x: np.diag(np.cos(x)))
    assert r.dtype == "float32"


def test_nan_in_the_derivative_fails_and_bad_arguments_are_clear():
    with pytest.raises(AssertionError):
        check_derivatives(vec, X, derivative=lambda x: vec_jac(x) * np.nan)
    with pytest.raises(ad.AnydiffError):
        check_derivatives(vec, X)
    with pytest.raises(ad.AnydiffError):
        check_derivatives(vec, X, backend="engine", derivative=vec_jac)
    with pytest.raises(ad.AnydiffError, match="unknown operator"):
        check_derivatives(vec, X, backend="engine", operators=["curl"])
    with pytest.raises(TypeError):
        check_derivatives(vec, np.array([1, 2]), backend="engine")
