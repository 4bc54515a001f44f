"""Test problems with analytic gradients, written once for every backend (Array API)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import anydiff as ad

ALL = ["engine", "finitediff", "jax", "torch", "autograd"]
BACKENDS = [
    pytest.param(b, marks=pytest.mark.skipif(not ad.check_available(b), reason=f"{b} not installed"))
    for b in ALL
]
EXACT = {"engine", "jax", "torch", "autograd"}  # AD to rounding; finitediff to ~1e-8


def rosenbrock(x):
    xp = ad.array_namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def logistic_data(n: int = 500, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' logistic regression: beta0 = ones, y = (x beta0 + logistic noise >= 0)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k))
    y = (x @ np.ones(k) + rng.logistic(size=n) >= 0.0).astype(np.float64)
    return x, y


def neg_loglik(beta, x, y):
    xp = ad.array_namespace(beta)
    z = x @ beta
    return xp.sum(xp.log1p(xp.exp(z)) - y * z)


def neg_loglik_grad(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x.T @ (expit(x @ beta) - y)
