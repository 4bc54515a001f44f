"""``scipy.stats`` summary functions for traced samples, written with NumPy (so the engine's
rules apply, in both modes, and nest): ``entropy``, ``zscore``, ``moment``, ``skew``,
``kurtosis``, ``gmean``, ``hmean``, ``pmean``, ``variation``, ``sem``, ``trim_mean``, ``iqr``,
``median_abs_deviation``, ``pearsonr``.

As SciPy: ``axis=None`` runs over all entries, ``keepdims=True`` keeps the reduced axes, and
``bias=False`` corrects ``skew`` for ``n > 2`` and ``kurtosis`` for ``n > 3`` only.  Only
``nan_policy='propagate'`` has a rule; other options without one raise ``EngineError``
naming them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import _rules as R
from ._errors import EngineError


def _axis_n(a: Any, axis: Any) -> int:
    shp = R.shape_of(a)
    return int(np.prod(shp)) if axis is None else shp[axis]


def _flat(a: Any, axis: Any) -> tuple[Any, Any]:
    return (np.reshape(a, (-1,)), 0) if axis is None else (a, axis)


def _nan_policy(kw: dict, fn: str) -> bool:
    """Check the options in ``kw`` (``nan_policy``, ``keepdims``); return ``keepdims``."""
    if kw.pop("nan_policy", "propagate") != "propagate":
        raise EngineError(
            f"scipy.stats.{fn} with nan_policy other than 'propagate' has no rule in anydiff.engine"
        )
    keepdims = bool(kw.pop("keepdims", False))
    if kw:
        raise EngineError(f"scipy.stats.{fn} with {sorted(kw)} has no rule in anydiff.engine")
    return keepdims


def _no_keepdims(kw: dict, fn: str) -> None:
    if _nan_policy(kw, fn):
        raise EngineError(f"scipy.stats.{fn} with keepdims=True has no rule in anydiff.engine")


def _keep(r: Any, a: Any, axis: Any, keepdims: bool) -> Any:
    """``r`` with the reduced axes of ``a`` kept (as length 1) when ``keepdims``."""
    if not keepdims:
        return r
    return np.reshape(r, (1,) * R.ndim_of(a)) if axis is None else np.expand_dims(r, axis)


def _asarray(a: Any) -> Any:
    return a if hasattr(a, "shape") else np.asarray(a)


def entropy(pk: Any, qk: Any = None, base: Any = None, axis: Any = 0, **kw: Any) -> Any:
    """``Σ entr(p)`` or ``Σ rel_entr(p, q)`` of the normalised inputs (over ``log(base)``)."""
    import scipy.special as sp

    keepdims = _nan_policy(kw, "entropy")
    pk = _asarray(pk)
    p, ax = _flat(pk, axis)
    p = p / np.sum(p, axis=ax, keepdims=True)
    if qk is None:
        r = np.sum(sp.entr(p), axis=ax)
    else:
        q, _ = _flat(_asarray(qk), axis)
        r = np.sum(sp.rel_entr(p, q / np.sum(q, axis=ax, keepdims=True)), axis=ax)
    r = r / math.log(base) if base is not None else r
    return _keep(r, pk, axis, keepdims)


def zscore(a: Any, axis: Any = 0, ddof: int = 0, nan_policy: str = "propagate") -> Any:
    """``(a - mean) / std`` along ``axis`` (``None``: over all entries)."""
    _nan_policy({"nan_policy": nan_policy}, "zscore")
    return (a - np.mean(a, axis=axis, keepdims=True)) / np.std(a, axis=axis, ddof=ddof, keepdims=True)


def _central(a: Any, order: int, axis: Any) -> Any:
    return np.mean((a - np.mean(a, axis=axis, keepdims=True)) ** order, axis=axis)


def moment(a: Any, order: int = 1, axis: Any = 0, nan_policy: str = "propagate", **kw: Any) -> Any:
    """The ``order``-th central moment along ``axis`` (about ``center=`` if given)."""
    center = kw.pop("center", None)
    keepdims = _nan_policy({"nan_policy": nan_policy, **kw}, "moment")
    x, ax = _flat(a, axis)
    if center is not None:
        r = np.mean((x - center) ** order, axis=ax)
    else:  # the first central moment is exactly 0, as SciPy's
        r = _central(x, order, ax) if order != 1 else np.mean(x, axis=ax) * 0.0
    return _keep(r, a, axis, keepdims)


def skew(a: Any, axis: Any = 0, bias: bool = True, nan_policy: str = "propagate", **kw: Any) -> Any:
    """``m3 / m2^1.5`` (``bias=False``: times ``sqrt(n (n - 1)) / (n - 2)`` when ``n > 2``)."""
    keepdims = _nan_policy({"nan_policy": nan_policy, **kw}, "skew")
    x, ax = _flat(a, axis)
    n = _axis_n(x, ax)
    r = _central(x, 3, ax) / _central(x, 2, ax) ** 1.5
    r = r if bias or n <= 2 else r * math.sqrt(n * (n - 1)) / (n - 2)  # SciPy corrects for n > 2
    return _keep(r, a, axis, keepdims)


def kurtosis(
    a: Any, axis: Any = 0, fisher: bool = True, bias: bool = True, nan_policy: str = "propagate", **kw: Any
) -> Any:
    """``m4 / m2^2`` (minus 3 for Fisher's definition; ``bias=False``: the unbiased estimate
    when ``n > 3``)."""
    keepdims = _nan_policy({"nan_policy": nan_policy, **kw}, "kurtosis")
    x, ax = _flat(a, axis)
    n = _axis_n(x, ax)
    r = _central(x, 4, ax) / _central(x, 2, ax) ** 2
    if not bias and n > 3:  # SciPy corrects for n > 3 only
        r = ((n * n - 1) * r - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3)) + 3
    r = r - 3 if fisher else r
    return _keep(r, a, axis, keepdims)


def gmean(a: Any, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    """``exp(mean(log a))`` (weighted: ``exp(Σ w log a / Σ w)``)."""
    keepdims = _nan_policy(kw, "gmean")
    x, ax = _flat(a, axis)
    w = None if weights is None else _flat(weights, axis)[0]
    return _keep(np.exp(np.average(np.log(x), axis=ax, weights=w)), a, axis, keepdims)


def hmean(a: Any, axis: Any = 0, dtype: Any = None, *, weights: Any = None, **kw: Any) -> Any:
    """``1 / mean(1 / a)`` (weighted: ``Σ w / Σ (w / a)``)."""
    keepdims = _nan_policy(kw, "hmean")
    x, ax = _flat(a, axis)
    w = None if weights is None else _flat(weights, axis)[0]
    return _keep(1.0 / np.average(1.0 / x, axis=ax, weights=w), a, axis, keepdims)


def variation(a: Any, axis: Any = 0, nan_policy: str = "propagate", ddof: int = 0, **kw: Any) -> Any:
    """``std / mean`` along ``axis``."""
    keepdims = _nan_policy({"nan_policy": nan_policy, **kw}, "variation")
    x, ax = _flat(a, axis)
    return _keep(np.std(x, axis=ax, ddof=ddof) / np.mean(x, axis=ax), a, axis, keepdims)


def sem(a: Any, axis: Any = 0, ddof: int = 1, nan_policy: str = "propagate", **kw: Any) -> Any:
    """``std(ddof) / sqrt(n)`` along ``axis``."""
    keepdims = _nan_policy({"nan_policy": nan_policy, **kw}, "sem")
    x, ax = _flat(a, axis)
    return _keep(np.std(x, axis=ax, ddof=ddof) / math.sqrt(_axis_n(x, ax)), a, axis, keepdims)


def pmean(a: Any, p: float, *, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    _no_keepdims(kw, "pmean")
    a, axis = _flat(a, axis)
    if p == 0:
        return gmean(a, axis=axis, weights=weights)
    return np.average(a**p, axis=axis, weights=weights) ** (1.0 / p)


def trim_mean(a: Any, proportiontocut: float, axis: Any = 0) -> Any:
    a, axis = _flat(a, axis)
    n = _axis_n(a, axis)
    lo = int(proportiontocut * n)
    s = np.moveaxis(np.sort(a, axis=axis), axis, -1)
    return np.mean(s[..., lo : n - lo], axis=-1)


def iqr(x: Any, axis: Any = None, rng: tuple = (25, 75), scale: Any = 1.0, **kw: Any) -> Any:
    if kw.pop("interpolation", "linear") != "linear":
        raise EngineError(
            "scipy.stats.iqr with interpolation other than 'linear' has no rule in anydiff.engine"
        )
    _no_keepdims(kw, "iqr")
    if scale == "normal":
        scale = 1.3489795003921634  # 2 * ndtri(0.75), as SciPy
    q = np.percentile(x, list(rng), axis=axis)
    return (q[1] - q[0]) / scale


def median_abs_deviation(x: Any, axis: Any = 0, center: Any = None, scale: Any = 1.0, **kw: Any) -> Any:
    _no_keepdims(kw, "median_abs_deviation")
    center = np.median if center is None else center
    x, axis = _flat(x, axis)
    if scale == "normal":
        scale = 0.6744897501960817  # ndtri(0.75), as SciPy
    med = np.expand_dims(center(x, axis=axis), axis)
    return np.median(np.abs(x - med), axis=axis) / scale


class PearsonResult(NamedTuple):
    statistic: Any
    pvalue: Any


def pearsonr(x: Any, y: Any, *, alternative: str = "two-sided", axis: int = 0, **kw: Any) -> PearsonResult:
    """``scipy.stats.pearsonr`` (1-D): the correlation and its two-sided p-value (beta law)."""
    import scipy.special as sp

    if alternative != "two-sided" or kw or R.ndim_of(x) != 1:
        raise EngineError(
            "scipy.stats.pearsonr: only 1-D samples, alternative='two-sided' have a rule in anydiff.engine"
        )
    xm, ym = x - np.mean(x), y - np.mean(y)
    r = np.sum(xm * ym) / np.sqrt(np.sum(xm * xm) * np.sum(ym * ym))
    r = np.clip(r, -1.0, 1.0)
    ab = R.shape_of(x)[0] / 2 - 1
    p = 2 * (1 - sp.betainc(ab, ab, (np.abs(r) + 1) / 2))  # 2 * sf of beta(ab, ab) on [-1, 1]
    return PearsonResult(r, p)


STATS: dict[str, Callable] = {
    "entropy": entropy,
    "zscore": zscore,
    "moment": moment,
    "skew": skew,
    "kurtosis": kurtosis,
    "sem": sem,
    "variation": variation,
    "gmean": gmean,
    "hmean": hmean,
    "pmean": pmean,
    "trim_mean": trim_mean,
    "iqr": iqr,
    "median_abs_deviation": median_abs_deviation,
    "pearsonr": pearsonr,
}
