"""Prepared operators are plain callables SciPy can take as jac= / hessp= / hess=, and
anydiff.optimize loads lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

import anydiff as ad

from ._problems import BACKENDS, rosenbrock


@pytest.mark.parametrize("backend", BACKENDS)
def test_prepared_gradient_and_hvp_as_jac_and_hessp(backend):
    x0 = np.array([0.5, 0.6, 0.7])
    grad = ad.prepare_gradient(rosenbrock, backend, x0)
    hvp = ad.prepare_hvp(rosenbrock, backend, x0, np.zeros(3))
    res = scipy.optimize.minimize(grad.value_and_gradient, x0, jac=True, hessp=hvp,
                                  method="trust-ncg", options={"gtol": 1e-9})
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-6)
    res = scipy.optimize.minimize(lambda x: float(rosenbrock(x)), x0, jac=grad, method="L-BFGS-B")
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-4)


def test_prepared_hessian_and_sparse_jacobian_as_scipy_callables():
    x0 = np.array([-1.2, 1.0, 0.7])
    hess = ad.prepare_hessian(rosenbrock, "engine", x0)
    res = scipy.optimize.minimize(lambda x: float(rosenbrock(x)), x0, method="trust-exact",
                                  jac=ad.prepare_gradient(rosenbrock, "engine", x0), hess=hess,
                                  options={"gtol": 1e-10})
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-6)

    def resid(x):
        xp = ad.array_namespace(x)
        return xp.concat([x[1:] - x[:-1] ** 2, xp.reshape(x[0] - 0.5, (1,))])

    jac = ad.prepare_jacobian(resid, ad.AutoSparse("engine"), np.ones(10))
    res = scipy.optimize.least_squares(lambda x: np.asarray(resid(x)), np.ones(10), jac=jac)
    assert scipy.sparse.issparse(res.jac)
    np.testing.assert_allclose(res.x, 0.5 ** (2.0 ** np.arange(10)), atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_preparation_of_the_value_form_only_gives_both_forms_right(backend):
    # minimize prepares with value=True (only value_and_gradient is compiled at preparation);
    # the plain form must still work, built on first use.
    from anydiff._operators import OPERATORS
    from anydiff._prep import prepare

    from ._problems import rosenbrock_grad

    x = np.array([-1.2, 1.0, 0.7])
    prep = prepare(OPERATORS["gradient"], rosenbrock, backend, x, (), value=True)
    tol = 1e-6 if backend == "finitediff" else 1e-12
    value, g = prep.value_and_gradient(x)
    assert abs(float(value) - float(rosenbrock(x))) < 1e-12
    np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=tol, atol=tol)
    np.testing.assert_allclose(prep(x + 0.1), rosenbrock_grad(x + 0.1), rtol=tol, atol=tol)


def test_anydiff_optimize_is_lazy():
    code = (
        "import sys, anydiff as ad\n"
        "assert 'scipy.optimize' not in sys.modules and 'anydiff.optimize' not in sys.modules\n"
        "assert callable(ad.optimize.minimize) and 'anydiff.optimize' in sys.modules\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
