"""Scenario family: functions that call a bridged ``g`` (``differentiate_with`` /
``custom_derivative``), so that every backend under test must use ``g``'s rule.

Every backend reaches ``g`` through its own host (JAX primitives, torch ``autograd.Function``,
HIPS autograd primitives, the engine; finite differences only evaluate), so these scenarios
check the bridge inside every anydiff backend, with analytic references:

- ``bridge-dw``: ``sum(g(x)²)`` with ``g = differentiate_with(f, "engine")``: gradient and
  Hessian (second derivatives through ``g`` come from the engine's hvp);
- ``bridge-cd``: ``g = custom_derivative(f, pushforward=...)`` itself: Jacobian (reverse modes
  materialise ``J`` from the pushforward rule);
- ``bridge-cd-pb``: ``sum(g(x)²)`` with a pullback-only ``custom_derivative``: gradient (forward
  modes materialise ``J`` from the pullback rule);
- ``bridge-tree``: a ``differentiate_with`` ``g`` from a dict to a dict: pullback.

Five scenarios only: each runs through every backend and variant of a suite (compiling
backends compile every bridged kernel), so the family stays small.

``f(x)_i = sin(x_i) x_0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import array_namespace
from ._problem import Problem, scenarios_of
from ._scenario import Scenario


def _f_xp(x: Any) -> Any:
    """``sin(x) * x[0]`` (Array API: the bridged backend's arrays)."""
    xp = array_namespace(x)
    return xp.sin(x) * x[0]


def _f_np(x: np.ndarray) -> np.ndarray:
    return np.sin(x) * x[0]


def _pf(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """J t for ``_f_np``: J = diag(cos(x) x_0) + sin(x) e_0ᵀ."""
    return np.cos(x) * x[0] * t + np.sin(x) * t[0]


def _pb(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Jᵀ w for ``_f_np``."""
    out = np.cos(x) * x[0] * w
    out[0] += np.sum(np.sin(x) * w)
    return out


def _jac(x: np.ndarray) -> np.ndarray:
    J = np.diag(np.cos(x) * x[0])
    J[:, 0] += np.sin(x)
    return J


def _sq_grad(x: np.ndarray) -> np.ndarray:
    return (2 * _jac(x).T @ _f_np(x))[None, :]


def _sq_hess(x: np.ndarray) -> np.ndarray:
    """Hessian of ``sum(f(x)²)``: 2 (JᵀJ + Σ_i f_i ∇²f_i)."""
    J, y = _jac(x), _f_np(x)
    H = 2 * J.T @ J
    for i in range(x.size):
        Hi = np.zeros((x.size, x.size))
        Hi[i, i] -= np.sin(x[i]) * x[0]
        Hi[i, 0] += np.cos(x[i])
        Hi[0, i] += np.cos(x[i])
        H += 2 * y[i] * Hi
    return H


def _tree_f(p: dict) -> dict:
    """``{"u": a * b[0], "v": sum(b²) a[1]}`` for ``a`` (2,), ``b`` (3,)."""
    xp = array_namespace(p["a"])
    return {"u": p["a"] * p["b"][0], "v": xp.sum(p["b"] ** 2) * p["a"][1]}


def _tree_jac(p: dict) -> np.ndarray:
    a, b = np.asarray(p["a"]), np.asarray(p["b"])
    J = np.zeros((3, 5))  # rows u0, u1, v; columns a0, a1, b0, b1, b2
    J[0, 0] = J[1, 1] = b[0]
    J[0, 2], J[1, 2] = a[0], a[1]
    J[2, 1] = np.sum(b**2)
    J[2, 2:] = 2 * b * a[1]
    return J


class _SumOfSquares:
    """``x -> sum(g(x)²)`` (a class, so that the scenario's function has a readable repr)."""

    def __init__(self, g: Any, label: str) -> None:
        self.g, self.__name__ = g, label

    def __call__(self, x: Any) -> Any:
        xp = array_namespace(x)
        return xp.sum(self.g(x) ** 2)

    def __repr__(self) -> str:
        return self.__name__


def bridge_scenarios() -> list[Scenario]:
    """Functions calling a ``differentiate_with`` / ``custom_derivative`` ``g`` (see the module
    docstring): every backend must differentiate through ``g`` with ``g``'s rule.

    Example:
        >>> from anydiff.testing import bridge_scenarios
        >>> sorted({s.op for s in bridge_scenarios()})
        ['gradient', 'hessian', 'jacobian', 'pullback']
    """
    from ..bridge import custom_derivative, differentiate_with

    x = np.linspace(0.2, 1.1, 4)
    tags = ("bridge",)
    dw = differentiate_with(_f_xp, "engine")
    cd = custom_derivative(_f_np, pushforward=_pf)
    cd_pb = custom_derivative(_f_np, pullback=_pb)
    tree = differentiate_with(_tree_f, "engine")
    p = {"a": np.array([0.3, -0.8]), "b": np.array([1.1, 0.4, -0.6])}
    out: list[Scenario] = []
    out += scenarios_of(Problem("bridge-dw", _SumOfSquares(dw, "sum_sq_of_dw"), x, jac=_sq_grad,
                                hess=_sq_hess), ("gradient", "hessian"), tags=tags)
    out += scenarios_of(Problem("bridge-cd", cd, x, jac=_jac), ("jacobian",), tags=tags)
    out += scenarios_of(Problem("bridge-cd-pb", _SumOfSquares(cd_pb, "sum_sq_of_cd_pb"), x,
                                jac=_sq_grad), ("gradient",), tags=tags)
    out += scenarios_of(Problem("bridge-tree", tree, p, jac=_tree_jac), ("pullback",), tags=tags)
    return out
