"""The Array API namespace that ``ad.array_namespace`` returns for HIPS autograd's boxes.

``autograd.numpy`` is not an Array API namespace: NumPy 2's Array API names (``concat``,
``vecdot``, ``cumulative_sum``, ``unstack``, ``matrix_transpose``, ``linalg.vector_norm``, ...) are
there only as NumPy's own functions, which autograd does not trace, so on traced arrays they
return NumPy ``object`` arrays of boxes (an escaped trace) or fail; keywords differ too
(``correction`` for ``ddof``, ``descending`` sorts, ``copy=`` / ``device=``). :data:`namespace`
maps every Array API function to traced ``autograd.numpy`` code with the Array API signature,
and falls back to ``autograd.numpy`` (then NumPy) for everything else (dtypes, constants,
functions whose names agree). Non-differentiable functions (comparisons, ``sign``, ``argmax``,
...) are autograd's own no-gradient primitives.

What autograd runs of *plain* NumPy code (``import numpy as np``, see docs/backends.md): ufuncs
(arithmetic, ``np.sin``, ``np.exp``, ``np.maximum``, comparisons, ...) are traced through
autograd's ``__array_ufunc__``, and reductions that NumPy forwards to the array's method
(``np.sum``, ``np.mean``, ``np.prod``, ``np.max``) work. Other NumPy functions (``np.where``,
``np.concatenate``, ``np.stack``, ``np.dot``, ``np.array([...])`` of traced values, SciPy
functions) are not traced: they build ``object`` arrays of boxes, right only where later code
reduces them element by element; an object array that reaches ``f``'s output or a derivative is
refused with an ``UnsupportedError`` naming the backends that run plain NumPy code, as is a
``np.zeros`` buffer filled with traced values. Hence ``AutoAutograd.plain_numpy`` is ``False``.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

import autograd.numpy as anp
import autograd.numpy.linalg as alinalg
import numpy as np
from autograd.tracer import getval, isbox


def _axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


# ---- creation -----------------------------------------------------------------------------------


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None) -> Any:
    """``obj`` as an array; traced values stay traced (lists of them are stacked by autograd)."""
    if isbox(obj):
        return obj if dtype is None or np.dtype(dtype) == obj.dtype else obj.astype(dtype)
    if isinstance(obj, (list, tuple)) and _has_box(obj):
        a = anp.array(obj)
        return a if dtype is None else a.astype(dtype)
    if copy:
        return np.array(obj, dtype=dtype, copy=True)
    return np.asarray(obj, dtype=dtype)


def _has_box(obj: Any) -> bool:
    if isbox(obj):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_box(o) for o in obj)
    return False


def _like(name: str) -> Any:
    fill = getattr(np, name)

    def like(x: Any, /, *args: Any, dtype: Any = None, device: Any = None, **kw: Any) -> Any:
        return fill(getval(x), *args, dtype=dtype, **kw)

    like.__name__ = name
    return like


def _creation(name: str) -> Any:
    make = getattr(np, name)

    def create(*args: Any, device: Any = None, **kw: Any) -> Any:
        return make(*args, **kw)

    create.__name__ = name
    return create


# ---- data types and manipulation -------------------------------------------------------------------


def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    if isbox(x):
        return x if np.dtype(dtype) == x.dtype and not copy else x.astype(dtype)
    return np.asarray(x).astype(dtype, copy=copy)


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*[getval(a) for a in arrays_and_dtypes])


def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Any:
    if axis is None:
        return anp.concatenate([anp.reshape(a, (-1,)) for a in arrays])
    return anp.concatenate(list(arrays), axis=axis)


def stack(arrays: Sequence[Any], /, *, axis: int = 0) -> Any:
    return anp.stack(list(arrays), axis=axis)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    axis = axis % x.ndim
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def permute_dims(x: Any, /, axes: tuple[int, ...]) -> Any:
    return anp.transpose(x, axes)


def matrix_transpose(x: Any, /) -> Any:
    return anp.swapaxes(x, -1, -2)


def reshape(x: Any, /, shape: tuple[int, ...], *, copy: bool | None = None) -> Any:
    return anp.reshape(x, shape)


def flip(x: Any, /, *, axis: Any = None) -> Any:
    index = [slice(None)] * x.ndim
    for a in _axis_tuple(axis, x.ndim):
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


def roll(x: Any, /, shift: Any, *, axis: Any = None) -> Any:
    return anp.roll(x, shift, axis=axis)


def expand_dims(x: Any, /, *, axis: int = 0) -> Any:
    return anp.expand_dims(x, axis)


def squeeze(x: Any, /, axis: Any) -> Any:
    return anp.squeeze(x, axis=axis)


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
    indices = np.asarray(getval(indices))
    if axis is None:
        return anp.reshape(x, (-1,))[indices]
    axis = axis % x.ndim
    return x[(slice(None),) * axis + (indices,)]


def clip(x: Any, /, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (Array API names)
    if min is not None:
        x = anp.where(x < min, min, x)
    if max is not None:
        x = anp.where(x > max, max, x)
    return x


def where(condition: Any, x1: Any, x2: Any, /) -> Any:
    return anp.where(getval(condition), x1, x2)


def copysign(x1: Any, x2: Any, /) -> Any:
    return anp.where(np.signbit(getval(x2)), -anp.abs(x1), anp.abs(x1))


# ---- reductions and statistics --------------------------------------------------------------------


def sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    s = anp.sum(x, axis=axis, keepdims=keepdims)
    return s if dtype is None else astype(s, dtype)


def prod(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    p = anp.prod(x, axis=axis, keepdims=keepdims)
    return p if dtype is None else astype(p, dtype)


def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
    return anp.mean(x, axis=axis, keepdims=keepdims)


def var(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
    count = int(np.prod([x.shape[a] for a in _axis_tuple(axis, x.ndim)]))
    d = x - anp.mean(x, axis=axis, keepdims=True)
    return anp.sum(anp.real(d * anp.conj(d)), axis=axis, keepdims=keepdims) / (count - correction)


def std(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
    return anp.sqrt(var(x, axis=axis, correction=correction, keepdims=keepdims))


def max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return anp.max(x, axis=axis, keepdims=keepdims)


def min(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return anp.min(x, axis=axis, keepdims=keepdims)


def cumulative_sum(
    x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Any:
    if axis is None:
        if x.ndim > 1:
            raise ValueError("cumulative_sum needs axis= for arrays of more than one dimension.")
        axis = 0
    c = anp.cumsum(x, axis=axis)
    if include_initial:
        shape = list(x.shape)
        shape[axis] = 1
        c = anp.concatenate([np.zeros(shape, dtype=result_type(x)), c], axis=axis)
    return c if dtype is None else astype(c, dtype)


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    s = anp.sort(x, axis=axis)
    return flip(s, axis=axis) if descending else s


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    order = np.argsort(np.asarray(getval(x)), axis=axis, kind="stable" if stable else None)
    return np.flip(order, axis=axis) if descending else order


# ---- linear algebra --------------------------------------------------------------------------------


def matmul(x1: Any, x2: Any, /) -> Any:
    return anp.matmul(x1, x2)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    return anp.tensordot(x1, x2, axes=axes)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    return anp.sum(anp.conj(x1) * x2, axis=axis)


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    a = anp.abs(x)
    if axis is None:
        a = anp.reshape(a, (-1,))
        if keepdims:
            raise NotImplementedError("vector_norm(axis=None, keepdims=True) is not supported.")
        axis = 0
    if ord == 2:
        return anp.sqrt(anp.sum(a * a, axis=axis, keepdims=keepdims))
    if ord == 1:
        return anp.sum(a, axis=axis, keepdims=keepdims)
    if ord == float("inf"):
        return anp.max(a, axis=axis, keepdims=keepdims)
    if ord == -float("inf"):
        return anp.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(getval(a) != 0, axis=axis, keepdims=keepdims).astype(result_type(a))
    return anp.sum(a**ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _svdvals(x: Any) -> Any:
    return alinalg.svd(x, full_matrices=False, compute_uv=False)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    if ord == "fro":
        a = anp.abs(x)
        r = anp.sqrt(anp.sum(a * a, axis=(-2, -1)))
    elif ord == "nuc":
        r = anp.sum(_svdvals(x), axis=-1)
    elif ord in (2, -2):
        s = _svdvals(x)
        r = anp.max(s, axis=-1) if ord == 2 else anp.min(s, axis=-1)
    elif ord in (1, -1, float("inf"), -float("inf")):
        axis = -2 if ord in (1, -1) else -1
        sums = anp.sum(anp.abs(x), axis=axis)
        r = anp.max(sums, axis=-1) if ord > 0 else anp.min(sums, axis=-1)
    else:
        raise ValueError(f"matrix_norm: unsupported ord={ord!r}.")
    return anp.expand_dims(anp.expand_dims(r, -1), -1) if keepdims else r


def _diagonal(x: Any, /, *, offset: int = 0) -> Any:
    return anp.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def _trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    t = anp.sum(_diagonal(x, offset=offset), axis=-1)
    return t if dtype is None else astype(t, dtype)


def _cholesky(x: Any, /, *, upper: bool = False) -> Any:
    L = alinalg.cholesky(x)
    return anp.conj(matrix_transpose(L)) if upper else L


def _eigvalsh(x: Any, /) -> Any:
    return alinalg.eigh(x)[0]


def _svd(x: Any, /, *, full_matrices: bool = True) -> Any:
    return alinalg.svd(x, full_matrices=full_matrices)


def _outer(x1: Any, x2: Any, /) -> Any:
    return anp.outer(x1, x2)


class _Namespace(types.SimpleNamespace):
    """Array API names first, then ``autograd.numpy``, then NumPy (dtypes, constants, ...)."""

    def __init__(self, fallbacks: tuple, **names: Any) -> None:
        super().__init__(**names)
        object.__setattr__(self, "_fallbacks", fallbacks)

    def __getattr__(self, item: str) -> Any:
        for ns in object.__getattribute__(self, "_fallbacks"):
            if hasattr(ns, item):
                return getattr(ns, item)
        raise AttributeError(f"the autograd Array API namespace has no attribute {item!r}")

    def __repr__(self) -> str:
        return "<anydiff Array API namespace for autograd>"


linalg = _Namespace(
    (alinalg, np.linalg),
    __name__="anydiff.backends._autograd_namespace.linalg",
    cholesky=_cholesky, diagonal=_diagonal, eigvalsh=_eigvalsh, matmul=matmul,
    matrix_norm=matrix_norm, matrix_transpose=matrix_transpose, outer=_outer, svd=_svd,
    svdvals=_svdvals, tensordot=tensordot, trace=_trace, vecdot=vecdot, vector_norm=vector_norm,
)

_FUNCTIONS = {
    f.__name__: f
    for f in (
        asarray, astype, result_type, concat, stack, unstack, permute_dims, matrix_transpose,
        reshape, flip, roll, expand_dims, squeeze, take, clip, where, copysign, sum, prod, mean,
        var, std, max, min, cumulative_sum, sort, argsort, matmul, tensordot, vecdot,
    )
}
_FUNCTIONS.update({n: _like(n) for n in ("zeros_like", "ones_like", "empty_like", "full_like")})
_FUNCTIONS.update(
    {n: _creation(n) for n in ("zeros", "ones", "empty", "full", "eye", "arange", "linspace")}
)
_FUNCTIONS.update(
    pow=anp.power, acos=anp.arccos, acosh=anp.arccosh, asin=anp.arcsin, asinh=anp.arcsinh,
    atan=anp.arctan, atan2=anp.arctan2, atanh=anp.arctanh, bool=np.bool_,
)

namespace = _Namespace(
    (anp, np), __name__="anydiff.backends._autograd_namespace", linalg=linalg, **_FUNCTIONS
)
