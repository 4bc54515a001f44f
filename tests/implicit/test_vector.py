"""Vector and pytree implicit functions: a fixed-point loop, a scipy argmin, aux, contexts, sparse."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse.linalg as spl

import anydiff as ad

from ._problems import (
    argmin_jacobian,
    argmin_solver,
    fixed_point,
    fixed_point_conditions,
    fixed_point_jacobian,
    objective_gradient,
)

X = np.array([0.3, -0.5, 1.0])


@pytest.mark.parametrize("linear_solver", ["direct", "gmres"])
@pytest.mark.parametrize("outer", ["jax", "torch", "autograd", "engine"])
def test_fixed_point_jacobian(outer, linear_solver):
    g = ad.implicit_function(fixed_point, fixed_point_conditions, "jax", linear_solver=linear_solver)
    np.testing.assert_allclose(ad.jacobian(g, outer, X), fixed_point_jacobian(X), rtol=1e-12, atol=1e-14)


def test_fixed_point_against_finite_differences_of_the_loop():
    g = ad.implicit_function(fixed_point, fixed_point_conditions, "engine", linear_solver="gmres")
    np.testing.assert_allclose(ad.jacobian(g, "torch", X), ad.jacobian(fixed_point, "finitediff", X),
                               rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("linear_solver", ["direct", "cg", "gmres"])
def test_argmin_jacobian_both_modes(linear_solver):
    """The argmin of a convex objective (conditions = its gradient; ∂c/∂y is the Hessian: cg works)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(argmin_solver, objective_gradient, "torch", linear_solver=linear_solver)
    ref = argmin_jacobian(X)
    np.testing.assert_allclose(jax.jacfwd(g)(jnp.asarray(X)), ref, rtol=1e-9, atol=1e-12)  # pushforwards
    np.testing.assert_allclose(jax.jacrev(g)(jnp.asarray(X)), ref, rtol=1e-9, atol=1e-12)  # pullbacks


def test_pytree_x_and_y():
    def solver(p):
        y = np.zeros(2)
        for _ in range(300):
            y = 0.5 * np.cos(y) + p["a"] * p["b"]
        return {"y": y, "s": np.sum(y)}

    def conditions(p, y):
        xp = ad.array_namespace(y["y"])
        return (y["y"] - 0.5 * xp.cos(y["y"]) - p["a"] * p["b"], y["s"] - xp.sum(y["y"]))

    g = ad.implicit_function(solver, conditions, "autograd")
    p = {"a": np.array([0.2, 0.4]), "b": np.array(1.5)}
    for outer in ("engine", "torch", "jax"):
        J = ad.jacobian(lambda p: g(p)["y"] * 1.0, outer, p)  # (2, 3): columns a₀, a₁, b
        y = solver(p)["y"]
        d = 1.0 / (1.0 + 0.5 * np.sin(y))
        np.testing.assert_allclose(J, np.column_stack([np.diag(d * 1.5), d * p["a"]]), rtol=1e-12)
        gs = ad.gradient(lambda p: g(p)["s"], outer, p)
        np.testing.assert_allclose(gs["b"], np.sum(d * p["a"]), rtol=1e-12)


def test_aux_passes_through_without_derivative():
    import jax
    import jax.numpy as jnp
    import torch

    jax.config.update("jax_enable_x64", True)

    def solver(x):
        y, n = np.zeros_like(x), 0
        while True:
            n += 1
            y_new = 0.3 * np.sin(y) + x
            if np.max(np.abs(y_new - y)) == 0.0:
                return y_new, {"iterations": n, "step": np.abs(y_new - y)}
            y = y_new

    g = ad.implicit_function(solver, fixed_point_conditions, "engine", has_aux=True)
    y, aux = g(X)
    assert aux["iterations"] > 5 and aux["step"].shape == (3,)
    ref = fixed_point_jacobian(X)
    for outer in ("jax", "torch", "autograd", "engine"):
        np.testing.assert_allclose(ad.jacobian(lambda x: g(x)[0], outer, X), ref, rtol=1e-12)
        # aux inside the differentiated function: a constant factor (its derivative is zero)
        grad = ad.gradient(lambda x: (g(x)[0] * g(x)[1]["iterations"]).sum(), outer, X)
        np.testing.assert_allclose(grad, aux["iterations"] * ref.sum(0), rtol=1e-12)
    y_jit, aux_jit = jax.jit(g)(jnp.asarray(X))  # aux travels through XLA too
    assert int(aux_jit["iterations"]) == aux["iterations"]
    assert g(torch.tensor(X))[1]["iterations"].dtype == torch.int64


def test_contexts_reach_solver_and_conditions():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(lambda x, c: x / c, lambda x, y, c: c * y - x, "jax")
    np.testing.assert_allclose(ad.gradient(lambda x: g(x, np.array([2.0, 4.0])).sum(), "torch", np.ones(2)),
                               [0.5, 0.25], rtol=1e-14)
    np.testing.assert_allclose(jax.grad(lambda x: g(x, 5.0).sum())(jnp.ones(2)), [0.2, 0.2], rtol=1e-14)
    # same signature, other values, same x: the cached point is keyed by the context values too
    for c in (2.0, 4.0, 2.0):
        np.testing.assert_allclose(ad.gradient(lambda x, c=c: g(x, c).sum(), "autograd", np.ones(2)),
                                   [1 / c, 1 / c], rtol=1e-14)
    # a context is a constant: differentiating with respect to it is refused, never a silent zero
    with pytest.raises(ad.AnydiffTypeError, match="contexts are constants"):
        jax.grad(lambda c: g(jnp.ones(2), c).sum())(2.0)


