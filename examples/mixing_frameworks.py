"""Mixing frameworks: a torch model inside a jitted JAX loss (or a JAX model inside a torch
loss), plus a black-box ``scipy.integrate.quad`` differentiated by finite differences.

``BACKENDS`` are the *host* frameworks whose transformation drives the loss:

* ``"jax"``: ``jax.jit(jax.grad(loss))`` where ``loss`` calls a torch model
  (``ad.differentiate_with(model, "torch")``) and the quadrature;
* ``"torch"``: ``loss.backward()`` where ``loss`` calls the same model written in JAX
  (``ad.differentiate_with(model, "jax")``) and the quadrature;
* ``"autograd"``, ``"engine"``: ``ad.gradient(loss, backend, p)`` of the loss written against the
  Array API, calling the torch model and the quadrature (any anydiff backend can host them).

Both gradients are checked against an independent reference: the model's gradient from its own
framework alone, and the integral's gradient from ``quad`` of the differentiated integrands.

Run: python examples/mixing_frameworks.py [jax|torch|autograd|engine]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv
from scipy.integrate import quad

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "engine"]

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))  # data: 20 samples, 3 features
Y = np.tanh(X @ np.array([0.5, -1.0, 0.25]) + 0.1)
P0 = {"w": np.array([0.3, -0.4, 0.8]), "b": np.array(0.05)}  # parameters (a pytree)
C = 0.1  # weight of the integral term


def integral(theta: np.ndarray) -> np.ndarray:
    """I(θ) = ∫₀¹ exp(-θ₀ t²) cos(θ₁ t) dt: a black box (SciPy's quad) on NumPy arrays."""
    a, b = (float(v) for v in theta)
    return np.array(quad(lambda t: np.exp(-a * t * t) * np.cos(b * t), 0.0, 1.0, epsabs=1e-13)[0])


def integral_grad(theta: np.ndarray) -> np.ndarray:
    """∇I(θ), by quad of the differentiated integrands (the reference)."""
    a, b = (float(v) for v in theta)
    da = quad(lambda t: -t * t * np.exp(-a * t * t) * np.cos(b * t), 0.0, 1.0, epsabs=1e-13)[0]
    db = quad(lambda t: -t * np.exp(-a * t * t) * np.sin(b * t), 0.0, 1.0, epsabs=1e-13)[0]
    return np.array([da, db])


# the integral's derivatives: central finite differences of the black box, in any host
I_fd = ad.differentiate_with(integral, "finitediff")


def reference_grad(model_grad: dict) -> dict:
    """∇loss = the model term's gradient (given) + 2 C I(θ) ∇I(θ) in the slots of θ = w[:2]."""
    theta = P0["w"][:2]
    w = np.array(model_grad["w"], dtype=float)
    w[:2] += 2 * C * integral(theta) * integral_grad(theta)
    return {"w": w, "b": np.asarray(model_grad["b"], dtype=float)}


def torch_model_and_reference() -> tuple[object, dict]:
    """The model term in torch (``p``: a dict of torch tensors) and its gradient by torch alone."""
    import torch

    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def torch_model(p):
        return torch.mean((torch.tanh(Xt @ p["w"] + p["b"]) - Yt) ** 2)

    pt = {k: torch.tensor(v, requires_grad=True) for k, v in P0.items()}
    torch_model(pt).backward()
    return torch_model, {k: v.grad.numpy() for k, v in pt.items()}


def run_jax_host() -> tuple[dict, dict]:
    import jax
    import jax.numpy as jnp

    torch_model, model_grad = torch_model_and_reference()
    model = ad.differentiate_with(torch_model, "torch")

    def loss(p):
        return model(p) + C * I_fd(p["w"][:2]) ** 2

    with jax.enable_x64(True):
        p = {k: jnp.asarray(v) for k, v in P0.items()}
        got = jax.jit(jax.grad(loss))(p)
        got = {k: np.asarray(v) for k, v in got.items()}
    return got, reference_grad(model_grad)


def run_torch_host() -> tuple[dict, dict]:
    import jax
    import jax.numpy as jnp
    import torch

    def jax_model(p):  # JAX code: p is a dict of JAX arrays
        return jnp.mean((jnp.tanh(jnp.asarray(X) @ p["w"] + p["b"]) - jnp.asarray(Y)) ** 2)

    model = ad.differentiate_with(jax_model, "jax")
    p = {k: torch.tensor(v, requires_grad=True) for k, v in P0.items()}
    loss = model(p) + C * I_fd(p["w"][:2]) ** 2
    loss.backward()
    got = {k: v.grad.numpy() for k, v in p.items()}
    with jax.enable_x64(True):  # JAX alone: the model term's reference
        ref = jax.grad(jax_model)({k: jnp.asarray(v) for k, v in P0.items()})
        ref = {k: np.asarray(v) for k, v in ref.items()}
    return got, reference_grad(ref)


def run_anydiff_host(backend: str) -> tuple[dict, dict]:
    torch_model, model_grad = torch_model_and_reference()
    model = ad.differentiate_with(torch_model, "torch")

    def loss(p):  # p: a dict of `backend`'s arrays (autograd boxes, engine tracers)
        return model(p) + C * I_fd(p["w"][:2]) ** 2

    got = ad.gradient(loss, backend, P0)
    return got, reference_grad(model_grad)


def main(backend: str = "engine") -> float:
    """The gradient of the mixed loss with ``backend`` as host; returns the largest relative error."""
    runs = {"jax": run_jax_host, "torch": run_torch_host}
    got, want = runs[backend]() if backend in runs else run_anydiff_host(backend)
    err = max(float(np.max(np.abs(got[k] - want[k]))) for k in want)
    scale = max(float(np.max(np.abs(want[k]))) for k in want)
    print(f"{backend:>6} host: gradient w = {np.round(got['w'], 6)}, b = {float(got['b']):.6f}; "
          f"relative error vs reference {err / scale:.1e}")
    return err / scale


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
