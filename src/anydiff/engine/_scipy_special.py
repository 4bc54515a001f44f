"""Derivative rules for ``scipy.special``: its ufuncs, and its Python functions.

Ufuncs (``erf``, ``gammaln``, ``iv``, ...) reach the engine through ``__array_ufunc__``; their
rules are built by :func:`ufunc_rules` the first time a SciPy ufunc meets a traced array.
Python functions (``logsumexp``, ``softmax``, ``polygamma``, ``multigammaln``) convert their
input with ``np.asarray``; :mod:`._intercept` routes calls with traced arguments to the
implementations here.  Each rule's derivative is itself written with SciPy/NumPy calls on
(possibly traced) arrays, so rules nest (``hessian`` of ``gammaln`` works).

The shape parameters of ``gammainc``/``betainc`` and ``stdtr``'s degrees of freedom are
differentiated by quadrature (:mod:`._scipy_incgrad`).  Arguments without a derivative rule
(the order ``v`` of ``iv``/``jv``, the order of ``zeta``'s first argument) raise
:class:`EngineError` naming the function and the argument, never a silent zero; integer
orders (``yn``'s ``n``, ``polygamma``'s ``n``) are not differentiable and take no derivative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from . import _scipy_incgrad as G
from ._errors import EngineError
from ._tracer import Prim, bind, is_traced, primal

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def no_closed_form(fn: str, arg: str) -> Callable:
    """A partial that raises: the derivative in ``arg`` is not available in closed form."""

    def d(*_: Any) -> Any:
        raise EngineError(
            f"scipy.special.{fn} has no closed-form derivative with respect to {arg} in "
            "anydiff.engine (it is differentiable only in the other argument); use backend "
            "'finitediff' to differentiate in it"
        )

    return d


def nary(name: str, f: Callable, partials: list[Callable | None]) -> Prim:
    """Elementwise ``z = f(*xs)``; ``partials[k](*xs, z)`` is dz/dx_k (``None``: no derivative)."""

    def jvp(ts: list, xs: list, z: Any, p: dict) -> Any:
        nd = R.ndim_of(z)
        out = None
        for k, t in enumerate(ts):
            if t is None:
                continue
            d = partials[k]
            if d is None:
                continue
            c = d(*xs, z) * R.bt(t, nd)
            out = c if out is None else out + c
        return out

    def vjp(g: Any, xs: list, z: Any, need: tuple, p: dict) -> tuple:
        return tuple(
            g * R.cj(partials[k](*xs, z)) if need[k] and partials[k] is not None else None
            for k in range(len(xs))
        )

    return Prim(name, f, jvp, vjp)


def ufunc_rules(sp: Any) -> dict[Any, Prim]:
    """The rule table of ``scipy.special`` ufuncs (``sp`` is the imported module)."""
    u, b = R.unary, R.binary
    pi2 = 2.0 / _SQRT_PI

    def dgammainc_x(a: Any, x: Any, z: Any) -> Any:  # the integrand x^(a-1) e^(-x) / Γ(a)
        return np.exp(sp.xlogy(a - 1, x) - x - sp.gammaln(a))

    def dbetainc_x(a: Any, bb: Any, x: Any, z: Any) -> Any:
        return np.exp(sp.xlogy(a - 1, x) + sp.xlog1py(bb - 1, -x) - sp.betaln(a, bb))

    def t_pdf(df: Any, t: Any, z: Any) -> Any:
        return np.exp(
            sp.gammaln((df + 1) / 2)
            - sp.gammaln(df / 2)
            - 0.5 * np.log(df * np.pi)
            - (df + 1) / 2 * np.log1p(t * t / df)
        )

    def ive_dx(v: Any, x: Any, z: Any) -> Any:
        if R.dtype_of(x).kind == "c":  # exp(-|Re x|) is not holomorphic: no complex derivative
            raise EngineError(
                "scipy.special.ive of a complex argument has no derivative rule in anydiff.engine "
                "(its scaling exp(-|Re z|) is not holomorphic); write "
                "scipy.special.iv(v, z) * np.exp(-np.abs(np.real(z))) instead"
            )
        return 0.5 * (sp.ive(v - 1, x) + sp.ive(v + 1, x)) - np.sign(x) * z

    table: dict[Any, Prim] = {
        sp.expit: u("expit", sp.expit, d=lambda x, y: y * (1 - y)),
        sp.log_expit: u("log_expit", sp.log_expit, d=lambda x, y: sp.expit(-x)),
        sp.logit: u("logit", sp.logit, h=lambda x, y: x * (1 - x)),
        sp.erf: u("erf", sp.erf, d=lambda x, y: pi2 * np.exp(-(x * x))),
        sp.erfc: u("erfc", sp.erfc, d=lambda x, y: -pi2 * np.exp(-(x * x))),
        sp.erfcx: u("erfcx", sp.erfcx, d=lambda x, y: 2 * x * y - pi2),
        sp.erfinv: u("erfinv", sp.erfinv, d=lambda x, y: 0.5 * _SQRT_PI * np.exp(y * y)),
        sp.erfcinv: u("erfcinv", sp.erfcinv, d=lambda x, y: -0.5 * _SQRT_PI * np.exp(y * y)),
        sp.ndtr: u("ndtr", sp.ndtr, d=lambda x, y: np.exp(-0.5 * x * x) / _SQRT_2PI),
        sp.log_ndtr: u("log_ndtr", sp.log_ndtr, d=lambda x, y: np.exp(-0.5 * x * x - y) / _SQRT_2PI),
        sp.ndtri: u("ndtri", sp.ndtri, d=lambda x, y: _SQRT_2PI * np.exp(0.5 * y * y)),
        sp.gammaln: u("gammaln", sp.gammaln, d=lambda x, y: sp.psi(x)),
        sp.gamma: u("gamma", sp.gamma, d=lambda x, y: y * sp.psi(x)),
        sp.rgamma: u("rgamma", sp.rgamma, d=lambda x, y: -y * sp.psi(x)),
        sp.psi: u("psi", sp.psi, d=lambda x, y: polygamma(1, x)),
        sp.i0: u("i0", sp.i0, d=lambda x, y: sp.i1(x)),
        sp.i0e: u("i0e", sp.i0e, d=lambda x, y: sp.i1e(x) - np.sign(x) * y),
        sp.i1: u("i1", sp.i1, d=lambda x, y: 0.5 * (sp.i0(x) + sp.iv(2, x))),
        sp.i1e: u("i1e", sp.i1e, d=lambda x, y: 0.5 * (sp.i0e(x) + sp.ive(2, x)) - np.sign(x) * y),
        sp.j0: u("j0", sp.j0, d=lambda x, y: -sp.j1(x)),
        sp.j1: u("j1", sp.j1, d=lambda x, y: 0.5 * (sp.j0(x) - sp.jv(2, x))),
        sp.y0: u("y0", sp.y0, d=lambda x, y: -sp.y1(x)),
        sp.y1: u("y1", sp.y1, d=lambda x, y: 0.5 * (sp.y0(x) - sp.yn(2, x))),
        sp.k0: u("k0", sp.k0, d=lambda x, y: -sp.k1(x)),
        sp.k1: u("k1", sp.k1, d=lambda x, y: -0.5 * (sp.k0(x) + sp.kv(2, x))),
        sp.entr: u("entr", sp.entr, d=lambda x, y: -(np.log(x) + 1)),
        sp.gammasgn: R.nondiff("gammasgn", sp.gammasgn),  # ±1: piecewise constant
        sp.xlogy: b("xlogy", sp.xlogy, lambda a, c, z: np.log(c), lambda a, c, z: a / c),
        sp.xlog1py: b("xlog1py", sp.xlog1py, lambda a, c, z: np.log1p(c), lambda a, c, z: a / (1 + c)),
        sp.beta: b(
            "beta",
            sp.beta,
            lambda a, c, z: z * (sp.psi(a) - sp.psi(a + c)),
            lambda a, c, z: z * (sp.psi(c) - sp.psi(a + c)),
        ),
        sp.betaln: b(
            "betaln",
            sp.betaln,
            lambda a, c, z: sp.psi(a) - sp.psi(a + c),
            lambda a, c, z: sp.psi(c) - sp.psi(a + c),
        ),
        sp.rel_entr: b("rel_entr", sp.rel_entr, lambda a, c, z: np.log(a / c) + 1, lambda a, c, z: -a / c),
        sp.kl_div: b("kl_div", sp.kl_div, lambda a, c, z: np.log(a / c), lambda a, c, z: 1 - a / c),
        sp.iv: b(
            "iv",
            sp.iv,
            no_closed_form("iv", "the order v"),
            lambda v, x, z: 0.5 * (sp.iv(v - 1, x) + sp.iv(v + 1, x)),
        ),
        sp.ive: b("ive", sp.ive, no_closed_form("ive", "the order v"), ive_dx),
        sp.jv: b(
            "jv",
            sp.jv,
            no_closed_form("jv", "the order v"),
            lambda v, x, z: 0.5 * (sp.jv(v - 1, x) - sp.jv(v + 1, x)),
        ),
        sp.yv: b(
            "yv",
            sp.yv,
            no_closed_form("yv", "the order v"),
            lambda v, x, z: 0.5 * (sp.yv(v - 1, x) - sp.yv(v + 1, x)),
        ),
        sp.kv: b(
            "kv",
            sp.kv,
            no_closed_form("kv", "the order v"),
            lambda v, x, z: -0.5 * (sp.kv(v - 1, x) + sp.kv(v + 1, x)),
        ),
        sp.yn: b(
            "yn",
            sp.yn,
            no_closed_form("yn", "the integer order n"),
            lambda n, x, z: 0.5 * (sp.yn(n - 1, x) - sp.yn(n + 1, x)),
        ),
        sp.gammainc: b("gammainc", sp.gammainc, G.gammainc_da, dgammainc_x),
        sp.gammaincc: b(
            "gammaincc",
            sp.gammaincc,
            G.gammaincc_da,
            lambda a, x, z: -dgammainc_x(a, x, z),
        ),
        sp.stdtr: b("stdtr", sp.stdtr, G.stdtr_ddf, t_pdf),
        sp._ufuncs._zeta: b(
            "zeta", sp.zeta, no_closed_form("zeta", "the exponent x"), lambda s, q, z: -s * sp.zeta(s + 1, q)
        ),
        sp.betainc: nary(
            "betainc",
            sp.betainc,
            [
                G.betainc_da,
                G.betainc_db,
                dbetainc_x,
            ],
        ),
        sp.betaincc: nary(
            "betaincc",
            sp.betaincc,
            [
                G.betaincc_da,
                G.betaincc_db,
                lambda a, bb, x, z: -dbetainc_x(a, bb, x, z),
            ],
        ),
    }
    return table


# ---------------------------------------------------------------------------- Python functions


def _polygamma_impl(x: Any, n: int) -> Any:
    import scipy.special as sp

    return sp.polygamma(n, x)


def _polygamma_prim(n: int) -> Prim:
    d = lambda x, y: polygamma(n + 1, x)  # noqa: E731 - ψ^(n)' = ψ^(n+1), nests to any order
    prim = R.unary(f"polygamma[{n}]", lambda x: _polygamma_impl(x, n), d=d)
    return prim


_POLYGAMMA: dict[int, Prim] = {}


def polygamma(n: Any, x: Any) -> Any:
    """``scipy.special.polygamma(n, x)`` for traced ``x`` (integer order ``n``, not traced)."""
    if is_traced(n):
        raise EngineError("scipy.special.polygamma is not differentiable in its integer order n")
    ns = np.asarray(primal(n))  # a constant buffer (np.array([1, 2]) inside f) is data
    if ns.ndim:  # an array of orders: elementwise, one primitive per distinct order
        out: Any = 0.0
        for k in np.unique(ns).tolist():
            out = out + np.where(ns == k, polygamma(int(k), x), 0.0)
        return out
    k = int(ns)
    if k == 0:
        import scipy.special as sp

        return sp.psi(x)
    prim = _POLYGAMMA.get(k)
    if prim is None:
        prim = _POLYGAMMA[k] = _polygamma_prim(k)
    return bind(prim, [x], {})


def multigammaln(a: Any, d: int) -> Any:
    """``log Γ_d(a) = d(d-1)/4 log π + Σ_j gammaln(a + (1 - j)/2)`` for traced ``a``."""
    import scipy.special as sp

    d = int(d)
    out = d * (d - 1) / 4.0 * math.log(math.pi)
    for j in range(1, d + 1):
        out = out + sp.gammaln(a - (j - 1) / 2.0)
    return out


def _lse_parts(a: Any, axis: Any, b: Any) -> tuple[Any, Any]:
    """``(log|s|, sign(s))`` with ``s = Σ b·exp(a)`` over ``axis`` (keepdims)."""
    from ._numpy_api import _build, _has_traced
    from ._numpy_api import logsumexp as lse

    if isinstance(a, (list, tuple)) and _has_traced(a):
        a = _build(a)
    if b is None:
        return lse(a, axis=axis, keepdims=True), None
    if not is_traced(b) and np.all(np.asarray(primal(b)) >= 0):  # constant weights (a buffer too)
        return lse(a + np.log(primal(b)), axis=axis, keepdims=True), None
    # signed weights: shift by a constant (stop-gradient) maximum, as scipy does
    m = np.max(np.asarray(primal(a)), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.sum(b * np.exp(a - m), axis=axis, keepdims=True)
    return np.log(np.abs(s)) + m, np.sign(s)


def _drop_axes(r: Any, axis: Any, keepdims: bool) -> Any:
    if keepdims:
        return r
    nd = R.ndim_of(r)
    axes = tuple(range(nd)) if axis is None else tuple(a % nd for a in np.atleast_1d(axis).tolist())
    return np.squeeze(r, axis=axes)


def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """``scipy.special.logsumexp`` for traced ``a`` (and ``b``): ``log Σ b·exp(a)`` over ``axis``.

    Shape: ``a``'s shape reduced over ``axis`` (kept as 1 with ``keepdims``).  With
    ``return_sign`` returns ``(log|s|, sign(s))``; the sign has no derivative.
    """
    if b is not None and (R.dtype_of(a).kind == "c" or R.dtype_of(b).kind == "c"):
        # complex with weights, as SciPy: log Σ b·exp(a) (principal log); with return_sign
        # (log|s|, s/|s|); shifted by the constant maximum real part
        m = np.max(np.real(np.asarray(primal(a))), axis=axis, keepdims=True)
        s = np.sum(b * np.exp(a - np.where(np.isfinite(m), m, 0.0)), axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        if return_sign:
            mag = np.abs(s)
            return _drop_axes(np.log(mag) + m, axis, keepdims), _drop_axes(s / mag, axis, keepdims)
        return _drop_axes(np.log(s) + m, axis, keepdims)
    r, sign = _lse_parts(a, axis, b)
    if sign is None:
        sign = np.ones(R.shape_of(r))
    elif not return_sign:
        r = np.where(sign < 0, np.nan, r)  # scipy: log of a negative sum is nan
    out = _drop_axes(r, axis, keepdims)
    return (out, _drop_axes(sign, axis, keepdims)) if return_sign else out


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x - logsumexp(x, axis))`` (shape of ``x``)."""
    return np.exp(x - _lse_parts(x, axis, None)[0])


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x, axis)`` (shape of ``x``)."""
    return x - _lse_parts(x, axis, None)[0]


#: scipy.special Python functions routed here when an argument is traced (see _intercept)
FUNCTIONS: dict[str, Callable] = {
    "logsumexp": logsumexp,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "polygamma": polygamma,
    "multigammaln": multigammaln,
}
