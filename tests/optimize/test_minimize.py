"""anydiff.optimize.minimize on every backend, against analytic solutions and SciPy fed analytic
gradients."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import scipy.optimize

import anydiff as ad

from ._problems import (
    BACKENDS,
    EXACT,
    logistic_data,
    neg_loglik,
    neg_loglik_grad,
    rosenbrock,
    rosenbrock_grad,
)

TIGHT = {"gtol": 1e-10, "ftol": 1e-14, "maxiter": 500}


@pytest.mark.parametrize("backend", BACKENDS)
def test_rosenbrock_lbfgsb_matches_scipy_with_the_analytic_gradient(backend):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    res = ad.optimize.minimize(rosenbrock, x0, backend, method="L-BFGS-B", options=TIGHT)
    ref = scipy.optimize.minimize(
        lambda x: float(rosenbrock(x)), x0, jac=rosenbrock_grad, method="L-BFGS-B", options=TIGHT
    )
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-6)
    if backend in EXACT:  # the same gradients to rounding: the same iterates
        np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-9)
        assert abs(res.nit - ref.nit) <= 1 and abs(res.nfev - ref.nfev) <= 2
    assert {"nfev", "njev", "nit", "message", "fun", "jac"} <= set(res)


@pytest.mark.parametrize("backend", BACKENDS)
def test_logistic_regression_reaches_the_mle(backend):
    x, y = logistic_data()
    res = ad.optimize.minimize(neg_loglik, np.zeros(3), backend, ad.Constant(x), ad.Constant(y),
                               method="BFGS", options={"gtol": 1e-9})
    ref = scipy.optimize.minimize(lambda b: float(neg_loglik(b, x, y)), np.zeros(3),
                                  jac=lambda b: neg_loglik_grad(b, x, y), method="BFGS",
                                  options={"gtol": 1e-9})
    np.testing.assert_allclose(res.x, ref.x, atol=1e-7)
    assert np.max(np.abs(neg_loglik_grad(res.x, x, y))) < 1e-6  # the score vanishes at the MLE


@pytest.mark.parametrize("backend", BACKENDS)
def test_constrained_problem_dict_and_nonlinear_constraint(backend):
    # min (x0-2)^2 + (x1-1)^2  s.t.  x0^2 + x1^2 <= 1 (active) and x0 = 2 x1: x = (2, 1)/sqrt(5).
    f = lambda x: (x[0] - 2.0) ** 2 + (x[1] - 1.0) ** 2  # noqa: E731
    disk = ad.optimize.NonlinearConstraint(lambda x: (x**2).sum(), -np.inf, 1.0)
    line = {"type": "eq", "fun": lambda x, a: x[0] - a * x[1], "args": (2.0,)}
    res = ad.optimize.minimize(f, np.zeros(2), backend, method="SLSQP", constraints=[disk, line],
                               options={"ftol": 1e-12})
    np.testing.assert_allclose(res.x, np.array([2.0, 1.0]) / np.sqrt(5.0), atol=1e-7)


def test_trust_constr_agrees_with_scipy_fed_analytic_derivatives():
    f = lambda x: ((x - 2.0) ** 2).sum()  # noqa: E731
    disk = ad.optimize.NonlinearConstraint(lambda x: (x**2).sum(), -np.inf, 1.0)
    res = ad.optimize.minimize(f, np.zeros(2), "engine", method="trust-constr", constraints=disk)
    ref = scipy.optimize.minimize(
        lambda x: float(f(x)), np.zeros(2), jac=lambda x: 2 * (x - 2.0), hessp=lambda x, p: 2 * p,
        method="trust-constr", constraints=scipy.optimize.NonlinearConstraint(
            lambda x: (x**2).sum(), -np.inf, 1.0, jac=lambda x: 2 * x[None], hess=scipy.optimize.BFGS()),
    )
    np.testing.assert_allclose(res.x, ref.x, atol=1e-9)
    assert res.nit == ref.nit


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov", "trust-constr",
                                    "dogleg", "trust-exact"])
def test_second_order_methods_get_prepared_hessians(method):
    x0 = np.array([-1.2, 1.0, -0.5])
    res = ad.optimize.minimize(rosenbrock, x0, "engine", method=method)
    ref = scipy.optimize.minimize(
        lambda x: float(rosenbrock(x)), x0, method=method, jac=rosenbrock_grad,
        hess=lambda x: ad.hessian(rosenbrock, "autograd" if ad.check_available("autograd") else "engine", x),
    )
    assert res.success and res.nhev > 0, res.message
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-3)  # SciPy's default tolerances


@pytest.mark.parametrize("method", ["trust-constr", "Newton-CG", "trust-exact"])
def test_autosparse_hessians(method):
    x0 = np.zeros(12)
    res = ad.optimize.minimize(rosenbrock, x0, ad.AutoSparse("engine"), method=method)
    assert res.success and res.nhev > 0, res.message
    np.testing.assert_allclose(res.x, np.ones(12), atol=1e-4)


@pytest.mark.parametrize("backend", [b for b in ("torch", "autograd") if ad.check_available(b)])
def test_f_is_evaluated_once_per_point(backend):
    # torch and autograd run f itself at every call (no trace replay): count the points it sees.
    seen = collections.Counter()

    def f(x):
        v = x.detach().numpy() if hasattr(x, "detach") else np.asarray(getattr(x, "_value", x))
        seen[np.asarray(v, dtype=np.float64).tobytes()] += 1
        return rosenbrock(x)

    res = ad.optimize.minimize(f, np.array([-1.2, 1.0, 0.5]), backend, method="L-BFGS-B")
    assert res.success
    assert max(seen.values()) == 1, "a point was evaluated twice"
    assert len(seen) == res.nfev == res.njev


def test_pytree_x0_comes_back_in_its_structure():
    target = {"w": np.array([[1.0, -2.0], [3.0, 0.5]]), "b": -0.25}

    def f(p):
        return ((p["w"] - target["w"]) ** 2).sum() + (p["b"] - target["b"]) ** 2

    res = ad.optimize.minimize(f, {"w": np.zeros((2, 2)), "b": 0.0}, "engine", method="L-BFGS-B")
    assert set(res.x) == {"w", "b"} and isinstance(res.x["b"], float)
    np.testing.assert_allclose(res.x["w"], target["w"], atol=1e-8)
    assert abs(res.x["b"] - target["b"]) < 1e-8 and res.x_flat.shape == (5,)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    x0 = torch.zeros(3, dtype=torch.float32)
    res = ad.optimize.minimize(lambda x: ((x - 3.0) ** 2).sum(), x0, "torch")
    assert isinstance(res.x, torch.Tensor) and res.x.dtype == torch.float32
    np.testing.assert_allclose(res.x.numpy(), 3.0, atol=1e-6)


def test_jax_in_jax_out():
    jax = pytest.importorskip("jax")
    x0 = {"a": jax.numpy.zeros(2), "s": 1.0}
    res = ad.optimize.minimize(lambda p: ((p["a"] - 1.0) ** 2).sum() + p["s"] ** 2, x0, "jax")
    assert isinstance(res.x["a"], jax.Array) and res.x["a"].dtype == x0["a"].dtype
    np.testing.assert_allclose(np.asarray(res.x["a"]), 1.0, atol=1e-6)


def test_callbacks_get_x_in_the_callers_structure_and_progress_runs(capsys):
    f = lambda p: ((p["a"] - 1.0) ** 2).sum()  # noqa: E731
    old, new = [], []
    ad.optimize.minimize(f, {"a": np.zeros(2)}, "engine", callback=lambda xk: old.append(xk))
    ad.optimize.minimize(f, {"a": np.zeros(2)}, "engine", progress=True,
                         callback=lambda intermediate_result: new.append(intermediate_result))
    assert old and all(set(x) == {"a"} for x in old)
    assert new and set(new[-1].x) == {"a"} and new[-1].fun < 1e-10
    assert "minimize" in capsys.readouterr().err  # the tqdm bar
    states, tnc = [], []
    ad.optimize.minimize(f, {"a": np.zeros(2)}, "engine", method="trust-constr",
                         callback=lambda xk, state: states.append((xk, state)))
    assert states and set(states[-1][0]) == {"a"} and set(states[-1][1].x) == {"a"}
    ad.optimize.minimize(f, {"a": np.zeros(2)}, "engine", method="TNC", progress=True,
                         callback=lambda xk: tnc.append(xk))
    assert tnc and set(tnc[-1]) == {"a"}


def test_callback_stop_iteration_stops_as_in_scipy():
    def stop(intermediate_result):
        raise StopIteration

    res = ad.optimize.minimize(rosenbrock, np.zeros(3), "engine", method="L-BFGS-B", callback=stop)
    assert res.nit == 1 and not res.success


@pytest.mark.parametrize("backend", ["engine", "finitediff"])
def test_non_scalar_f_is_refused_with_the_shape_and_least_squares(backend):
    with pytest.raises(ad.AnydiffValueError, match=r"shape \(3,\).*least_squares"):
        ad.optimize.minimize(lambda x: x**2, np.ones(3), backend)


def test_bad_arguments_are_refused_clearly():
    f = lambda x: (x**2).sum()  # noqa: E731
    with pytest.raises(ad.AnydiffValueError, match="valid methods are CG, BFGS, L-BFGS-B"):
        ad.optimize.minimize(f, np.ones(2), "engine", method="lbfgs")
    with pytest.raises(ad.AnydiffValueError, match="uses no derivatives"):
        ad.optimize.minimize(f, np.ones(2), "engine", method="Nelder-Mead")
    with pytest.raises(ad.AnydiffTypeError, match="jac= is computed by anydiff"):
        ad.optimize.minimize(f, np.ones(2), "engine", jac=True)
    with pytest.raises(ad.AnydiffTypeError, match="complex"):
        ad.optimize.minimize(f, np.ones(2) + 0j, "engine")
    with pytest.raises(ad.AnydiffValueError, match="has a 'jac'"):
        ad.optimize.minimize(f, np.ones(2), "engine",
                             constraints={"type": "eq", "fun": lambda x: x.sum(), "jac": None})
    with pytest.raises(ad.AnydiffValueError, match="'eq' or 'ineq'"):
        ad.optimize.minimize(f, np.ones(2), "engine", constraints={"type": "<=", "fun": lambda x: x.sum()})


def test_scipy_constraint_objects_pass_through_on_the_flat_vector():
    lin = scipy.optimize.LinearConstraint(np.array([[1.0, 1.0]]), 1.0, 1.0)  # x0 + x1 = 1
    res = ad.optimize.minimize(lambda x: (x**2).sum(), np.array([3.0, -1.0]), "engine",
                               method="trust-constr", constraints=[lin])
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-6)


def test_integer_and_python_scalar_x0_and_args_as_constants():
    res = ad.optimize.minimize(lambda x, c: (x - c) ** 2, 1, "engine", args=(2.5,))
    assert isinstance(res.x, float) and abs(res.x - 2.5) < 1e-8
    res = ad.optimize.minimize(lambda x: ((x - 0.5) ** 2).sum(), np.array([1, 2]), "engine")
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, 0.5, atol=1e-8)
