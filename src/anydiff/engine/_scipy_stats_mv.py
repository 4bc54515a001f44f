"""Multivariate ``scipy.stats`` densities for traced arguments: ``dirichlet`` (``logpdf``,
``pdf`` in ``x`` and ``alpha``), ``multinomial`` (``logpmf``, ``pmf``), ``multivariate_normal``
with ``allow_singular=True`` and a constant singular covariance (in ``x`` and ``mean``), and
``gaussian_kde`` evaluated at traced points, and ``multivariate_normal(mean, cov)`` frozen
with a traced mean or cov (:class:`MVNFrozen`); :func:`multivariate_methods` lists the methods
routed here (also of the frozen distributions).

SciPy's methods convert their input with ``np.asarray``; :mod:`._intercept` routes calls with
traced arguments here.  Each function first runs SciPy's own method on the plain values, so
invalid input (``x`` off the simplex, a covariance that is not positive semi-definite) raises
SciPy's own error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
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


# ---------------------------------------------------------------------------- multivariate


def multinomial_logpmf(x: Any, n: Any, p: Any) -> Any:
    """``log n! - Σ log x_i! + Σ x_i log p_i`` (``x``: counts along the last axis)."""
    import scipy.special as sp

    return (
        sp.gammaln(np.asarray(n) + 1.0)
        - np.sum(sp.gammaln(np.asarray(x) + 1.0), axis=-1)
        + np.sum(sp.xlogy(x, p), axis=-1)
    )


def multinomial_pmf(x: Any, n: Any, p: Any) -> Any:
    return np.exp(multinomial_logpmf(x, n, p))


def kde_logpdf(x: Any, kde: Any) -> Any:
    """``gaussian_kde.logpdf`` at traced points: ``log Σ_i w_i N(x; data_i, cov)`` (the data,
    weights and bandwidth are the fitted object's constants)."""
    import scipy.special as sp

    d = kde.d
    pts = np.reshape(x, (1, -1)) if np.ndim(x) <= 1 else x
    if R.shape_of(pts)[0] != d:
        if R.shape_of(pts)[0] == 1 and R.shape_of(pts)[1] == d:
            pts = np.reshape(pts, (d, 1))  # one point as a row vector, as SciPy
        else:
            raise ValueError(f"points have dimension {R.shape_of(pts)[0]}, dataset has dimension {d}")
    L = np.linalg.cholesky(kde.covariance)
    diff = pts[:, None, :] - kde.dataset[:, :, None]  # (d, n, m)
    z = np.linalg.solve(L, np.reshape(diff, (d, -1)))
    maha = np.reshape(np.sum(z * z, axis=0), R.shape_of(diff)[1:])
    lognorm = np.sum(np.log(np.diag(L))) + 0.5 * d * math.log(2 * math.pi)
    return sp.logsumexp(-0.5 * maha - lognorm, axis=0, b=kde.weights[:, None])


def kde_pdf(x: Any, kde: Any) -> Any:
    return np.exp(kde_logpdf(x, kde))


def _kde_self(self: Any) -> tuple:
    return (self,)


def _mvn_frozen(self: Any) -> tuple:
    return (self.mean, self.cov, self.allow_singular)


def _mvn_frozen_entropy(self: Any) -> tuple:
    return (self.mean, self.cov)


def _dirichlet_frozen(self: Any) -> tuple:
    return (self.alpha,)


def _multinomial_frozen(self: Any) -> tuple:
    return (self.n, self.p)


class MVNFrozen:
    """``multivariate_normal(mean, cov)`` with a traced mean or cov: ``logpdf``, ``pdf``, ``entropy``."""

    def __init__(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False, seed: Any = None):
        self.mean, self.cov, self.allow_singular = mean, cov, allow_singular

    def logpdf(self, x: Any) -> Any:
        from . import _scipy_stats as S

        return S.mvn_logpdf(x, self.mean, self.cov, self.allow_singular)

    def pdf(self, x: Any) -> Any:
        from . import _scipy_stats as S

        return S.mvn_pdf(x, self.mean, self.cov, self.allow_singular)

    def entropy(self) -> Any:
        from . import _scipy_stats as S

        return S.mvn_entropy(self.mean, self.cov)

    def __getattr__(self, name: str) -> Any:
        raise EngineError(
            f"scipy.stats.multivariate_normal(...).{name} with a traced mean or cov has no derivative "
            "rule in anydiff.engine (supported: logpdf, pdf, entropy); use backend 'finitediff'"
        )


def multivariate_methods() -> list[tuple[str, str, Callable, Callable | None]]:
    """``(class name in scipy.stats._multivariate, or gaussian_kde, method, rule, frozen
    parameters)``: the frozen classes (and fitted kernel density estimates) pass their own
    parameters after the call's arguments."""
    from ._scipy_stats import mvn_entropy, mvn_logpdf, mvn_pdf

    out: list[tuple[str, str, Callable, Callable | None]] = []
    for gen, frozen, pars, methods in (
        (
            "multivariate_normal",
            "multivariate_normal_frozen",
            _mvn_frozen,
            (("logpdf", mvn_logpdf), ("pdf", mvn_pdf), ("entropy", mvn_entropy)),
        ),
        (
            "dirichlet",
            "dirichlet_frozen",
            _dirichlet_frozen,
            (("logpdf", dirichlet_logpdf), ("pdf", dirichlet_pdf)),
        ),
        (
            "multinomial",
            "multinomial_frozen",
            _multinomial_frozen,
            (("logpmf", multinomial_logpmf), ("pmf", multinomial_pmf)),
        ),
    ):
        for m, impl in methods:
            out.append((f"{gen}_gen", m, impl, None))
            out.append((frozen, m, impl, _mvn_frozen_entropy if m == "entropy" else pars))
    out.append(("multivariate_normal_gen", "__call__", MVNFrozen, None))  # multivariate_normal(mean=traced)
    for m, impl in (("evaluate", kde_pdf), ("__call__", kde_pdf), ("pdf", kde_pdf), ("logpdf", kde_logpdf)):
        out.append(("gaussian_kde", m, impl, _kde_self))
    return out
