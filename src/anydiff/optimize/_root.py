"""``anydiff.optimize.root``: ``scipy.optimize.root`` with a prepared Jacobian."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._contexts import Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError
from ._constraints import prepared_pair
from ._flat import FlatProblem

# The scipy.optimize.root methods that take a Jacobian (both MINPACK: dense matrices).
METHODS = ("hybr", "lm")
JACOBIAN_FREE = (
    "broyden1", "broyden2", "anderson", "linearmixing", "diagbroyden", "excitingmixing", "krylov",
    "df-sane",
)


def root(
    fun: Callable,
    x0: Any,
    backend: Any,
    *contexts: Any,
    method: str = "hybr",
    args: tuple = (),
    jac: Any = None,
    **kw: Any,
) -> Any:
    """Solve ``fun(x, *contexts) = 0`` with ``scipy.optimize.root`` and anydiff's Jacobian.

    Args:
        fun: ``fun(x, *contexts)`` with as many outputs (raveled) as ``x0`` has entries; ``x`` in
            ``x0``'s structure, made of the backend's arrays.
        x0: a float, an array or a pytree of them (see ``anydiff.optimize.minimize``).
        backend: a backend name or object; with ``ad.AutoSparse(dense)`` the Jacobian is computed
            sparsely (colouring) and densified for MINPACK, which takes dense matrices only.
        *contexts: ``ad.Constant`` / ``ad.Cache`` arguments of ``fun`` (``args=`` as Constants).
        method: ``"hybr"`` (default) or ``"lm"``, the methods that use a Jacobian.
        **kw: ``tol``, ``callback``, ``options`` as SciPy's (``callback`` gets SciPy's flat x).

    Returns:
        SciPy's ``OptimizeResult`` with ``x`` in ``x0``'s structure and types, ``x_flat`` the
        flat vector; ``fun`` and ``fjac`` stay SciPy's. Each point costs one prepared
        ``value_and_jacobian``.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> res = ad.optimize.root(lambda x: np.array([x[0] + x[1] - 3.0, x[0] * x[1] - 2.0]),
        ...                        np.array([0.5, 2.5]), "engine")
        >>> np.round(res.x, 8)
        array([1., 2.])
    """
    import scipy.optimize

    if jac is not None:
        raise AnydiffTypeError("jac= is computed by anydiff; call scipy.optimize.root for yours.")
    name = method.lower() if isinstance(method, str) else method
    if name in JACOBIAN_FREE:
        raise AnydiffValueError(
            f"method={method!r} uses no Jacobian, so anydiff has nothing to add: call "
            f"scipy.optimize.root(fun, x0, method={method!r}) directly. Methods that use one: "
            f"{', '.join(METHODS)}."
        )
    if name not in METHODS:
        raise AnydiffValueError(f"Unknown method {method!r}: valid methods are {', '.join(METHODS)}.")
    contexts = contexts + tuple(a if isinstance(a, Context) else Constant(a) for a in args)
    problem = FlatProblem(x0)
    value, jacobian, memo = prepared_pair(fun, contexts, problem, backend, dense=True)
    m = memo.get(problem.x0)[0].size  # SciPy's first request: served from the cache
    if m != problem.size:
        raise AnydiffValueError(
            f"root needs as many equations as unknowns: fun returned {m} values for {problem.size} "
            "unknowns. For an over- or under-determined system use anydiff.optimize.least_squares."
        )
    res = scipy.optimize.root(value, problem.x0.copy(), method=name, jac=jacobian, **kw)
    res.x_flat = res.x
    res.x = problem.to_caller(res.x)
    return res
