"""What goes wrong, and says so: residuals, singular systems, shapes, unconverged solvers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anydiff as ad
from anydiff.implicit import ImplicitResidualWarning, LinearSolverError, NotDifferentiableError

from ._problems import fixed_point, fixed_point_conditions


def test_residual_warning_names_the_residual():
    g = ad.implicit_function(lambda x: x + 1e-3, lambda x, y: y - x, "engine")
    with pytest.warns(ImplicitResidualWarning, match=r"max\|c\(x, y\)\| = 0\.001 > residual_tol = 1\.49e-08"):
        d = ad.gradient(lambda x: g(x).sum(), "autograd", np.ones(2))
    np.testing.assert_allclose(d, [1.0, 1.0])  # the derivative of the exact solution y = x
    loose = ad.implicit_function(lambda x: x + 1e-3, lambda x, y: y - x, "engine", residual_tol=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.gradient(lambda x: loose(x).sum(), "autograd", np.ones(2))


def _singular_conditions(x, y):
    return (y[0] + y[1]) * np.ones(2) - x  # ∂c/∂y = [[1, 1], [1, 1]]


@pytest.mark.parametrize("linear_solver", ["direct", "gmres", "cg"])
def test_singular_jacobian_is_a_linalg_error(linear_solver):
    g = ad.implicit_function(lambda x: np.array([x[0], 0.0]), _singular_conditions, "autograd",
                             linear_solver=linear_solver, residual_tol=np.inf)
    cls = NotDifferentiableError if linear_solver == "direct" else LinearSolverError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cg divides by a zero curvature
        with pytest.raises(cls, match="not differentiable") as info:
            ad.jacobian(g, "engine", np.array([1.0, 1.0]))
    assert isinstance(info.value, np.linalg.LinAlgError) and isinstance(info.value, ad.AnydiffError)


def test_degenerate_root_is_not_differentiable():
    # y² = x at x = 0: dy/dx = 1 / (2 y) does not exist
    g = ad.implicit_function(lambda x: np.sqrt(x), lambda x, y: y**2 - x, "jax")
    with pytest.raises(NotDifferentiableError, match="singular"):
        ad.derivative(g, "torch", 0.0)
    np.testing.assert_allclose(ad.derivative(g, "torch", 4.0), 0.25, rtol=1e-14)


def test_sparse_singular():
    g = ad.implicit_function(lambda x: np.array([x[0], 0.0]), _singular_conditions,
                             ad.AutoSparse("autograd", ad.DenseSparsityDetector("autograd")),
                             residual_tol=np.inf)
    with pytest.raises(NotDifferentiableError, match="SuperLU"):
        ad.jacobian(g, "engine", np.array([1.0, 1.0]))


def test_shape_mismatch():
    g = ad.implicit_function(lambda x: np.zeros(2), lambda x, y: y.sum() - x, "engine")
    with pytest.raises(ad.AnydiffValueError, match=r"\(1 numbers\) for y of .*\(2 numbers\)"):
        ad.gradient(lambda x: g(x).sum(), "engine", 1.0)


def test_cg_on_a_non_symmetric_system_is_refused():
    M = np.array([[1.0, 2.0], [0.0, 1.0]])
    g = ad.implicit_function(lambda x: np.linalg.solve(M, x), lambda x, y: M @ y - x, "engine",
                             linear_solver="cg")
    with pytest.raises(LinearSolverError, match="symmetric"):
        ad.jacobian(g, "torch", np.ones(2))
    gm = ad.implicit_function(g.rule.f, g.rule.conditions, "engine", linear_solver="gmres")
    np.testing.assert_allclose(ad.jacobian(gm, "torch", np.ones(2)), np.linalg.inv(M), rtol=1e-12)


def test_unconverged_callable_is_refused():
    def sloppy(op, b):  # one Richardson step: not a solution of the diagonal system
        return b

    g = ad.implicit_function(fixed_point, fixed_point_conditions, "engine", linear_solver=sloppy)
    with pytest.raises(LinearSolverError, match="sloppy did not solve"):
        ad.jacobian(g, "engine", np.linspace(0.1, 3.0, 12))


def test_second_derivatives_unsupported():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(fixed_point, fixed_point_conditions, "engine")
    with pytest.raises(ad.UnsupportedError, match="first derivatives only"):
        jax.hessian(lambda x: g(x).sum())(jnp.ones(2))
    with pytest.raises(ad.UnsupportedError, match="first derivatives only"):
        ad.hessian(lambda x: g(x).sum(), "engine", np.ones(2))


def test_bad_arguments():
    with pytest.raises(ad.AnydiffValueError, match="linear_solver"):
        ad.implicit_function(fixed_point, fixed_point_conditions, "engine", linear_solver="lu")
    g = ad.implicit_function(fixed_point, fixed_point_conditions, "engine", has_aux=True)
    with pytest.raises(ad.AnydiffTypeError, match=r"pair \(y, aux\)"):
        g(np.ones(2))


def test_complex_is_refused():
    """Complex-matrix solves are right only for holomorphic conditions: refused, never wrong."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(lambda z: z / 2, lambda z, y: 2 * y - z, "engine")
    z = np.array([1.0 + 2.0j])
    np.testing.assert_allclose(g(z), z / 2)  # values are fine
    with pytest.raises(ad.UnsupportedError, match="complex"):
        ad.jacobian(g, "torch", z)
    with pytest.raises(ad.UnsupportedError, match="complex"):
        jax.jacfwd(g, holomorphic=True)(jnp.asarray(z))


def test_dense_direct_solves_from_many_threads():
    # SciPy's OpenBLAS corrupted its heap (a hard crash) when several threads ran lu_solve at once;
    # the dense factorisation and solves now take turns.
    import threading

    from anydiff.implicit._linear import DenseDirect

    rng = np.random.default_rng(0)
    A = rng.random((8, 8)) + 8 * np.eye(8)
    system = DenseDirect(A, "f")
    expected = np.linalg.solve(A, np.eye(8)).T
    errors = []

    def work():
        for _ in range(3000):
            got = system.solve(np.eye(8), adjoint=False)
            if not np.allclose(got, expected, rtol=1e-12, atol=1e-14):
                errors.append(got)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
