"""More ``scipy.stats`` distributions for traced arguments: continuous ``gumbel_l``,
``halfcauchy``, ``truncnorm``, ``vonmises``, ``wrapcauchy``, ``gennorm``, discrete
``betabinom``, and the multivariate ``dirichlet`` and ``multinomial`` (``logpdf``/``pdf``,
``logpmf``/``pmf``, also frozen), and ``gaussian_kde`` evaluated at traced points.

The continuous tables follow :mod:`._scipy_stats`' layout (functions of the standardised
``z = (x - loc) / scale`` and the shape parameters); ``truncnorm`` clips ``z`` into
``[a, b]`` itself, so values and derivatives outside stay SciPy's constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R

_LOG_2PI = math.log(2 * math.pi)
_LOG_SQRT_2PI = 0.5 * _LOG_2PI


def _sp() -> Any:
    import scipy.special as sp

    return sp


def _gumbel_l() -> dict[str, Callable]:
    return {
        "logpdf": lambda z: z - np.exp(z),
        "cdf": lambda z: -np.expm1(-np.exp(z)),
        "sf": lambda z: np.exp(-np.exp(z)),
        "logcdf": lambda z: np.log(-np.expm1(-np.exp(z))),
        "logsf": lambda z: -np.exp(z),
        "ppf": lambda q: np.log(-np.log1p(-q)),
    }


def _halfcauchy() -> dict[str, Callable]:
    c = 2.0 / math.pi
    return {
        "support": lambda z: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z: math.log(c) - np.log1p(z * z),
        "cdf": lambda z: c * np.arctan(z),
        "sf": lambda z: 1 - c * np.arctan(z),
        "logcdf": lambda z: np.log(c * np.arctan(z)),
        "logsf": lambda z: np.log1p(-c * np.arctan(z)),
        "ppf": lambda q: np.tan(0.5 * math.pi * q),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _truncnorm() -> dict[str, Callable]:
    sp = _sp()

    def mass(a: Any, b: Any) -> Any:
        return sp.ndtr(b) - sp.ndtr(a)

    def logpdf(z: Any, a: Any, b: Any) -> Any:
        zc = np.clip(z, a, b)
        r = -0.5 * zc * zc - _LOG_SQRT_2PI - np.log(mass(a, b))
        return np.where((z >= a) & (z <= b), r, -np.inf)

    def cdf(z: Any, a: Any, b: Any) -> Any:
        return (sp.ndtr(np.clip(z, a, b)) - sp.ndtr(a)) / mass(a, b)

    def sf(z: Any, a: Any, b: Any) -> Any:
        return (sp.ndtr(b) - sp.ndtr(np.clip(z, a, b))) / mass(a, b)

    return {
        "logpdf": logpdf,
        "cdf": cdf,
        "sf": sf,
        "logcdf": lambda z, a, b: np.log(cdf(z, a, b)),
        "logsf": lambda z, a, b: np.log(sf(z, a, b)),
    }


def _vonmises() -> dict[str, Callable]:
    sp = _sp()
    # log(2π I0(κ)) = log 2π + log i0e(κ) + κ (stable for large κ)
    return {"logpdf": lambda z, k: k * np.cos(z) - _LOG_2PI - np.log(sp.i0e(k)) - k}


def _wrapcauchy() -> dict[str, Callable]:
    return {
        "support": lambda z, c: (z >= 0) & (z <= 2 * math.pi),
        "safe": 1.0,
        "logpdf": lambda z, c: np.log1p(-c * c) - _LOG_2PI - np.log(1 + c * c - 2 * c * np.cos(z)),
        "below": {},
    }


def _gennorm() -> dict[str, Callable]:
    sp = _sp()

    def cdf(z: Any, beta: Any) -> Any:
        return 0.5 + 0.5 * np.sign(z) * sp.gammainc(1 / beta, np.abs(z) ** beta)

    return {
        "logpdf": lambda z, beta: np.log(0.5 * beta) - sp.gammaln(1 / beta) - np.abs(z) ** beta,
        "cdf": cdf,
        "sf": lambda z, beta: cdf(-z, beta),
    }


CONTINUOUS: dict[str, Callable[[], dict]] = {
    "gumbel_l": _gumbel_l,
    "halfcauchy": _halfcauchy,
    "truncnorm": _truncnorm,
    "vonmises": _vonmises,
    "wrapcauchy": _wrapcauchy,
    "gennorm": _gennorm,
}


def _betabinom() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpmf": lambda k, n, a, b: (
            sp.gammaln(n + 1)
            - sp.gammaln(k + 1)
            - sp.gammaln(n - k + 1)
            + sp.betaln(k + a, n - k + b)
            - sp.betaln(a, b)
        ),
        "upper": lambda n, a, b: n,
    }


DISCRETE: dict[str, Callable[[], dict]] = {"betabinom": _betabinom}

# ---------------------------------------------------------------------------- multivariate


def dirichlet_logpdf(x: Any, alpha: Any) -> Any:
    """``log Γ(Σα) - Σ log Γ(α) + Σ (α - 1) log x`` (``x``: the first axis runs over α)."""
    sp = _sp()
    from ._numpy_poly import _arr

    x = _arr(x)
    a = alpha if np.ndim(x) == 1 else np.reshape(alpha, (-1,) + (1,) * (np.ndim(x) - 1))
    lognorm = sp.gammaln(np.sum(alpha)) - np.sum(sp.gammaln(alpha))
    return lognorm + np.sum(sp.xlogy(a - 1, x), axis=0)


def dirichlet_pdf(x: Any, alpha: Any) -> Any:
    return np.exp(dirichlet_logpdf(x, alpha))


def multinomial_logpmf(x: Any, n: Any, p: Any) -> Any:
    """``log n! - Σ log x_i! + Σ x_i log p_i`` (``x``: counts along the last axis)."""
    sp = _sp()
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
    sp = _sp()
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
    lognorm = np.sum(np.log(np.diag(L))) + 0.5 * d * _LOG_2PI
    return sp.logsumexp(-0.5 * maha - lognorm, axis=0, b=kde.weights[:, None])


def kde_pdf(x: Any, kde: Any) -> Any:
    return np.exp(kde_logpdf(x, kde))


def _kde_self(self: Any) -> tuple:
    return (self,)


def _mvn_frozen(self: Any) -> tuple:
    return (self.mean, self.cov)


def _dirichlet_frozen(self: Any) -> tuple:
    return (self.alpha,)


def _multinomial_frozen(self: Any) -> tuple:
    return (self.n, self.p)


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
            out.append((frozen, m, impl, pars))
    for m, impl in (("evaluate", kde_pdf), ("__call__", kde_pdf), ("pdf", kde_pdf), ("logpdf", kde_logpdf)):
        out.append(("gaussian_kde", m, impl, _kde_self))
    return out
