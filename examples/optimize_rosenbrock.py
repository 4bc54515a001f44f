"""Feed a prepared value-and-gradient to scipy.optimize.minimize (f evaluated once per step).

Run: python examples/optimize_rosenbrock.py [backend]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import minimize

import anydiff as ad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(backend: str = "engine") -> np.ndarray:
    x0 = np.full(8, -1.2)
    prep = ad.prepare_gradient(rosenbrock, backend, x0)
    hvp = ad.prepare_hvp(rosenbrock, "engine", x0, np.ones(8))
    res = minimize(
        prep.value_and_gradient, x0, jac=True, method="trust-ncg",
        hessp=lambda x, p: hvp(x, p),
    )
    print(f"{backend}: converged={res.success} after {res.nit} iterations, x≈{np.round(res.x, 6)}")
    return res.x


if __name__ == "__main__":
    main(*sys.argv[1:])
