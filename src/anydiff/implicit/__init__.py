"""Implicit functions: differentiate through any solver with the implicit function theorem.

``g = implicit_function(solver, conditions, backend)`` returns ``g`` with ``g(x) = solver(x)``,
where ``conditions(x, y) = 0`` at ``y = solver(x)``. ``g`` is a bridged function (see
:mod:`anydiff.bridge`): every framework (JAX, torch, HIPS autograd, the engine, and so every
anydiff backend) differentiates it, and its derivatives come from
``∂y = -(∂c/∂y)⁻¹ (∂c/∂x) ∂x``, with ``conditions`` differentiated by ``backend``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..bridge._fresh import ChangingFunctionError
from ._errors import ImplicitResidualWarning, LinearSolverError, NotDifferentiableError
from ._rule import ImplicitRule

__all__ = [
    "ChangingFunctionError", "ImplicitFunction", "ImplicitResidualWarning", "LinearSolverError",
    "NotDifferentiableError", "implicit_function",
]


class ImplicitFunction:
    """The function returned by :func:`implicit_function`: ``g(x, *contexts)``.

    ``x``: an array or pytree of one framework's arrays (or NumPy / Python numbers); returns
    ``solver(x, *contexts)`` (``(y, aux)`` with ``has_aux=True``) as that framework's arrays,
    differentiable by that framework. ``g.rule`` holds the rule and its per-signature caches.
    """

    def __init__(self, rule: ImplicitRule) -> None:
        self.rule = rule
        functools.update_wrapper(self, rule.f)

    def __repr__(self) -> str:
        return f"<implicit function {self.rule.describe_rule()}>"

    def __call__(self, x: Any, *contexts: Any) -> Any:
        import importlib

        from ..bridge import _numpy_call, flatten_input, host_of

        rule = self.rule.bind(contexts) if contexts else self.rule
        leaves, td = flatten_input(x)
        host = host_of(leaves, rule)
        if host is None:
            return rule.value_tree(*_numpy_call(rule, leaves, td))
        return importlib.import_module(f"anydiff.bridge.{host}").call(rule, leaves, td)


def implicit_function(
    solver: Callable,
    conditions: Callable,
    backend: Any,
    *,
    linear_solver: str | Callable = "direct",
    linear_solver_options: dict | None = None,
    has_aux: bool = False,
    residual_tol: float | None = None,
) -> ImplicitFunction:
    """``g`` with ``g(x) = solver(x)`` whose derivatives come from ``conditions(x, y) = 0``.

    ``solver(x, *contexts) -> y`` is any black box (``scipy.optimize``, a C library, a loop) on
    NumPy pytrees; ``conditions(x, y, *contexts) -> c`` holds (``c = 0``) at ``y = solver(x)``, has
    one residual per component of ``y`` (any shapes, raveled in pytree order) and is written for
    ``backend``, which differentiates it (prepared once per input signature, thread-safely).
    Derivatives (implicit function theorem, ``A = ∂c/∂y``, ``B = ∂c/∂x`` at the solver's answer):
    pushforward ``v`` solves ``A v = -B t``; pullback ``-Bᴴ u`` with ``Aᴴ u = w``.

    ``linear_solver``: ``"direct"`` (``A`` formed by ``jacobian`` on ``backend``, dense, or sparse
    with ``AutoSparse``, LU-factorised once per point for all tangents), ``"gmres"`` / ``"cg"``
    (matrix-free on pushforwards / pullbacks of the conditions; ``cg`` needs a symmetric
    positive-definite ``A``), or a callable ``solve(op, b) -> v`` given a
    ``scipy.sparse.linalg.LinearOperator``. ``linear_solver_options`` go to scipy's solver
    (``rtol=1e-10``, ``atol=0.0`` by default; ``maxiter``, ``restart``, ``M``, ...); every
    iterative answer is checked against them (:class:`LinearSolverError` otherwise).
    ``has_aux=True``: ``solver`` returns ``(y, aux)``, ``g`` too; ``aux`` (numbers / numeric
    arrays) has zero derivative. ``residual_tol`` (default ``sqrt(eps)`` of the conditions' dtype):
    an :class:`ImplicitResidualWarning` when ``max|c(x, y)|`` exceeds it where a derivative is
    taken. A singular ``A`` raises :class:`NotDifferentiableError` (a ``numpy.linalg.LinAlgError``).
    First derivatives only: second derivatives raise ``UnsupportedError``.

    Example (the root of ``a y³ - y - 2 = 0`` by bisection; dy/da = -y³ / (3 a y² - 1)):
        >>> import numpy as np, anydiff as ad
        >>> from scipy.optimize import brentq
        >>> solver = lambda a: brentq(lambda y: a * y**3 - y - 2, 0.0, 3.0, xtol=1e-14)
        >>> g = ad.implicit_function(solver, lambda a, y: a * y**3 - y - 2, "engine")
        >>> round(float(ad.derivative(g, "autograd", 2.0)), 4)
        -0.2214
    """
    return ImplicitFunction(ImplicitRule(
        solver, conditions, backend, linear_solver=linear_solver,
        linear_solver_options=linear_solver_options, has_aux=has_aux, residual_tol=residual_tol,
    ))
