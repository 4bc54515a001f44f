"""More univariate ``scipy.stats`` distributions for traced arguments: continuous
``gumbel_l``, ``halfcauchy``, ``truncnorm``, ``vonmises``, ``wrapcauchy``, ``gennorm`` and
discrete ``betabinom`` (the multivariate ones: :mod:`._scipy_stats_mv`).

The continuous tables follow :mod:`._scipy_stats`' layout (functions of the standardised
``z = (x - loc) / scale`` and the shape parameters); ``truncnorm`` clips ``z`` into
``[a, b]`` itself, so values and derivatives outside stay SciPy's constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

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
