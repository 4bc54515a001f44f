"""Feed a prepared value-and-gradient and a prepared Hessian-vector product to
scipy.optimize.minimize (f is evaluated once per step).

Run: python examples/optimize_rosenbrock.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv
from scipy.optimize import minimize

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]


def rosenbrock(x):
    # Array API code (not np.sum): it runs on every backend's own arrays, torch tensors included.
    xp = ad.array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(backend: str = "engine") -> np.ndarray:
    x0 = np.full(8, -1.2)
    grad = ad.prepare_gradient(rosenbrock, backend, x0)
    hvp = ad.prepare_hvp(rosenbrock, backend, x0, np.ones(8))
    res = minimize(grad.value_and_gradient, x0, jac=True, method="trust-ncg", hessp=hvp)
    print(f"{backend:>10}: converged={res.success} after {res.nit} iterations, x≈{np.round(res.x, 6)}")
    return res.x


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
