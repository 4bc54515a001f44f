"""Implicit functions with analytic derivatives, shared by the tests."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize

import anydiff as ad


# ---- the seeds' root: a y³ - y - 2 = 0, found by bisection; dy/da = -y³ / (3 a y² - 1) -------
def root_solver(a):
    return brentq(lambda y: a * y**3 - y - 2.0, 0.0, 3.0, xtol=1e-15, rtol=1e-15)


def root_conditions(a, y):
    return a * y**3 - y - 2.0


def root_derivative(a: float) -> float:
    y = root_solver(a)
    return -(y**3) / (3 * a * y**2 - 1)


# ---- a vector fixed point: y = 0.3 sin(y) + x (elementwise); dy/dx = diag(1 / (1 - 0.3 cos y)) --
def fixed_point(x):
    y = np.zeros_like(x)
    for _ in range(200):
        y_new = 0.3 * np.sin(y) + x
        if np.max(np.abs(y_new - y)) == 0.0:
            break
        y = y_new
    return y_new


def fixed_point_conditions(x, y):
    xp = ad.array_namespace(y)
    return y - 0.3 * xp.sin(y) - x


def fixed_point_jacobian(x):
    return np.diag(1.0 / (1.0 - 0.3 * np.cos(fixed_point(x))))


# ---- an argmin: y*(x) = argmin_y Σ (y - x)² + Σ y⁴ / 2 + (y₀ y₁) ; conditions = the gradient ----
def objective_gradient(x, y):
    xp = ad.array_namespace(y)
    coupling = xp.concat([y[1:2], y[0:1], y[2:] * 0.0])  # ∂(y₀ y₁)/∂y
    return 2.0 * (y - x) + 2.0 * y**3 + coupling


def argmin_solver(x):
    res = minimize(lambda y: np.sum((y - x) ** 2) + np.sum(y**4) / 2 + y[0] * y[1], np.zeros_like(x),
                   jac=lambda y: objective_gradient(x, y), method="BFGS", options={"gtol": 1e-13})
    return res.x


def argmin_jacobian(x):
    """-(∂c/∂y)⁻¹ ∂c/∂x with ∂c/∂y = 2 I + 6 diag(y²) + coupling, ∂c/∂x = -2 I."""
    y = argmin_solver(x)
    A = 2 * np.eye(x.size) + np.diag(6 * y**2)
    A[0, 1] += 1.0
    A[1, 0] += 1.0
    return np.linalg.solve(A, 2 * np.eye(x.size))
