"""More SciPy rules: elementwise ``scipy.special`` functions (``log1p``, ``expm1``, ``exp2``,
``exp10``, ``cbrt``, ``erfi``, ``dawsn``, ``loggamma`` (real), ``spence``, ``binom``, ``boxcox``,
``inv_boxcox``), ``scipy.signal`` functions built on the engine's convolution and ``lfilter``
(``convolve2d``/``correlate2d`` with zero fill, ``sosfilt``), and ``scipy.stats`` summary
functions written with NumPy (``entropy``, ``zscore``, ``moment``, ``skew``, ``kurtosis``,
``gmean``, ``hmean``, ``variation``, ``sem``; ``nan_policy='propagate'``), and ``scipy.linalg``
``eig``/``eigvals`` (standard problems) and ``polar`` (from the SVD)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._tracer import Prim

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def special_rules(sp: Any, nary: Any, no_closed_form: Any) -> dict[Any, Prim]:
    """Rules of the elementwise ``scipy.special`` functions above (``sp``: the module)."""
    u, b = R.unary, R.binary
    pi2 = 2.0 / math.sqrt(math.pi)

    def boxcox_dl(x: Any, lm: Any, y: Any) -> Any:  # d/dλ (x^λ - 1)/λ; (log x)^2 / 2 at λ = 0
        lx = np.log(x)
        safe = np.where(lm == 0, 1.0, lm)
        return np.where(lm == 0, 0.5 * lx * lx, (np.exp(lm * lx) * lx - y) / safe)

    return {
        sp.log1p: u("log1p", sp.log1p, h=lambda x, y: 1 + x),
        sp.expm1: u("expm1", sp.expm1, d=lambda x, y: y + 1),
        sp.exp2: u("exp2", sp.exp2, d=lambda x, y: _LN2 * y),
        sp.exp10: u("exp10", sp.exp10, d=lambda x, y: _LN10 * y),
        sp.cbrt: u("cbrt", sp.cbrt, h=lambda x, y: 3 * y * y),
        sp.erfi: u("erfi", sp.erfi, d=lambda x, y: pi2 * np.exp(x * x)),
        sp.dawsn: u("dawsn", sp.dawsn, d=lambda x, y: 1 - 2 * x * y),
        sp.loggamma: u("loggamma", sp.loggamma, d=lambda x, y: _real_only(sp.psi, x, "loggamma")),
        sp.spence: u("spence", sp.spence, d=lambda x, y: np.log(x) / (1 - x)),
        sp.binom: b(
            "binom",
            sp.binom,
            lambda n, k, y: y * (sp.psi(n + 1) - sp.psi(n - k + 1)),
            lambda n, k, y: y * (sp.psi(n - k + 1) - sp.psi(k + 1)),
        ),
        sp.boxcox: b("boxcox", sp.boxcox, lambda x, lm, y: np.exp((lm - 1) * np.log(x)), boxcox_dl),
        sp.inv_boxcox: b(
            "inv_boxcox",
            sp.inv_boxcox,
            lambda y, lm, x: x / (lm * y + 1),
            no_closed_form("inv_boxcox", "lmbda"),
        ),
    }


def _real_only(f: Any, x: Any, name: str) -> Any:
    if R.dtype_of(x).kind == "c":
        raise no_rule(f"scipy.special.{name} of complex arguments")
    return f(x)


def _zero_fill(name: str, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or np.any(np.asarray(fillvalue) != 0):
        raise no_rule(f"scipy.signal.{name} with boundary={boundary!r} or a nonzero fillvalue")


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.convolve2d`` with zero fill: the 2-D ``scipy.signal.convolve``."""
    from ._scipy_linalg import signal_convolve

    _zero_fill("convolve2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("convolve2d inputs must both be 2-D arrays")
    return signal_convolve(in1, in2, mode)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.correlate2d`` with zero fill: the 2-D ``scipy.signal.correlate``."""
    from ._scipy_linalg import signal_correlate

    _zero_fill("correlate2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("correlate2d inputs must both be 2-D arrays")
    return signal_correlate(in1, in2, mode)


def sosfilt(sos: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    """``scipy.signal.sosfilt`` (zero initial state, 1-D): the sections' ``lfilter`` in turn."""
    from ._scipy_linalg2 import lfilter

    if zi is not None:
        raise no_rule("scipy.signal.sosfilt with zi=")
    sections = np.atleast_2d(sos) if not R.ndim_of(sos) == 2 else sos
    for k in range(R.shape_of(sections)[0]):
        x = lfilter(sections[k, :3], sections[k, 3:], x, axis=axis)
    return x


SIGNAL = {"convolve2d": convolve2d, "correlate2d": correlate2d, "sosfilt": sosfilt}


# ---------------------------------------------------------------------------- scipy.stats functions


def _stats_axis(a: Any, axis: Any) -> tuple[Any, int]:
    return (np.ravel(a), 0) if axis is None else (a, axis)


def _propagate(name: str, kw: dict) -> None:
    if kw.get("nan_policy", "propagate") != "propagate":
        raise no_rule(f"scipy.stats.{name} with nan_policy={kw['nan_policy']!r}")


def _keep(r: Any, a: Any, axis: Any, keepdims: bool) -> Any:
    if not keepdims:
        return r
    return np.reshape(r, (1,) * R.ndim_of(a)) if axis is None else np.expand_dims(r, axis)


def entropy(pk: Any, qk: Any = None, base: Any = None, axis: Any = 0, **kw: Any) -> Any:
    """``scipy.stats.entropy``: ``Σ entr(p)`` or ``Σ rel_entr(p, q)`` of the normalised inputs."""
    import scipy.special as sp

    _propagate("entropy", kw)
    p, ax = _stats_axis(np.asarray(pk) if not hasattr(pk, "shape") else pk, axis)
    p = p / np.sum(p, axis=ax, keepdims=True)
    if qk is None:
        r = np.sum(sp.entr(p), axis=ax)
    else:
        q, _ = _stats_axis(np.asarray(qk) if not hasattr(qk, "shape") else qk, axis)
        r = np.sum(sp.rel_entr(p, q / np.sum(q, axis=ax, keepdims=True)), axis=ax)
    r = r / math.log(base) if base is not None else r
    return _keep(r, pk, axis, kw.get("keepdims", False))


def _central(a: Any, ax: int, k: int) -> Any:
    d = a - np.mean(a, axis=ax, keepdims=True)
    return np.mean(d**k, axis=ax)


def zscore(a: Any, axis: Any = 0, ddof: int = 0, nan_policy: str = "propagate") -> Any:
    """``(a - mean) / std`` along ``axis`` (``None``: over all entries)."""
    _propagate("zscore", {"nan_policy": nan_policy})
    m = np.mean(a, axis=axis, keepdims=True)
    return (a - m) / np.std(a, axis=axis, ddof=ddof, keepdims=True)


def moment(a: Any, order: int = 1, axis: Any = 0, **kw: Any) -> Any:
    """The ``order``-th central moment along ``axis``."""
    _propagate("moment", kw)
    x, ax = _stats_axis(a, axis)
    if kw.get("center") is not None:
        raise no_rule("scipy.stats.moment with center=")
    r = _central(x, ax, int(order)) if int(order) else np.mean(x**0, axis=ax)
    return _keep(r, a, axis, kw.get("keepdims", False))


def skew(a: Any, axis: Any = 0, bias: bool = True, **kw: Any) -> Any:
    """``m3 / m2^1.5`` (``bias=False``: times ``sqrt(n (n - 1)) / (n - 2)`` when ``n > 2``)."""
    _propagate("skew", kw)
    x, ax = _stats_axis(a, axis)
    n = R.shape_of(x)[ax]
    r = _central(x, ax, 3) / _central(x, ax, 2) ** 1.5
    r = r if bias or n <= 2 else r * math.sqrt(n * (n - 1)) / (n - 2)  # SciPy corrects for n > 2
    return _keep(r, a, axis, kw.get("keepdims", False))


def kurtosis(a: Any, axis: Any = 0, fisher: bool = True, bias: bool = True, **kw: Any) -> Any:
    """``m4 / m2^2`` (minus 3 for Fisher's definition; ``bias=False``: the unbiased estimate
    when ``n > 3``)."""
    _propagate("kurtosis", kw)
    x, ax = _stats_axis(a, axis)
    n = R.shape_of(x)[ax]
    r = _central(x, ax, 4) / _central(x, ax, 2) ** 2
    if not bias and n > 3:  # SciPy corrects for n > 3 only
        r = ((n * n - 1) * r - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3)) + 3
    r = r - 3 if fisher else r
    return _keep(r, a, axis, kw.get("keepdims", False))


