"""The prepared operators behind ``minimize``: one value-and-gradient, Hessian-vector products
and Hessians of ``f`` on SciPy's flat float64 vectors, each prepared once, lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import AnydiffValueError
from .._operators import OPERATORS, PUBLIC
from .._prep import prepare
from .._registry import resolve
from ._flat import FlatProblem
from ._memo import LastPoint


def split_backend(backend: Any) -> tuple[Any, Any, bool]:
    """``(backend, dense backend, is AutoSparse)``: AutoSparse computes sparse Jacobians and
    Hessians only; gradients and Hessian-vector products come from its dense backend."""
    b = resolve(backend)
    if type(b).__name__ == "AutoSparse":  # no import: sparse._autosparse loads scipy.sparse
        return b, b.dense, True
    return b, b, False


def scalar_checked(f: Callable, where: str) -> Callable:
    """``f`` raising an anydiff error that names the shape when it returns a non-scalar (checked on
    every call, traced or not: a getattr and a comparison)."""

    def checked(x: Any, *ctx: Any) -> Any:
        y = f(x, *ctx)
        shape = getattr(y, "shape", None)
        if shape is None and not isinstance(y, (int, float)):
            raise AnydiffValueError(
                f"{where} needs f to return a scalar, but f returned a {type(y).__name__}. Return "
                "one float (e.g. the sum of squares); for a vector of residuals use "
                "anydiff.optimize.least_squares, for a system of equations anydiff.optimize.root."
            )
        if shape is not None and tuple(shape) != ():
            raise AnydiffValueError(
                f"{where} needs f to return a scalar, but f returned an array of shape "
                f"{tuple(shape)}. To minimise a sum of squared residuals use "
                "anydiff.optimize.least_squares(fun, x0, backend); to solve fun(x) = 0 use "
                "anydiff.optimize.root; else reduce the output to one number."
            )
        return y

    checked.__name__ = getattr(f, "__name__", "f")
    checked.__qualname__ = getattr(f, "__qualname__", checked.__name__)
    return checked


class Objective:
    """``f`` on flat vectors with its prepared derivatives.

    ``fun(v)`` / ``jac(v)`` share one ``value_and_gradient`` per point (:class:`LastPoint`);
    ``hessp(v, p)`` is a prepared ``hvp``; ``hess(v)`` a prepared ``hessian`` (a
    ``scipy.sparse.csr_array`` with ``AutoSparse``, densified when ``dense=True``).
    """

    def __init__(self, f: Callable, problem: FlatProblem, backend: Any, contexts: tuple) -> None:
        self.backend, self.dense_backend, self.sparse = split_backend(backend)
        self.problem, self.contexts = problem, contexts
        self.f = scalar_checked(problem.wrap(f), "anydiff.optimize.minimize")
        # Only the value form is used: compile that one at preparation (JAX compiles per form).
        self._grad = prepare(OPERATORS["gradient"], self.f, self.dense_backend, problem.x0, contexts,
                             value=True)
        vg = self._grad.value_and_gradient
        if contexts:
            def compute(v: np.ndarray) -> tuple[float, np.ndarray]:
                y, g = vg(v, *contexts)
                return float(y), np.asarray(g, dtype=np.float64)
        else:  # the hot path: one array, no contexts
            def compute(v: np.ndarray) -> tuple[float, np.ndarray]:
                y, g = vg(v)
                return float(y), np.asarray(g, dtype=np.float64)
        self.memo = LastPoint(compute)
        self.fun = self.memo.part(0)
        self.jac = self.memo.part(1)
        self._hvp: Any = None
        self._hess_memo: LastPoint | None = None

    @property
    def evaluations(self) -> int:
        """How many points ``f`` was evaluated (with its gradient) at."""
        return self.memo.evaluations

    def hessp(self, v: np.ndarray, p: np.ndarray, *_: Any) -> np.ndarray:
        """Hessian-vector product ``H(v) p`` (SciPy's ``hessp``)."""
        if self.sparse:  # one sparse Hessian per point serves every product there
            return np.asarray(self.hess_sparse(v) @ p, dtype=np.float64)
        if self._hvp is None:
            self._hvp = PUBLIC["prepare_hvp"](
                self.f, self.dense_backend, self.problem.x0, np.zeros(self.problem.size), *self.contexts
            )
        return np.asarray(self._hvp(v, np.asarray(p, dtype=np.float64), *self.contexts), dtype=np.float64)

    def hess_sparse(self, v: np.ndarray) -> Any:
        """The Hessian at ``v``: sparse with AutoSparse, dense otherwise (cached per point)."""
        if self._hess_memo is None:
            prep = PUBLIC["prepare_hessian"](self.f, self.backend, self.problem.x0, *self.contexts)
            n, ctx = self.problem.size, self.contexts

            def compute(u: np.ndarray) -> tuple:
                H = prep(u, *ctx)
                return (H if self.sparse else np.asarray(H, dtype=np.float64).reshape(n, n),)

            self._hess_memo = LastPoint(compute)
        return self._hess_memo.get(v)[0]

    def hess(self, v: np.ndarray, *_: Any) -> Any:
        """SciPy's ``hess`` for methods that accept sparse Hessians (trust-constr)."""
        return self.hess_sparse(v)

    def hess_dense(self, v: np.ndarray, *_: Any) -> np.ndarray:
        """SciPy's ``hess`` for methods that need a dense matrix (dogleg, trust-exact)."""
        H = self.hess_sparse(v)
        return H.toarray() if self.sparse else H
