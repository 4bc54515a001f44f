"""The seeds' bisection root through every backend and every host (JAX, torch, autograd, engine)."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

from ._problems import root_conditions, root_derivative, root_solver

BACKENDS = ["jax", "torch", "autograd", "engine", "finitediff"]
DYDA = root_derivative(2.0)


def test_analytic_value():
    # the number quoted in the docs and the example
    assert round(DYDA, 4) == -0.2214


@pytest.mark.parametrize("linear_solver", ["direct", "gmres"])
@pytest.mark.parametrize("outer", BACKENDS)
def test_derivative_on_every_backend(outer, linear_solver):
    g = ad.implicit_function(root_solver, root_conditions, "engine", linear_solver=linear_solver)
    d = ad.derivative(g, outer, 2.0)
    # finite differences of brentq's answer (xtol 1e-15) are good to ~1e-9; exact AD to rounding
    np.testing.assert_allclose(d, DYDA, rtol=1e-8 if outer == "finitediff" else 1e-13)
    grad = ad.gradient(lambda a: (g(a[0]) ** 2) * a[1], outer, np.array([2.0, 3.0]))
    y = root_solver(2.0)
    np.testing.assert_allclose(grad, [2 * y * DYDA * 3.0, y**2],
                               rtol=1e-8 if outer == "finitediff" else 1e-13)


@pytest.mark.parametrize("conditions_backend", ["jax", "torch", "autograd", "finitediff"])
def test_conditions_on_every_backend(conditions_backend):
    g = ad.implicit_function(root_solver, root_conditions, conditions_backend)
    rtol = 1e-7 if conditions_backend == "finitediff" else 1e-13
    np.testing.assert_allclose(ad.derivative(g, "engine", 2.0), DYDA, rtol=rtol)


def test_jax_jit_grad_vmap_jvp():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(root_solver, root_conditions, "jax")

    @jax.jit
    def loss(a):
        return g(a) ** 2

    y = root_solver(2.0)
    np.testing.assert_allclose(jax.grad(loss)(2.0), 2 * y * DYDA, rtol=1e-13)
    a = jnp.array([1.5, 2.0, 2.5])
    np.testing.assert_allclose(jax.vmap(jax.grad(g))(a), [root_derivative(v) for v in (1.5, 2.0, 2.5)],
                               rtol=1e-12)
    y2, t = jax.jvp(g, (2.0,), (1.0,))
    np.testing.assert_allclose([y2, t], [y, DYDA], rtol=1e-13)


def test_torch_backward_and_func_grad():
    import torch

    g = ad.implicit_function(root_solver, root_conditions, "torch", linear_solver="gmres")
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (g(a) * 3.0).backward()
    np.testing.assert_allclose(a.grad.item(), 3 * DYDA, rtol=1e-13)
    np.testing.assert_allclose(torch.func.grad(g)(torch.tensor(2.0, dtype=torch.float64)).item(), DYDA,
                               rtol=1e-13)


def test_autograd_and_engine_hosts():
    import autograd

    from anydiff import engine as E

    g = ad.implicit_function(root_solver, root_conditions, "jax")
    np.testing.assert_allclose(autograd.grad(g)(2.0), DYDA, rtol=1e-13)
    np.testing.assert_allclose(E.jacobian(lambda a: g(a[0]) * a, np.array([2.0]), mode="forward"),
                               [[root_solver(2.0) + 2.0 * DYDA]], rtol=1e-13)


def test_solver_runs_once_per_point_and_system_is_factorised_once(monkeypatch):
    """A value call and its derivatives share one solve; n tangents share one LU factorisation."""
    import torch

    from anydiff.implicit import _rule

    solves, factorisations = [], []
    monkeypatch.setattr(_rule, "DenseDirect", _counting(_rule.DenseDirect, factorisations))
    g = ad.implicit_function(lambda x: solves.append(1) or _fixed(x), _fixed_conditions, "engine")
    x = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    g(x)  # first call per signature: the output signature, one more solve
    solves.clear()
    J = torch.autograd.functional.jacobian(g, x)  # 3 pullbacks of one value call
    np.testing.assert_allclose(J.numpy(), np.diag(1 / (1 - 0.3 * np.cos(_fixed(x.detach().numpy())))),
                               rtol=1e-12)
    assert len(solves) == 1
    assert len(factorisations) == 1


def _fixed(x):
    from ._problems import fixed_point

    return fixed_point(np.asarray(x))


def _fixed_conditions(x, y):
    from ._problems import fixed_point_conditions

    return fixed_point_conditions(x, y)


def _counting(cls, calls):
    class Counting(cls):
        def __init__(self, *a, **k):
            calls.append(1)
            super().__init__(*a, **k)

    return Counting
