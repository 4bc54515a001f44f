"""Engine and HIPS autograd hosts, and ``ad.gradient`` through every anydiff backend."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff import engine as E


def f_np(x):
    return np.sin(x) * x[0]


def f_xp(x):
    xp = ad.array_namespace(x)
    return xp.sin(x) * x[0]


def f_tree(p):
    xp = ad.array_namespace(p["a"])
    return {"s": xp.sum(p["a"] ** 2) * p["b"][0], "v": xp.sin(p["b"]) * p["a"][0]}


def ref_grad(x):
    # L = sum((sin x * x0)^2): dL/dx = 2 x0^2 sin x cos x, plus e0 * 2 x0 sum(sin^2 x)
    g = 2 * x[0] ** 2 * np.sin(x) * np.cos(x)
    g[0] += 2 * x[0] * np.sum(np.sin(x) ** 2)
    return g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_host_both_modes_and_tapes(dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    g = ad.differentiate_with(f_xp, "jax")  # the rule's backend need not be the host
    x = np.linspace(0.2, 1.1, 4).astype(dtype)
    loss = lambda x: np.sum(g(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(E.grad(loss, x), ref_grad(x.astype(float)), rtol=tol, atol=tol)
    Jf = E.jacobian(g, x, mode="forward")
    Jr = E.jacobian(g, x, mode="reverse")
    Jref = E.jacobian(f_np, x.astype(float))
    np.testing.assert_allclose(Jf, Jref, rtol=tol, atol=tol)
    np.testing.assert_allclose(Jr, Jref, rtol=tol, atol=tol)
    assert E.grad(loss, x).dtype == dtype
    tape = E.record(loss, x)
    assert tape.replayable
    x2 = (2 * x).astype(dtype)
    np.testing.assert_allclose(tape.value_and_grad(x2)[1], ref_grad(x2.astype(float)), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_engine_host_pytrees_and_hessian(dtype):
    tol = 1e-12 if dtype == np.float64 else 1e-5
    g = ad.differentiate_with(f_tree, "autograd")  # the engine host, autograd's derivatives

    def loss(fn):
        return lambda v: (lambda y: y["s"] ** 2 + np.sum(y["v"] ** 3))(fn({"a": v[:2], "b": v[2:]}))

    v = np.array([0.3, -0.7, 0.5, 1.5, -0.2], dtype)
    got = E.grad(loss(g), v)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, E.grad(loss(f_tree), v), rtol=tol, atol=tol)
    if dtype == np.float64:
        np.testing.assert_allclose(E.hessian(loss(g), v), E.hessian(loss(f_tree), v), rtol=1e-12,
                                   atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_autograd_host(dtype):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    from autograd.differential_operators import make_jvp

    tol = 1e-12 if dtype == np.float64 else 1e-5
    g = ad.differentiate_with(f_np, "engine")
    x = np.linspace(0.2, 1.1, 4).astype(dtype)
    loss = lambda x: anp.sum(g(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(autograd.grad(loss)(x), ref_grad(x.astype(float)), rtol=tol, atol=tol)
    Jref = E.jacobian(f_np, x.astype(float))
    np.testing.assert_allclose(autograd.jacobian(g)(x), Jref, rtol=tol, atol=tol)
    t = np.ones(4, dtype)
    np.testing.assert_allclose(make_jvp(g)(x)(t)[1], Jref @ t, rtol=tol, atol=tol)
    if dtype == np.float64:
        H = autograd.hessian(loss)(x)
        np.testing.assert_allclose(H, E.hessian(lambda x: np.sum(f_np(x) ** 2), x), rtol=1e-11)
    # pytrees through autograd (dict in, dict out), in this dtype
    h = ad.differentiate_with(f_tree, "engine")
    pa, pb = np.array([0.3, -0.7], dtype), np.array([0.5, 1.5, -0.2], dtype)
    L = lambda a, b, fn: (lambda y: y["s"] ** 2 + anp.sum(y["v"] ** 3))(fn({"a": a, "b": b}))  # noqa: E731
    got = autograd.grad(L, 1)(pa, pb, h)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, autograd.grad(L, 1)(pa, pb, f_tree), rtol=tol, atol=tol)


BACKENDS = ["engine", ad.AutoEngine(mode="forward"), "jax", ad.AutoJax(mode="forward"), "torch",
            ad.AutoTorch(mode="forward"), "autograd", "finitediff"]


@pytest.mark.parametrize("b", BACKENDS, ids=str)
@pytest.mark.parametrize("kind", ["differentiate_with", "custom_derivative"])
def test_gradient_through_every_backend_uses_gs_rule(b, kind):
    calls = []
    if kind == "differentiate_with":
        g = ad.differentiate_with(f_np, "engine")
        for m in ("pushforward", "pullback"):
            orig = getattr(g.rule, m)
            setattr(g.rule, m, lambda *a, orig=orig: (calls.append(1), orig(*a))[1])
    else:
        def pf(x, t):
            calls.append(1)
            return np.cos(x) * x[0] * t + np.sin(x) * t[0]

        def pb(x, w):
            calls.append(1)
            out = np.cos(x) * x[0] * w
            out[0] += np.sum(np.sin(x) * w)
            return out

        g = ad.custom_derivative(f_np, pushforward=pf, pullback=pb)

    def h(x):
        xp = ad.array_namespace(x)
        return xp.sum(g(x) ** 2)

    x = np.linspace(0.2, 1.1, 4)
    tol = 1e-6 if "finitediff" in str(b) else 1e-12
    np.testing.assert_allclose(ad.gradient(h, b, x), ref_grad(x), rtol=tol, atol=tol)
    if "finitediff" not in str(b):
        assert calls, "the backend did not use g's rule"


def _h_with(g):
    def h(x):
        xp = ad.array_namespace(x)
        return xp.sum(g(x) ** 2)

    return h


@pytest.mark.parametrize("b", [ad.SecondOrder("jax", "jax"), ad.SecondOrder("torch", "torch"),
                               ad.SecondOrder("engine", "engine"), "jax", "torch", "engine", "autograd"],
                         ids=str)
def test_hessian_through_g_on_second_order_backends(b):
    g = ad.differentiate_with(f_xp, "engine")
    x = np.linspace(0.2, 1.1, 4)
    H = E.hessian(lambda x: np.sum(f_np(x) ** 2), x)
    np.testing.assert_allclose(ad.hessian(_h_with(g), b, x), H, rtol=1e-12, atol=1e-13)


def test_bridge_family_is_a_catalogue_run_by_every_suite():
    # every backend runs it in tests/test_cross_backend.py (all_scenarios()); here the cheap
    # backends, with every variant, and the references' independence from the bridge
    from anydiff.testing import CATALOGUES, all_scenarios, bridge_scenarios, test_differentiation

    assert CATALOGUES["bridge"] is bridge_scenarios
    names = {s.name for s in all_scenarios()}
    scen = bridge_scenarios()
    assert {s.name for s in scen} <= names and all(s.reference is not None for s in scen)
    test_differentiation(["engine", "finitediff"], scen, variants=None, intact=True)
