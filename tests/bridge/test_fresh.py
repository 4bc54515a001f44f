"""Stale preparations: differentiate_with re-prepares when f's closure data changed.

``f`` reads a NumPy array from its closure, mutated in place between derivative calls. A JAX
prep bakes it as a trace constant and an engine tape replays ``data.sum()`` as recorded, so
before the freshness check the derivative was the old f's (silently wrong).
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.bridge import ChangingFunctionError

BACKENDS = ["engine", "jax", "torch", "autograd", "finitediff"]
HOSTS = ["jax", "torch", "engine", "autograd"]
TOL = {"finitediff": 1e-6}


def closure_f(backend: str, data: np.ndarray):
    """``f(x) = sin(x) * data + cos(x) * sum(data)`` in ``backend``'s namespace, reading ``data``."""
    if backend == "jax":
        import jax.numpy as jnp

        return lambda x: jnp.sin(x) * data + jnp.cos(x) * data.sum()
    if backend == "torch":
        import torch

        return lambda x: torch.sin(x) * torch.as_tensor(data) + torch.cos(x) * float(data.sum())
    if backend == "autograd":
        import autograd.numpy as anp

        return lambda x: anp.sin(x) * data + anp.cos(x) * data.sum()
    return lambda x: np.sin(x) * data + np.cos(x) * data.sum()


def grad_sum(x: np.ndarray, data: np.ndarray) -> np.ndarray:
    """∇ Σ_i f_i(x)."""
    return np.cos(x) * data - np.sin(x) * data.sum()


@pytest.fixture(autouse=True)
def _x64():
    import jax

    with jax.enable_x64(True):
        yield


# every backend through one host, every host with the freezing backends (jax, engine)
CASES = sorted({(b, "autograd") for b in BACKENDS} | {(b, h) for b in ("jax", "engine") for h in HOSTS}
               | {("torch", "jax"), ("finitediff", "torch")})


