"""Write f once, differentiate it with every installed backend, and compare.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np

import anydiff as ad


def f(x):
    xp = ad.array_namespace(x)  # NumPy, jax.numpy, torch, autograd.numpy: whatever f is given
    return xp.sum(xp.sin(x) ** 2 * xp.exp(-x))


def main() -> None:
    x = np.linspace(0.1, 1.0, 5)
    exact = np.exp(-x) * (np.sin(2 * x) - np.sin(x) ** 2)
    for name in ad.available_backends():
        g = ad.gradient(f, name, x)
        print(f"{name:>10}: max error {np.max(np.abs(g - exact)):.1e}")
    prep = ad.prepare_hessian(f, "finitediff", x)
    print("Hessian diagonal (finite differences):", np.round(np.diag(prep(x)), 4))


if __name__ == "__main__":
    main()
