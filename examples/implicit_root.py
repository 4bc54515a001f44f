"""Differentiate through bisection: the root y(a) of a·y³ - y - 2 = 0, found by scipy's brentq.

brentq is a black box (no framework can trace it); the implicit function theorem gives
dy/da = -(∂c/∂y)⁻¹ ∂c/∂a = -y³ / (3·a·y² - 1), about -0.2214 at a = 2. The conditions are
differentiated by the chosen backend, and the derivative of the root is taken by that backend too.

Run: python examples/implicit_root.py [backend]
"""

from __future__ import annotations

from _common import backends_from_argv
from scipy.optimize import brentq

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]


def solver(a):
    """The root in [0, 3] (a·y³ - y - 2 changes sign there for 0.5 ≤ a ≤ 10), to full precision."""
    return brentq(lambda y: a * y**3 - y - 2.0, 0.0, 3.0, xtol=1e-15, rtol=1e-15)


def conditions(a, y):
    return a * y**3 - y - 2.0


def main(backend: str = "engine") -> float:
    root = ad.implicit_function(solver, conditions, backend)
    a = 2.0
    y = float(root(a))
    dyda = float(ad.derivative(root, backend, a))
    analytic = -(y**3) / (3 * a * y**2 - 1)
    # finite differences (backend "finitediff") differentiate brentq itself: ~10 digits
    assert abs(dyda - analytic) <= 1e-8 * abs(analytic), (dyda, analytic)
    print(f"{backend:>10}: y(2) = {y:.12f}, dy/da = {dyda:.12f} (analytic {analytic:.12f})")
    return dyda


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
