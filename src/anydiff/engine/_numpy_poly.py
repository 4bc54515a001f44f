"""Polynomials: ``np.polyfit``, ``np.polyder``, ``np.polyint``, and the ``numpy.polynomial``
evaluators (``polyval``, ``chebval``, ``legval``, ``hermval``, ``hermeval``, ``lagval``, by
Clenshaw's recurrence).

All are compositions of operations with rules.  ``polyfit`` is NumPy's scaled least-squares
problem (differentiated at constant rank, like ``lstsq``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import implements
from ._numpy_compose import _arr
from ._tracer import Traced


@implements(np.polyfit)
def _polyfit(
    x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None, cov: Any = False
) -> Any:
    if full or cov:
        raise no_rule("np.polyfit with full=True or cov=")
    x, y = _arr(x), _arr(y)
    if not isinstance(x, Traced):
        x = np.asarray(x, dtype=float)
    lhs = x[:, None] ** np.arange(deg, -1, -1)
    rhs = y
    if w is not None:
        lhs = lhs * w[:, None]
        rhs = rhs * (w if R.ndim_of(rhs) == 1 else w[:, None])
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))  # NumPy's column scaling (its rcond too)
    n = R.shape_of(x)[0]
    rc = n * np.finfo(float).eps if rcond is None else rcond
    c = np.linalg.lstsq(lhs / scale, rhs, rcond=rc)[0]
    return c / (scale if R.ndim_of(c) == 1 else scale[:, None])


@implements(np.polyder)
def _polyder(p: Any, m: int = 1) -> Any:
    p = _arr(p)
    for _ in range(m):
        n = R.shape_of(p)[0] - 1
        p = p[:-1] * np.arange(n, 0, -1) if n > 0 else p[:1] * 0.0
    return p


@implements(np.polyint)
def _polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    p = _arr(p)
    ks = np.zeros(m) if k is None else np.atleast_1d(_arr(k)) * np.ones(m)
    for i in range(m):
        n = R.shape_of(p)[0]
        p = np.concatenate([p / np.arange(n, 0, -1), np.reshape(ks[i], (1,))])
    return p


# ---------------------------------------------------------------------------- numpy.polynomial


def _clenshaw(x: Any, c: Any, alpha: Callable, beta: Callable, first: Callable) -> Any:
    """``Σ c_k P_k(x)`` for ``P_{k+1} = alpha(k, x) P_k + beta(k) P_{k-1}`` (k >= 1), ``P_1 = first(x)``
    (``P_0 = 1``), by Clenshaw's recurrence; ``c`` runs over its first axis, as NumPy."""
    c = _arr(c)
    x = _arr(x)
    n = R.shape_of(c)[0]
    if R.ndim_of(c) > 1:  # NumPy's tensor=True: x's shape, then c's trailing axes
        x = np.reshape(x, R.shape_of(x) + (1,) * (R.ndim_of(c) - 1))
    b1: Any = 0.0 * x
    b2: Any = 0.0 * x
    for k in range(n - 1, 0, -1):
        b1, b2 = c[k] + alpha(k, x) * b1 + beta(k + 1) * b2, b1
    # P_1 = first(x) = alpha(0, x) * P_0 in every family but Chebyshev's (P_1 = x, not 2x)
    return c[0] + first(x) * b1 + beta(1) * b2


def _polyval_inc(x: Any, c: Any, tensor: bool = True) -> Any:
    return _clenshaw(x, c, lambda k, x: x, lambda k: 0.0, lambda x: x)


def _chebval(x: Any, c: Any, tensor: bool = True) -> Any:
    return _clenshaw(x, c, lambda k, x: 2 * x, lambda k: -1.0, lambda x: x)


def _legval(x: Any, c: Any, tensor: bool = True) -> Any:
    # (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
    return _clenshaw(x, c, lambda k, x: (2 * k + 1) / (k + 1) * x, lambda k: -k / (k + 1), lambda x: x)


def _hermval(x: Any, c: Any, tensor: bool = True) -> Any:
    # H_{k+1} = 2x H_k - 2k H_{k-1} (physicists')
    return _clenshaw(x, c, lambda k, x: 2 * x, lambda k: -2.0 * k, lambda x: 2 * x)


def _hermeval(x: Any, c: Any, tensor: bool = True) -> Any:
    # He_{k+1} = x He_k - k He_{k-1} (probabilists')
    return _clenshaw(x, c, lambda k, x: x, lambda k: -float(k), lambda x: x)


def _lagval(x: Any, c: Any, tensor: bool = True) -> Any:
    # (k+1) L_{k+1} = (2k+1-x) L_k - k L_{k-1}
    return _clenshaw(x, c, lambda k, x: (2 * k + 1 - x) / (k + 1), lambda k: -k / (k + 1), lambda x: 1 - x)


def _check_tensor(fn: Callable) -> Callable:
    def impl(x: Any, c: Any, tensor: bool = True) -> Any:
        if not tensor and R.ndim_of(_arr(c)) > 1:
            raise no_rule(f"numpy.polynomial {fn.__name__.lstrip('_')} with tensor=False")
        return fn(x, c)

    return impl


#: numpy.polynomial evaluators (Python functions that convert with np.asarray: routed like SciPy's)
POLYNOMIAL: dict[str, dict[str, Callable]] = {
    "numpy.polynomial.polynomial": {"polyval": _check_tensor(_polyval_inc)},
    "numpy.polynomial.chebyshev": {"chebval": _check_tensor(_chebval)},
    "numpy.polynomial.legendre": {"legval": _check_tensor(_legval)},
    "numpy.polynomial.hermite": {"hermval": _check_tensor(_hermval)},
    "numpy.polynomial.hermite_e": {"hermeval": _check_tensor(_hermeval)},
    "numpy.polynomial.laguerre": {"lagval": _check_tensor(_lagval)},
}
