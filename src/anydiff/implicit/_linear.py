"""The linear systems of the implicit function theorem, on flat NumPy vectors.

With ``A = ∂c/∂y`` (square, ``m × m``) at the solver's answer, pushforwards solve ``A V = R`` and
pullbacks the adjoint system ``Aᴴ U = W``, each for a stack of right-hand sides (rows of a
``(k, m)`` array). Three kinds of solver:

* :class:`DenseDirect`: LU factorisation of a dense ``A`` (``scipy.linalg.lu_factor``), made once
  per point and reused for every right-hand side and both systems; singular when LAPACK's
  reciprocal condition number estimate is below ``10·eps``.
* :class:`SparseDirect`: ``scipy.sparse.linalg.splu`` of a sparse ``A`` (``AutoSparse`` backends).
* :class:`MatrixFree`: ``gmres`` / ``cg`` (or a user's callable) on a ``LinearOperator`` whose
  products are pushforwards / pullbacks of the conditions, one solve per right-hand side, each
  result checked with one more product (true residual), so that no unconverged answer escapes.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import LinearSolverError, NotDifferentiableError

#: default tolerances of the iterative solvers (scipy's keywords ``rtol`` / ``atol``)
DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 0.0

# SciPy's bundled OpenBLAS (0.3.30 here) corrupts its heap when dense LAPACK routines (getrf,
# getrs, gecon) run in several Python threads at once with its own thread pool on (reproduced with
# plain ``scipy.linalg.lu_solve`` in four threads; see scipy issue 24009). A prep, and so an
# implicit function, may be called from several threads; the dense factorisations and solves are
# short, so they take turns.
_LAPACK_LOCK = threading.Lock()


def _singular(where: str, why: str) -> NotDifferentiableError:
    return NotDifferentiableError(
        f"the implicit function {where} is not differentiable at this x: ∂c/∂y (the Jacobian of "
        f"the conditions with respect to y at y = solver(x)) is singular ({why}), so the implicit "
        "function theorem does not apply (the conditions do not determine y locally, or y is a "
        "degenerate root). Check the conditions (one equation per component of y, independent), "
        "or differentiate elsewhere."
    )


class DenseDirect:
    """LU of a dense ``A`` (``(m, m)``), for both ``A V = R`` and ``Aᴴ U = W``."""

    def __init__(self, A: np.ndarray, where: str) -> None:
        import scipy.linalg as sl

        A = np.asarray(A)
        m = A.shape[0]
        if m == 0:
            self.lu = None
            return
        finite = bool(np.all(np.isfinite(A)))
        if finite and not np.any(A):
            raise _singular(where, "it is zero")
        # check_finite=False: NaN / inf in ∂c/∂y propagate into the derivatives, never masked.
        # scipy's LinAlgWarning on an exactly singular A is replaced by the error below.
        with _LAPACK_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", sl.LinAlgWarning)
            self.lu = sl.lu_factor(A, check_finite=False)
            if finite:
                gecon = sl.get_lapack_funcs("gecon", (self.lu[0],))
                anorm = float(np.linalg.norm(A, 1))
                rcond, _ = gecon(self.lu[0], anorm, norm="1")
        if finite:
            eps = np.finfo(A.dtype).eps
            if not rcond >= 10 * eps:
                raise _singular(where, f"reciprocal condition number {rcond:.2g} < 10·eps = "
                                       f"{10 * eps:.2g}")

    def solve(self, R: np.ndarray, adjoint: bool) -> np.ndarray:
        """Rows of ``R`` (``(k, m)``) -> rows of ``A⁻¹ R`` (or ``A⁻ᴴ R``)."""
        if self.lu is None or R.shape[0] == 0:
            return np.zeros(R.shape, dtype=R.dtype)
        import scipy.linalg as sl

        with _LAPACK_LOCK:
            return sl.lu_solve(self.lu, R.T, trans=2 if adjoint else 0, check_finite=False).T


class SparseDirect:
    """``splu`` of a sparse ``A``, for both systems."""

    def __init__(self, A: Any, where: str) -> None:
        import scipy.sparse as sp
        import scipy.sparse.linalg as spl

        A = sp.csc_matrix(A)
        self.m = A.shape[0]
        if self.m == 0:
            self.lu = None
            return
        try:
            self.lu = spl.splu(A)
        except RuntimeError as e:  # "Factor is exactly singular"
            raise _singular(where, f"SuperLU: {e}") from e

    def solve(self, R: np.ndarray, adjoint: bool) -> np.ndarray:
        if self.lu is None or R.shape[0] == 0:
            return np.zeros(R.shape, dtype=R.dtype)
        X = self.lu.solve(np.ascontiguousarray(R.T), trans="H" if adjoint else "N")
        return np.asarray(X).reshape(R.T.shape).T


def _scipy_solver(name: str) -> Callable:
    import scipy.sparse.linalg as spl

    return {"gmres": spl.gmres, "cg": spl.cg}[name]


class MatrixFree:
    """``gmres`` / ``cg`` / a callable on ``LinearOperator`` s made of the conditions' products.

    ``matvec(v)`` is ``A v`` (a pushforward of the conditions in y), ``rmatvec(u)`` is ``Aᴴ u``
    (a pullback). ``solver`` is ``"gmres"``, ``"cg"`` or ``callable(op, b) -> v``; ``options`` go
    to scipy's solver (``rtol``, ``atol``, ``maxiter``, ``restart``, ``M``, ...).
    """

    def __init__(self, solver: Any, options: dict, m: int, dtype: np.dtype, matvec: Callable,
                 rmatvec: Callable, where: str) -> None:
        self.solver, self.m, self.dtype = solver, m, np.dtype(dtype)
        self.matvec, self.rmatvec, self.where = matvec, rmatvec, where
        self.options = dict(options)
        self.rtol = float(self.options.setdefault("rtol", DEFAULT_RTOL))
        self.atol = float(self.options.setdefault("atol", DEFAULT_ATOL))

    def _operator(self, adjoint: bool) -> Any:
        from scipy.sparse.linalg import LinearOperator

        mv, rmv = (self.rmatvec, self.matvec) if adjoint else (self.matvec, self.rmatvec)
        return LinearOperator((self.m, self.m), matvec=mv, rmatvec=rmv, dtype=self.dtype)

    def solve(self, R: np.ndarray, adjoint: bool) -> np.ndarray:
        op = self._operator(adjoint)
        rows = [self._solve_one(op, R[j], adjoint) for j in range(R.shape[0])]
        return np.stack(rows) if rows else np.zeros(R.shape, dtype=R.dtype)

    def _solve_one(self, op: Any, b: np.ndarray, adjoint: bool) -> np.ndarray:
        bnorm = float(np.linalg.norm(b))
        if bnorm == 0.0:
            return np.zeros_like(b)
        system = "adjoint system (∂c/∂y)ᴴ u = w" if adjoint else "system (∂c/∂y) v = -(∂c/∂x) t"
        if callable(self.solver):
            name = getattr(self.solver, "__name__", "the linear solver")
            v = np.asarray(self.solver(op, b))
            if v.shape != b.shape:
                raise LinearSolverError(
                    f"{name} (linear_solver of {self.where}) returned shape {v.shape} for a "
                    f"right-hand side of shape {b.shape}; it must return the solution vector.")
            info = 0
        else:
            name = self.solver
            v, info = _scipy_solver(self.solver)(op, b, **self.options)
            v = np.asarray(v)
        # the true residual, one more product: gmres' estimate, cg on a non-symmetric A or a
        # callable may claim convergence wrongly, and a wrong solve is a wrong derivative
        res = float(np.linalg.norm(op.matvec(v) - b))
        eps = np.finfo(self.dtype).eps
        bound = 10 * (self.rtol * bnorm + self.atol) + 100 * eps * bnorm
        if info != 0 or not res <= bound:
            hint = (" cg needs a symmetric (Hermitian) positive-definite ∂c/∂y (e.g. conditions = "
                    "gradient of a convex objective); use linear_solver='gmres' otherwise."
                    if self.solver == "cg" else "")
            raise LinearSolverError(
                f"{name} did not solve the {system} of {self.where} (info={info}, residual "
                f"{res:.3g} > {bound:.3g} = 10·(rtol·|b| + atol) + rounding with rtol={self.rtol:g}, "
                f"atol={self.atol:g}). ∂c/∂y may be singular there (the implicit function is then "
                "not differentiable) or ill-conditioned; raise maxiter / loosen rtol in "
                f"linear_solver_options, or use linear_solver='direct'.{hint}"
            )
        return v.astype(b.dtype, copy=False)
