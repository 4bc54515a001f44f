"""``anydiff.optimize.minimize``: ``scipy.optimize.minimize`` fed by prepared operators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._contexts import Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError
from ._constraints import convert_constraints
from ._flat import FlatProblem
from ._objective import Objective
from ._progress import Progress, wrap_callback

# What each SciPy method is given. "hessp": a prepared hvp (matrix-free); "hess": a prepared
# Hessian (dense); "hess_or_sparse": a prepared Hessian, sparse with AutoSparse, else the hvp.
HESSIAN_USE = {
    "cg": None, "bfgs": None, "l-bfgs-b": None, "tnc": None, "slsqp": None,
    "newton-cg": "hessp", "trust-ncg": "hessp", "trust-krylov": "hessp",
    "trust-constr": "hess_or_sparse", "dogleg": "hess", "trust-exact": "hess",
}
DERIVATIVE_FREE = ("nelder-mead", "powell", "cobyla", "cobyqa")


def method_name(method: Any, bounds: Any, constraints: Any) -> str | Callable:
    """SciPy's method name in lower case (SciPy's default when None), or a callable method."""
    if method is None:  # SciPy's own default rule
        if constraints:
            return "slsqp"
        return "l-bfgs-b" if bounds is not None else "bfgs"
    if callable(method):
        return method
    if not isinstance(method, str):
        raise AnydiffTypeError(f"method must be a string or a callable, got {type(method).__name__}.")
    name = method.lower()
    if name in DERIVATIVE_FREE:
        raise AnydiffValueError(
            f"method={method!r} uses no derivatives, so anydiff has nothing to add: call "
            f"scipy.optimize.minimize(f, x0, method={method!r}) directly. Methods that use "
            f"derivatives: {', '.join(_NAMES)}."
        )
    if name not in HESSIAN_USE:
        raise AnydiffValueError(f"Unknown method {method!r}: valid methods are {', '.join(_NAMES)}.")
    return name


_NAMES = ["CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP", "Newton-CG", "trust-ncg", "trust-krylov",
          "trust-constr", "dogleg", "trust-exact"]


def minimize(
    f: Callable,
    x0: Any,
    backend: Any,
    *contexts: Any,
    method: str | Callable | None = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable | None = None,
    options: dict | None = None,
    disp: bool | None = None,
    progress: bool = False,
    hess: Any = None,
    hessp: Any = None,
    args: tuple = (),
    jac: Any = None,
) -> Any:
    """Minimise a scalar ``f(x, *contexts)`` with ``scipy.optimize.minimize`` and anydiff's
    derivatives of ``f`` on ``backend``.

    Args:
        f: ``f(x, *contexts) -> scalar``; ``x`` has ``x0``'s structure and is made of the backend's
            arrays (as for every anydiff operator).
        x0: starting point: a float, an array (NumPy, JAX, torch) or a pytree of them (a dict of
            arrays and floats). Lists and tuples are pytree containers, as everywhere in anydiff:
            pass ``np.array([...])`` for a vector. SciPy works on the flat float64 vector of all
            leaves (dict keys sorted, each leaf raveled in C order); ``f`` sees float64 values.
        backend: a backend name or object. With ``ad.AutoSparse(dense)`` the gradient and
            Hessian-vector products come from ``dense`` and Hessians are sparse.
        *contexts: ``ad.Constant`` / ``ad.Cache`` arguments of ``f`` (bare values are Constants);
            ``args=`` is accepted too and appended as Constants.
        method: SciPy's method name (case-insensitive; SciPy's default when None: BFGS,
            L-BFGS-B with bounds, SLSQP with constraints) or a callable method.
            Derivative-free methods (Nelder-Mead, Powell, COBYLA, COBYQA) are refused.
        bounds, tol, options: as SciPy's, on the flat vector.
        constraints: a dict ``{"type": "eq" | "ineq", "fun": c, "args": (...)}`` or an
            :class:`anydiff.optimize.NonlinearConstraint`, whose ``c`` takes ``x`` in ``x0``'s
            structure and is differentiated by ``backend`` (prepared Jacobian), or SciPy's
            constraint objects, passed unchanged (their functions see SciPy's flat NumPy ``x``);
            or a list of them.
        callback: SciPy's meaning, with ``x`` in ``x0``'s structure and types: ``callback(xk)``,
            ``callback(intermediate_result=res)`` (``res.x`` converted), or for trust-constr
            ``callback(xk, state)``. Raising ``StopIteration`` stops, as in SciPy.
        disp: SciPy's ``options["disp"]``.
        progress: show a tqdm bar of iterations with the objective.
        hess, hessp: your own Hessian for SciPy (e.g. ``scipy.optimize.BFGS()`` for trust-constr),
            given to SciPy unchanged instead of anydiff's.
        jac: refused (anydiff computes the gradient); call ``scipy.optimize.minimize`` for yours.

    Returns:
        SciPy's ``OptimizeResult`` (``fun``, ``nfev``, ``njev``, ``nhev``, ``nit``, ``message``,
        ...) with ``x`` in ``x0``'s structure and array types, and ``x_flat``, SciPy's flat
        vector. Other array fields (``jac``, ``hess_inv``) stay SciPy's flat NumPy arrays.
        ``f`` is evaluated once per point: its value and gradient come from one prepared
        ``value_and_gradient``.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> rosen = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        >>> res = ad.optimize.minimize(rosen, np.zeros(3), "engine", method="L-BFGS-B")
        >>> np.round(res.x, 4), res.success
        (array([1., 1., 1.]), True)
    """
    import scipy.optimize

    if jac is not None:
        raise AnydiffTypeError(
            "jac= is computed by anydiff from f; to use your own gradient call "
            "scipy.optimize.minimize(f, x0, jac=...) directly."
        )
    contexts = contexts + tuple(a if isinstance(a, Context) else Constant(a) for a in args)
    name = method_name(method, bounds, constraints)
    problem = FlatProblem(x0)
    obj = Objective(f, problem, backend, contexts)
    kw: dict[str, Any] = {"jac": obj.jac}
    use = HESSIAN_USE.get(name, "hessp") if isinstance(name, str) else "hessp"
    if hess is not None or hessp is not None:
        kw.update({k: v for k, v in (("hess", hess), ("hessp", hessp)) if v is not None})
    elif use == "hessp" or (use == "hess_or_sparse" and not obj.sparse):
        kw["hessp"] = obj.hessp
    elif use == "hess_or_sparse":
        kw["hess"] = obj.hess
    elif use == "hess":
        kw["hess"] = obj.hess_dense
    scipy_constraints = convert_constraints(constraints, problem, backend, name)
    if scipy_constraints:
        kw["constraints"] = scipy_constraints
    opts = dict(options or {})
    if disp is not None:
        opts["disp"] = disp
    bar = None
    if progress:
        total = opts.get("maxiter")
        label = name if isinstance(name, str) else "custom"
        bar = Progress(int(total) if total is not None else None, f"minimize ({label})")

    def last_value(v: Any) -> float | None:
        hit = obj.memo.peek(v)
        return None if hit is None else hit[0]

    cb = wrap_callback(callback, bar, problem, name if isinstance(name, str) else "", last_value)
    try:
        res = scipy.optimize.minimize(
            obj.fun, problem.x0.copy(), method=name, bounds=bounds, tol=tol, callback=cb,
            options=opts, **kw,
        )
    finally:
        if bar is not None:
            bar.close()
    res.x_flat = res.x
    res.x = problem.to_caller(res.x)
    return res
