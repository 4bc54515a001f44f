"""torch host: autograd and torch.func transforms of functions calling a bridged ``g`` against
torch's own derivatives of the same function inlined, float32 and float64, pytrees."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap  # noqa: E402

import anydiff as ad  # noqa: E402


def f_tree(p):
    """dict in, tuple out (Array API code: the engine rule and the torch reference)."""
    xp = ad.array_namespace(p["a"])
    return (xp.sum(p["a"] ** 2) * p["b"][0, 0], xp.sin(p["b"]) * p["a"][0] + p["b"] ** 3)


def point(dtype):
    rng = np.random.default_rng(1)
    return {"a": torch.tensor(rng.normal(size=2), dtype=dtype),
            "b": torch.tensor(rng.normal(size=(2, 3)), dtype=dtype)}


def loss_of(fn):
    return lambda p: torch.sum(fn(p)[1] ** 2) + fn(p)[0] ** 2


def close(a, b, dtype):
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    la, lb = torch.utils._pytree.tree_leaves(a), torch.utils._pytree.tree_leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.shape == v.shape and u.dtype == v.dtype, (u.shape, v.shape, u.dtype, v.dtype)
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_func_transforms_match_inlined(dtype):
    g = ad.differentiate_with(f_tree, "engine")
    p = point(dtype)
    t = {k: torch.ones_like(v) for k, v in p.items()}
    L, Lf = loss_of(g), loss_of(f_tree)
    close(g(p), f_tree(p), dtype)
    close(grad(L)(p), grad(Lf)(p), dtype)
    close(jvp(g, (p,), (t,)), jvp(f_tree, (p,), (t,)), dtype)
    y, pb = vjp(g, p)
    _, pbf = vjp(f_tree, p)
    close(pb(y), pbf(y), dtype)
    close(jacfwd(g)(p), jacrev(f_tree)(p), dtype)
    close(jacrev(g)(p), jacrev(f_tree)(p), dtype)
    P = {k: torch.stack([v, 2 * v, -v]) for k, v in p.items()}
    close(vmap(g)(P), vmap(f_tree)(P), dtype)
    close(vmap(grad(L))(P), vmap(grad(Lf))(P), dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backward_and_autograd_grad(dtype):
    g = ad.differentiate_with(f_tree, "engine")
    p = {k: v.requires_grad_() for k, v in point(dtype).items()}
    loss_of(g)(p).backward()
    want = grad(loss_of(f_tree))({k: v.detach() for k, v in p.items()})
    close({k: v.grad for k, v in p.items()}, want, dtype)
    gs = torch.autograd.grad(loss_of(g)(p), [p["a"], p["b"]])
    close({"a": gs[0], "b": gs[1]}, want, dtype)
    # forward-mode AD (torch.autograd.forward_ad) goes through the jvp rule
    import torch.autograd.forward_ad as fwAD

    x = torch.linspace(0.1, 1.0, 4, dtype=dtype)
    h = ad.differentiate_with(lambda x: np.sin(x) * x[0], "engine")
    with fwAD.dual_level():
        out = fwAD.unpack_dual(h(fwAD.make_dual(x, torch.ones_like(x)))).tangent
    ref = torch.func.jvp(lambda x: torch.sin(x) * x[0], (x,), (torch.ones_like(x),))[1]
    close(out, ref, dtype)


def test_second_derivatives_through_g():
    g = ad.differentiate_with(f_tree, "engine")
    p = point(torch.float64)
    H = hessian(loss_of(f_tree))(p)
    close(hessian(loss_of(g))(p), H, torch.float64)
    close(jacrev(jacrev(loss_of(g)))(p), H, torch.float64)
    close(jacfwd(jacfwd(loss_of(g)))(p), H, torch.float64)


def test_vmap_sends_one_batched_call():
    g = ad.differentiate_with(lambda x: np.sin(x) * x[0], "engine")
    x = torch.arange(1.0, 5.0, dtype=torch.float64)
    shapes = []
    pf = g.rule.pushforward
    g.rule.pushforward = lambda sig, x, T: (shapes.append(T.shape), pf(sig, x, T))[1]
    jacfwd(g)(x)
    assert shapes == [(4, 4)]
    calls = []
    pb = g.rule.pullback
    g.rule.pullback = lambda sig, x, W: (calls.append(W.shape), pb(sig, x, W))[1]
    jacrev(g)(x)
    assert calls == [(4, 4)]


def test_jax_inside_torch_training():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    def jax_layer(x):  # a JAX function inside a torch model
        return jnp.tanh(x) * jnp.sum(x**2)

    layer = ad.differentiate_with(jax_layer, "jax")
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 4, dtype=torch.float64)
    inp = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    loss = torch.sum(layer(lin(inp)) ** 2)
    loss.backward()
    got = lin.weight.grad.clone()
    lin.zero_grad()
    torch.sum((torch.tanh(lin(inp)) * torch.sum(lin(inp) ** 2)) ** 2).backward()
    np.testing.assert_allclose(got.numpy(), lin.weight.grad.numpy(), rtol=1e-12)
    del jax


def test_dtype_and_device_preserved():
    g = ad.differentiate_with(lambda x: {"s": np.sum(x**2), "v": 2 * x}, "engine")
    x = torch.ones(3, dtype=torch.float32, requires_grad=True)
    y = g(x)
    assert y["s"].dtype == torch.float32 and y["s"].shape == () and y["v"].device == x.device
    (y["s"] + y["v"].sum()).backward()
    assert x.grad.dtype == torch.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones(3) + 2, rtol=1e-7)
