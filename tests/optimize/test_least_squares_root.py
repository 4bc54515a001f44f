"""least_squares (dense and AutoSparse) and root, against analytic solutions and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

import anydiff as ad

from ._problems import BACKENDS


def chain(x):
    # r_i = x_{i+1} - x_i^2, r_n = x_0 - 1/2: zero residual at x_i = 2^(-2^-i) ... solved exactly.
    xp = ad.array_namespace(x)
    return xp.concat([x[1:] - x[:-1] ** 2, xp.reshape(x[0] - 0.5, (1,))])


def chain_solution(n: int) -> np.ndarray:
    return 0.5 ** (2.0 ** np.arange(n))


def chain_jac(x: np.ndarray) -> np.ndarray:
    n = x.size
    J = np.zeros((n, n))
    J[np.arange(n - 1), np.arange(1, n)] = 1.0
    J[np.arange(n - 1), np.arange(n - 1)] = -2.0 * x[:-1]
    J[n - 1, 0] = 1.0
    return J


@pytest.mark.parametrize("backend", BACKENDS)
def test_dense_least_squares_matches_scipy_with_the_analytic_jacobian(backend):
    x0 = np.ones(6)
    res = ad.optimize.least_squares(chain, x0, backend)
    ref = scipy.optimize.least_squares(lambda x: np.asarray(chain(x)), x0, jac=chain_jac)
    np.testing.assert_allclose(res.x, chain_solution(6), atol=1e-8)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-9)
    assert isinstance(res.jac, np.ndarray)


def broyden(x):
    # Broyden's tridiagonal function (SciPy's sparse least-squares example): a zero residual
    # exists, and the Jacobian is tridiagonal: 3 - 4 x_i on the diagonal, -1 below, -2 above.
    xp = ad.array_namespace(x)
    z = xp.zeros(1, dtype=x.dtype)
    left, right = xp.concat([z, x[:-1]]), xp.concat([x[1:], z])
    return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0


def broyden_jac(x: np.ndarray) -> scipy.sparse.csr_array:
    n = x.size
    return scipy.sparse.diags_array([-np.ones(n - 1), 3.0 - 4.0 * x, -2.0 * np.ones(n - 1)],
                                    offsets=[-1, 0, 1]).tocsr()


@pytest.mark.parametrize("dense", ["engine", "finitediff"])
def test_sparse_least_squares_gives_a_sparse_jacobian_and_uses_lsmr(dense):
    n = 40
    res = ad.optimize.least_squares(broyden, -np.ones(n), ad.AutoSparse(dense))
    ref = scipy.optimize.least_squares(lambda x: np.asarray(broyden(x)), -np.ones(n), jac=broyden_jac,
                                       tr_solver="lsmr")
    assert scipy.sparse.issparse(res.jac) and res.jac.nnz == 3 * n - 2
    np.testing.assert_allclose(res.jac.toarray(), broyden_jac(res.x_flat).toarray(), atol=1e-7)
    assert res.cost < 1e-14
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    # lsmr solves the trust-region subproblems: with "exact", SciPy refuses a sparse Jacobian.
    with pytest.raises(ValueError, match="dense"):
        ad.optimize.least_squares(broyden, -np.ones(n), ad.AutoSparse(dense), tr_solver="exact")


def test_least_squares_lm_densifies_and_pytree_x0():
    res = ad.optimize.least_squares(chain, np.ones(5), ad.AutoSparse("engine"), method="lm")
    np.testing.assert_allclose(res.x, chain_solution(5), atol=1e-8)
    res = ad.optimize.least_squares(lambda p: {"r": p["a"] - 2.0, "s": p["b"] + p["a"]},
                                    {"a": np.ones(2), "b": np.ones(2)}, "engine")
    np.testing.assert_allclose(res.x["a"], 2.0, atol=1e-8)
    np.testing.assert_allclose(res.x["b"], -2.0, atol=1e-8)


def system(x):
    xp = ad.array_namespace(x)
    return xp.stack([x[0] + x[1] - 3.0, x[0] * x[1] - 2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_root_hybr(backend):
    res = ad.optimize.root(system, np.array([0.5, 2.5]), backend)
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-10)


def test_root_lm_sparse_backend_and_njev():
    res = ad.optimize.root(broyden, -np.ones(8), ad.AutoSparse("engine"), method="lm")
    np.testing.assert_allclose(np.asarray(broyden(res.x)), 0.0, atol=1e-10)
    res = ad.optimize.root(system, np.array([0.5, 2.5]), "engine", method="hybr")
    assert res.njev >= 1  # MINPACK's hybrj asked for the prepared Jacobian


def test_bad_arguments():
    with pytest.raises(ad.AnydiffValueError, match="trf, dogbox, lm"):
        ad.optimize.least_squares(chain, np.ones(3), "engine", method="levenberg")
    with pytest.raises(ad.AnydiffTypeError, match="AutoSparse"):
        ad.optimize.least_squares(chain, np.ones(3), "engine", jac_sparsity=np.eye(3))
    with pytest.raises(ad.AnydiffValueError, match="uses no Jacobian"):
        ad.optimize.root(system, np.ones(2), "engine", method="krylov")
    with pytest.raises(ad.AnydiffValueError, match="hybr, lm"):
        ad.optimize.root(system, np.ones(2), "engine", method="newton")
    with pytest.raises(ad.AnydiffValueError, match="2 values for 3 unknowns"):
        ad.optimize.root(lambda x: x[:2] ** 2, np.ones(3), "engine")
