"""Logistic regression: the gradient of a log-likelihood, then its maximum.

Data as in a classic ForwardDiff tutorial: n = 500 observations, k = 3 regressors,
true coefficients beta0 = (1, 1, 1), y = (x beta0 + logistic noise >= 0).

Two versions of the same log-likelihood:

- ``loglik_numpy``: plain NumPy and SciPy as people write them (``scipy.special.expit``,
  ``np.where`` on booleans); the engine and finite differences differentiate it as is.
- ``loglik_xp``: the Array API version, which runs on every backend.

Run: python examples/logistic_regression.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv
from scipy.optimize import minimize
from scipy.special import expit

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]
NUMPY_BACKENDS = ["engine", "finitediff"]  # plain NumPy code as written


def simulate(n: int = 500, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    beta0 = np.ones(k)
    x = rng.standard_normal((n, k))
    y = x @ beta0 + rng.logistic(size=n) >= 0.0
    return x, y, beta0


def loglik_numpy(beta, x, y):
    p = expit(x @ beta)  # the logistic CDF
    return np.sum(np.log(np.where(y, p, 1.0 - p)))


def loglik_xp(beta, x, y):
    # log p = z - log(1 + e^z), log(1 - p) = -log(1 + e^z): stable and branch-free.
    xp = ad.array_namespace(beta)
    z = x @ beta
    return xp.sum(y * z - xp.log1p(xp.exp(z)))


def main(backend: str = "engine") -> tuple[np.ndarray, np.ndarray]:
    """Returns (gradient at beta0, maximum-likelihood estimate)."""
    x, y, beta0 = simulate()
    exact = x.T @ (y - expit(x @ beta0))  # the score: X^T (y - p)
    if backend in NUMPY_BACKENDS:
        g = ad.gradient(loglik_numpy, backend, beta0, ad.Constant(x), ad.Constant(y))
        print(f"{backend:>10} (plain NumPy): |grad - exact| = {np.max(np.abs(g - exact)):.1e}")
    yf = y.astype(np.float64)
    g = ad.gradient(loglik_xp, backend, beta0, ad.Constant(x), ad.Constant(yf))
    print(f"{backend:>10} (Array API):   |grad - exact| = {np.max(np.abs(g - exact)):.1e}")

    # Maximise: minimise -L with one prepared value-and-gradient (f evaluated once per step).
    neg = ad.prepare_gradient(lambda b, x, y: -loglik_xp(b, x, y), backend, beta0,
                              ad.Constant(x), ad.Constant(yf))
    res = minimize(neg.value_and_gradient, np.zeros(3), args=(ad.Constant(x), ad.Constant(yf)),
                   jac=True, method="BFGS")
    print(f"{'':>10}  estimate {np.round(res.x, 4)} (true {beta0}) after {res.nit} iterations")
    return g, res.x


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
