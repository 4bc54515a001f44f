"""``np.linalg`` entry points: 2-D rules from :mod:`._rules`, stacked (>2-D) arrays one matrix
at a time, ``norm`` by ``ord`` (split out of :mod:`._numpy_api`)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _broadcast_to, _stack, implements, reshape
from ._tracer import bind


def _square2d(a: Any, name: str) -> None:
    if R.ndim_of(a) != 2:
        raise no_rule(f"np.linalg.{name} of stacked (>2-D) matrices")


def _per_matrix(fn: Callable, *arrays: Any) -> Any:
    """``fn`` applied to each matrix of stacked ``(..., n, n)`` arrays, results stacked.

    A composite of 2-D rules (one per matrix), so derivatives need nothing new; results that
    are tuples (``slogdet``, ``eigh``) are stacked per field.
    """
    batch = R.shape_of(arrays[0])[:-2]
    outs = [fn(*[a[idx] for a in arrays]) for idx in np.ndindex(*batch)]
    if isinstance(outs[0], tuple):
        fields = [_stack([o[k] for o in outs]) for k in range(len(outs[0]))]
        return type(outs[0])(*[reshape(f, batch + R.shape_of(f)[1:]) for f in fields])
    r = _stack(outs)
    return reshape(r, batch + R.shape_of(r)[1:])


@implements(np.linalg.solve)
def _solve(a: Any, b: Any) -> Any:
    nb = R.ndim_of(b)
    if R.ndim_of(a) > 2 or nb > 2:  # stacked, as NumPy 2 reads b: (n,) a vector, else (..., n, k)
        if nb == 1:
            return _per_matrix(lambda m: _solve(m, b), a)
        if nb == R.ndim_of(a) - 1 and _NUMPY1:  # NumPy 1: a stack of vectors
            return _per_matrix(
                lambda m, v: _solve(m, v[:, None])[:, 0], a, _broadcast_to(b, R.shape_of(a)[:-1])
            )
        shp = np.broadcast_shapes(R.shape_of(a)[:-2], R.shape_of(b)[:-2])
        return _per_matrix(
            _solve, _broadcast_to(a, shp + R.shape_of(a)[-2:]), _broadcast_to(b, shp + R.shape_of(b)[-2:])
        )
    _square2d(a, "solve")
    return bind(R.SOLVE, [a, b], {})


_NUMPY1 = int(np.__version__.split(".")[0]) < 2


@implements(np.linalg.inv)
def _inv(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_inv, a)
    _square2d(a, "inv")
    return bind(R.INV, [a], {})


@implements(np.linalg.det)
def _det(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_det, a)
    _square2d(a, "det")
    return bind(R.DET, [a], {})


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


@implements(np.linalg.slogdet)
def _slogdet(a: Any) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(_slogdet, a)
    _square2d(a, "slogdet")
    return SlogdetResult(bind(R.SLOGDET_SIGN, [a], {}), bind(R.LOGABSDET, [a], {}))


@implements(np.linalg.cholesky)
def _cholesky(a: Any, upper: bool = False) -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(lambda m: _cholesky(m, upper), a)
    _square2d(a, "cholesky")
    L = bind(R.CHOLESKY, [a], {})
    return np.conjugate(L.T) if upper else L


EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])


@implements(np.linalg.eigh)
def _eigh(a: Any, UPLO: str = "L") -> Any:
    if R.ndim_of(a) > 2:
        return _per_matrix(lambda m: _eigh(m, UPLO), a)
    _square2d(a, "eigh")
    packed = bind(R.EIGH, [a], {"uplo": str(UPLO).upper()})
    w = packed[:, 0]
    return EighResult(np.real(w) if R.dtype_of(a).kind == "c" else w, packed[:, 1:])


@implements(np.linalg.eigvalsh)
def _eigvalsh(a: Any, UPLO: str = "L") -> Any:
    return _eigh(a, UPLO)[0]


@implements(np.linalg.norm)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = R.ndim_of(x)
    vector = (
        (axis is None and nd == 1)
        or isinstance(axis, (int, np.integer))
        or (isinstance(axis, tuple) and len(axis) == 1)
    )
    ax = None if axis is None else axis
    if ord is None or (ord in ("fro", 2) and not (ord == 2 and not vector)):
        if R.dtype_of(x).kind == "c":
            sq = np.real(x * np.conjugate(x))
        else:
            sq = x * x
        return bind(R.ROOT, [np.sum(sq, axis=ax, keepdims=keepdims)], {"p": 2})  # 0 at x = 0
    if vector and ord == 1:
        return np.sum(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and ord in (np.inf, float("inf")):
        return np.max(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and ord in (-np.inf,):
        return np.min(np.abs(x), axis=ax, keepdims=keepdims)
    if vector and isinstance(ord, (int, float)) and ord not in (0,):
        return bind(R.ROOT, [np.sum(np.abs(x) ** ord, axis=ax, keepdims=keepdims)], {"p": float(ord)})
    pair = isinstance(axis, tuple) and len(axis) == 2
    if not vector and ord in ("nuc", 2, -2) and ((axis is None and nd == 2) or pair):
        from ._rules_linalg2 import svdvals

        rc = (-2, -1) if axis is None else axis
        m = np.moveaxis(x, rc, (-2, -1))  # the matrices along the last two axes, as NumPy
        s = svdvals(m) if nd == 2 else np.linalg.svd(m, compute_uv=False)
        r = np.sum(s, axis=-1) if ord == "nuc" else np.max(s, axis=-1) if ord == 2 else np.min(s, axis=-1)
        return np.expand_dims(r, tuple(sorted(a % nd for a in rc))) if keepdims else r
    if not vector and ord in (1, -1, np.inf, -np.inf) and ((axis is None and nd == 2) or pair):
        from ._numpy_extra import matrix_norm

        return matrix_norm(x, ord, (0, 1) if axis is None else axis, keepdims)
    raise no_rule(f"np.linalg.norm with ord={ord!r} on a matrix")
