"""Array API namespace returned by ``Traced.__array_namespace__``.

Every name maps to the NumPy function that dispatches to the engine when given traced arrays
(Array-API spellings such as ``acos``, ``concat``, ``permute_dims`` are aliases).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tracer import Traced

__array_api_version__ = "2023.12"

_SAME = (
    "abs add all any argmax argmin argsort broadcast_to clip conj cos cosh cumsum divide "
    "empty empty_like equal exp expand_dims expm1 eye flip float32 float64 complex64 "
    "complex128 int32 int64 bool full full_like greater greater_equal imag isfinite isinf isnan "
    "less less_equal linspace arange log log1p log2 log10 logaddexp logical_and logical_not "
    "logical_or matmul max maximum mean min minimum multiply negative not_equal ones ones_like "
    "prod real reshape round sign sin sinh sort sqrt square squeeze stack std subtract sum tan "
    "tanh tensordot var where zeros zeros_like finfo iinfo result_type e pi inf nan newaxis "
    "linalg einsum"
).split()
for _n in _SAME:
    globals()[_n] = getattr(np, _n)

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


def asarray(obj: Any, dtype: Any = None, copy: Any = None, **kw: Any) -> Any:
    """Traced arrays pass through (cast if ``dtype`` differs); anything else -> ``np.asarray``."""
    if isinstance(obj, Traced):
        return obj if dtype is None or obj.dtype == np.dtype(dtype) else obj.astype(dtype)
    return np.asarray(obj, dtype=dtype)


def astype(x: Any, dtype: Any, copy: bool = True, **kw: Any) -> Any:
    return x.astype(dtype)


def matrix_transpose(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def vecdot(x1: Any, x2: Any, axis: int = -1) -> Any:
    return np.sum(np.conjugate(x1) * x2, axis=axis)
