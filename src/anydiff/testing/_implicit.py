"""The ``implicit`` scenario family: functions that call implicit functions.

Each scenario's ``f`` calls an :func:`anydiff.implicit_function` (a black-box solver whose
derivatives come from the implicit function theorem, conditions differentiated by the engine,
which is always installed); the harness differentiates ``f`` with the backend under test, so the
bridge's host for that backend (JAX, torch, autograd, the engine, or plain NumPy for finite
differences) is what is checked, in every operator variant. References are analytic. First
derivatives only: implicit functions have no second derivatives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import array_namespace
from ._problem import Problem, scenarios_of
from ._scenario import Scenario

FIRST_ORDER_ARRAY = ("jacobian", "pushforward", "pullback")


def _bisection_root(a: Any) -> float:
    """The root in [0, 3] of ``a y³ - y - 2`` by bisection to machine precision (a black box)."""
    a = float(a)
    lo, hi = 0.0, 3.0
    while hi - lo > 4e-16 * hi:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if a * mid**3 - mid - 2.0 < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _root_conditions(a: Any, y: Any) -> Any:
    return a * y**3 - y - 2.0


def _fixed_point(x: Any) -> np.ndarray:
    """``y = 0.3 sin(y) + x`` (elementwise) iterated until it stops changing (a black box)."""
    y = np.zeros_like(x)
    for _ in range(200):
        y_new = 0.3 * np.sin(y) + x
        if np.array_equal(y_new, y):
            break
        y = y_new
    return y_new


def _fixed_point_conditions(x: Any, y: Any) -> Any:
    xp = array_namespace(y)
    return y - 0.3 * xp.sin(y) - x


_FUNCTIONS: dict[str, Any] = {}


def _implicit(name: str) -> Any:
    """The implicit functions, made once (their preparations are cached on them)."""
    if not _FUNCTIONS:
        from ..implicit import implicit_function

        _FUNCTIONS["root"] = implicit_function(_bisection_root, _root_conditions, "engine")
        _FUNCTIONS["fixed"] = implicit_function(_fixed_point, _fixed_point_conditions, "engine")
        _FUNCTIONS["fixed-gmres"] = implicit_function(_fixed_point, _fixed_point_conditions, "engine",
                                                      linear_solver="gmres")
    return _FUNCTIONS[name]


def implicit_root(a: Any) -> Any:
    """``y(a)`` with ``a y³ - y - 2 = 0`` (bisection), times ``a``: ``f(a) = a·y(a)``."""
    return _implicit("root")(a) * a


def implicit_fixed_point(x: Any) -> Any:
    """``sin(y(x))`` with ``y = 0.3 sin(y) + x`` (a loop; direct linear solver)."""
    xp = array_namespace(x)
    return xp.sin(_implicit("fixed")(x))


def implicit_fixed_point_loss(x: Any) -> Any:
    """``Σ y(x)²`` with the same fixed point (gmres linear solver)."""
    xp = array_namespace(x)
    return xp.sum(_implicit("fixed-gmres")(x) ** 2)


def _root_jac(a: Any) -> np.ndarray:
    a = float(a)
    y = _bisection_root(a)
    dyda = -(y**3) / (3 * a * y**2 - 1)
    return np.array([[y + a * dyda]])


def _fixed_dydx(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 - 0.3 * np.cos(_fixed_point(x)))


def implicit_scenarios() -> list[Scenario]:
    """Functions calling implicit functions (a bisection root, a fixed-point loop with the direct
    and the gmres linear solver): derivative, gradient, jacobian, pushforward and pullback.

    Example:
        >>> from anydiff.testing import implicit_scenarios
        >>> sorted({s.op for s in implicit_scenarios()})
        ['derivative', 'gradient', 'jacobian', 'pullback', 'pushforward']
    """
    tags = ("implicit",)
    x = np.array([0.3, -0.5, 1.0])
    out: list[Scenario] = []
    out += scenarios_of(Problem("implicit-root", implicit_root, 2.0, jac=_root_jac),
                        ("derivative",), tags=tags)
    out += scenarios_of(
        Problem("implicit-fixed-point", implicit_fixed_point, x,
                jac=lambda v: np.diag(np.cos(_fixed_point(v)) * _fixed_dydx(v))),
        FIRST_ORDER_ARRAY, tags=tags)
    out += scenarios_of(
        Problem("implicit-fixed-point-gmres", implicit_fixed_point_loss, x,
                jac=lambda v: (2 * _fixed_point(v) * _fixed_dydx(v))[None, :]),
        ("gradient",), tags=tags)
    return out
