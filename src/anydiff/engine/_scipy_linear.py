"""SciPy's linear filters for traced signals: ``scipy.signal.savgol_filter``, ``filtfilt``,
``sosfilt``, ``sosfiltfilt``, ``detrend``, ``decimate``, ``resample`` and
``scipy.ndimage.gaussian_filter(1d)`` / ``uniform_filter(1d)``.

Each is an affine map of the signal along one axis, ``y = M x + c`` for constant ``M`` and
``c`` (filter coefficients, window, padding mode fixed).  :func:`linear_along_axis` has SciPy
compute ``M`` and ``c`` from the identity and from zeros, so every option SciPy offers is
honoured exactly; the derivative is then that of a matrix product.  Coefficients that are
traced raise (the map is not linear in them), except ``sosfilt``'s sections (a chain of
``lfilter``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError
from ._numpy_api import _carries_trace
from ._tracer import primal


def linear_along_axis(fn: Callable[[np.ndarray], np.ndarray], x: Any, axis: int) -> Any:
    """``fn`` (affine along axis 0 of a plain 2-D array) applied along ``axis`` of ``x``."""
    if not isinstance(x, np.ndarray) and not hasattr(x, "_value"):
        x = np.asarray(x, dtype=float)
    nd = R.ndim_of(x)
    axis %= nd
    n = R.shape_of(x)[axis]
    zero = np.asarray(fn(np.zeros((n, 1))))  # (m, 1): the constant part
    mat = np.asarray(fn(np.eye(n))) - zero  # (m, n)
    moved = np.moveaxis(x, axis, -1)
    return np.moveaxis(moved @ mat.T + zero[:, 0], -1, axis)


def _constant(name: str, **coeffs: Any) -> list:
    """The plain values of the filter coefficients (a traced one raises)."""
    for k, v in coeffs.items():
        if _carries_trace([v]):
            raise EngineError(
                f"{name} is differentiated in its signal only: traced {k} has no rule in anydiff.engine; "
                "use scipy.signal.lfilter (traced coefficients) or backend 'finitediff'"
            )
    return [np.asarray(primal(v)) for v in coeffs.values()]


def _no_output(name: str, output: Any) -> None:
    if output is not None:
        raise EngineError(f"{name} with output= has no rule in anydiff.engine (use its return value)")


def savgol_filter(
    x: Any,
    window_length: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    axis: int = -1,
    mode: str = "interp",
    cval: float = 0.0,
) -> Any:
    import scipy.signal as ss

    def fn(v: np.ndarray) -> np.ndarray:
        return ss.savgol_filter(v, window_length, polyorder, deriv, delta, axis=0, mode=mode, cval=cval)

    return linear_along_axis(fn, x, axis)


def filtfilt(b: Any, a: Any, x: Any, axis: int = -1, **kw: Any) -> Any:
    import scipy.signal as ss

    b, a = _constant("scipy.signal.filtfilt", b=b, a=a)
    return linear_along_axis(lambda v: ss.filtfilt(b, a, v, axis=0, **kw), x, axis)


def sosfilt(sos: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    """``scipy.signal.sosfilt`` (zero initial state): constant sections filter along any axis
    as their matrix; traced sections (a 1-D signal) run each section's ``lfilter`` in turn."""
    import scipy.signal as ss

    if zi is not None:
        raise EngineError("scipy.signal.sosfilt with zi= has no rule in anydiff.engine")
    if _carries_trace([sos]):
        from ._scipy_linalg2 import lfilter

        sections = np.atleast_2d(sos)
        if R.shape_of(sections)[1:] != (6,) or np.any(np.asarray(primal(sections))[:, 3] != 1):
            raise ValueError("sos array must be shape (n_sections, 6), with sos[:, 3] all ones")
        for k in range(R.shape_of(sections)[0]):
            x = lfilter(sections[k, :3], sections[k, 3:], x, axis=axis)
        return x
    (sos,) = _constant("scipy.signal.sosfilt", sos=sos)
    return linear_along_axis(lambda v: ss.sosfilt(sos, v, axis=0), x, axis)


