"""More SciPy functions routed to the engine when an argument is traced: ``scipy.fft``,
summary statistics of ``scipy.stats`` (``entropy``, ``zscore``, ``skew``, ...), 2-D
convolutions of ``scipy.signal``, ``scipy.optimize.rosen``.

Each is written with NumPy calls on (possibly traced) arrays, so the engine's rules apply and
nest.  :func:`function_tables` gathers every routed SciPy function table, by submodule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import _rules as R
from ._errors import EngineError

# ---------------------------------------------------------------------------- scipy.fft

_NP_FFT = "fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn hfft ihfft".split()
_REAL_TRANSFORMS = "dct idct dst idst".split()


def _fft_function(name: str) -> Callable:
    def impl(
        x: Any, *args: Any, overwrite_x: bool = False, workers: Any = None, plan: Any = None, **kw: Any
    ) -> Any:
        if plan is not None:
            raise EngineError(f"scipy.fft.{name} with plan= has no derivative rule in anydiff.engine")
        return getattr(np.fft, name)(x, *args, **kw)  # overwrite_x / workers do not change values

    impl.__name__ = name
    return impl


def _real_transform(name: str) -> Callable:
    """``scipy.fft.dct`` & co.: linear maps along one axis, applied as their (constant) matrix,
    which SciPy itself computes from the identity (so every type, ``n=`` and ``norm=`` agree)."""

    def impl(
        x: Any,
        type: int = 2,
        n: Any = None,
        axis: int = -1,
        norm: Any = None,
        overwrite_x: bool = False,
        workers: Any = None,
        orthogonalize: Any = None,
    ) -> Any:
        import scipy.fft as sfft

        from ._scipy_linear import linear_along_axis

        def fn(v: np.ndarray) -> np.ndarray:
            return getattr(sfft, name)(v, type=type, n=n, axis=0, norm=norm, orthogonalize=orthogonalize)

        return linear_along_axis(fn, x, axis)

    impl.__name__ = name
    return impl


FFT: dict[str, Callable] = {n: _fft_function(n) for n in _NP_FFT}
FFT.update({n: _real_transform(n) for n in _REAL_TRANSFORMS})
FFT.update({"fftshift": np.fft.fftshift, "ifftshift": np.fft.ifftshift})

# ---------------------------------------------------------------------------- scipy.stats


def _axis_n(a: Any, axis: Any) -> int:
    shp = R.shape_of(a)
    return int(np.prod(shp)) if axis is None else shp[axis]


def _flat(a: Any, axis: Any) -> tuple[Any, Any]:
    return (np.reshape(a, (-1,)), 0) if axis is None else (a, axis)


def _nan_policy(kw: dict, fn: str) -> None:
    if kw.pop("nan_policy", "propagate") != "propagate":
        raise EngineError(
            f"scipy.stats.{fn} with nan_policy other than 'propagate' has no rule in anydiff.engine"
        )
    if kw.get("keepdims") is False:
        del kw["keepdims"]
    if kw:
        raise EngineError(f"scipy.stats.{fn} with {sorted(kw)} has no rule in anydiff.engine")


def entropy(pk: Any, qk: Any = None, base: Any = None, axis: int = 0, **kw: Any) -> Any:
    import scipy.special as sp

    _nan_policy(kw, "entropy")
    pk = pk / np.sum(pk, axis=axis, keepdims=True)
    if qk is None:
        s = np.sum(sp.entr(pk), axis=axis)
    else:
        qk = qk / np.sum(qk, axis=axis, keepdims=True)
        s = np.sum(sp.rel_entr(pk, qk), axis=axis)
    return s if base is None else s / np.log(base)


def zscore(a: Any, axis: Any = 0, ddof: int = 0, **kw: Any) -> Any:
    _nan_policy(kw, "zscore")
    return (a - np.mean(a, axis=axis, keepdims=True)) / np.std(a, axis=axis, ddof=ddof, keepdims=True)


def _central(a: Any, order: int, axis: Any) -> Any:
    return np.mean((a - np.mean(a, axis=axis, keepdims=True)) ** order, axis=axis)


def moment(a: Any, order: int = 1, axis: Any = 0, center: Any = None, **kw: Any) -> Any:
    _nan_policy(kw, "moment")
    a, axis = _flat(a, axis)
    if center is None:
        return _central(a, order, axis) if order != 1 else np.mean(a, axis=axis) * 0.0
    return np.mean((a - center) ** order, axis=axis)


def skew(a: Any, axis: Any = 0, bias: bool = True, **kw: Any) -> Any:
    _nan_policy(kw, "skew")
    a, axis = _flat(a, axis)
    n = _axis_n(a, axis)
    g1 = _central(a, 3, axis) / _central(a, 2, axis) ** 1.5
    return g1 if bias else g1 * np.sqrt((n - 1.0) * n) / (n - 2.0)


def kurtosis(a: Any, axis: Any = 0, fisher: bool = True, bias: bool = True, **kw: Any) -> Any:
    _nan_policy(kw, "kurtosis")
    a, axis = _flat(a, axis)
    n = _axis_n(a, axis)
    m2, m4 = _central(a, 2, axis), _central(a, 4, axis)
    k = m4 / m2**2
    if not bias:
        k = 1.0 / (n - 2) / (n - 3) * ((n * n - 1.0) * k - 3 * (n - 1.0) ** 2) + 3.0
    return k - 3.0 if fisher else k


def sem(a: Any, axis: Any = 0, ddof: int = 1, **kw: Any) -> Any:
    _nan_policy(kw, "sem")
    a, axis = _flat(a, axis)
    return np.std(a, axis=axis, ddof=ddof) / np.sqrt(_axis_n(a, axis))


def variation(a: Any, axis: Any = 0, ddof: int = 0, **kw: Any) -> Any:
    _nan_policy(kw, "variation")
    a, axis = _flat(a, axis)
    return np.std(a, axis=axis, ddof=ddof) / np.mean(a, axis=axis)


def gmean(a: Any, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    _nan_policy(kw, "gmean")
    a, axis = _flat(a, axis)
    return np.exp(np.average(np.log(a), axis=axis, weights=weights))


def hmean(a: Any, axis: Any = 0, dtype: Any = None, *, weights: Any = None, **kw: Any) -> Any:
    _nan_policy(kw, "hmean")
    a, axis = _flat(a, axis)
    return 1.0 / np.average(1.0 / a, axis=axis, weights=weights)


def pmean(a: Any, p: float, *, axis: Any = 0, dtype: Any = None, weights: Any = None, **kw: Any) -> Any:
    _nan_policy(kw, "pmean")
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
    _nan_policy(kw, "iqr")
    if scale == "normal":
        scale = 1.3489795003921634  # 2 * ndtri(0.75), as SciPy
    q = np.percentile(x, list(rng), axis=axis)
    return (q[1] - q[0]) / scale


def median_abs_deviation(x: Any, axis: Any = 0, center: Any = None, scale: Any = 1.0, **kw: Any) -> Any:
    _nan_policy(kw, "median_abs_deviation")
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

# ---------------------------------------------------------------------------- scipy.signal, optimize


def _conv2d(flip: bool) -> Callable:
    def impl(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
        from ._scipy_linalg import signal_convolve, signal_correlate

        if boundary != "fill" or np.any(np.asarray(fillvalue) != 0):
            raise EngineError(
                "scipy.signal.convolve2d / correlate2d: only boundary='fill' with fillvalue=0 has a "
                "rule in anydiff.engine"
            )
        return (signal_correlate if flip else signal_convolve)(in1, in2, mode)

    return impl


SIGNAL_MORE: dict[str, Callable] = {"convolve2d": _conv2d(False), "correlate2d": _conv2d(True)}


def solve_continuous_lyapunov(a: Any, q: Any) -> Any:
    """``scipy.linalg.solve_continuous_lyapunov``: ``a x + x aᴴ = q``, a Sylvester equation."""
    import scipy.linalg as sla

    return sla.solve_sylvester(
        a, np.conjugate(np.swapaxes(a, -1, -2)) if R.is_complex(a) else np.swapaxes(a, -1, -2), q
    )


def eigvals(
    a: Any,
    b: Any = None,
    overwrite_a: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
) -> Any:
    """``scipy.linalg.eigvals`` (standard problem): NumPy's, whose rule applies."""
    if b is not None or homogeneous_eigvals:
        raise EngineError("scipy.linalg.eigvals with b= or homogeneous_eigvals has no rule in anydiff.engine")
    return np.linalg.eigvals(a)


