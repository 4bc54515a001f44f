"""Write f once, differentiate it with every installed backend, and compare.

Run: python examples/quickstart.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]


def f(x):
    xp = ad.array_namespace(x)  # NumPy, jax.numpy, torch, autograd.numpy: whatever f is given
    return xp.sum(xp.sin(x) ** 2 * xp.exp(-x))


def main(backend: str = "engine") -> float:
    """Print and return the largest error of the gradient against the analytic one."""
    x = np.linspace(0.1, 1.0, 5)
    exact = np.exp(-x) * (np.sin(2 * x) - np.sin(x) ** 2)
    err = float(np.max(np.abs(ad.gradient(f, backend, x) - exact)))
    print(f"{backend:>10}: max error {err:.1e}")
    prep = ad.prepare_hessian(f, backend, x)
    print(f"{'':>10}  Hessian diagonal:", np.round(np.diag(prep(x)), 4))
    return err


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