@pytest.mark.parametrize("backend, host", CASES)
def test_mutated_closure_reprepares(backend: str, host: str) -> None:
    data = np.array([1.0, 2.0, 3.0])
    g = ad.differentiate_with(closure_f(backend, data), backend)
    h = lambda x: g(x).sum()  # noqa: E731
    x = np.array([0.3, -0.4, 0.5])
    tol = TOL.get(backend, 1e-12)
    np.testing.assert_allclose(ad.gradient(h, host, x), grad_sum(x, data), rtol=tol, atol=tol)
    data[:] = [5.0, -7.0, 0.5]
    np.testing.assert_allclose(ad.gradient(h, host, x), grad_sum(x, data), rtol=tol, atol=tol)
    data[:] = [2.0, 2.0, -1.0]  # and again, at a new x
    x = x + 0.1
    np.testing.assert_allclose(ad.gradient(h, host, x), grad_sum(x, data), rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", ["jax", "engine"])
def test_jax_jit_grad_and_hessian(backend: str) -> None:
    import jax
    import jax.numpy as jnp

    data = np.array([1.0, 2.0])
    g = ad.differentiate_with(closure_f(backend, data), backend)
    grad = jax.jit(jax.grad(lambda x: jnp.sum(g(x))))
    hess = jax.jit(jax.hessian(lambda x: jnp.sum(g(x))))  # second order: the hvp path
    x = jnp.array([0.3, 0.7])
    xn = np.asarray(x)
    for new in ([1.0, 2.0], [4.0, -3.0]):
        data[:] = new
        np.testing.assert_allclose(grad(x), grad_sum(xn, data), rtol=1e-12, atol=1e-12)
        want = np.diag(-np.sin(xn) * data - np.cos(xn) * data.sum())
        np.testing.assert_allclose(hess(x), want, rtol=1e-12, atol=1e-12)


def test_torch_backward_and_forward_mode() -> None:
    import torch

    data = np.array([1.0, 2.0])
    g = ad.differentiate_with(closure_f("jax", data), "jax")
    for new in ([1.0, 2.0], [3.0, -1.0]):
        data[:] = new
        x = torch.tensor([0.2, -0.6], dtype=torch.float64, requires_grad=True)
        g(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), grad_sum(x.detach().numpy(), data), rtol=1e-12)
        t = torch.tensor([1.0, 0.0], dtype=torch.float64)
        _, jt = torch.func.jvp(g, (x.detach(),), (t,))
        xn = x.detach().numpy()
        want = np.array([np.cos(xn[0]) * data[0] - np.sin(xn[0]) * data.sum(), 0.0])
        np.testing.assert_allclose(jt.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend, host", [("engine", "autograd"), ("jax", "torch"), ("torch", "jax")])
def test_random_f_raises(backend: str, host: str) -> None:
    rng = np.random.default_rng(0)
    base = closure_f(backend, np.ones(2))

    def noisy(x):
        return base(x) * float(rng.normal())  # a different f at every call

    g = ad.differentiate_with(noisy, backend)
    with pytest.raises(ChangingFunctionError, match=r"deterministic.*ad\.Constant") as e:
        ad.gradient(lambda x: g(x).sum(), host, np.array([0.1, 0.2]))
    assert isinstance(e.value, ad.AnydiffError)


@pytest.mark.parametrize("backend, host", [("engine", "autograd"), ("jax", "autograd"), ("jax", "jax"),
                                           ("torch", "jax")])
def test_no_extra_evaluations(backend: str, host: str) -> None:
    """Unchanged data: a derivative through g calls f once (the value) plus what the prep itself
    calls (tape replays and compiled kernels: none; torch: f once per call)."""
    data = np.array([1.0, 2.0])
    inner = closure_f(backend, data)
    calls = [0]

    def f(x):
        calls[0] += 1
        return inner(x)

    g = ad.differentiate_with(f, backend)
    h = lambda x: g(x).sum()  # noqa: E731
    x0 = np.array([0.3, 0.4])
    ad.gradient(h, host, x0)  # warm up: prepare
    prep = ad.prepare_pullback(f, backend, x0, np.ones(2))
    prep.value_and_pullback(x0 + 1, np.ones(2))
    calls[0] = 0
    prep.value_and_pullback(x0 + 2, np.ones(2))
    per_prep = calls[0]
    for j in range(3):
        calls[0] = 0
        x = x0 + 0.1 * (j + 1)
        np.testing.assert_allclose(ad.gradient(h, host, x), grad_sum(x, data), rtol=1e-12)
        assert calls[0] == 1 + per_prep


def test_mismatch_rules() -> None:
    from anydiff.bridge._fresh import TOL_FACTOR, mismatch

    y = np.array([1.0, np.nan, np.inf, 3.0])
    assert mismatch(y, y) == 0.0
    assert mismatch(y + np.array([0, 0, 0, 1e-15]), y) <= TOL_FACTOR  # rounding
    assert mismatch(y + np.array([0, 0, 0, 1e-9]), y) > TOL_FACTOR
    assert mismatch(np.array([1.0, 0.0, np.inf, 3.0]), y) == np.inf  # NaN moved
    assert mismatch(np.array([1, 2]), np.array([1, 3])) == np.inf  # integers: exact
    assert mismatch(np.zeros(3), np.zeros(2)) == np.inf


def test_rounding_differences_widen_the_tolerance() -> None:
    """A deterministic f whose fresh prep differs by rounding is prepared once more, then
    trusted within 10x that difference; a difference rounding cannot explain raises."""
    from anydiff.bridge._core import Rule
    from anydiff.bridge._fresh import checked_run

    rule, sig, y, builds = Rule(lambda x: x), "signature", np.array([1.0, 2.0]), []

    def build():
        builds.append(1)
        return object()

    def check(key, off):
        return checked_run(rule, sig, key, build, lambda prep: (y + off, "result"),
                           lambda: (y, True), lambda: y.copy(), "f")

    for _ in range(3):
        assert check(("op", 1), 1e-11) == "result"  # 2e4 eps: beyond 1e3 eps, rounding-sized
    assert len(builds) == 2
    with pytest.raises(ChangingFunctionError, match="freshly prepared"):
        check(("op", 2), 1e-2)
