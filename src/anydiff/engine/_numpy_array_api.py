"""NumPy 2's Array-API names (``np.vecdot``, ``np.matvec``, ``np.linalg.vector_norm``,
``np.cumulative_sum``, ...) and ``tensorsolve`` / ``tensorinv``, as the engine's rules for
the functions they are defined by (so both modes, tapes and nesting need nothing new)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._numpy_api import HANDLERS, concatenate, reshape
from ._numpy_extra import UFUNC_COMPOSITES
from ._tracer import primal


def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **kw: Any) -> Any:
    return np.sum(np.conjugate(x1) * x2, axis=axis)


def _matvec(x1: Any, x2: Any, /, **kw: Any) -> Any:
    return np.matmul(x1, np.expand_dims(x2, -1))[..., 0]


def _vecmat(x1: Any, x2: Any, /, **kw: Any) -> Any:
    return np.matmul(np.expand_dims(np.conjugate(x1), -2), x2)[..., 0, :]


def _vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    nd = R.ndim_of(x)
    axes = tuple(range(nd)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % nd for a in axes))
    rest = [a for a in range(nd) if a not in axes]
    flat = reshape(np.transpose(x, rest + list(axes)), tuple(R.shape_of(x)[a] for a in rest) + (-1,))
    r = np.linalg.norm(flat, ord=ord, axis=-1)
    return np.expand_dims(r, axes) if keepdims else r


def _matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    return np.linalg.norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def _cumulative(op: Any, initial: float) -> Any:
    def f(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        if axis is None:
            if R.ndim_of(x) > 1:
                raise ValueError("axis must be specified for multi-dimensional arrays")
            axis = 0
        r = op(x, axis=axis, dtype=dtype)
        if include_initial:
            shp = list(R.shape_of(r))
            shp[axis] = 1
            r = concatenate([np.full(shp, initial, dtype=R.dtype_of(r)), r], axis=axis)
        if out is not None:  # written, as NumPy (into an array created inside f)
            out[...] = r
            return out
        return r

    return f


def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    if axes is not None:
        a = np.moveaxis(a, axes, [R.ndim_of(a) - 1 - k for k in range(len(axes))][::-1])
    old = R.shape_of(a)[R.ndim_of(b) :]
    n = math.prod(R.shape_of(b))
    return reshape(np.linalg.solve(reshape(a, (n, math.prod(old))), reshape(b, (-1,))), old)


def _tensorinv(a: Any, ind: int = 2) -> Any:
    shp = R.shape_of(a)
    inv = np.linalg.inv(reshape(a, (math.prod(shp[:ind]), -1)))
    return reshape(inv, shp[ind:] + shp[:ind])


def _matrix_rank(A: Any, *args: Any, **kw: Any) -> Any:  # an integer: no derivative
    return np.linalg.matrix_rank(primal(A), *args, **{k: primal(v) for k, v in kw.items()})


_LA = np.linalg
_TABLE = {
    "vecdot": _vecdot, "matvec": _matvec, "vecmat": _vecmat, "cumulative_sum": _cumulative(np.cumsum, 0.0),
    "cumulative_prod": _cumulative(np.cumprod, 1.0),
    "linalg.vecdot": _vecdot, "linalg.vector_norm": _vector_norm, "linalg.matrix_norm": _matrix_norm,
    "linalg.matmul": lambda x1, x2, /: np.matmul(x1, x2), "linalg.outer": lambda x1, x2, /: np.outer(x1, x2),
    "linalg.cross": lambda x1, x2, /, *, axis=-1: np.cross(x1, x2, axis=axis),
    "linalg.tensordot": lambda x1, x2, /, *, axes=2: np.tensordot(x1, x2, axes=axes),
    "linalg.diagonal": lambda x, /, *, offset=0: np.diagonal(x, offset, -2, -1),
    "linalg.trace": lambda x, /, *, offset=0, dtype=None: np.trace(x, offset, -2, -1, dtype=dtype),
    "linalg.matrix_transpose": lambda x, /: np.swapaxes(x, -1, -2),
    "linalg.tensorsolve": _tensorsolve, "linalg.tensorinv": _tensorinv, "linalg.matrix_rank": _matrix_rank,
}
for _name, _h in _TABLE.items():
    _mod, _, _attr = _name.rpartition(".")
    _f = getattr(_LA if _mod else np, _attr, None)
    if isinstance(_f, np.ufunc):  # np.vecdot & co. are generalized ufuncs (NumPy >= 2.2)
        UFUNC_COMPOSITES[_f] = _h
    elif _f is not None:
        HANDLERS[_f] = _h
