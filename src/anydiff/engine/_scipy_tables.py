"""The SciPy (and ``numpy.polynomial``) functions routed to the engine when an argument is
traced, by submodule (:func:`function_tables`), and the two small tables defined here:
``scipy.fft`` and ``scipy.optimize.rosen``.

Each routed function is written with NumPy calls on (possibly traced) arrays, so the engine's
rules apply and nest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

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

# ---------------------------------------------------------------------------- scipy.optimize


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
    from ._scipy_stats_summary import STATS

    return {
        "scipy.special": {**FUNCTIONS, **FUNCTIONS_MORE},
        "scipy.linalg": LINALG,
        "scipy.signal": {**SIGNAL, **SIGNAL_LINEAR},
        "scipy.ndimage": NDIMAGE,
        "scipy.interpolate": INTERPOLATE,
        "scipy.integrate": INTEGRATE,
        "scipy.spatial.distance": SPATIAL,
        "scipy.stats": STATS,
        "scipy.fft": FFT,
        "scipy.optimize": {"rosen": rosen},
        **POLYNOMIAL,
    }
