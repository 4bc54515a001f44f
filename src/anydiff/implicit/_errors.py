"""Errors and warnings of implicit functions."""

from __future__ import annotations

import numpy as np

from .._errors import AnydiffError

__all__ = ["ImplicitResidualWarning", "LinearSolverError", "NotDifferentiableError"]


class NotDifferentiableError(AnydiffError, np.linalg.LinAlgError):
    """``∂c/∂y`` is singular at the solver's answer: the implicit function theorem does not apply,
    so the implicit function is not differentiable there (or the conditions do not determine y)."""


class LinearSolverError(AnydiffError, np.linalg.LinAlgError):
    """An iterative (or user-given) linear solver did not solve the implicit-function system to
    its tolerance: ``∂c/∂y`` may be singular or ill-conditioned, or need more iterations."""


class ImplicitResidualWarning(UserWarning):
    """``conditions(x, y)`` is not ≈ 0 at ``y = solver(x)``: the derivatives are those of the exact
    solution of the conditions, which the solver's answer is not."""