def polar(a: Any, side: str = "right") -> tuple[Any, Any]:
    """``scipy.linalg.polar`` from the SVD ``a = W S Vᴴ``: ``u = W Vᴴ`` and ``p = V S Vᴴ``
    (right) or ``W S Wᴴ`` (left); distinct nonzero singular values for a derivative."""
    w, s, vh = np.linalg.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        v = np.conjugate(np.swapaxes(vh, -1, -2))
        return u, (v * s) @ vh
    return u, (w * s) @ np.conjugate(np.swapaxes(w, -1, -2))


def expm_frechet(
    A: Any, E: Any, method: Any = None, compute_expm: bool = True, check_finite: bool = True
) -> Any:
    """``scipy.linalg.expm_frechet``: the blocks of ``expm([[A, E], [0, A]]) = [[e^A, L], [0, e^A]]``."""
    import scipy.linalg as sla

    n = R.shape_of(A)[-1]
    big = sla.expm(np.block([[A, E], [np.zeros((n, n)), A]]))
    L = big[:n, n:]
    return (big[:n, :n], L) if compute_expm else L


def _trig_m(kind: str) -> Callable:
    """``cosm`` / ``sinm`` / ``tanm`` / ``coshm`` / ``sinhm`` / ``tanhm`` from ``expm``."""

    def impl(A: Any) -> Any:
        import scipy.linalg as sla

        real = not R.is_complex(A)
        if kind in ("cosm", "sinm", "tanm"):
            e = sla.expm(1j * A)
            c, s = (
                (np.real(e), np.imag(e))
                if real
                else (0.5 * (e + sla.expm(-1j * A)), -0.5j * (e - sla.expm(-1j * A)))
            )
        else:
            ep, em = sla.expm(A), sla.expm(-A)
            c, s = 0.5 * (ep + em), 0.5 * (ep - em)
        if kind in ("cosm", "coshm"):
            return c
        if kind in ("sinm", "sinhm"):
            return s
        return np.linalg.solve(c, s)  # tan = cos⁻¹ sin (they commute)

    impl.__name__ = kind
    return impl


