"""Bridge defects found by probing as a demanding user (each test fails on the code before
its fix): dtypes JAX holds with x64 off, torch-backed rules inside torch.func and forward AD."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anydiff as ad

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
import jax.numpy as jnp  # noqa: E402
from torch.func import jacfwd, jacrev  # noqa: E402

@pytest.fixture
def x64_off():
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    yield
    jax.config.update("jax_enable_x64", prev)

def test_jit_grad_of_float64_array_made_under_enable_x64_used_with_x64_off(x64_off):
    # the array keeps a float64 aval, but JAX computes it in float32 (astype truncates): the
    # callbacks were declared float64 and lowering failed ("incorrect layout")
    with jax.enable_x64():
        x = jnp.array([0.1, 0.2, 0.3], dtype=jnp.float64)
    g = ad.differentiate_with(lambda v: np.sin(v) * v, "engine")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # JAX's "float64 not available" warning
        got = jax.jit(jax.grad(lambda v: jnp.sum(g(v))))(x)
        want = jax.grad(lambda v: jnp.sum(jnp.sin(v) * v))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)

def test_jit_grad_of_numpy_f_returning_float64_with_x64_off(x64_off):
    # f promotes float32 x to float64 (a 0-d float64 constant): the value callback returned
    # float64 words, which JAX with x64 off cannot hold (lowering failed)
    c = np.array(2.0)
    g = ad.differentiate_with(lambda v: np.sin(v) * c, "engine")
    x = jnp.array([0.3, 0.4], jnp.float32)
    got = jax.jit(jax.grad(lambda v: jnp.sum(g(v) ** 2)))(x)
    want = 2 * 4.0 * np.sin(np.asarray(x, float)) * np.cos(np.asarray(x, float))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(jax.jit(g)(x)), 2 * np.sin(np.asarray(x)), rtol=1e-6)

def _torch_f(v):
    return torch.tanh(v) * v.flip(-1)

def test_torch_func_jacrev_of_torch_backed_function():
    # torch backend inside torch.func: the probe of f ran inside the transform, its result was
    # a storage-less wrapper ("Cannot access data pointer")
    g = ad.differentiate_with(_torch_f, "torch")
    x = torch.linspace(0.1, 0.9, 5, dtype=torch.float64)
    want = jacrev(_torch_f)(x)
    torch.testing.assert_close(jacrev(g)(x), want)
    torch.testing.assert_close(jacfwd(g)(x), want)

def test_forward_ad_through_torch_backed_function():
    # the jvp rule runs under an active forward_ad.dual_level: torch.func.jvp refused ("Nested
    # forward mode AD"); the torch backend now falls back to double backward
    import torch.autograd.forward_ad as fwAD

    g = ad.differentiate_with(_torch_f, "torch")
    x = torch.linspace(0.1, 0.9, 5, dtype=torch.float64)
    t = torch.linspace(1.0, -1.0, 5, dtype=torch.float64)
    with fwAD.dual_level():
        got = fwAD.unpack_dual(g(fwAD.make_dual(x, t))).tangent
    torch.testing.assert_close(got, torch.func.jvp(_torch_f, (x,), (t,))[1])