def gmean(a: Any, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    """``exp(mean(log a))`` (weighted: ``exp(Σ w log a / Σ w)``)."""
    _propagate("gmean", kw)
    x, ax = _stats_axis(a, axis)
    la = np.log(x)
    r = np.exp(np.mean(la, axis=ax) if weights is None else np.average(la, axis=ax, weights=weights))
    return _keep(r, a, axis, kw.get("keepdims", False))


def hmean(a: Any, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    """``1 / mean(1 / a)`` (weighted: ``Σ w / Σ (w / a)``)."""
    _propagate("hmean", kw)
    x, ax = _stats_axis(a, axis)
    r = 1 / (np.mean(1 / x, axis=ax) if weights is None else np.average(1 / x, axis=ax, weights=weights))
    return _keep(r, a, axis, kw.get("keepdims", False))


def variation(a: Any, axis: Any = 0, nan_policy: str = "propagate", ddof: int = 0, **kw: Any) -> Any:
    """``std / mean`` along ``axis``."""
    _propagate("variation", {"nan_policy": nan_policy})
    x, ax = _stats_axis(a, axis)
    r = np.std(x, axis=ax, ddof=ddof) / np.mean(x, axis=ax)
    return _keep(r, a, axis, kw.get("keepdims", False))


def sem(a: Any, axis: Any = 0, ddof: int = 1, **kw: Any) -> Any:
    """``std(ddof) / sqrt(n)`` along ``axis``."""
    _propagate("sem", kw)
    x, ax = _stats_axis(a, axis)
    r = np.std(x, axis=ax, ddof=ddof) / math.sqrt(R.shape_of(x)[ax])
    return _keep(r, a, axis, kw.get("keepdims", False))


STATS = {
    "entropy": entropy,
    "zscore": zscore,
    "moment": moment,
    "skew": skew,
    "kurtosis": kurtosis,
    "gmean": gmean,
    "hmean": hmean,
    "variation": variation,
    "sem": sem,
}


# ---------------------------------------------------------------------------- scipy.linalg


def _plain_problem(name: str, b: Any, extra: bool) -> None:
    if b is not None or extra:
        raise no_rule(f"scipy.linalg.{name} with b= (a generalized problem), left= or homogeneous_eigvals=")


def eigvals(
    a: Any,
    b: Any = None,
    overwrite_a: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
) -> Any:
    """``scipy.linalg.eigvals`` of a standard problem: ``np.linalg.eigvals``."""
    _plain_problem("eigvals", b, homogeneous_eigvals)
    return np.linalg.eigvals(a)


def eig(a: Any, b: Any = None, left: bool = False, right: bool = True, **kw: Any) -> Any:
    """``scipy.linalg.eig`` of a standard problem (right vectors): ``np.linalg.eig``."""
    _plain_problem("eig", b, left or kw.get("homogeneous_eigvals", False))
    w, v = np.linalg.eig(a)
    return (w, v) if right else w


def polar(a: Any, side: str = "right") -> tuple:
    """``a = u p`` (``side='right'``) or ``p u`` (``'left'``) from the SVD ``a = W S Vᴴ``:
    ``u = W Vᴴ``, ``p = V S Vᴴ`` (or ``W S Wᴴ``)."""
    if side not in ("right", "left"):
        raise ValueError("`side` must be either 'right' or 'left'")
    w, s, vh = np.linalg.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        p = np.conjugate(vh.T) @ (s[:, None] * vh)
    else:
        p = w @ (s[:, None] * np.conjugate(w.T))
    return u, p


LINALG = {"eigvals": eigvals, "eig": eig, "polar": polar}
