"""AutoJax: every operator and variant against analytic derivatives, finite differences and
other JAX paths; dtypes, array kinds, pytrees, contexts, complex numbers, errors, retracing."""

from __future__ import annotations

import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

import anydiff as ad
from anydiff import _generic

jax = pytest.importorskip("jax")
jnp = jax.numpy

FD = ad.AutoFiniteDiff()
JAX = ad.AutoJax()
MODES = [ad.AutoJax(), ad.AutoJax("forward"), ad.AutoJax("reverse"), ad.AutoJax(jit=False)]
X0 = np.array([0.3, -1.2, 2.0])
X1 = np.array([0.9, 0.4, -0.7])
T = np.array([1.0, -2.0, 0.5])
W = np.array([0.5, 1.0, -1.5, 2.0])


def xp(x):
    return ad.array_namespace(x)


# ---- test functions with analytic derivatives (Array API: they run on NumPy for finitediff) ---


def f_scalar(x):
    """sum(x^2 sin x) + x0 x1: R^3 -> R."""
    m = xp(x)
    return m.sum(x**2 * m.sin(x)) + x[0] * x[1]


def grad_scalar(x):
    g = 2 * x * np.sin(x) + x**2 * np.cos(x)
    return g + np.array([x[1], x[0], 0.0])


def hess_scalar(x):
    d = 2 * np.sin(x) + 4 * x * np.cos(x) - x**2 * np.sin(x)
    H = np.diag(d)
    H[0, 1] = H[1, 0] = 1.0
    return H


def f_vec(x):
    """R^3 -> R^4: [x0 x1, exp(x2), x0^3, sin(x1)]."""
    m = xp(x)
    return m.stack([x[0] * x[1], m.exp(x[2]), x[0] ** 3, m.sin(x[1])])


def jac_vec(x):
    return np.array([
        [x[1], x[0], 0.0],
        [0.0, 0.0, np.exp(x[2])],
        [3 * x[0] ** 2, 0.0, 0.0],
        [0.0, np.cos(x[1]), 0.0],
    ])


def f_1d(t):
    """R -> R^2: [sin t, t^3]."""
    m = xp(t)
    return m.stack([m.sin(t), t**3])


def d_1d(t):
    return np.array([np.cos(t), 3 * t**2])


def d2_1d(t):
    return np.array([-np.sin(t), 6 * t])


def tol(dtype):
    return {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 2e-5, "atol": 2e-5}


def close(a, b, dtype=np.float64):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, **tol(dtype))


# ---- import hygiene ---------------------------------------------------------------------------


def test_import_anydiff_does_not_import_jax():
    code = "import sys, anydiff; assert 'jax' not in sys.modules, 'jax imported'; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


def test_backend_resolves_and_advertises_traits():
    assert ad.check_available("jax") and "jax" in ad.available_backends()
    from anydiff._registry import get_adapter

    adapter = get_adapter(JAX)
    assert adapter.native_kind == "jax" and adapter.cache_unprepared and adapter.compile_on_prepare