LINALG_MORE: dict[str, Callable] = {
    "eigvals": eigvals,
    "polar": polar,
    "expm_frechet": expm_frechet,
    **{k: _trig_m(k) for k in ("cosm", "sinm", "tanm", "coshm", "sinhm", "tanhm")},
}


def rosen(x: Any) -> Any:
    """``scipy.optimize.rosen``: ``Σ 100 (x[1:] - x[:-1]²)² + (1 - x[:-1])²`` along axis 0."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0, axis=0)


def function_tables() -> dict[str, dict[str, Callable]]:
    """Every routed SciPy function table, by submodule (the stats distributions' methods are
    wrapped separately, on their classes)."""
    from ._numpy_poly import POLYNOMIAL
    from ._scipy_integrate import INTEGRATE
    from ._scipy_interpolate import INTERPOLATE
    from ._scipy_linalg import LINALG, SIGNAL
    from ._scipy_linear import NDIMAGE, SIGNAL_LINEAR
    from ._scipy_spatial import SPATIAL
    from ._scipy_special import FUNCTIONS
    from ._scipy_special_more import FUNCTIONS_MORE

    return {
        "scipy.special": {**FUNCTIONS, **FUNCTIONS_MORE},
        "scipy.linalg": {**LINALG, **LINALG_MORE, "solve_continuous_lyapunov": solve_continuous_lyapunov},
        "scipy.signal": {**SIGNAL, **SIGNAL_MORE, **SIGNAL_LINEAR},
        "scipy.ndimage": NDIMAGE,
        "scipy.interpolate": INTERPOLATE,
        "scipy.integrate": INTEGRATE,
        "scipy.spatial.distance": SPATIAL,
        "scipy.stats": STATS,
        "scipy.fft": FFT,
        "scipy.optimize": {"rosen": rosen},
        **POLYNOMIAL,
    }