def test_a_float_and_a_0d_array_context_of_one_implicit_function():
    # Before: a Python float context and then a 0-d array one (same value signature) shared a
    # cache entry whose preparations were made for the float: PreparationMismatchError.
    g = ad.implicit_function(lambda x, c: x / c, lambda x, y, c: y * c - x, "engine")
    for c in (2.0, np.array(2.0), np.float32(2.0), 2.0):
        np.testing.assert_allclose(ad.gradient(lambda x, c=c: g(x, c).sum(), "torch", np.ones(2)),
                                   [0.5, 0.5], rtol=1e-14)
    # An outer backend that traces its own ad.Constant values: refused, saying what to do.
    with pytest.raises(ad.AnydiffTypeError, match="closure"):
        ad.gradient(lambda x, c: g(x, c).sum(), "engine", np.ones(2), ad.Constant(np.array(2.0)))
    np.testing.assert_allclose(ad.gradient(lambda x, c: g(x, c).sum(), ad.AutoEngine("forward"),
                                           np.ones(2), ad.Constant(np.array(2.0))), [0.5, 0.5])


def _tridiagonal_conditions(x, y):
    xp = ad.array_namespace(y)
    zero = y[:1] * 0.0
    return 3.0 * y - xp.concat([zero, y[:-1]]) - xp.concat([y[1:], zero]) + y**3 / 10 - x


def _tridiagonal_solver(x):
    from scipy.optimize import root

    return root(lambda y: _tridiagonal_conditions(x, y), np.zeros_like(x), tol=1e-14).x


def test_autosparse_direct_matches_dense():
    """With AutoSparse, ∂c/∂y is a sparse matrix factorised by splu."""
    from anydiff.implicit import _rule

    x = np.linspace(0.1, 1.0, 8)
    dense = ad.jacobian(ad.implicit_function(_tridiagonal_solver, _tridiagonal_conditions, "engine"),
                        "engine", x)
    y = _tridiagonal_solver(x)
    A = np.diag(3 + 0.3 * y**2) - np.eye(8, k=1) - np.eye(8, k=-1)
    np.testing.assert_allclose(dense, np.linalg.inv(A), rtol=1e-12, atol=1e-15)
    made = []
    orig = _rule.SparseDirect

    class Spy(orig):
        def __init__(self, A, where):
            made.append(A)
            super().__init__(A, where)

    _rule.SparseDirect = Spy
    try:
        g = ad.implicit_function(_tridiagonal_solver, _tridiagonal_conditions, ad.AutoSparse("jax"))
        for outer in ("torch", "engine"):
            np.testing.assert_allclose(ad.jacobian(g, outer, x), dense, rtol=1e-12, atol=1e-15)
    finally:
        _rule.SparseDirect = orig
    assert made and made[0].nnz == 3 * 8 - 2  # the tridiagonal pattern, not a dense matrix


def test_callable_linear_solver():
    x = np.linspace(0.1, 1.0, 5)
    exact = ad.implicit_function(_tridiagonal_solver, _tridiagonal_conditions, "engine")
    ref = ad.jacobian(exact, "engine", x)

    def bicgstab(op, b):
        return spl.bicgstab(op, b, rtol=1e-13)[0]

    g = ad.implicit_function(_tridiagonal_solver, _tridiagonal_conditions, "engine", linear_solver=bicgstab)
    for outer in ("torch", "jax"):  # pullbacks and pushforwards
        np.testing.assert_allclose(ad.jacobian(g, outer, x), ref, rtol=1e-11, atol=1e-14)


def test_threads_share_one_rule():
    g = ad.implicit_function(fixed_point, fixed_point_conditions, "engine")
    xs = [X + 0.1 * i for i in range(6)]
    out = [None] * len(xs)

    def work(i):
        out[i] = ad.jacobian(g, "autograd", xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, J in zip(xs, out):
        np.testing.assert_allclose(J, fixed_point_jacobian(x), rtol=1e-12)


def test_float32():
    import torch

    g = ad.implicit_function(fixed_point, fixed_point_conditions, "torch")
    x = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    y = g(x)
    assert y.dtype == torch.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), fixed_point_jacobian(X).sum(0), rtol=1e-5)


def test_fresh_solver_every_call_and_changing_data_as_contexts():
    """Every call runs the solver as it is now; data that changes between calls reaches the
    conditions (whose preparations may freeze their closure, as every prep may) as a context."""
    scale = {"s": 2.0}
    g = ad.implicit_function(lambda x: x / scale["s"], lambda x, y: 2.0 * y - x, "engine")
    x = np.ones(2)
    np.testing.assert_allclose(ad.jacobian(g, "torch", x), np.eye(2) / 2, rtol=1e-14)
    scale["s"] = 4.0
    np.testing.assert_allclose(g(x), x / 4, rtol=1e-15)  # the solver is not cached
    h = ad.implicit_function(lambda x, s: x / s, lambda x, y, s: s * y - x, "engine")
    for s in (2.0, 4.0):
        np.testing.assert_allclose(ad.jacobian(lambda x, s=s: h(x, s), "torch", x), np.eye(2) / s,
                                   rtol=1e-14)
