"""Array API namespace returned by ``Traced.__array_namespace__``.

Every name maps to the NumPy function that dispatches to the engine when given traced arrays
(Array-API spellings such as ``acos``, ``concat``, ``permute_dims`` are aliases).  The creation
functions (``zeros``, ``ones``, ``empty``, ``full``, ``asarray``) return buffers that accept
traced writes while a trace runs in this thread, as ``np.zeros`` does in user code there
(see :mod:`._intercept`), and plain ndarrays otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._intercept import ORIGINAL, buffer, tracing_here
from ._tracer import Traced

__array_api_version__ = "2023.12"

_SAME = (
    "abs add all any argmax argmin argsort broadcast_to clip conj cos cosh cumsum divide "
    "empty_like equal exp expand_dims expm1 eye flip float32 float64 complex64 "
    "complex128 int32 int64 bool full_like greater greater_equal imag isfinite isinf isnan "
    "less less_equal linspace arange log log1p log2 log10 logaddexp logical_and logical_not "
    "logical_or matmul max maximum mean min minimum multiply negative not_equal ones_like "
    "prod real reshape round sign sin sinh sort sqrt square squeeze stack std subtract sum tan "
    "tanh tensordot var where zeros_like finfo iinfo result_type e pi inf nan newaxis "
    "linalg einsum"
).split()
for _n in _SAME:  # the originals, also when this module is first imported during a trace
    globals()[_n] = ORIGINAL.get(_n, getattr(np, _n))

acos = np.arccos
acosh = np.arccosh
asin = np.arcsin
asinh = np.arcsinh
atan = np.arctan
atan2 = np.arctan2
atanh = np.arctanh
concat = np.concatenate
permute_dims = np.transpose
pow = np.power
cumulative_sum = np.cumsum


def _made(value: np.ndarray) -> Any:
    return buffer(value) if tracing_here() else value


def zeros(shape: Any, dtype: Any = None, device: Any = None) -> Any:
    """Zeros of ``shape``; a buffer accepting traced writes while tracing."""
    return _made(ORIGINAL["zeros"](shape, dtype=dtype or np.float64))


def empty(shape: Any, dtype: Any = None, device: Any = None) -> Any:
    """Like :func:`zeros` (zero-filled, so tapes never record uninitialised memory)."""
    return zeros(shape, dtype)


def ones(shape: Any, dtype: Any = None, device: Any = None) -> Any:
    """Ones of ``shape``; a buffer accepting traced writes while tracing."""
    return _made(ORIGINAL["ones"](shape, dtype=dtype or np.float64))


def full(shape: Any, fill_value: Any, dtype: Any = None, device: Any = None) -> Any:
    """``fill_value`` (traced or not) broadcast to ``shape``."""
    if isinstance(fill_value, Traced):
        from ._numpy_api import _full_like_kw

        return _full_like_kw(shape, fill_value, dtype=dtype)
    return _made(ORIGINAL["full"](shape, fill_value, dtype=dtype))


def asarray(obj: Any, dtype: Any = None, copy: Any = None, **kw: Any) -> Any:
    """Traced arrays pass through (cast if ``dtype`` differs); sequences holding traced values
    are stacked; anything else -> ``np.asarray`` (a buffer while tracing)."""
    if isinstance(obj, Traced):
        return obj if dtype is None or obj.dtype == np.dtype(dtype) else obj.astype(dtype)
    from ._numpy_api import _build, _has_traced

    if _has_traced(obj):
        r = _build(obj)
        return r if dtype is None or r.dtype == np.dtype(dtype) else r.astype(dtype)
    r = ORIGINAL["asarray"](obj, dtype=dtype)
    return r if r is obj else _made(r)


def astype(x: Any, dtype: Any, copy: bool = True, **kw: Any) -> Any:
    return x.astype(dtype)


def matrix_transpose(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def vecdot(x1: Any, x2: Any, axis: int = -1) -> Any:
    return np.sum(np.conjugate(x1) * x2, axis=axis)
