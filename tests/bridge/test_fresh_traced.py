"""The traced path of ``differentiate_with(f, "jax")`` (large inputs, see bridge._traced) is fresh.

Its threshold is lowered to 1 here so that small inputs take it: the value is the compiled
program of f's current trace and the derivatives are unprepared JAX operators, so a NumPy array
that f reads from its closure and that is mutated in place must reach every result (a JAX trace
bakes it as a constant: reused stale, the results would be the old f's).
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.bridge import _traced

from .test_fresh import closure_f, grad_sum


@pytest.fixture(autouse=True)
def _traced_everywhere(monkeypatch):
    import jax

    monkeypatch.setattr(_traced, "TRACED_MIN_SIZE", 1)
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("host", ["jax", "torch", "autograd"])
def test_mutated_closure(host: str) -> None:
    data = np.array([1.0, 2.0, 3.0])
    g = ad.differentiate_with(closure_f("jax", data), "jax")
    h = lambda x: g(x).sum()  # noqa: E731
    x = np.array([0.3, -0.4, 0.5])
    for new in ([1.0, 2.0, 3.0], [5.0, -7.0, 0.5]):
        data[:] = new
        np.testing.assert_allclose(ad.gradient(h, host, x), grad_sum(x, data), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ad.value_and_gradient(h, host, x)[0],
                                   np.sum(np.sin(x) * data + np.cos(x) * data.sum()), rtol=1e-12)
    assert "traced" in g.rule.state(next(iter(g.rule._states))), "the traced path was not taken"


def test_jit_grad_hessian_and_forward_mode() -> None:
    import jax
    import jax.numpy as jnp

    data = np.array([1.0, 2.0])
    g = ad.differentiate_with(closure_f("jax", data), "jax")
    grad = jax.jit(jax.grad(lambda x: jnp.sum(g(x))))
    hess = jax.jit(jax.hessian(lambda x: jnp.sum(g(x))))  # second order: the hvp path
    jac = jax.jit(jax.jacfwd(g))  # the pushforward
    x = jnp.array([0.3, 0.7])
    xn = np.asarray(x)
    for new in ([1.0, 2.0], [4.0, -3.0]):
        data[:] = new
        np.testing.assert_allclose(grad(x), grad_sum(xn, data), rtol=1e-12, atol=1e-12)
        want = np.diag(-np.sin(xn) * data - np.cos(xn) * data.sum())
        np.testing.assert_allclose(hess(x), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jac(x), np.diag(grad_sum(xn, data)), rtol=1e-12, atol=1e-12)


def test_pytree_output_and_float32() -> None:
    """Several output leaves travel as one flat vector; float32 stays float32."""
    import jax.numpy as jnp

    data = np.array([2.0, 3.0], dtype=np.float32)
    g = ad.differentiate_with(lambda x: {"a": jnp.sin(x) * data, "b": jnp.sum(x * x)}, "jax")
    x = np.array([0.1, 0.2], dtype=np.float32)
    for new in ([2.0, 3.0], [-1.0, 4.0]):
        data[:] = new
        y = g(x)
        assert y["a"].dtype == np.float32
        np.testing.assert_allclose(y["a"], np.sin(x) * data, rtol=1e-6)
        grad = ad.gradient(lambda x: g(x)["a"].sum() + g(x)["b"], "jax", x)
        np.testing.assert_allclose(grad, np.cos(x) * data + 2 * x, rtol=1e-6)


@pytest.mark.parametrize("host", ["jax", "torch"])
def test_derivative_uses_the_value_program_without_retracing(host: str, monkeypatch) -> None:
    """The derivatives reuse the program that computed the value at the same x (no second trace
    of f, no unprepared lookup), and a mutation that leaves the value at x unchanged but changes
    the derivative still reaches it: the newest value record at x wins, not an older one."""
    import jax
    import jax.numpy as jnp

    import anydiff._unprepared as unprepared

    data = np.array([1.0, 2.0, 3.0])
    g = ad.differentiate_with(lambda x: jnp.sin(x) * data, "jax")
    x = np.zeros(3)  # f(0) = 0 whatever data is; f'(0) = data
    if host == "jax":
        grad = jax.grad(jax.jit(lambda x: jnp.sum(g(x))))
    else:
        grad = lambda x: ad.gradient(lambda v: g(v).sum(), "torch", x)  # noqa: E731
    calls = []
    monkeypatch.setattr(unprepared, "lookup", lambda *a, **k: calls.append(a) or None)
    for new in ([1.0, 2.0, 3.0], [-4.0, 0.5, 7.0], [1.0, 2.0, 3.0]):
        data[:] = new
        np.testing.assert_allclose(grad(x), data, rtol=0, atol=0)
    assert not calls, "the derivative traced f again (unprepared lookup)"


def test_several_points_in_one_compiled_program() -> None:
    """A vmapped grad inside jit runs the value and pullback callbacks once per point (lax.map):
    each record keeps its own x (XLA's argument array, or a copy), so every pullback finds the
    program of its own point, also after the closure data changed."""
    import jax
    import jax.numpy as jnp

    data = np.array([1.0, 2.0, 3.0])
    g = ad.differentiate_with(closure_f("jax", data), "jax")
    grads = jax.jit(jax.vmap(jax.grad(lambda x: jnp.sum(g(x)))))
    xs = np.array([[0.3, -0.4, 0.5], [1.1, 0.2, -0.7], [0.0, 0.9, 0.4]])
    for new in ([1.0, 2.0, 3.0], [5.0, -7.0, 0.5]):
        data[:] = new
        want = np.stack([grad_sum(x, data) for x in xs])
        np.testing.assert_allclose(grads(jnp.asarray(xs)), want, rtol=1e-12, atol=1e-12)
