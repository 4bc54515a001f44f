"""Derivatives of the incomplete gamma / beta functions in their shape parameters.

``gammainc(a, x)`` in ``a``, ``betainc(a, b, x)`` in ``a`` and ``b`` and ``stdtr(df, t)`` in
``df`` (so ``scipy.stats`` ``gamma`` / ``beta`` / ``t`` ``cdf`` & co. in their shapes) have no
closed form.  They are integrals of the integrand's log-derivative, computed per element by
adaptive quadrature (``scipy.integrate.quad``, relative tolerance 1e-13) after the
substitution ``t = x s^(1/a)``, which turns ``t^(a-1) dt`` into ``x^a / a ds`` (no endpoint
singularity left but ``log s``, which QUADPACK's algebraic-logarithmic rule integrates
exactly):

* ``dP/da = x^a / Γ(a+1) (log x ∫₀¹ e^(-x s^(1/a)) ds + ∫₀¹ log s e^(-x s^(1/a)) ds / a)
  - ψ(a) P`` for ``x <= a + 1``; above, the same from ``Q = 1 - P`` on ``[x, ∞)``.
* ``dI/da``, ``dI/db`` of ``I_x(a, b)`` likewise on ``[0, x]``, using
  ``I_x(a, b) = 1 - I_(1-x)(b, a)`` for ``x > a / (a + b)``.

These partials are first-order only: a second derivative through them raises
``EngineError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import EngineError
from ._tracer import Prim, bind, primal

_OPTS = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}


def _quad(f: Callable, lo: float, hi: float, **kw: Any) -> float:
    import warnings

    from scipy.integrate import quad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an IntegrationWarning on a tiny integrand: still exact enough
        return quad(f, lo, hi, **_OPTS, **kw)[0]


def _gammainc_da(a: float, x: float) -> float:
    import scipy.special as sp

    if not (a > 0 and x >= 0) or math.isinf(x):
        return 0.0 if a > 0 and x >= 0 else math.nan
    if x == 0:
        return 0.0
    if x <= a + 1:
        g = lambda s: math.exp(-x * s ** (1 / a))  # noqa: E731
        i0 = _quad(g, 0, 1)
        i1 = _quad(g, 0, 1, weight="alg-loga", wvar=(0, 0))
        pref = math.exp(a * math.log(x) - sp.gammaln(a + 1))
        return pref * (math.log(x) * i0 + i1 / a) - sp.psi(a) * sp.gammainc(a, x)
    la = sp.gammaln(a)
    h = lambda u: math.log(x + u) * math.exp((a - 1) * math.log(x + u) - x - u - la)  # noqa: E731
    return -(_quad(h, 0, math.inf) - sp.psi(a) * sp.gammaincc(a, x))


def _betainc_dab(a: float, b: float, x: float) -> tuple[float, float]:
    """``(dI/da, dI/db)`` of ``I_x(a, b)``."""
    import scipy.special as sp

    if not (a > 0 and b > 0 and 0 <= x <= 1):
        return math.nan, math.nan
    if x == 0 or x == 1:
        return 0.0, 0.0
    if x > a / (a + b):
        db, da = _betainc_dab(b, a, 1 - x)
        return -da, -db
    k = lambda s: 1 - x * s ** (1 / a)  # noqa: E731
    j0 = _quad(lambda s: k(s) ** (b - 1), 0, 1)
    j1 = _quad(lambda s: k(s) ** (b - 1), 0, 1, weight="alg-loga", wvar=(0, 0))
    j2 = _quad(lambda s: math.log(k(s)) * k(s) ** (b - 1), 0, 1)
    pref = math.exp(a * math.log(x) - math.log(a) - sp.betaln(a, b))
    i = sp.betainc(a, b, x)
    pab = sp.psi(a + b)
    return (
        pref * (math.log(x) * j0 + j1 / a) - (sp.psi(a) - pab) * i,
        pref * j2 - (sp.psi(b) - pab) * i,
    )


def _stdtr_ddf(df: float, t: float) -> float:
    """``d stdtr / d df``: ``stdtr = 1/2 + sign(t) (1 - I_w(df/2, 1/2)) / 2``, ``w = df / (df + t²)``."""
    import scipy.special as sp

    if not df > 0:
        return math.nan
    if t == 0 or math.isinf(t):
        return 0.0
    w = df / (df + t * t)
    da, _ = _betainc_dab(df / 2, 0.5, w)
    dw = t * t / (df + t * t) ** 2
    dx = math.exp((df / 2 - 1) * math.log(w) - 0.5 * math.log1p(-w) - sp.betaln(df / 2, 0.5))
    return -math.copysign(0.5, t) * (0.5 * da + dx * dw)


def _elementwise(fn: Callable) -> Callable:
    def impl(*xs: Any) -> Any:
        arrs = np.broadcast_arrays(*[np.asarray(primal(v), dtype=float) for v in xs])
        out = np.empty(arrs[0].shape)
        for idx in np.ndindex(*out.shape):
            out[idx] = fn(*[float(v[idx]) for v in arrs])
        return out

    return impl


def _first_order(name: str, fn: Callable) -> Prim:
    """An elementwise primitive (its name ends in ``_dshape``) without derivative rules."""

    def no_second(*_: Any) -> Any:
        raise EngineError(
            f"a second derivative of scipy.special.{name} in its shape parameter has no rule in "
            "anydiff.engine (the first derivative is a quadrature); use backend 'finitediff' for it"
        )

    return Prim(f"{name}_dshape", _elementwise(fn), no_second, no_second)


_GAMMAINC_DA = _first_order("gammainc", _gammainc_da)
_BETAINC_DA = _first_order("betainc", lambda a, b, x: _betainc_dab(a, b, x)[0])
_BETAINC_DB = _first_order("betainc", lambda a, b, x: _betainc_dab(a, b, x)[1])
_BETAINC_DB.name = "betainc_dshape_b"
_STDTR_DDF = _first_order("stdtr", _stdtr_ddf)


def gammainc_da(a: Any, x: Any, z: Any) -> Any:
    return bind(_GAMMAINC_DA, [a, x], {})


def gammaincc_da(a: Any, x: Any, z: Any) -> Any:
    return -gammainc_da(a, x, z)


def betainc_da(a: Any, b: Any, x: Any, z: Any) -> Any:
    return bind(_BETAINC_DA, [a, b, x], {})


def betainc_db(a: Any, b: Any, x: Any, z: Any) -> Any:
    return bind(_BETAINC_DB, [a, b, x], {})


def betaincc_da(a: Any, b: Any, x: Any, z: Any) -> Any:
    return -betainc_da(a, b, x, z)


def betaincc_db(a: Any, b: Any, x: Any, z: Any) -> Any:
    return -betainc_db(a, b, x, z)


def stdtr_ddf(df: Any, t: Any, z: Any) -> Any:
    return bind(_STDTR_DDF, [df, t], {})
