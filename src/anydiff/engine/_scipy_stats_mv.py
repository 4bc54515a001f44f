"""More multivariate ``scipy.stats`` densities for traced arguments: ``dirichlet`` (``logpdf``,
``pdf`` in ``x`` and ``alpha``) and ``multivariate_normal`` with ``allow_singular=True`` and a
constant singular covariance (in ``x`` and ``mean``).

SciPy's methods convert their input with ``np.asarray``; :mod:`._intercept` routes calls with
traced arguments here.  Each function first runs SciPy's own method on the plain values, so
invalid input (``x`` off the simplex, a covariance that is not positive semi-definite) raises
SciPy's own error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._errors import EngineError
from ._tracer import Traced, primal


def _primal_tree(v: Any) -> Any:
    return type(v)(_primal_tree(e) for e in v) if isinstance(v, (list, tuple)) else primal(v)


def _note(a: Any, why: str) -> None:
    if isinstance(a, Traced):  # a value-dependent check: a recorded tape re-traces
        a._escape(why)


def _operand(a: Any) -> Any:
    from ._rules_core import as_operand

    return a if isinstance(a, Traced) else np.asarray(as_operand(a))


def dirichlet_logpdf(x: Any, alpha: Any) -> Any:
    """``Σ (α_i - 1) log x_i - (Σ log Γ(α_i) - log Γ(Σ α_i))``, along the first axis of ``x``.

    ``x`` holds ``K`` or ``K - 1`` entries along its first axis (the last one is then
    ``1 - Σ x``), as SciPy accepts; ``x`` of shape ``(K, n)`` gives ``n`` values.
    """
    import scipy.special as sp
    import scipy.stats as st

    from ._rules import ndim_of, shape_of

    with np.errstate(all="ignore"):
        st.dirichlet.logpdf(_primal_tree(x), _primal_tree(alpha))  # SciPy's checks of the input
    _note(x, "scipy.stats.dirichlet: SciPy's checks of x (on the simplex)")
    x, alpha = _operand(x), _operand(alpha)
    k = shape_of(alpha)[0]
    if shape_of(x)[0] == k - 1:
        x = np.concatenate([x, 1 - np.sum(x, axis=0, keepdims=True)], axis=0)
    a = np.reshape(alpha, (k,) + (1,) * (ndim_of(x) - 1))
    lnb = np.sum(sp.gammaln(alpha)) - sp.gammaln(np.sum(alpha))
    return np.sum(sp.xlogy(a - 1, x), axis=0) - lnb


def dirichlet_pdf(x: Any, alpha: Any) -> Any:
    """``exp(dirichlet.logpdf(x, alpha))``."""
    return np.exp(dirichlet_logpdf(x, alpha))


def mvn_singular_logpdf(x: Any, mean: Any, cov: Any) -> Any:
    """``multivariate_normal.logpdf(..., allow_singular=True)`` with a constant covariance.

    As SciPy: the eigenvalues above its threshold give the pseudo-inverse, the pseudo-
    determinant and the rank; points off the covariance's range (the support) get ``-inf``.
    ``x`` and ``mean`` are already ``(n, d)`` and ``(d,)``.  A traced covariance that is
    nonsingular gives ``None`` (the ordinary rule is then exact); a singular one raises.
    """
    c = primal(cov)
    if c is not cov:
        w = np.linalg.eigvalsh(c)
        if np.min(w) <= _threshold(w):
            raise EngineError(
                "scipy.stats.multivariate_normal with allow_singular=True and a singular covariance "
                "has no derivative rule in the covariance in anydiff.engine (its rank changes under "
                "perturbation); keep the covariance constant, or use backend 'finitediff'"
            )
        return None  # nonsingular: the ordinary rule is exact
    s, u = np.linalg.eigh(c)
    eps = _threshold(s)
    if np.min(s) < -eps:
        raise ValueError("the input matrix must be symmetric positive semidefinite")
    keep = s > eps
    U = u[:, keep] / np.sqrt(s[keep])
    rank, log_pdet = int(np.sum(keep)), float(np.sum(np.log(s[keep])))
    r = x - mean
    maha = np.sum((r @ U) ** 2, axis=-1)
    off = np.linalg.norm(primal(r) @ u[:, ~keep], axis=-1) >= 1e3 * eps  # off the support
    _note(r, "scipy.stats.multivariate_normal: whether x is in the support")
    out = -0.5 * (rank * math.log(2 * math.pi) + log_pdet + maha)
    return np.where(off, -np.inf, out)


def _threshold(s: np.ndarray) -> float:
    """SciPy's cut-off for zero eigenvalues of a covariance (``_eigvalsh_to_eps``)."""
    return 1e6 * np.finfo(np.float64).eps * float(np.max(np.abs(s)))