def sosfiltfilt(sos: Any, x: Any, axis: int = -1, **kw: Any) -> Any:
    import scipy.signal as ss

    (sos,) = _constant("scipy.signal.sosfiltfilt", sos=sos)
    return linear_along_axis(lambda v: ss.sosfiltfilt(sos, v, axis=0, **kw), x, axis)


def detrend(
    data: Any, axis: int = -1, type: str = "linear", bp: Any = 0, overwrite_data: bool = False
) -> Any:
    import scipy.signal as ss

    return linear_along_axis(lambda v: ss.detrend(v, axis=0, type=type, bp=bp), data, axis)


def decimate(
    x: Any, q: int, n: Any = None, ftype: Any = "iir", axis: int = -1, zero_phase: bool = True
) -> Any:
    import scipy.signal as ss

    return linear_along_axis(lambda v: ss.decimate(v, q, n, ftype, axis=0, zero_phase=zero_phase), x, axis)


def resample(x: Any, num: int, t: Any = None, axis: int = 0, window: Any = None, domain: str = "time") -> Any:
    import scipy.signal as ss

    if t is not None or domain != "time":
        raise EngineError("scipy.signal.resample with t= or domain='freq' has no rule in anydiff.engine")
    return linear_along_axis(lambda v: ss.resample(v, num, axis=0, window=window), x, axis)


def gaussian_filter1d(
    input: Any,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
) -> Any:
    import scipy.ndimage as nd

    _no_output("scipy.ndimage.gaussian_filter1d", output)

    def fn(v: np.ndarray) -> np.ndarray:
        return nd.gaussian_filter1d(
            v, sigma, 0, order, mode=mode, cval=cval, truncate=truncate, radius=radius
        )

    return linear_along_axis(fn, input, axis)


def uniform_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> Any:
    import scipy.ndimage as nd

    _no_output("scipy.ndimage.uniform_filter1d", output)
    return linear_along_axis(
        lambda v: nd.uniform_filter1d(v, size, 0, mode=mode, cval=cval, origin=origin), input, axis
    )


def _filter_axes(input: Any, axes: Any) -> list[int]:
    """The axes an ``ndimage`` filter runs along (all by default), as non-negative ints."""
    nd = R.ndim_of(input)
    return list(range(nd)) if axes is None else [a % nd for a in np.atleast_1d(axes).tolist()]


def _per_axis(v: Any, n: int) -> list:
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * n


def gaussian_filter(
    input: Any,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
) -> Any:
    """One ``gaussian_filter1d`` per axis, as SciPy (axes with ``sigma <= 1e-15`` are skipped)."""
    _no_output("scipy.ndimage.gaussian_filter", output)
    axes = _filter_axes(input, axes)
    n = len(axes)
    for ax, s, o, m, r in zip(
        axes, _per_axis(sigma, n), _per_axis(order, n), _per_axis(mode, n), _per_axis(radius, n)
    ):
        if s > 1e-15:
            input = gaussian_filter1d(input, s, ax, o, mode=m, cval=cval, truncate=truncate, radius=r)
    return input


def uniform_filter(
    input: Any,
    size: Any = 3,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """One ``uniform_filter1d`` per axis, as SciPy (axes of size 1 are skipped)."""
    _no_output("scipy.ndimage.uniform_filter", output)
    axes = _filter_axes(input, axes)
    n = len(axes)
    for ax, s, m, o in zip(axes, _per_axis(size, n), _per_axis(mode, n), _per_axis(origin, n)):
        if s > 1:
            input = uniform_filter1d(input, int(s), ax, mode=m, cval=cval, origin=o)
    return input


SIGNAL_LINEAR: dict[str, Callable] = {
    "savgol_filter": savgol_filter,
    "filtfilt": filtfilt,
    "sosfilt": sosfilt,
    "sosfiltfilt": sosfiltfilt,
    "detrend": detrend,
    "decimate": decimate,
    "resample": resample,
}
NDIMAGE: dict[str, Callable] = {
    "gaussian_filter1d": gaussian_filter1d,
    "uniform_filter1d": uniform_filter1d,
    "gaussian_filter": gaussian_filter,
    "uniform_filter": uniform_filter,
}
