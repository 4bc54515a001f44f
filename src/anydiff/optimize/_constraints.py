"""Constraints for ``minimize``: anydiff-differentiable constraint functions get prepared
Jacobians; SciPy's own constraint objects pass through unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import to_numpy
from .._contexts import Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError
from .._operators import OPERATORS
from .._prep import prepare
from .._pytree import tree_flatten
from ._flat import FlatProblem
from ._memo import LastPoint
from ._objective import split_backend


class NonlinearConstraint:
    """``lb <= fun(x, *contexts) <= ub`` with ``fun`` differentiated by the optimiser's backend.

    ``fun`` receives ``x`` in ``x0``'s structure (the backend's arrays, like ``f``) and returns an
    array of any shape (or a scalar); ``lb`` / ``ub`` are scalars or arrays of its size (raveled;
    ``-np.inf`` / ``np.inf`` for a missing side; ``lb == ub`` for an equality).
    ``anydiff.optimize.minimize`` turns it into a ``scipy.optimize.NonlinearConstraint`` whose
    value and Jacobian come from one prepared ``value_and_jacobian`` per point (a sparse Jacobian
    with ``AutoSparse`` for trust-constr, dense for SLSQP). ``hess`` is SciPy's constraint
    ``hess`` for trust-constr (default: SciPy's ``BFGS()`` update); ``keep_feasible`` as SciPy's.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> from anydiff.optimize import NonlinearConstraint, minimize
        >>> disk = NonlinearConstraint(lambda x: (x**2).sum(), -np.inf, 1.0)   # |x|^2 <= 1
        >>> res = minimize(lambda x: ((x - 2.0) ** 2).sum(), np.zeros(2), "engine",
        ...                method="SLSQP", constraints=[disk])
        >>> np.round(res.x, 6)
        array([0.707107, 0.707107])
    """

    def __init__(
        self, fun: Callable, lb: Any, ub: Any, *contexts: Any, keep_feasible: Any = False,
        hess: Any = None,
    ) -> None:
        if not callable(fun):
            raise AnydiffTypeError(f"NonlinearConstraint: fun must be callable, got {type(fun).__name__}.")
        self.fun, self.lb, self.ub, self.contexts = fun, lb, ub, contexts
        self.keep_feasible, self.hess = keep_feasible, hess

    def __repr__(self) -> str:
        return f"NonlinearConstraint({getattr(self.fun, '__name__', 'fun')}, lb={self.lb}, ub={self.ub})"


def prepared_pair(
    fun: Callable, contexts: tuple, problem: FlatProblem, backend: Any, *, dense: bool
) -> tuple[Callable, Callable, LastPoint]:
    """``(value, jacobian)`` SciPy callables on flat vectors sharing one prepared
    ``value_and_jacobian`` per point: values raveled to ``(m,)``, Jacobians ``(m, n)`` (a
    ``csr_array`` with AutoSparse unless ``dense``)."""
    g = problem.wrap(fun)
    b, _, sparse = split_backend(backend)
    prep = prepare(OPERATORS["jacobian"], g, b, problem.x0, contexts, value=True)
    n = problem.size

    def compute(v: np.ndarray) -> tuple[np.ndarray, Any]:
        y, J = prep.value_and_jacobian(v, *contexts)
        y = _ravel(y)
        if sparse:
            J = J.toarray() if dense else J
        else:
            J = np.asarray(J, dtype=np.float64).reshape(-1, n)
        return y, J

    memo = LastPoint(compute)
    return memo.part(0), memo.part(1), memo


def _ravel(y: Any) -> np.ndarray:
    """A value (array, float or pytree of them, in dict-key order) as a flat float64 vector."""
    if isinstance(y, np.ndarray):
        return np.asarray(y, dtype=np.float64).reshape(-1)
    leaves, _ = tree_flatten(y)
    parts = [np.asarray(to_numpy(a), dtype=np.float64).reshape(-1) for a in leaves]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def convert_constraints(constraints: Any, problem: FlatProblem, backend: Any, method: str) -> Any:
    """The ``constraints=`` argument as SciPy takes it (see ``minimize``'s docstring)."""
    if constraints is None:
        return ()
    single = isinstance(constraints, (dict, NonlinearConstraint)) or not isinstance(
        constraints, (list, tuple)
    )
    items = [constraints] if single else list(constraints)
    sparse_ok = method == "trust-constr"
    out = []
    for i, c in enumerate(items):
        if isinstance(c, NonlinearConstraint):
            from scipy.optimize import BFGS
            from scipy.optimize import NonlinearConstraint as SciPyNonlinear

            value, jac, _ = prepared_pair(c.fun, c.contexts, problem, backend, dense=not sparse_ok)
            out.append(SciPyNonlinear(
                value, c.lb, c.ub, jac=jac, hess=c.hess if c.hess is not None else BFGS(),
                keep_feasible=c.keep_feasible,
            ))
        elif isinstance(c, dict):
            out.append(_convert_dict(c, i, problem, backend, sparse_ok))
        else:  # SciPy's NonlinearConstraint / LinearConstraint: on SciPy's flat x, as given
            out.append(c)
    return out


def _convert_dict(c: dict, i: int, problem: FlatProblem, backend: Any, sparse_ok: bool) -> dict:
    extra = set(c) - {"type", "fun", "args"}
    if "jac" in extra:
        raise AnydiffValueError(
            f"constraints[{i}] has a 'jac': anydiff differentiates dict constraints itself. Drop "
            "'jac', or pass a scipy.optimize.NonlinearConstraint, which goes to SciPy unchanged "
            "(its functions then see SciPy's flat NumPy x)."
        )
    if extra:
        raise AnydiffValueError(
            f"constraints[{i}] has unknown keys {sorted(extra)}; use 'type', 'fun', 'args'."
        )
    if c.get("type") not in ("eq", "ineq"):
        raise AnydiffValueError(f"constraints[{i}]['type'] must be 'eq' or 'ineq', got {c.get('type')!r}.")
    if not callable(c.get("fun")):
        raise AnydiffTypeError(f"constraints[{i}]['fun'] must be callable.")
    contexts = tuple(a if isinstance(a, Context) else Constant(a) for a in c.get("args", ()))
    value, jac, _ = prepared_pair(c["fun"], contexts, problem, backend, dense=not sparse_ok)
    return {"type": c["type"], "fun": value, "jac": jac}
