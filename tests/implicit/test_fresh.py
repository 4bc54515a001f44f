"""Stale preparations of an implicit function's conditions are detected and made again.

The solver and the conditions read a NumPy array ``b`` from their closure, mutated in place
between derivative calls: ``y(a)`` solves ``a y³ - y - sum(b) = 0``, dy/da = -y³ / (3 a y² - 1).
A JAX prep bakes ``b`` as a trace constant, an engine tape replays ``b.sum()`` as recorded; before
the freshness check the derivative was the old conditions' (with a residual warning only).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

import anydiff as ad
from anydiff.implicit import ChangingFunctionError

pytestmark = pytest.mark.filterwarnings("error::anydiff.implicit.ImplicitResidualWarning")
TOL = {"finitediff": 1e-7}


def problem(backend: str, b: np.ndarray):
    def solver(a):
        return brentq(lambda y: a * y**3 - y - b.sum(), 0.0, 4.0, xtol=1e-15)

    if backend == "jax":
        import jax.numpy as jnp

        def conditions(a, y):
            return a * y**3 - y - jnp.sum(jnp.asarray(b))
    elif backend == "torch":
        def conditions(a, y):
            return a * y**3 - y - float(b.sum())
    else:
        def conditions(a, y):
            return a * y**3 - y - b.sum()

    return solver, conditions


def dyda(a: float, b: np.ndarray) -> float:
    y = brentq(lambda y: a * y**3 - y - b.sum(), 0.0, 4.0, xtol=1e-15)
    return -(y**3) / (3 * a * y**2 - 1)


@pytest.fixture(autouse=True)
def _x64():
    import jax

    with jax.enable_x64(True):
        yield


CASES = [(b, "direct", "autograd") for b in ("engine", "jax", "torch", "autograd", "finitediff")] + [
    ("jax", "gmres", "autograd"), ("engine", "gmres", "jax"),
    ("jax", "direct", "jax"), ("jax", "direct", "torch"), ("engine", "direct", "engine"),
]


@pytest.mark.parametrize("backend, linear_solver, host", CASES)
def test_mutated_closure_reprepares(backend: str, linear_solver: str, host: str) -> None:
    b = np.array([1.0, 1.0])
    g = ad.implicit_function(*problem(backend, b), backend, linear_solver=linear_solver)
    tol = TOL.get(backend, 1e-11)
    for new, a in (([1.0, 1.0], 2.0), ([2.0, 3.0], 2.0), ([0.5, 0.5], 1.5)):
        b[:] = new
        np.testing.assert_allclose(ad.derivative(g, host, a), dyda(a, b), rtol=tol)


@pytest.mark.parametrize("backend", ["engine", "jax"])
def test_random_conditions_raise(backend: str) -> None:
    # additive noise: it shows in c(x, y) (a random factor would not, c being 0 at the solution)
    rng = np.random.default_rng(1)
    solver, conditions = problem(backend, np.array([1.0, 1.0]))

    def noisy(a, y):
        return conditions(a, y) + 1e-12 * float(rng.normal())

    g = ad.implicit_function(solver, noisy, backend)
    with pytest.raises(ChangingFunctionError, match=r"deterministic.*ad\.Constant") as e:
        ad.derivative(g, "autograd", 2.0)
    assert isinstance(e.value, ad.AnydiffError)


@pytest.mark.parametrize("backend, linear_solver, host", [
    ("engine", "direct", "autograd"), ("jax", "gmres", "jax"), ("torch", "direct", "jax")])
def test_one_fresh_evaluation_per_derivative(monkeypatch, backend: str, linear_solver: str,
                                             host: str) -> None:
    """Unchanged data: one direct evaluation of the conditions per derivative at a new point
    (matrix-free solves included), and nothing is prepared again."""
    import anydiff.implicit._rule as rule_mod

    b = np.array([1.0, 1.0])
    g = ad.implicit_function(*problem(backend, b), backend, linear_solver=linear_solver)
    ad.derivative(g, host, 2.0)
    fresh = [0]
    real = rule_mod.eager_call

    def counting(*args, **kw):
        fresh[0] += 1
        return real(*args, **kw)

    monkeypatch.setattr(rule_mod, "eager_call", counting)
    invalidated = [0]
    monkeypatch.setattr(type(g.rule), "invalidate", lambda self, sig: invalidated.__setitem__(0, 1))
    for a in (2.5, 3.0):
        fresh[0] = 0
        np.testing.assert_allclose(ad.derivative(g, host, a), dyda(a, b), rtol=1e-11)
        assert fresh[0] == 1
    assert invalidated[0] == 0
