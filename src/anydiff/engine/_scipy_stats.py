"""``scipy.stats`` densities and distribution functions for traced arguments.

``norm``, ``t``, ``gamma``, ``beta``, ``expon``, ``logistic``, ``uniform``, ``cauchy``,
``laplace``, ``lognorm``, ``chi2``, ``halfnorm``, ``invgamma``, ``weibull_min``, ``pareto``,
``gumbel_r``, ``rayleigh``: ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``, ``logsf`` (and
``ppf`` where it has a closed form: see :func:`methods_of`) in ``x``, ``loc``, ``scale`` and
the shape parameters where the
derivative has a closed form (the others raise ``EngineError`` naming the argument, from the
``scipy.special`` rule that computes it).  ``multivariate_normal``: ``logpdf``, ``pdf`` and
``entropy`` in ``x``, ``mean`` and ``cov``.  SciPy's methods convert their input with
``np.asarray``; :mod:`._intercept` routes calls with traced arguments here.

Outside the support, ``logpdf`` is ``-inf`` and ``pdf``/``cdf``/``sf`` take their limits, with a
zero derivative (as SciPy's values are constant there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import EngineError

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _sp() -> Any:
    import scipy.special as sp

    return sp


# per distribution: (support test on z or None, logpdf(z, *shapes), cdf, sf, logcdf, logsf),
# each a function of the standardised z = (x - loc) / scale and the shape parameters


def _norm() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpdf": lambda z: -0.5 * z * z - _LOG_SQRT_2PI,
        "cdf": lambda z: sp.ndtr(z),
        "sf": lambda z: sp.ndtr(-z),
        "logcdf": lambda z: sp.log_ndtr(z),
        "logsf": lambda z: sp.log_ndtr(-z),
        "ppf": lambda q: sp.ndtri(q),
    }


def _t() -> dict[str, Callable]:
    sp = _sp()

    def logpdf(z: Any, df: Any) -> Any:
        return (
            sp.gammaln((df + 1) / 2)
            - sp.gammaln(df / 2)
            - 0.5 * np.log(df * np.pi)
            - (df + 1) / 2 * np.log1p(z * z / df)
        )

    return {
        "logpdf": logpdf,
        "cdf": lambda z, df: sp.stdtr(df, z),
        "sf": lambda z, df: sp.stdtr(df, -z),
        "logcdf": lambda z, df: np.log(sp.stdtr(df, z)),
        "logsf": lambda z, df: np.log(sp.stdtr(df, -z)),
    }


def _gamma() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, a: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z, a: sp.xlogy(a - 1, z) - z - sp.gammaln(a),
        "cdf": lambda z, a: sp.gammainc(a, z),
        "sf": lambda z, a: sp.gammaincc(a, z),
        "logcdf": lambda z, a: np.log(sp.gammainc(a, z)),
        "logsf": lambda z, a: np.log(sp.gammaincc(a, z)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _beta() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, a, b: (z >= 0) & (z <= 1),
        "safe": 0.5,
        "logpdf": lambda z, a, b: sp.xlogy(a - 1, z) + sp.xlog1py(b - 1, -z) - sp.betaln(a, b),
        "cdf": lambda z, a, b: sp.betainc(a, b, z),
        "sf": lambda z, a, b: sp.betaincc(a, b, z),
        "logcdf": lambda z, a, b: np.log(sp.betainc(a, b, z)),
        "logsf": lambda z, a, b: np.log(sp.betaincc(a, b, z)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
        "above": {"cdf": 1.0, "sf": 0.0, "logcdf": 0.0, "logsf": -np.inf},
    }


def _expon() -> dict[str, Callable]:
    return {
        "support": lambda z: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z: -z,
        "cdf": lambda z: -np.expm1(-z),
        "sf": lambda z: np.exp(-z),
        "logcdf": lambda z: np.log(-np.expm1(-z)),
        "logsf": lambda z: -z,
        "ppf": lambda q: -np.log1p(-q),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _logistic() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpdf": lambda z: sp.log_expit(z) + sp.log_expit(-z),
        "cdf": lambda z: sp.expit(z),
        "sf": lambda z: sp.expit(-z),
        "logcdf": lambda z: sp.log_expit(z),
        "logsf": lambda z: sp.log_expit(-z),
        "ppf": lambda q: sp.logit(q),
    }


def _uniform() -> dict[str, Callable]:
    return {
        "support": lambda z: (z >= 0) & (z <= 1),
        "safe": 0.5,
        "logpdf": lambda z: 0.0 * z,
        "cdf": lambda z: z,
        "sf": lambda z: 1 - z,
        "logcdf": lambda z: np.log(z),
        "logsf": lambda z: np.log1p(-z),
        "ppf": lambda q: q,
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
        "above": {"cdf": 1.0, "sf": 0.0, "logcdf": 0.0, "logsf": -np.inf},
    }


def _cauchy() -> dict[str, Callable]:
    return {
        "logpdf": lambda z: -math.log(math.pi) - np.log1p(z * z),
        "cdf": lambda z: 0.5 + np.arctan(z) / np.pi,
        "sf": lambda z: 0.5 - np.arctan(z) / np.pi,
        "logcdf": lambda z: np.log(0.5 + np.arctan(z) / np.pi),
        "logsf": lambda z: np.log(0.5 - np.arctan(z) / np.pi),
        "ppf": lambda q: np.tan(np.pi * (q - 0.5)),
    }


def _laplace() -> dict[str, Callable]:
    def cdf(z: Any) -> Any:
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))

    return {
        "logpdf": lambda z: -math.log(2.0) - np.abs(z),
        "cdf": cdf,
        "sf": lambda z: cdf(-z),
        "logcdf": lambda z: np.log(cdf(z)),
        "logsf": lambda z: np.log(cdf(-z)),
        "ppf": lambda q: np.where(
            q <= 0.5, np.log(2 * np.minimum(q, 0.5)), -np.log(2 - 2 * np.maximum(q, 0.5))
        ),
    }


def _lognorm() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, s: z > 0,
        "safe": 1.0,
        "logpdf": lambda z, s: -np.log(s * z) - _LOG_SQRT_2PI - np.log(z) ** 2 / (2 * s * s),
        "cdf": lambda z, s: sp.ndtr(np.log(z) / s),
        "sf": lambda z, s: sp.ndtr(-np.log(z) / s),
        "logcdf": lambda z, s: sp.log_ndtr(np.log(z) / s),
        "logsf": lambda z, s: sp.log_ndtr(-np.log(z) / s),
        "ppf": lambda q, s: np.exp(s * sp.ndtri(q)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _chi2() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, df: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z, df: sp.xlogy(df / 2 - 1, z) - z / 2 - sp.gammaln(df / 2) - df / 2 * math.log(2.0),
        "cdf": lambda z, df: sp.gammainc(df / 2, z / 2),
        "sf": lambda z, df: sp.gammaincc(df / 2, z / 2),
        "logcdf": lambda z, df: np.log(sp.gammainc(df / 2, z / 2)),
        "logsf": lambda z, df: np.log(sp.gammaincc(df / 2, z / 2)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _halfnorm() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z: 0.5 * math.log(2 / math.pi) - 0.5 * z * z,
        "cdf": lambda z: sp.erf(z / math.sqrt(2)),
        "sf": lambda z: 2 * sp.ndtr(-z),
        "logcdf": lambda z: np.log(sp.erf(z / math.sqrt(2))),
        "logsf": lambda z: math.log(2.0) + sp.log_ndtr(-z),
        "ppf": lambda q: sp.ndtri((1 + q) / 2),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _invgamma() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, a: z > 0,
        "safe": 1.0,
        "logpdf": lambda z, a: -(a + 1) * np.log(z) - sp.gammaln(a) - 1.0 / z,
        "cdf": lambda z, a: sp.gammaincc(a, 1.0 / z),
        "sf": lambda z, a: sp.gammainc(a, 1.0 / z),
        "logcdf": lambda z, a: np.log(sp.gammaincc(a, 1.0 / z)),
        "logsf": lambda z, a: np.log(sp.gammainc(a, 1.0 / z)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _weibull_min() -> dict[str, Callable]:
    sp = _sp()
    return {
        "support": lambda z, c: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z, c: np.log(c) + sp.xlogy(c - 1, z) - z**c,
        "cdf": lambda z, c: -np.expm1(-(z**c)),
        "sf": lambda z, c: np.exp(-(z**c)),
        "logcdf": lambda z, c: np.log(-np.expm1(-(z**c))),
        "logsf": lambda z, c: -(z**c),
        "ppf": lambda q, c: (-np.log1p(-q)) ** (1.0 / c),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _pareto() -> dict[str, Callable]:
    return {
        "support": lambda z, b: z >= 1,
        "safe": 2.0,
        "logpdf": lambda z, b: np.log(b) - (b + 1) * np.log(z),
        "cdf": lambda z, b: -np.expm1(-b * np.log(z)),
        "sf": lambda z, b: z ** (-b),
        "logcdf": lambda z, b: np.log(-np.expm1(-b * np.log(z))),
        "logsf": lambda z, b: -b * np.log(z),
        "ppf": lambda q, b: (1 - q) ** (-1.0 / b),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


def _gumbel_r() -> dict[str, Callable]:
    return {
        "logpdf": lambda z: -z - np.exp(-z),
        "cdf": lambda z: np.exp(-np.exp(-z)),
        "sf": lambda z: -np.expm1(-np.exp(-z)),
        "logcdf": lambda z: -np.exp(-z),
        "logsf": lambda z: np.log(-np.expm1(-np.exp(-z))),
        "ppf": lambda q: -np.log(-np.log(q)),
    }


def _rayleigh() -> dict[str, Callable]:
    return {
        "support": lambda z: z >= 0,
        "safe": 1.0,
        "logpdf": lambda z: np.log(z) - 0.5 * z * z,
        "cdf": lambda z: -np.expm1(-0.5 * z * z),
        "sf": lambda z: np.exp(-0.5 * z * z),
        "logcdf": lambda z: np.log(-np.expm1(-0.5 * z * z)),
        "logsf": lambda z: -0.5 * z * z,
        "ppf": lambda q: np.sqrt(-2 * np.log1p(-q)),
        "below": {"cdf": 0.0, "sf": 1.0, "logcdf": -np.inf, "logsf": 0.0},
    }


_TABLES: dict[str, Callable[[], dict]] = {
    "uniform": _uniform,
    "cauchy": _cauchy,
    "laplace": _laplace,
    "lognorm": _lognorm,
    "chi2": _chi2,
    "halfnorm": _halfnorm,
    "invgamma": _invgamma,
    "weibull_min": _weibull_min,
    "pareto": _pareto,
    "gumbel_r": _gumbel_r,
    "rayleigh": _rayleigh,
    "norm": _norm,
    "t": _t,
    "gamma": _gamma,
    "beta": _beta,
    "expon": _expon,
    "logistic": _logistic,
}
_BUILT: dict[str, dict] = {}
METHODS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf")


def methods_of(name: str) -> list[str]:
    """The methods of distribution ``name`` that have rules."""
    tab = _BUILT.get(name)
    if tab is None:
        tab = _BUILT[name] = _TABLES[name]()
    return [m for m in METHODS if m == "pdf" or m in tab]


def supported(dist: Any) -> bool:
    """Whether ``dist`` (an ``rv_continuous`` or ``rv_discrete`` instance) has rules here."""
    return getattr(dist, "name", None) in _TABLES or getattr(dist, "name", None) in DISCRETE


# ---------------------------------------------------------------------------- discrete
# log pmf(k, *shapes) on the support (integer k, and the bounds below); cdf/sf where the
# regularized incomplete functions give them, differentiable in the (continuous) parameters


def _poisson() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpmf": lambda k, mu: sp.xlogy(k, mu) - mu - sp.gammaln(k + 1),
        "cdf": lambda k, mu: sp.gammaincc(k + 1, mu),
        "sf": lambda k, mu: sp.gammainc(k + 1, mu),
        "upper": None,
    }


def _binom() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpmf": lambda k, n, p: (
            sp.gammaln(n + 1)
            - sp.gammaln(k + 1)
            - sp.gammaln(n - k + 1)
            + sp.xlogy(k, p)
            + sp.xlog1py(n - k, -p)
        ),
        "cdf": lambda k, n, p: sp.betainc(n - k, k + 1, 1 - p),
        "sf": lambda k, n, p: sp.betainc(k + 1, n - k, p),
        "upper": lambda n, p: n,
    }


def _bernoulli() -> dict[str, Callable]:
    sp = _sp()
    return {"logpmf": lambda k, p: sp.xlogy(k, p) + sp.xlog1py(1 - k, -p), "upper": lambda p: 1}


def _geom() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpmf": lambda k, p: sp.xlog1py(k - 1, -p) + np.log(p),
        "cdf": lambda k, p: -np.expm1(k * np.log1p(-p)),
        "sf": lambda k, p: np.exp(k * np.log1p(-p)),
        "lower": 1,
        "upper": None,
    }


def _nbinom() -> dict[str, Callable]:
    sp = _sp()
    return {
        "logpmf": lambda k, n, p: (
            sp.gammaln(k + n) - sp.gammaln(n) - sp.gammaln(k + 1) + sp.xlogy(n, p) + sp.xlog1py(k, -p)
        ),
        "cdf": lambda k, n, p: sp.betainc(n, k + 1, p),
        "sf": lambda k, n, p: sp.betaincc(n, k + 1, p),
        "upper": None,
    }


DISCRETE: dict[str, Callable[[], dict]] = {
    "poisson": _poisson,
    "binom": _binom,
    "bernoulli": _bernoulli,
    "geom": _geom,
    "nbinom": _nbinom,
}
DISCRETE_METHODS = ("pmf", "logpmf", "cdf", "sf")
_BUILT_D: dict[str, dict] = {}


def discrete_methods_of(name: str) -> list[str]:
    """The methods of discrete distribution ``name`` that have rules."""
    tab = _BUILT_D.get(name)
    if tab is None:
        tab = _BUILT_D[name] = DISCRETE[name]()
    return [m for m in DISCRETE_METHODS if m in ("pmf", "logpmf") or m in tab]


def discrete(dist: Any, method: str, k: Any, args: tuple, kwds: dict) -> Any:
    """``dist.<method>(k, *args, **kwds)`` of a discrete distribution with traced parameters
    (``k`` itself is integer data: no derivative in it)."""
    from ._tracer import primal

    tab = _BUILT_D.get(dist.name)
    if tab is None:
        tab = _BUILT_D[dist.name] = DISCRETE[dist.name]()
    if method not in ("pmf", "logpmf") and method not in tab:
        raise unsupported(dist, method)
    shapes, loc, _ = dist._parse_args(*args, **kwds)
    kk = np.asarray(primal(k), dtype=float) - np.asarray(primal(loc), dtype=float)
    if method in ("cdf", "sf"):
        kf = np.floor(kk)
        lo = tab.get("lower", 0)
        up = tab["upper"](*[np.asarray(primal(s)) for s in shapes]) if tab.get("upper") else None
        inside = kf >= lo if up is None else (kf >= lo) & (kf < up)
        r = tab[method](np.where(inside, kf, lo), *shapes)
        below, above = (0.0, 1.0) if method == "cdf" else (1.0, 0.0)
        return np.where(inside, r, np.where(kf < lo, below, above))
    lo = tab.get("lower", 0)
    up = tab["upper"](*[np.asarray(primal(s)) for s in shapes]) if tab.get("upper") else None
    inside = (kk == np.floor(kk)) & (kk >= lo)
    if up is not None:
        inside = inside & (kk <= up)
    r = np.where(inside, tab["logpmf"](np.where(inside, kk, lo), *shapes), -np.inf)
    return r if method == "logpmf" else np.exp(r)


def univariate(dist: Any, method: str, x: Any, args: tuple, kwds: dict) -> Any:
    """``dist.<method>(x, *args, **kwds)`` for traced arguments (shape: the broadcast shape)."""
    name = dist.name
    if name in DISCRETE:
        return discrete(dist, method, x, args, kwds)
    tab = _BUILT.get(name)
    if tab is None:
        tab = _BUILT[name] = _TABLES[name]()
    from ._numpy_api import _build, _has_traced

    def arr(v: Any) -> Any:  # lists as SciPy takes them (logpdf([1.0, 2.0], ...))
        if isinstance(v, (list, tuple)):
            return _build(v) if _has_traced(v) else np.asarray(v, dtype=float)
        return v

    x = arr(x)
    shapes, loc, scale = dist._parse_args(*[arr(a) for a in args], **{k: arr(v) for k, v in kwds.items()})
    if method != "pdf" and method not in tab:
        raise unsupported(dist, method)
    if method == "ppf":  # outside [0, 1]: NaN, as SciPy
        q = np.where((x >= 0) & (x <= 1), x, np.nan)
        return loc + scale * tab["ppf"](q, *shapes)
    z = (x - loc) / scale
    kind = "logpdf" if method == "pdf" else method
    if method in ("logpdf", "pdf"):
        out_of = -np.inf
    else:
        out_of = None
    support = tab.get("support")
    if support is None:
        r = tab[kind](z, *shapes)
    else:
        inside = support(z, *shapes)
        zs = np.where(inside, z, tab["safe"])  # keeps the unused branch finite (no NaN cotangent)
        r = tab[kind](zs, *shapes)
        if out_of is not None:
            r = np.where(inside, r, out_of)
        else:
            below = tab["below"][kind]
            above = tab.get("above", tab["below"])[kind]
            r = np.where(inside, r, np.where(z < tab["safe"], below, above))
    if method == "logpdf":
        r = r - np.log(scale)
    elif method == "pdf":
        r = np.exp(r) / scale
    return r


# ---------------------------------------------------------------------------- multivariate normal


def _mvn_parts(x: Any, mean: Any, cov: Any) -> tuple[Any, Any, int]:
    from ._rules import ndim_of, shape_of

    if mean is None:
        d = shape_of(x)[-1] if ndim_of(x) else 1
        mean = np.zeros(d)
    d = int(np.prod(shape_of(mean))) if ndim_of(mean) else 1
    mean = np.reshape(mean, (d,))
    if ndim_of(cov) == 0:
        cov = cov * np.eye(d)
    elif ndim_of(cov) == 1:
        cov = np.diag(cov)
    if x is not None:
        if d == 1 and (ndim_of(x) == 0 or shape_of(x)[-1] != 1):
            x = np.reshape(x, shape_of(x) + (1,))
    return x, mean, cov, d


def mvn_logpdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """``multivariate_normal.logpdf``: ``-(d log 2π + log det C + (x-m)ᵀ C⁻¹ (x-m)) / 2``.

    ``x``: ``(..., d)``; the result has shape ``x.shape[:-1]`` (squeezed as SciPy does).
    """
    from ._rules import ndim_of, shape_of

    x, mean, cov, d = _mvn_parts(x, mean, cov)
    r = x - mean
    flat = np.reshape(r, (-1, d))
    sol = np.linalg.solve(cov, flat.T)  # (d, n)
    maha = np.sum(flat.T * sol, axis=0)
    logdet = np.linalg.slogdet(cov)[1]
    out = -0.5 * (d * math.log(2 * math.pi) + logdet + maha)
    out = np.reshape(out, shape_of(r)[:-1])
    return np.squeeze(out) if ndim_of(out) else out


def mvn_pdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """``exp(multivariate_normal.logpdf(...))``."""
    return np.exp(mvn_logpdf(x, mean, cov, allow_singular))


def mvn_entropy(mean: Any = None, cov: Any = 1) -> Any:
    """``(d (1 + log 2π) + log det C) / 2`` (0-d)."""
    if mean is None:
        from ._rules import ndim_of, shape_of

        mean = np.zeros(shape_of(cov)[0] if ndim_of(cov) == 2 else 1)
    _, mean, cov, d = _mvn_parts(None, mean, cov)
    return 0.5 * (d * (1 + math.log(2 * math.pi)) + np.linalg.slogdet(cov)[1])


class MVNFrozen:
    """``multivariate_normal(mean, cov)`` with a traced mean or cov: ``logpdf``, ``pdf``, ``entropy``."""

    def __init__(self, mean: Any = None, cov: Any = 1, allow_singular: bool = False, seed: Any = None):
        self.mean, self.cov, self.allow_singular = mean, cov, allow_singular

    def logpdf(self, x: Any) -> Any:
        return mvn_logpdf(x, self.mean, self.cov, self.allow_singular)

    def pdf(self, x: Any) -> Any:
        return mvn_pdf(x, self.mean, self.cov, self.allow_singular)

    def entropy(self) -> Any:
        return mvn_entropy(self.mean, self.cov)

    def __getattr__(self, name: str) -> Any:
        raise EngineError(
            f"scipy.stats.multivariate_normal(...).{name} with a traced mean or cov has no derivative "
            "rule in anydiff.engine (supported: logpdf, pdf, entropy); use backend 'finitediff'"
        )


def unsupported(dist: Any, method: str) -> EngineError:
    return EngineError(
        f"scipy.stats.{getattr(dist, 'name', type(dist).__name__)}.{method} has no derivative rule "
        f"in anydiff.engine (supported: {', '.join(sorted(_TABLES))} with {', '.join(METHODS)}, "
        f"{', '.join(sorted(DISCRETE))} with {', '.join(DISCRETE_METHODS)} in their parameters, "
        "and multivariate_normal logpdf/pdf/entropy); use backend 'finitediff' for this function"
    )
