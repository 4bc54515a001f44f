"""More ``scipy.special`` rules: ``log1p``, ``expm1``, ``exp2``, ``exp10``, ``cbrt``, ``erfi``,
``dawsn``, ``loggamma``, ``spence``, ``binom``, exponential integrals, Box-Cox (and its inverse
in ``y``), Pochhammer, hypergeometric functions (in ``x``), Owen's T, elliptic integrals, robust
losses, and the two-output ufuncs ``sici`` / ``fresnel`` (as one primitive per output).

Built lazily with the rest of :func:`._scipy_special.ufunc_rules`, once SciPy is imported.
Each derivative is written with (possibly traced) SciPy/NumPy calls, so the rules nest.
Arguments without a closed-form derivative raise :class:`EngineError` naming the argument
(via :func:`._scipy_special.no_closed_form`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._scipy_special import nary, no_closed_form
from ._tracer import Prim, bind

_SQRT_2PI = math.sqrt(2 * math.pi)
_DEG = math.pi / 180.0


def _safe_div(a: Any, x: Any, at_zero: float) -> Any:
    """``a / x`` with the value ``at_zero`` where ``x == 0`` (a removable singularity)."""
    zero = x == 0
    return np.where(zero, at_zero, a / np.where(zero, 1.0, x))


def _boxcox_dl(x: Any, lmbda: Any, z: Any) -> Any:
    """d/dλ of ``(x^λ - 1) / λ`` = ``(λ x^λ log x - x^λ + 1) / λ²``; ``log(x)² / 2`` at λ = 0."""
    lx = np.log(x)
    small = np.abs(lmbda) < 1e-6
    lam = np.where(small, 1.0, lmbda)
    xl = np.exp(lam * lx)
    return np.where(small, 0.5 * lx * lx, (lam * xl * lx - xl + 1) / (lam * lam))


def _exprel_d(x: Any, y: Any) -> Any:
    # (e^x - exprel(x)) / x, with its series 1/2 + x/3 near 0 (the formula cancels there)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    return np.where(small, 0.5 + x / 3.0, (np.exp(xs) - y) / xs)


def _huber_parts(delta: Any, r: Any) -> tuple[Any, Any]:
    inside = np.abs(r) <= delta
    return inside, np.where(inside, r, delta * np.sign(r))


def _pseudo_huber_dd(delta: Any, r: Any, z: Any) -> Any:
    s = np.sqrt(1 + (r / delta) ** 2)
    return 2 * delta * (s - 1) - r * r / (delta * s)


def _two_outputs(name: str, f: Any, derivs: tuple[Any, Any]) -> tuple[Prim, Prim]:
    """One primitive per output of a two-output ufunc ``f`` (``derivs[k](x)``: its derivative)."""
    return tuple(  # type: ignore[return-value]
        R.unary(f"{name}[{k}]", lambda x, k=k: f(x)[k], d=lambda x, y, d=d: d(x))
        for k, d in enumerate(derivs)
    )


def more_rules(sp: Any) -> dict[Any, Prim]:
    """The additional rule table (``sp``: the imported ``scipy.special``)."""
    u, b = R.unary, R.binary

    def expn_dx(n: Any, x: Any, z: Any) -> Any:  # E_n' = -E_{n-1}, E_0(x) = e^-x / x
        return np.where(n == 0, -np.exp(-x) * (x + 1) / (x * x), -sp.expn(np.maximum(n - 1, 0), x))

    def owens_dh(h: Any, a: Any, z: Any) -> Any:
        return -np.exp(-0.5 * h * h) * sp.erf(a * h / math.sqrt(2.0)) / (2 * _SQRT_2PI)

    def owens_da(h: Any, a: Any, z: Any) -> Any:
        return np.exp(-0.5 * h * h * (1 + a * a)) / (2 * math.pi * (1 + a * a))

    def ellipk_d(m: Any, y: Any) -> Any:
        return (sp.ellipe(m) - (1 - m) * y) / (2 * m * (1 - m))

    def binom_dn(n: Any, k: Any, z: Any) -> Any:
        return z * (sp.psi(n + 1) - sp.psi(n - k + 1))

    def binom_dk(n: Any, k: Any, z: Any) -> Any:
        return z * (sp.psi(n - k + 1) - sp.psi(k + 1))

    from scipy.special import _ufuncs

    def lambertw_d(z: Any, k: Any, tol: Any, w: Any) -> Any:  # W' = W / (z (1 + W)); 1 at z = 0
        return np.where(z == 0, 1.0, w / (np.where(z == 0, 1.0, z) * (1 + w)))

    table: dict[Any, Prim] = {
        _ufuncs._lambertw: nary("lambertw", _ufuncs._lambertw, [lambertw_d, None, None]),
        sp.loggamma: u("loggamma", sp.loggamma, d=lambda x, y: sp.psi(x)),
        sp.gammasgn: R.nondiff("gammasgn", sp.gammasgn),
        sp.dawsn: u("dawsn", sp.dawsn, d=lambda x, y: 1 - 2 * x * y),
        sp.erfi: u("erfi", sp.erfi, d=lambda x, y: 2.0 / math.sqrt(math.pi) * np.exp(x * x)),
        sp.expi: u("expi", sp.expi, d=lambda x, y: np.exp(x) / x),
        sp.exp1: u("exp1", sp.exp1, d=lambda x, y: -np.exp(-x) / x),
        sp.expn: nary("expn", sp.expn, [None, expn_dx]),  # integer order n: no derivative
        sp.spence: u("spence", sp.spence, d=lambda x, y: _safe_div(np.log(x), 1 - x, -1.0)),
        sp.cbrt: u("cbrt", sp.cbrt, d=lambda x, y: 1.0 / (3.0 * y * y)),
        sp.exprel: u("exprel", sp.exprel, d=_exprel_d),
        sp.log1p: u("log1p", sp.log1p, d=lambda x, y: 1.0 / (1.0 + x)),
        sp.expm1: u("expm1", sp.expm1, d=lambda x, y: y + 1.0),
        sp.exp2: u("exp2", sp.exp2, d=lambda x, y: math.log(2.0) * y),
        sp.exp10: u("exp10", sp.exp10, d=lambda x, y: math.log(10.0) * y),
        sp.sindg: u("sindg", sp.sindg, d=lambda x, y: _DEG * sp.cosdg(x)),
        sp.cosdg: u("cosdg", sp.cosdg, d=lambda x, y: -_DEG * sp.sindg(x)),
        sp.tandg: u("tandg", sp.tandg, d=lambda x, y: _DEG * (1 + y * y)),
        sp.ellipk: u("ellipk", sp.ellipk, d=ellipk_d),
        sp.ellipe: u("ellipe", sp.ellipe, d=lambda m, y: _safe_div(y - sp.ellipk(m), 2 * m, -math.pi / 8)),
        sp.boxcox: b("boxcox", sp.boxcox, lambda x, lm, z: np.exp((lm - 1) * np.log(x)), _boxcox_dl),
        sp.boxcox1p: b(
            "boxcox1p",
            sp.boxcox1p,
            lambda x, lm, z: np.exp((lm - 1) * np.log1p(x)),
            lambda x, lm, z: _boxcox_dl(1 + x, lm, z),
        ),
        sp.inv_boxcox: b(
            "inv_boxcox",
            sp.inv_boxcox,
            lambda y, lm, x: x / (lm * y + 1),
            no_closed_form("inv_boxcox", "lmbda"),
        ),
        sp.poch: b(
            "poch",
            sp.poch,
            lambda a, m, z: z * (sp.psi(a + m) - sp.psi(a)),
            lambda a, m, z: z * sp.psi(a + m),
        ),
        sp.binom: b("binom", sp.binom, binom_dn, binom_dk),
        sp.owens_t: b("owens_t", sp.owens_t, owens_dh, owens_da),
        sp.huber: b(
            "huber",
            sp.huber,
            lambda d, r, z: np.where(_huber_parts(d, r)[0], 0.0, np.abs(r) - d),
            lambda d, r, z: _huber_parts(d, r)[1],
        ),
        sp.pseudo_huber: b(
            "pseudo_huber", sp.pseudo_huber, _pseudo_huber_dd, lambda d, r, z: r / np.sqrt(1 + (r / d) ** 2)
        ),
        sp.gammaincinv: b(
            "gammaincinv",
            sp.gammaincinv,
            no_closed_form("gammaincinv", "the shape a"),
            lambda a, y, z: np.exp(sp.gammaln(a) + z - sp.xlogy(a - 1, z)),
        ),
        sp.hyp1f1: nary(
            "hyp1f1",
            sp.hyp1f1,
            [
                no_closed_form("hyp1f1", "the parameter a"),
                no_closed_form("hyp1f1", "the parameter b"),
                lambda a, bb, x, z: a / bb * sp.hyp1f1(a + 1, bb + 1, x),
            ],
        ),
        sp.hyp2f1: nary(
            "hyp2f1",
            sp.hyp2f1,
            [
                no_closed_form("hyp2f1", "the parameter a"),
                no_closed_form("hyp2f1", "the parameter b"),
                no_closed_form("hyp2f1", "the parameter c"),
                lambda a, bb, c, x, z: a * bb / c * sp.hyp2f1(a + 1, bb + 1, c + 1, x),
            ],
        ),
    }
    return table


def more_composites(sp: Any) -> dict[Any, Any]:
    """Two-output ufuncs, one primitive per output (``sici``, ``fresnel``)."""
    si, ci = _two_outputs("sici", sp.sici, (lambda x: np.sinc(x / math.pi), lambda x: np.cos(x) / x))
    half_pi = math.pi / 2
    fs, fc = _two_outputs(
        "fresnel", sp.fresnel, (lambda x: np.sin(half_pi * x * x), lambda x: np.cos(half_pi * x * x))
    )
    return {
        sp.sici: lambda x: (bind(si, [x], {}), bind(ci, [x], {})),
        sp.fresnel: lambda x: (bind(fs, [x], {}), bind(fc, [x], {})),
    }


def factorial(n: Any, exact: bool = False) -> Any:
    """``scipy.special.factorial(n)`` for traced ``n``: ``Γ(n + 1)``, 0 for ``n < 0`` (SciPy's)."""
    import scipy.special as sp

    if exact:
        from ._errors import EngineError

        raise EngineError("scipy.special.factorial(exact=True) of a traced value has no derivative")
    return np.where(n < 0, 0.0, sp.gamma(np.maximum(n, 0) + 1))


def comb(N: Any, k: Any, *, exact: bool = False, repetition: bool = False) -> Any:
    """``scipy.special.comb(N, k)`` for traced arguments: ``binom(N, k)`` (0 outside ``0 <= k <= N``,
    as SciPy), ``binom(N + k - 1, k)`` with ``repetition=True``."""
    import scipy.special as sp

    if exact:
        from ._errors import EngineError

        raise EngineError("scipy.special.comb(exact=True) of a traced value has no derivative")
    if repetition:
        N = N + k - 1
    inside = np.logical_and(np.logical_and(k >= 0, N >= k), N >= 0)
    return np.where(inside, sp.binom(N, k), 0.0)


FUNCTIONS_MORE = {"factorial": factorial, "comb": comb}
