"""``anydiff.optimize.least_squares``: ``scipy.optimize.least_squares`` with a prepared
(dense or sparse) Jacobian."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._contexts import Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError
from ._constraints import prepared_pair
from ._flat import FlatProblem

METHODS = ("trf", "dogbox", "lm")


def least_squares(
    fun: Callable,
    x0: Any,
    backend: Any,
    *contexts: Any,
    method: str = "trf",
    tr_solver: str | None = None,
    args: tuple = (),
    jac: Any = None,
    **kw: Any,
) -> Any:
    """Minimise ``0.5 * sum(fun(x, *contexts) ** 2)`` (or a robust loss of it) with
    ``scipy.optimize.least_squares`` and anydiff's Jacobian of ``fun`` on ``backend``.

    Args:
        fun: residuals ``fun(x, *contexts)``: an array of any shape (raveled) or a pytree of them;
            ``x`` has ``x0``'s structure, made of the backend's arrays.
        x0: a float, an array or a pytree of them (see ``anydiff.optimize.minimize``).
        backend: a backend name or object. With ``ad.AutoSparse(dense)`` the Jacobian is a
            ``scipy.sparse.csr_array`` computed by colouring: its pattern is passed as
            ``jac_sparsity``, ``tr_solver`` defaults to ``"lsmr"``, and ``res.jac`` is sparse
            (``method="lm"``, MINPACK's, takes dense matrices only: the sparse Jacobian is densified).
        *contexts: ``ad.Constant`` / ``ad.Cache`` arguments of ``fun`` (``args=`` as Constants).
        method: ``"trf"`` (default), ``"dogbox"`` or ``"lm"``.
        tr_solver: SciPy's; default ``"lsmr"`` with AutoSparse, else SciPy's default.
        **kw: every other ``scipy.optimize.least_squares`` argument (``bounds``, ``loss``,
            ``f_scale``, ``x_scale``, ``max_nfev``, ``verbose``, ``callback``, ...), on the flat
            vector. ``jac`` is refused (anydiff computes it).

    Returns:
        SciPy's ``OptimizeResult`` with ``x`` in ``x0``'s structure and array types and
        ``x_flat`` the flat vector; ``fun``, ``jac``, ``grad`` stay SciPy's flat arrays. Each
        point costs one prepared ``value_and_jacobian`` (the residuals and Jacobian together).

    Example:
        >>> import numpy as np, anydiff as ad
        >>> res = ad.optimize.least_squares(lambda x: x**2 - np.array([1.0, 4.0]), np.ones(2), "engine")
        >>> np.round(res.x, 8)
        array([1., 2.])
    """
    import scipy.optimize

    if jac is not None:
        raise AnydiffTypeError("jac= is computed by anydiff; call scipy.optimize.least_squares for yours.")
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise AnydiffValueError(f"Unknown method {method!r}: valid methods are {', '.join(METHODS)}.")
    method = method.lower()
    if "jac_sparsity" in kw:
        raise AnydiffTypeError(
            "jac_sparsity= comes from the backend: use ad.AutoSparse(dense) for a sparse Jacobian."
        )
    contexts = contexts + tuple(a if isinstance(a, Context) else Constant(a) for a in args)
    problem = FlatProblem(x0)
    from ._objective import split_backend

    _, _, sparse = split_backend(backend)
    value, jacobian, memo = prepared_pair(fun, contexts, problem, backend, dense=not sparse or method == "lm")
    extra: dict[str, Any] = {}
    if sparse and method != "lm":
        J0 = memo.get(problem.x0)[1]  # SciPy's first request: served from the cache
        extra["jac_sparsity"] = _pattern(J0)
        tr_solver = tr_solver or "lsmr"
    if tr_solver is not None:
        extra["tr_solver"] = tr_solver
    res = scipy.optimize.least_squares(value, problem.x0.copy(), jac=jacobian, method=method, **extra, **kw)
    res.x_flat = res.x
    res.x = problem.to_caller(res.x)
    return res


def _pattern(J: Any) -> Any:
    """The structure of a CSR Jacobian (explicit zeros included) as a 0/1 sparse array."""
    import numpy as np
    import scipy.sparse

    return scipy.sparse.csr_array((np.ones(J.indices.size), J.indices, J.indptr), shape=J.shape)
