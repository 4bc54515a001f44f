"""The derivative rules table: one :class:`Prim` per primitive array operation (a facade).

The rules live in modules with one job each; this module re-exports them so that callers keep
writing ``from . import _rules as R`` and ``R.SUM``:

* :mod:`._rules_core` — shape/dtype helpers, broadcasting (``fit``), lazy cotangents, operand
  normalisation;
* :mod:`._rules_elementwise` — ufuncs (``unary``/``binary`` builders, the UNARY/BINARY tables);
* :mod:`._rules_shape` — reshape/transpose/broadcast/astype/concatenate and indexing;
* :mod:`._rules_reduce` — sum, max/min, prod, logsumexp, cumsum, roots of sums of powers;
* :mod:`._rules_linalg` — matmul, einsum and ``np.linalg``.

Every rule is written with NumPy calls that dispatch on traced arrays, so rules can
themselves be differentiated (forward-over-reverse, forward-over-forward).
"""

from __future__ import annotations

from ._rules_core import (
    Lazy,
    _is_scalar_const,
    _kshape,
    _lazy,
    _norm_axes,
    _real,
    _reuse,
    _shift,
    as_operand,
    bt,
    cj,
    dtype_of,
    fit,
    fit_tangent,
    is_complex,
    lazy_of,
    ndim_of,
    nondiff,
    operands,
    shape_of,
    unbroadcast,
)
from ._rules_elementwise import (
    ABSOLUTE,
    ADD,
    ARCTAN2,
    BINARY,
    CONJ,
    DIVIDE,
    FMAX,
    FMIN,
    HYPOT,
    IMAG,
    LOGADDEXP,
    MAXIMUM,
    MINIMUM,
    MULTIPLY,
    NEGATIVE,
    NONDIFF_UFUNCS,
    POSITIVE,
    POWER,
    REAL,
    REMAINDER,
    SUBTRACT,
    UNARY,
    _fast_where,
    binary,
    unary,
)
from ._rules_linalg import (
    CHOLESKY,
    DET,
    EIGH,
    EINSUM,
    INV,
    LOGABSDET,
    MATMUL,
    SLOGDET_SIGN,
    SOLVE,
)
from ._rules_reduce import CUMPROD, CUMSUM, LOGSUMEXP, MAX, MIN, PROD, ROOT, SUM, _expand
from ._rules_shape import (
    ARR,
    ASTYPE,
    BROADCAST,
    CONCAT,
    COPY,
    GETITEM,
    INDEX_ADD,
    RESHAPE,
    SETITEM,
    TRANSPOSE,
    build_index,
)

__all__ = [
    "ABSOLUTE", "ADD", "ARCTAN2", "ARR", "ASTYPE", "BINARY", "BROADCAST", "CHOLESKY", "CONCAT",
    "CONJ", "COPY", "CUMPROD", "CUMSUM", "DET", "DIVIDE", "EIGH", "EINSUM", "FMAX", "FMIN", "GETITEM",
    "HYPOT", "IMAG", "INDEX_ADD", "INV", "LOGABSDET", "LOGADDEXP", "LOGSUMEXP", "MATMUL", "MAX",
    "MAXIMUM", "MIN", "MINIMUM", "MULTIPLY", "NEGATIVE", "NONDIFF_UFUNCS", "POSITIVE", "POWER",
    "PROD", "REAL", "REMAINDER", "RESHAPE", "ROOT", "SETITEM", "SLOGDET_SIGN", "SOLVE",
    "SUBTRACT", "SUM", "TRANSPOSE", "UNARY", "Lazy", "_expand", "_fast_where",
    "_is_scalar_const", "_kshape", "_lazy", "_norm_axes", "_real", "_reuse", "_shift",
    "as_operand", "operands", "binary", "bt", "build_index", "cj", "dtype_of", "fit", "fit_tangent",
    "is_complex", "lazy_of", "ndim_of", "nondiff", "shape_of", "unary", "unbroadcast",
]
