"""Run by tests/test_devices.py in a subprocess with 4 virtual CPU devices (XLA_FLAGS must be set
before jax is imported, hence the separate process). Prints one line per case and backend:
``CASE <label> | <backend> | OK <n>`` or ``CASE <label> | <backend> | FAIL <what>``."""

from __future__ import annotations

import os

assert "xla_force_host_platform_device_count=4" in os.environ.get("XLA_FLAGS", "")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import anydiff as ad  # noqa: E402
from anydiff._operators import OPERATORS  # noqa: E402

jax.config.update("jax_enable_x64", True)
assert len(jax.devices()) == 4, jax.devices()


def fs(x):  # scalar output
    return jnp.sum(jnp.sin(x) * x)


def fv(x):  # elementwise: y has x's shape
    return jnp.sin(x) * x


def fd(x):  # scalar x
    return jnp.sin(x) * x


def grad_fs(x):
    return np.sin(x) + x * np.cos(x)


def hess_fs(x):
    return 2 * np.cos(x) - x * np.sin(x)


def check_like(name: str, r, like) -> None:
    """r is a JAX array with exactly like's sharding."""
    assert isinstance(r, jax.Array), (name, type(r))
    assert r.sharding.is_equivalent_to(like.sharding, r.ndim), (name, r.sharding, like.sharding)


def check_spread(name: str, r, like) -> None:
    """r is a JAX array on the same devices as like (not gathered onto one)."""
    assert isinstance(r, jax.Array), (name, type(r))
    assert r.sharding.device_set == like.sharding.device_set, (name, r.sharding)


def run(backend, x, s) -> int:
    xn, sn = np.asarray(x), float(s)
    t = jax.device_put(jnp.ones(x.shape), x.sharding)
    checked = 0
    args = {
        "derivative": (fd, s, ()), "second_derivative": (fd, s, ()),
        "gradient": (fs, x, ()), "hessian": (fs, x, ()), "hvp": (fs, x, (t,)),
        "jacobian": (fv, x, ()), "pushforward": (fv, x, (t,)), "pullback": (fv, x, (t,)),
    }
    for op in OPERATORS.values():
        f, x0, extra = args[op.name]
        plain = getattr(ad, op.name)(f, backend, x0, *extra)
        value = getattr(ad, op.value_name)(f, backend, x0, *extra)
        prep = getattr(ad, f"prepare_{op.name}")(f, backend, x0, *extra)
        prepared = prep(x0, *extra)
        batch = None
        if op.tangent is not None:
            batch = getattr(ad, op.name)(f, backend, x0, ad.Batch(*extra, *extra))
        results = [plain, prepared, value[-1]] + (list(batch) if batch is not None else [])
        for r in results:
            if op.name in ("gradient", "hvp", "pullback", "derivative", "second_derivative",
                           "pushforward"):
                check_like(op.name, r, x0)  # like x, or like y = f(x) elementwise
            else:
                check_spread(op.name, r, x0)
            checked += 1
        for v in value[:-1]:  # values (and gradients) of the value forms
            check_spread(op.value_name, v, x0)
            checked += 1
        # and the numbers are right
        if op.name == "gradient":
            np.testing.assert_allclose(np.asarray(plain), grad_fs(xn), rtol=1e-13)
        if op.name == "hvp":
            np.testing.assert_allclose(np.asarray(plain), hess_fs(xn), rtol=1e-13)
        if op.name == "hessian":
            np.testing.assert_allclose(np.asarray(plain).reshape(xn.size, xn.size),
                                       np.diag(hess_fs(xn).ravel()), atol=1e-13)
        if op.name == "derivative":
            np.testing.assert_allclose(float(plain), np.sin(sn) + sn * np.cos(sn), rtol=1e-13)
    return checked


devices = np.array(jax.devices())
cases = [
    ("1-D mesh, P('d')", Mesh(devices, ("d",)), P("d"), (8,)),
    ("2x2 mesh, P('a', 'b')", Mesh(devices.reshape(2, 2), ("a", "b")), P("a", "b"), (4, 6)),
    ("1-D mesh, 2-D x, P('d', None)", Mesh(devices, ("d",)), P("d", None), (8, 3)),
]
for label, mesh, spec, shape in cases:
    values = jnp.linspace(0.1, 2.0, int(np.prod(shape))).reshape(shape)
    x = jax.device_put(values, NamedSharding(mesh, spec))
    s = jax.device_put(jnp.float64(0.7), NamedSharding(mesh, P()))
    # jit on (one compiled kernel per operator) and off (op-by-op dispatch), forward-mode
    # Jacobians without jit
    for backend in (ad.AutoJax(), ad.AutoJax(mode="forward", jit=False)):
        try:
            print(f"CASE {label} | {backend!r} | OK {run(backend, x, s)}", flush=True)
        except AssertionError as e:
            print(f"CASE {label} | {backend!r} | FAIL {e}", flush=True)
