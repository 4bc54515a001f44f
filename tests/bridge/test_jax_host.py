"""JAX host: every JAX transform of a function that calls a bridged ``g`` against JAX's own
derivatives of the same function inlined (exact AD), in float32 and float64, pytrees in and out."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import anydiff as ad  # noqa: E402


def f_tree(p):
    """dict in, tuple out: y0 scalar, y1 of shape (2, 3). Array API code: the same function is
    the bridged rule (on the engine: cheap to prepare) and the inlined JAX reference."""
    xp = ad.array_namespace(p["a"])
    return (xp.sum(p["a"] ** 2) * p["b"][0, 0], xp.sin(p["b"]) * p["a"][0] + p["b"] ** 3)


def point(dtype):
    rng = np.random.default_rng(0)
    return {"a": jnp.asarray(rng.normal(size=2), dtype), "b": jnp.asarray(rng.normal(size=(2, 3)), dtype)}


def loss_of(fn):
    return lambda p: jnp.sum(fn(p)[1] ** 2) + fn(p)[0] ** 2


def close(a, b, dtype):
    tol = 1e-12 if dtype == np.float64 else 2e-5
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.shape == v.shape and u.dtype == v.dtype, (u.shape, v.shape, u.dtype, v.dtype)
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transforms_match_inlined(dtype):
    # every transform runs jitted (one compile each, instead of JAX's op-by-op eager compiles)
    with jax.enable_x64(dtype == np.float64):
        g = ad.differentiate_with(f_tree, "engine")
        p = point(dtype)
        t = jax.tree_util.tree_map(jnp.ones_like, p)
        P = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a, -a]), p)
        L, Lf = loss_of(g), loss_of(f_tree)

        def all_transforms(fn, L):
            y, vjp = jax.vjp(fn, p)
            return {
                "value": fn(p), "grad": jax.grad(L)(p), "jvp": jax.jvp(fn, (p,), (t,)),
                "vjp": vjp(y), "jacfwd": jax.jacfwd(fn)(p), "jacrev": jax.jacrev(fn)(p),
                "vmap": jax.vmap(fn)(P), "vmap_grad": jax.vmap(jax.grad(L))(P),
            }

        got = jax.jit(lambda: all_transforms(g, L))()
        want = jax.jit(lambda: all_transforms(f_tree, Lf))()
        close(got, want, dtype)
        # eager (un-jitted) transforms use the same primitives without callbacks
        close(jax.grad(L)(p), want["grad"], dtype)
        close(jax.vmap(g)(P), want["vmap"], dtype)


def test_second_derivatives_through_g():
    with jax.enable_x64(True):
        g = ad.differentiate_with(f_tree, "engine")
        p = point(np.float64)
        L, Lf = loss_of(g), loss_of(f_tree)
        H = jax.jit(jax.hessian(Lf))(p)
        for second in (jax.hessian, lambda L: jax.jacrev(jax.jacrev(L)), lambda L: jax.jacfwd(jax.jacfwd(L))):
            close(jax.jit(second(L))(p), H, np.float64)


def test_jax_function_inside_jax_via_jax_backend():
    with jax.enable_x64(True):
        g = ad.differentiate_with(lambda x: jnp.sin(x) * x[0], "jax")
        x = jnp.arange(1.0, 4.0)
        L = jax.jit(jax.grad(lambda x: jnp.sum(g(x) ** 2)))
        ref = jax.grad(lambda x: jnp.sum((jnp.sin(x) * x[0]) ** 2))(x)
        np.testing.assert_allclose(L(x), ref, rtol=1e-13)
        np.testing.assert_allclose(L(2 * x), jax.grad(lambda x: jnp.sum((jnp.sin(x) * x[0]) ** 2))(2 * x),
                                   rtol=1e-13)


def test_vmap_sends_one_batched_call():
    with jax.enable_x64(True):
        g = ad.differentiate_with(lambda x: np.sin(x) * x[0], "engine")
        x = jnp.arange(1.0, 5.0)
        shapes = []
        orig = g.rule.pushforward
        g.rule.pushforward = lambda sig, x, T: (shapes.append(T.shape), orig(sig, x, T))[1]
        J = jax.jacfwd(g)(x)
        assert shapes == [(4, 4)]  # one stacked (k, n) block, not 4 calls
        np.testing.assert_allclose(J, jax.jacfwd(lambda x: jnp.sin(x) * x[0])(x), rtol=1e-13)
        shapes.clear()
        pb = g.rule.pullback
        calls = []
        g.rule.pullback = lambda sig, x, W: (calls.append(W.shape), pb(sig, x, W))[1]
        jax.jit(jax.jacrev(g))(x)
        assert calls == [(4, 4)]
        calls.clear()
        # vmap of a vjp with the primal unbatched: the B cotangents are one block too
        _, vjp = jax.vjp(g, x)
        jax.vmap(vjp)(jnp.eye(4)[:3])
        assert calls == [(3, 4)]


def test_jit_float32_stays_float32_under_x64():
    with jax.enable_x64(True):
        g = ad.differentiate_with(lambda x: np.cos(x), "engine")
        x = jnp.arange(3, dtype=jnp.float32)
        gr = jax.jit(jax.grad(lambda x: jnp.sum(g(x))))(x)
        assert gr.dtype == jnp.float32
        np.testing.assert_allclose(gr, -np.sin(np.arange(3, dtype=np.float32)), rtol=1e-6)


def test_torch_inside_jax():
    torch = pytest.importorskip("torch")

    def torch_f(x):  # a torch model: tensors in, tensors out
        return torch.tanh(x) * torch.sum(x**2)

    g = ad.differentiate_with(torch_f, "torch")
    with jax.enable_x64(True):
        x = jnp.linspace(-1.0, 1.0, 5)
        loss = jax.jit(lambda x: jnp.sum(g(x) ** 2))
        gr = jax.grad(loss)(x)
        ref = jax.grad(lambda x: jnp.sum((jnp.tanh(x) * jnp.sum(x**2)) ** 2))(x)
        np.testing.assert_allclose(gr, ref, rtol=1e-12)
        hr = jax.jit(jax.hessian(lambda x: jnp.sum(g(x) ** 2)))(x)
        href = jax.jit(jax.hessian(lambda x: jnp.sum((jnp.tanh(x) * jnp.sum(x**2)) ** 2)))(x)
        np.testing.assert_allclose(hr, href, rtol=1e-10, atol=1e-12)


def test_scipy_quad_inside_jit_by_finite_differences():
    from scipy.integrate import quad

    def integral(x):  # a black box: NumPy floats in, a float out
        return np.asarray(quad(lambda t: x[1] * np.exp(-x[0] * t**2), 0.0, 1.0, epsabs=1e-13)[0])

    g = ad.differentiate_with(integral, "finitediff")
    with jax.enable_x64(True):
        x = jnp.array([0.7, 1.3])
        val, gr = jax.jit(jax.value_and_grad(lambda x: jnp.log(g(x))))(x)
        I0 = quad(lambda t: np.exp(-0.7 * t**2), 0, 1, epsabs=1e-13)[0]
        I2 = quad(lambda t: t**2 * np.exp(-0.7 * t**2), 0, 1, epsabs=1e-13)[0]
        np.testing.assert_allclose(val, np.log(1.3 * I0), rtol=1e-12)
        # d/dx0 log(x1 I0) = -I2/I0, d/dx1 = 1/x1 (finite differences: ~1e-8)
        np.testing.assert_allclose(gr, [-I2 / I0, 1 / 1.3], rtol=1e-6)


def test_hessian_on_backend_without_hvp_names_pair():
    g = ad.custom_derivative(lambda x: np.sin(x), pushforward=lambda x, t: np.cos(x) * t)
    with jax.enable_x64(True):
        x = jnp.arange(3.0)
        np.testing.assert_allclose(jax.grad(lambda x: jnp.sum(g(x)))(x), np.cos(np.arange(3.0)), rtol=1e-14)
        with pytest.raises(ad.UnsupportedError, match="second derivatives"):
            jax.hessian(lambda x: jnp.sum(g(x)))(x)
        # under jit the error is raised while tracing, with its own type (not as a runtime error
        # from inside a callback)
        with pytest.raises(ad.UnsupportedError, match="second derivatives"):
            jax.jit(jax.hessian(lambda x: jnp.sum(g(x))))(x)
        n = ad.bridge.MATERIALIZE_LIMIT + 1
        with pytest.raises(ad.UnsupportedError, match="pullback= to custom_derivative"):
            jax.jit(jax.grad(lambda x: jnp.sum(g(x))))(jnp.ones(n))


def test_torch_tensor_inside_jax_trace_is_clear_error():
    torch = pytest.importorskip("torch")
    g = ad.differentiate_with(lambda x: x, "engine")

    def bad(x):
        return jnp.sum(g({"a": x, "b": torch.ones(2)})["a"])

    with pytest.raises(ad.AnydiffTypeError, match="several frameworks"):
        jax.grad(bad)(jnp.ones(2))