# ---- every operator, analytic, both dtypes, every mode ---------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_order_operators_analytic(dtype):
    backend = JAX
    x, t, w = X0.astype(dtype), T.astype(dtype), W.astype(dtype)
    g = ad.gradient(f_scalar, backend, x)
    assert isinstance(g, np.ndarray) and g.dtype == dtype  # a read-only zero-copy view
    close(g, grad_scalar(X0), dtype)
    y, g = ad.value_and_gradient(f_scalar, backend, x)
    close(y, f_scalar(X0), dtype)
    close(g, grad_scalar(X0), dtype)

    J = ad.jacobian(f_vec, backend, x)
    assert J.shape == (4, 3) and J.dtype == dtype
    close(J, jac_vec(X0), dtype)
    y, J = ad.value_and_jacobian(f_vec, backend, x)
    close(y, f_vec(X0), dtype)
    close(J, jac_vec(X0), dtype)

    close(ad.pushforward(f_vec, backend, x, t), jac_vec(X0) @ T, dtype)
    y, jt = ad.value_and_pushforward(f_vec, backend, x, t)
    close(y, f_vec(X0), dtype)
    close(jt, jac_vec(X0) @ T, dtype)
    close(ad.pullback(f_vec, backend, x, w), jac_vec(X0).T @ W, dtype)
    y, jw = ad.value_and_pullback(f_vec, backend, x, w)
    close(y, f_vec(X0), dtype)
    close(jw, jac_vec(X0).T @ W, dtype)

    s = dtype(0.7)
    close(ad.derivative(f_1d, backend, s), d_1d(0.7), dtype)
    y, d = ad.value_and_derivative(f_1d, backend, s)
    close(y, f_1d(0.7), dtype)
    close(d, d_1d(0.7), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_second_order_operators_analytic(dtype):
    backend = JAX
    x, t = X0.astype(dtype), T.astype(dtype)
    H = ad.hessian(f_scalar, backend, x)
    assert H.shape == (3, 3) and H.dtype == dtype
    close(H, hess_scalar(X0), dtype)
    y, g, H = ad.value_gradient_and_hessian(f_scalar, backend, x)
    close(y, f_scalar(X0), dtype)
    close(g, grad_scalar(X0), dtype)
    close(H, hess_scalar(X0), dtype)
    close(ad.hvp(f_scalar, backend, x, t), hess_scalar(X0) @ T, dtype)
    g, ht = ad.gradient_and_hvp(f_scalar, backend, x, t)
    close(g, grad_scalar(X0), dtype)
    close(ht, hess_scalar(X0) @ T, dtype)
    s = dtype(0.7)
    close(ad.second_derivative(f_1d, backend, s), d2_1d(0.7), dtype)
    y, d, d2 = ad.value_derivative_and_second_derivative(f_1d, backend, s)
    close(y, f_1d(0.7), dtype)
    close(d, d_1d(0.7), dtype)
    close(d2, d2_1d(0.7), dtype)


@pytest.mark.parametrize("backend", MODES[1:3], ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jacobian_modes(backend, dtype):
    x = X0.astype(dtype)
    y, J = ad.value_and_jacobian(f_vec, backend, x)
    assert J.dtype == dtype
    close(y, f_vec(X0), dtype)
    close(J, jac_vec(X0), dtype)
    # Wide Jacobians too (m < n picks reverse mode when mode=None).
    J = ad.jacobian(lambda x: xp(x).stack([xp(x).sum(x**2)]), backend, x)
    close(J, 2 * X0[None, :], dtype)


def test_without_jit():
    """AutoJax(jit=False): the same transforms, run eagerly."""
    b = ad.AutoJax(jit=False)
    y, g = ad.value_and_gradient(f_scalar, b, X0)
    close(y, f_scalar(X0))
    close(g, grad_scalar(X0))
    close(ad.pullback(f_vec, b, X0, ad.Batch(W, 2 * W))[1], jac_vec(X0).T @ (2 * W))
    close(ad.pushforward(f_vec, b, X0, T), jac_vec(X0) @ T)
    close(ad.gradient_and_hvp(f_scalar, b, X0, T)[1], hess_scalar(X0) @ T)
    close(ad.value_gradient_and_hessian(f_scalar, b, X0)[2], hess_scalar(X0))
    close(ad.second_derivative(f_1d, b, 0.7), d2_1d(0.7))
    close(ad.prepare_hvp_same_point(f_scalar, b, X0, T)(X0, T), hess_scalar(X0) @ T)


def test_batches_of_tangents_and_cotangents():
    ts = ad.Batch(T, 2 * T, np.array([0.0, 1.0, 0.0]))
    out = ad.pushforward(f_vec, JAX, X0, ts)
    assert isinstance(out, ad.Batch) and len(out) == 3
    for r, t in zip(out, ts):
        close(r, jac_vec(X0) @ t)
    ws = ad.Batch(W, -W)
    y, out = ad.value_and_pullback(f_vec, JAX, X0, ws)
    close(y, f_vec(X0))
    for r, w in zip(out, ws):
        close(r, jac_vec(X0).T @ w)
    out = ad.hvp(f_scalar, JAX, X0, ts)
    for r, t in zip(out, ts):
        close(r, hess_scalar(X0) @ t)
    # A Batch of one is still a Batch.
    out = ad.pushforward(f_vec, JAX, X0, ad.Batch(T))
    assert isinstance(out, ad.Batch) and len(out) == 1


# ---- preparation --------------------------------------------------------------------------------


def test_prepared_at_one_point_used_at_another():
    p = ad.prepare_gradient(f_scalar, JAX, X0)
    close(p(X1), grad_scalar(X1))
    close(ad.gradient(f_scalar, JAX, X1, prep=p), grad_scalar(X1))
    y, g = p.value_and_gradient(X1)
    close(y, f_scalar(X1))
    close(g, grad_scalar(X1))
    p = ad.prepare_jacobian(f_vec, JAX, X0)
    close(p(X1), jac_vec(X1))
    p = ad.prepare_pushforward(f_vec, JAX, X0, T)
    close(p(X1, 3 * T), jac_vec(X1) @ (3 * T))
    p = ad.prepare_pullback(f_vec, JAX, X0, W)
    close(p(X1, -W), jac_vec(X1).T @ -W)
    p = ad.prepare_hvp(f_scalar, JAX, X0, T)
    close(p(X1, 2 * T), hess_scalar(X1) @ (2 * T))
    p = ad.prepare_hessian(f_scalar, JAX, X0)
    close(p(X1), hess_scalar(X1))
    p = ad.prepare_derivative(f_1d, JAX, 0.2)
    close(p(0.9), d_1d(0.9))
    p = ad.prepare_second_derivative(f_1d, JAX, 0.2)
    close(p(0.9), d2_1d(0.9))


def test_same_point_preparations():
    p = ad.prepare_pushforward_same_point(f_vec, JAX, X1, T)
    close(p(X1, T), jac_vec(X1) @ T)
    y, jt = p.value_and_pushforward(X1, -T)  # new tangent at the same point
    close(y, f_vec(X1))
    close(jt, jac_vec(X1) @ -T)
    p = ad.prepare_pullback_same_point(f_vec, JAX, X1, W)
    close(p(X1, 2 * W), jac_vec(X1).T @ (2 * W))
    p = ad.prepare_hvp_same_point(f_scalar, JAX, X1, T)
    g, ht = p.gradient_and_hvp(X1, T)
    close(g, grad_scalar(X1))
    close(ht, hess_scalar(X1) @ T)
    close(p(X1, 2 * T), hess_scalar(X1) @ (2 * T))
    with pytest.raises(ad.PreparationMismatchError):
        p(X0, T)


def test_same_point_with_changed_static_context_is_not_stale():
    def f(x, k):
        return x**k

    p = ad.prepare_pushforward_same_point(f, JAX, X1, T, ad.Constant(2))
    close(p(X1, T, ad.Constant(2)), 2 * X1 * T)
    close(p(X1, T, ad.Constant(3)), 3 * X1**2 * T)


def test_out_with_numpy_buffers():
    g = np.empty(3)
    assert ad.gradient(f_scalar, JAX, X0, out=g) is g
    close(g, grad_scalar(X0))
    J = np.empty((4, 3))
    y, J2 = ad.value_and_jacobian(f_vec, JAX, X0, out=J)
    assert J2 is J
    close(J, jac_vec(X0))
    buf = np.empty(4)
    ad.pushforward(f_vec, JAX, X0, T, out=buf)
    close(buf, jac_vec(X0) @ T)
    buf = np.empty(3)
    ad.pullback(f_vec, JAX, X0, W, out=buf)
    close(buf, jac_vec(X0).T @ W)
    g, H = np.empty(3), np.empty((3, 3))
    ad.value_gradient_and_hessian(f_scalar, JAX, X0, out=(g, H))
    close(g, grad_scalar(X0))
    close(H, hess_scalar(X0))
    buf = np.empty(3)
    ad.hvp(f_scalar, JAX, X0, T, out=buf)
    close(buf, hess_scalar(X0) @ T)
    d, d2 = np.empty(2), np.empty(2)
    ad.value_derivative_and_second_derivative(f_1d, JAX, 0.7, out=(d, d2))
    close(d, d_1d(0.7))
    close(d2, d2_1d(0.7))


def test_out_with_jax_array_raises_type_error():
    with pytest.raises(TypeError, match="immutable"):
        ad.gradient(f_scalar, JAX, jnp.asarray(X0), out=jnp.zeros(3))
    with pytest.raises(TypeError, match="immutable"):
        ad.jacobian(f_vec, JAX, X0, out=jnp.zeros((4, 3)))


# ---- against finite differences and other AD paths ------------------------------------------


OPS_FD = [
    ("gradient", f_scalar, X0, ()),
    ("jacobian", f_vec, X0, ()),
    ("pushforward", f_vec, X0, (T,)),
    ("pullback", f_vec, X0, (W,)),
    ("derivative", f_1d, 0.4, ()),
    ("hvp", f_scalar, X0, (T,)),
    ("hessian", f_scalar, X0, ()),
    ("second_derivative", f_1d, 0.4, ()),
]


@pytest.mark.parametrize("op,f,x,args", OPS_FD, ids=[o[0] for o in OPS_FD])
def test_against_finite_differences(op, f, x, args):
    a = getattr(ad, op)(f, JAX, x, *args)
    b = getattr(ad, op)(f, FD, x, *args)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


SECOND = ("hvp", "hessian", "second_derivative")


@pytest.mark.parametrize("op,f,x,args", OPS_FD, ids=[o[0] for o in OPS_FD])
def test_ad_paths_agree_to_1e_10(op, f, x, args):
    ref = getattr(ad, op)(f, JAX, x, *args)
    others = MODES[1:3]
    if op in SECOND:
        others = [ad.SecondOrder(JAX, JAX), ad.SecondOrder(ad.AutoJax("reverse"), JAX)]
    for b in others:
        np.testing.assert_allclose(getattr(ad, op)(f, b, x, *args), ref, rtol=1e-10, atol=1e-12)


def test_second_order_finitediff_over_jax():
    b = ad.SecondOrder(FD, JAX)
    close_fd = dict(rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ad.hvp(f_scalar, b, X0, T), hess_scalar(X0) @ T, **close_fd)
    np.testing.assert_allclose(ad.hessian(f_scalar, b, X0), hess_scalar(X0), **close_fd)
    np.testing.assert_allclose(ad.second_derivative(f_1d, b, 0.7), d2_1d(0.7), **close_fd)
    y, g, H = ad.value_gradient_and_hessian(f_scalar, b, X1)
    close(g, grad_scalar(X1))
    np.testing.assert_allclose(H, hess_scalar(X1), **close_fd)


def _flat_prep(op, f, x, *args):
    prep = getattr(ad, f"prepare_{op}")(f, JAX, x, *args)
    return prep, prep.adapter, prep.F, prep.spec


def test_generic_second_order_nests_jax_kernels_in_jax_transforms():
    """SecondOrder(jax, jax) with the native paths bypassed: the outer jvp / vjp traces through
    the (jitted) inner gradient and derivative kernels."""
    prep, adapter, F, spec = _flat_prep("hvp", f_scalar, X0, T)
    for outer_mode in ("forward", "reverse"):
        from anydiff._registry import get_adapter

        outer = get_adapter(ad.AutoJax(outer_mode))
        outer_is_fwd = outer.backend.forward_fast  # both modes are fast: forward-over-reverse
        assert outer_is_fwd
        k = _generic.hvp(outer, adapter, F, spec.with_batch(2), True)
        g, HT = k(X0, np.stack([T, -T]), ())
        close(g, grad_scalar(X0))
        close(HT, np.stack([hess_scalar(X0) @ T, -(hess_scalar(X0) @ T)]))
    prep, adapter, F, spec = _flat_prep("hessian", f_scalar, X0)
    y, g, H = _generic.hessian(adapter, adapter, F, spec, True)(X1, None, ())
    close(y, f_scalar(X1))
    close(g, grad_scalar(X1))
    close(H, hess_scalar(X1))
    prep, adapter, F, spec = _flat_prep("second_derivative", f_1d, 0.3)
    kernel = _generic.second_derivative(adapter, adapter, F, spec, True)
    y, d, d2 = kernel(np.array([0.8]), None, ())
    close(d, d_1d(0.8))
    close(d2, d2_1d(0.8))


def test_generic_reverse_over_reverse_and_first_order_generics():
    """Kernels nest inside jax.vjp too (reverse-over-reverse via the generic pullback path)."""
    prep, adapter, F, spec = _flat_prep("gradient", f_scalar, X0)
    G = _generic.inner_gradient(adapter, adapter, F, spec)
    pb = adapter.make_pullback(G, spec.with_batch(1), True)
    g, HT = pb(X0, T[None], ())
    close(g, grad_scalar(X0))
    close(HT[0], hess_scalar(X0) @ T)  # H symmetric
    # Generic gradient / jacobian from the JAX primitives match the native ones.
    close(_generic.gradient(adapter, F, spec, False)(X1, None, ())[1], grad_scalar(X1))
    prep, adapter, F, spec = _flat_prep("jacobian", f_vec, X0)
    close(_generic.jacobian(adapter, F, spec, False)(X1, None, ())[1], jac_vec(X1))


# ---- array kinds and dtypes ---------------------------------------------------------------------


def test_jax_in_jax_out_and_dtypes():
    g = ad.gradient(f_scalar, JAX, jnp.asarray(X0, dtype=jnp.float32))
    assert isinstance(g, jax.Array) and g.dtype == jnp.float32
    close(g, grad_scalar(X0), np.float32)
    with jax.enable_x64(True):
        x64 = jnp.asarray(X0)
    g = ad.gradient(f_scalar, JAX, x64)
    assert isinstance(g, jax.Array) and g.dtype == jnp.float64
    close(g, grad_scalar(X0))
    J = ad.jacobian(f_vec, JAX, x64)
    assert isinstance(J, jax.Array) and J.dtype == jnp.float64
    close(J, jac_vec(X0))


def test_f_receives_jax_arrays():
    seen = []

    def f(x, c):
        seen.append((x, c))
        return jnp.sum(x * c)

    ad.gradient(f, JAX, X0, ad.Constant(np.ones(3)))
    ad.gradient(f, ad.AutoJax(jit=False), X0, ad.Constant(np.ones(3)))
    assert seen and all(isinstance(a, jax.Array) and isinstance(b, jax.Array) for a, b in seen)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    x = torch.tensor(X0, dtype=torch.float64)
    g = ad.gradient(f_scalar, JAX, x)
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
    close(g.numpy(), grad_scalar(X0))
    J = ad.jacobian(f_vec, JAX, x.float())
    assert isinstance(J, torch.Tensor) and J.dtype == torch.float32
    close(J.numpy(), jac_vec(X0), np.float32)


def test_float64_is_not_truncated():
    """A float32 computation would see x == 1 and return 0."""
    x = np.array([1.0 + 1e-10, 2.0])
    assert not jax.config.jax_enable_x64  # the global setting stays off

    def f(x):
        return jnp.sum((x - 1.0) ** 2)

    g = ad.gradient(f, JAX, x)
    np.testing.assert_allclose(g, [2e-10, 2.0], rtol=1e-5)
    y, g = ad.value_and_gradient(jnp.sum, JAX, x)
    assert y.dtype == np.float64 and y == 3.0 + 1e-10
    np.testing.assert_allclose(ad.pushforward(lambda x: (x - 1) ** 3, JAX, x, np.ones(2)),
                               [3e-20, 3.0], rtol=1e-5)
    # The kernel itself computes in float64.
    prep = ad.prepare_gradient(f, JAX, x)
    raw = prep.kernel(False)(x, None, ())[1]
    assert raw.dtype == jnp.float64
    assert not jax.config.jax_enable_x64


def test_python_float_input():
    d = ad.derivative(lambda t: jnp.sin(t) * t, JAX, 0.5)
    assert isinstance(d, float)
    assert abs(d - (np.cos(0.5) * 0.5 + np.sin(0.5))) < 1e-12


# ---- pytrees ----------------------------------------------------------------------------------

Pair = namedtuple("Pair", ["a", "b"])


def tree_fun(t):
    a, b = t
    m = xp(a)
    return m.sum(a**2) + m.sum(m.sin(b)) * a[0]


@pytest.mark.parametrize(
    "make", [lambda a, b: {"b": b, "a": a}, lambda a, b: [a, b], lambda a, b: (a, b),
             lambda a, b: Pair(a, b)],
    ids=["dict", "list", "tuple", "namedtuple"],
)
def test_pytrees(make):
    a, b = np.array([0.5, -1.0]), np.array([[0.1, 0.2], [0.3, 0.4]])
    x = make(a, b)

    def f(t):
        return tree_fun((t["a"], t["b"]) if isinstance(t, dict) else (t[0], t[1]))

    g = ad.gradient(f, JAX, x)
    assert type(g) is type(x)
    ga = g["a"] if isinstance(g, dict) else g[0]
    gb = g["b"] if isinstance(g, dict) else g[1]
    close(ga, 2 * a + np.array([np.sin(b).sum(), 0.0]))
    close(gb, a[0] * np.cos(b))
    # Jacobian of a pytree -> pytree map is 2-D (y.size, x.size); compare with finite differences.
    def h(t):
        aa, bb = (t["a"], t["b"]) if isinstance(t, dict) else (t[0], t[1])
        m = xp(aa)
        return {"u": aa * m.sum(bb), "v": m.exp(bb)}

    J = ad.jacobian(h, JAX, x)
    assert J.shape == (6, 6)
    np.testing.assert_allclose(J, ad.jacobian(h, FD, x), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ad.hessian(f, JAX, x), ad.hessian(f, FD, x), rtol=1e-5, atol=1e-5)


# ---- contexts -----------------------------------------------------------------------------------


def test_constant_context_changes_between_prep_and_call():
    def f(x, c):
        return jnp.sum(c * x**2)

    p = ad.prepare_gradient(f, JAX, X0, ad.Constant(np.ones(3)))
    c = np.array([1.0, 2.0, 3.0])
    close(p(X1, ad.Constant(c)), 2 * c * X1)
    close(ad.gradient(f, JAX, X1, ad.Constant(2 * c)), 4 * c * X1)
    # A bare float is a Constant too, and traced (no recompilation when it changes).
    close(ad.gradient(f, JAX, X1, 5.0), 10 * X1)


def test_cache_context():
    def f(x, buf):
        buf = buf.at[:].set(x * 2)  # JAX style: functional update of the scratch space
        return jnp.sum(buf**2)

    close(ad.gradient(f, JAX, X0, ad.Cache(np.zeros(3))), 8 * X0)


class Scale:
    """An arbitrary object (hashed by identity) carrying a Python number."""

    def __init__(self, s):
        self.s = s


def test_non_array_contexts_change_between_calls():
    calls = []

    def f(x, k, mode, obj, opts):
        calls.append(1)
        y = jnp.sum(x**k) * obj.s * opts["w"]
        return -y if mode == "neg" else y

    # Unprepared: each call must see its own values (ints, strings, objects, dict of ints).
    close(ad.gradient(f, JAX, X0, 2, "pos", Scale(1.0), {"w": 1}), 2 * X0)
    close(ad.gradient(f, JAX, X0, 3, "pos", Scale(1.0), {"w": 1}), 3 * X0**2)
    close(ad.gradient(f, JAX, X0, 3, "neg", Scale(1.0), {"w": 1}), -3 * X0**2)
    close(ad.gradient(f, JAX, X0, 3, "neg", Scale(2.0), {"w": 1}), -6 * X0**2)
    close(ad.gradient(f, JAX, X0, 3, "neg", Scale(2.0), {"w": 4}), -24 * X0**2)
    # Prepared: same.
    p = ad.prepare_gradient(f, JAX, X0, 2, "pos", Scale(1.0), {"w": 1})
    close(p(X1, 4, "neg", Scale(0.5), {"w": 2}), -4 * X1**3)
    close(p(X1, 2, "pos", Scale(1.0), {"w": 1}), 2 * X1)
    # Equal immutable values reuse the compiled kernel: no new trace.
    p2 = ad.prepare_gradient(lambda x, k, mode: f(x, k, mode, Scale(1.0), {"w": 1}), JAX, X0, 2, "pos")
    p2(X1, 2, "pos")
    n = len(calls)
    p2(X0, 2, "pos")
    p2(X1, 2, "pos")
    assert len(calls) == n
    # An object may have changed in place while staying the same object: f is traced on every
    # call (compiled code is reused only for an equal program).
    s = Scale(1.0)
    p(X1, 2, "pos", s, {"w": 1})
    n = len(calls)
    p(X0, 2, "pos", s, {"w": 1})
    s.s = 2.0
    close(p(X1, 2, "pos", s, {"w": 1}), 4 * X1)
    assert len(calls) == n + 2
    # Unhashable objects are compared by identity: a new object is never confused with the old.
    class Unhashable:
        __hash__ = None

        def __init__(self, s):
            self.s = s

    close(ad.gradient(f, JAX, X0, 2, "pos", Unhashable(1.0), {"w": 1}), 2 * X0)
    close(ad.gradient(f, JAX, X0, 2, "pos", Unhashable(3.0), {"w": 1}), 6 * X0)
    # 1 and True hash alike but are different values: no stale reuse across them.
    def g(x, flag):
        return jnp.sum(x) * (10.0 if flag is True else 1.0)

    close(ad.gradient(g, JAX, X0, 1), np.ones(3))
    close(ad.gradient(g, JAX, X0, True), 10 * np.ones(3))


# ---- complex numbers --------------------------------------------------------------------------

Z = np.array([0.3 + 0.5j, -1.2 + 0.1j, 0.7 - 0.4j])
WZ = np.array([1 + 2j, -0.5j, 0.3])


def holo(z):
    m = xp(z)
    return m.sin(z) * z**2


def holo_jac(z):
    return np.diag(np.cos(z) * z**2 + 2 * z * np.sin(z))


def real_of_complex(z):
    m = xp(z)
    return m.sum(m.abs(z) ** 2 * m.real(z))


def real_grad(z):
    # f = (a^2 + b^2) a: df/da = 3a^2 + b^2, df/db = 2ab
    a, b = z.real, z.imag
    return (3 * a**2 + b**2) + 1j * (2 * a * b)


@pytest.mark.parametrize("backend", [JAX, ad.AutoJax("reverse")], ids=repr)
def test_complex_holomorphic(backend):
    J = holo_jac(Z)
    np.testing.assert_allclose(ad.jacobian(holo, backend, Z), J, rtol=1e-12)
    np.testing.assert_allclose(ad.pushforward(holo, backend, Z, WZ), J @ WZ, rtol=1e-12)
    np.testing.assert_allclose(ad.pullback(holo, backend, Z, WZ), J.conj().T @ WZ, rtol=1e-12)
    for op, args in [("jacobian", ()), ("pushforward", (WZ,)), ("pullback", (WZ,))]:
        np.testing.assert_allclose(
            getattr(ad, op)(holo, backend, Z, *args), getattr(ad, op)(holo, FD, Z, *args),
            rtol=1e-7, atol=1e-7,
        )
    p = ad.prepare_pullback_same_point(holo, backend, Z, WZ)
    np.testing.assert_allclose(p(Z, WZ), J.conj().T @ WZ, rtol=1e-12)


def test_complex_real_valued_gradient_and_pullback():
    g = ad.gradient(real_of_complex, JAX, Z)
    np.testing.assert_allclose(g, real_grad(Z), rtol=1e-12)
    np.testing.assert_allclose(g, ad.gradient(real_of_complex, FD, Z), rtol=1e-7)
    np.testing.assert_allclose(ad.pullback(real_of_complex, JAX, Z, 2.0), 2 * real_grad(Z))
    # The pushforward along t is the directional derivative Re(conj(grad) . t).
    np.testing.assert_allclose(
        ad.pushforward(real_of_complex, JAX, Z, WZ), np.real(np.vdot(real_grad(Z), WZ)), rtol=1e-12
    )
    # hvp: pushforward of the gradient field, native path == generic finitediff-over-jax.
    np.testing.assert_allclose(
        ad.hvp(real_of_complex, JAX, Z, WZ),
        ad.hvp(real_of_complex, ad.SecondOrder(FD, JAX), Z, WZ), rtol=1e-6,
    )
    H = ad.hessian(real_of_complex, JAX, Z)
    np.testing.assert_allclose(H @ WZ.real, ad.hvp(real_of_complex, JAX, Z, WZ.real + 0j),
                               rtol=1e-12)


def test_real_input_complex_output():
    f = lambda x: xp(x).exp(1j * x)  # noqa: E731
    J = ad.jacobian(f, ad.AutoJax("reverse"), X0)
    np.testing.assert_allclose(J, np.diag(1j * np.exp(1j * X0)), rtol=1e-12)
    np.testing.assert_allclose(J, ad.jacobian(f, FD, X0), rtol=1e-7)


# ---- errors -------------------------------------------------------------------------------------


def _assign(x):
    x[0] = 1.0
    return jnp.sum(x)


def _to_numpy(x):
    return np.sum(np.asarray(x))


def _branch(x):
    if x[0] > 0:
        return jnp.sum(x)
    return -jnp.sum(x)


def _int_of(x):
    return jnp.sum(x[: int(x[0])])


@pytest.mark.parametrize(
    "f,cause,hint,capable",
    [
        (_assign, TypeError, "x.at[i].set", "torch"),
        (_to_numpy, jax.errors.TracerArrayConversionError, "NumPy", "finitediff"),
        (_branch, jax.errors.TracerBoolConversionError, "control flow", "AutoJax(jit=False)"),
        (_int_of, jax.errors.ConcretizationTypeError, "concrete value", "AutoJax(jit=False)"),
    ],
    ids=["inplace", "to_numpy", "control_flow", "concretization"],
)
def test_limitations_raise_unsupported_with_hint(f, cause, hint, capable):
    for call in (lambda: ad.gradient(f, JAX, X0), lambda: ad.prepare_jacobian(f, JAX, X0)):
        with pytest.raises(ad.UnsupportedError) as info:
            call()
        msg = str(info.value)
        assert hint in msg and "Backends that can:" in msg and capable in msg
        assert isinstance(info.value.__cause__, cause)
        assert isinstance(info.value, NotImplementedError)


def test_control_flow_works_without_jit():
    b = ad.AutoJax(jit=False)
    close(ad.gradient(_branch, b, X0), np.ones(3))
    close(ad.gradient(_branch, b, -np.abs(X0)), -np.ones(3))
    close(ad.hessian(_branch, b, X0), np.zeros((3, 3)))


def test_inplace_function_rejected():
    def f(y, x):
        y[:] = x**2

    with pytest.raises(ad.UnsupportedError, match="in-place"):
        ad.jacobian(f, JAX, X0, y=np.zeros(3))
    with pytest.raises(ad.UnsupportedError, match="torch"):
        ad.pushforward(f, JAX, X0, T, y=np.zeros(3))


def test_gradient_of_non_scalar_is_value_error():
    with pytest.raises(ValueError, match="jacobian"):
        ad.gradient(f_vec, JAX, X0)


def test_nan_propagates():
    g = ad.gradient(lambda x: jnp.sum(jnp.sqrt(x)), JAX, np.array([-1.0, 4.0]))
    assert np.isnan(g[0]) and g[1] == pytest.approx(0.25)


# ---- compilation happens once ------------------------------------------------------------------


def test_unprepared_calls_trace_f_once_per_call():
    # Fresh unprepared calls: each unprepared call traces f as it is now, exactly once
    # (compiled code is reused for an equal program; tests/backends/test_jax_fresh.py counts
    # the compiles).
    traces = []

    def f(x):
        traces.append(1)
        return jnp.sum(jnp.sin(x) ** 2)

    for i in range(5):
        close(ad.gradient(f, JAX, X0 + i), np.sin(2 * (X0 + i)))
    assert len(traces) == 5
    for i in range(5):
        ad.jacobian(f_vec, JAX, X0 + i)
        ad.hvp(f, JAX, X0 + i, T)
    assert len(traces) == 10


def test_prepared_calls_do_not_retrace():
    traces = []

    def f(x, c):
        traces.append(1)
        return jnp.sum(c * jnp.sin(x) ** 2)

    p = ad.prepare_gradient(f, JAX, X0, ad.Constant(np.ones(3)))
    n = len(traces)
    assert n >= 1  # compiled at preparation
    for i in range(5):
        p(X0 + i, ad.Constant(np.full(3, float(i))))
    assert len(traces) == n
