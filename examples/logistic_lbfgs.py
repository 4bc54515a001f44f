"""Fit the logistic regression (n = 500, k = 3) with L-BFGS-B through anydiff.optimize.

One prepared value-and-gradient feeds SciPy (the log-likelihood is evaluated once per point);
the data travel as ``ad.Constant`` contexts, so nothing is recompiled when they change.

Run: python examples/logistic_lbfgs.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv
from logistic_regression import simulate

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]


def neg_loglik(beta, x, y):
    # -log L = sum(log(1 + e^z) - y z) with z = x beta: stable and branch-free (Array API).
    xp = ad.array_namespace(beta)
    z = x @ beta
    return xp.sum(xp.log1p(xp.exp(z)) - y * z)


def main(backend: str = "engine") -> np.ndarray:
    """Returns the maximum-likelihood estimate."""
    x, y, beta0 = simulate()
    res = ad.optimize.minimize(
        neg_loglik, np.zeros(3), backend, ad.Constant(x), ad.Constant(y.astype(np.float64)),
        method="L-BFGS-B", options={"gtol": 1e-9},
    )
    print(f"{backend:>10}: estimate {np.round(res.x, 4)} (true {beta0}), {res.nit} iterations, "
          f"{res.nfev} evaluations of f, {res.message}")
    return res.x


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
