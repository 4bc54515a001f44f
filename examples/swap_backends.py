"""One function, every AD system: the backend is one argument.

The same f (written against the Array API) is differentiated by each backend, with options
(modes, finite-difference methods) given as backend objects; results agree to rounding.

Run: python examples/swap_backends.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]

# Several settings of each backend: the same call works with each of them.
VARIANTS = {
    "jax": [ad.AutoJax(), ad.AutoJax(mode="forward"), ad.AutoJax(jit=False)],
    "torch": [ad.AutoTorch(), ad.AutoTorch(mode="forward")],
    "autograd": [ad.AutoAutograd()],
    "finitediff": [ad.AutoFiniteDiff(), ad.AutoFiniteDiff(method="complex")],
    "engine": [ad.AutoEngine(), ad.AutoEngine(mode="forward")],
}


def f(x):
    xp = ad.array_namespace(x)
    return xp.stack([xp.sum(x**2), xp.prod(xp.cos(x))])


def exact_jacobian(x: np.ndarray) -> np.ndarray:
    c = np.cos(x)
    row2 = np.array([-np.sin(x[i]) * np.prod(np.delete(c, i)) for i in range(x.size)])
    return np.stack([2 * x, row2])


def main(backend: str = "engine") -> float:
    """Jacobian with every setting of ``backend``; returns the largest error."""
    x = np.array([0.3, -1.1, 2.0])
    worst = 0.0
    for b in VARIANTS[backend]:
        J = ad.jacobian(f, b, x)
        err = float(np.max(np.abs(J - exact_jacobian(x))))
        worst = max(worst, err)
        print(f"{backend:>10}: {b!r}: jacobian {J.shape}, max error {err:.1e}")
    return worst


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
