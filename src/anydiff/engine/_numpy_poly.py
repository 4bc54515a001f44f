"""Polynomials (``polyfit``, ``polyder``, ``polyint``), tensor solvers (``tensorsolve``,
``tensorinv``), ``histogram`` with traced weights, ``unwrap``, ``ediff1d``, the ufuncs
``ldexp`` / ``frexp``, ``np.block``, and the ``numpy.polynomial`` evaluators (``polyval``, ``chebval``,
``legval``, ``hermval``, ``hermeval``, ``lagval``, by Clenshaw's recurrence).

All are compositions of operations with rules.  ``polyfit`` is NumPy's scaled least-squares
problem (differentiated at constant rank, like ``lstsq``); ``histogram`` counts are piecewise
constant (derivative 0), its weighted counts sum the weights' derivatives per (constant) bin;
``frexp``'s exponent is an integer constant, so the mantissa's derivative is ``2**-e``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _build, _carries_trace, _has_traced, implements
from ._numpy_elementwise import _concrete
from ._numpy_extra import UFUNC_COMPOSITES, _np_index
from ._tracer import Traced


def _arr(v: Any) -> Any:
    """A list or tuple as an array (traced entries stacked, as ``np.array`` of them would)."""
    return _build(v) if _has_traced(v) else np.asarray(v) if isinstance(v, (list, tuple)) else v


@implements(np.polyfit)
def _polyfit(
    x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None, cov: Any = False
) -> Any:
    if full or cov:
        raise no_rule("np.polyfit with full=True or cov=")
    x, y = _arr(x), _arr(y)
    if not isinstance(x, Traced):
        x = np.asarray(x, dtype=float)
    lhs = x[:, None] ** np.arange(deg, -1, -1)
    rhs = y
    if w is not None:
        lhs = lhs * w[:, None]
        rhs = rhs * (w if R.ndim_of(rhs) == 1 else w[:, None])
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))  # NumPy's column scaling (its rcond too)
    n = R.shape_of(x)[0]
    rc = n * np.finfo(float).eps if rcond is None else rcond
    c = np.linalg.lstsq(lhs / scale, rhs, rcond=rc)[0]
    return c / (scale if R.ndim_of(c) == 1 else scale[:, None])


@implements(np.polyder)
def _polyder(p: Any, m: int = 1) -> Any:
    p = _arr(p)
    for _ in range(m):
        n = R.shape_of(p)[0] - 1
        p = p[:-1] * np.arange(n, 0, -1) if n > 0 else p[:1] * 0.0
    return p


@implements(np.polyint)
def _polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    p = _arr(p)
    ks = np.zeros(m) if k is None else np.atleast_1d(_arr(k)) * np.ones(m)
    for i in range(m):
        n = R.shape_of(p)[0]
        p = np.concatenate([p / np.arange(n, 0, -1), np.reshape(ks[i], (1,))])
    return p


@implements(np.linalg.tensorsolve)
def _tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    nd = R.ndim_of(a)
    if axes is not None:
        rest = [k for k in range(nd) if k not in axes]
        a = np.transpose(a, rest + list(axes))
    out_shape = R.shape_of(a)[R.ndim_of(b) :]
    prod = math.prod(out_shape)
    x = np.linalg.solve(np.reshape(a, (-1, prod)), np.reshape(b, (-1,)))
    return np.reshape(x, out_shape)


@implements(np.linalg.tensorinv)
def _tensorinv(a: Any, ind: int = 2) -> Any:
    shape = R.shape_of(a)
    prod = math.prod(shape[:ind])
    inv = np.linalg.inv(np.reshape(a, (prod, -1)))
    return np.reshape(inv, shape[ind:] + shape[:ind])


@implements(np.histogram)
def _histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None) -> Any:
    av = np.asarray(_concrete(a, "np.histogram(traced) (the bin of each sample)"))
    if _carries_trace([bins]):
        raise no_rule("np.histogram with traced bin edges")
    counts, edges = np.histogram(av, bins=bins, range=range)
    if isinstance(a, Traced) and np.ndim(bins) == 0 and range is None:
        # edges spread evenly between the data's min and max: they move with the data
        edges = np.linspace(np.min(a), np.max(a), R.shape_of(edges)[0])
    if weights is None:
        hist: Any = counts.astype(float) if density else counts
    else:
        ev = np.asarray(_np_index(edges))
        nb = ev.size - 1
        idx = np.clip(np.searchsorted(ev, av.ravel(), side="right") - 1, 0, nb - 1)
        inside = (av.ravel() >= ev[0]) & (av.ravel() <= ev[-1])
        hist = np.bincount(idx[inside], weights=np.reshape(weights, (-1,))[inside], minlength=nb)
    if density:
        hist = hist / np.sum(hist) / np.diff(edges)
    return hist, edges


def _ldexp(x: Any, n: Any) -> Any:
    return x * np.exp2(np.asarray(_np_index(n), dtype=float))


def _frexp(x: Any) -> Any:
    e = np.frexp(np.asarray(_concrete(x, "np.frexp(traced) (its integer exponent)")))[1]  # constants
    return x * np.exp2(-e.astype(float)), e


UFUNC_COMPOSITES.update({np.ldexp: _ldexp, np.frexp: _frexp})


@implements(np.unwrap)
def _unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * math.pi) -> Any:
    """``p`` plus NumPy's corrections, multiples of ``period`` (piecewise constant: a tape that
    sees them re-traces)."""
    pv = np.asarray(_concrete(p, "np.unwrap(traced) (its jumps)"))
    return p + (np.unwrap(pv, discont=discont, axis=axis, period=period) - pv)


@implements(np.ediff1d)
def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    d = np.diff(np.reshape(ary, (-1,)))
    parts = [np.reshape(_arr(v), (-1,)) for v in (to_begin,) if v is not None]
    parts += [d] + [np.reshape(_arr(v), (-1,)) for v in (to_end,) if v is not None]
    return np.concatenate(parts) if len(parts) > 1 else d


# ---------------------------------------------------------------------------- numpy.polynomial


def _clenshaw(x: Any, c: Any, alpha: Callable, beta: Callable, first: Callable) -> Any:
    """``Σ c_k P_k(x)`` for ``P_{k+1} = alpha(k, x) P_k + beta(k) P_{k-1}`` (k >= 1), ``P_1 = first(x)``
    (``P_0 = 1``), by Clenshaw's recurrence; ``c`` runs over its first axis, as NumPy."""
    c = _arr(c)
    x = _arr(x)
    n = R.shape_of(c)[0]
    if R.ndim_of(c) > 1:  # NumPy's tensor=True: x's shape, then c's trailing axes
        x = np.reshape(x, R.shape_of(x) + (1,) * (R.ndim_of(c) - 1))
    b1: Any = 0.0 * x
    b2: Any = 0.0 * x
    for k in range(n - 1, 0, -1):
        b1, b2 = c[k] + alpha(k, x) * b1 + beta(k + 1) * b2, b1
    # P_1 = first(x) = alpha(0, x) * P_0 in every family but Chebyshev's (P_1 = x, not 2x)
    return c[0] + first(x) * b1 + beta(1) * b2


def _polyval_inc(x: Any, c: Any, tensor: bool = True) -> Any:
    return _clenshaw(x, c, lambda k, x: x, lambda k: 0.0, lambda x: x)


def _chebval(x: Any, c: Any, tensor: bool = True) -> Any:
    return _clenshaw(x, c, lambda k, x: 2 * x, lambda k: -1.0, lambda x: x)


def _legval(x: Any, c: Any, tensor: bool = True) -> Any:
    # (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
    return _clenshaw(x, c, lambda k, x: (2 * k + 1) / (k + 1) * x, lambda k: -k / (k + 1), lambda x: x)


def _hermval(x: Any, c: Any, tensor: bool = True) -> Any:
    # H_{k+1} = 2x H_k - 2k H_{k-1} (physicists')
    return _clenshaw(x, c, lambda k, x: 2 * x, lambda k: -2.0 * k, lambda x: 2 * x)


def _hermeval(x: Any, c: Any, tensor: bool = True) -> Any:
    # He_{k+1} = x He_k - k He_{k-1} (probabilists')
    return _clenshaw(x, c, lambda k, x: x, lambda k: -float(k), lambda x: x)


def _lagval(x: Any, c: Any, tensor: bool = True) -> Any:
    # (k+1) L_{k+1} = (2k+1-x) L_k - k L_{k-1}
    return _clenshaw(x, c, lambda k, x: (2 * k + 1 - x) / (k + 1), lambda k: -k / (k + 1), lambda x: 1 - x)


def _check_tensor(fn: Callable) -> Callable:
    def impl(x: Any, c: Any, tensor: bool = True) -> Any:
        if not tensor and R.ndim_of(_arr(c)) > 1:
            raise no_rule(f"numpy.polynomial {fn.__name__.lstrip('_')} with tensor=False")
        return fn(x, c)

    return impl


#: numpy.polynomial evaluators (Python functions that convert with np.asarray: routed like SciPy's)
POLYNOMIAL: dict[str, dict[str, Callable]] = {
    "numpy.polynomial.polynomial": {"polyval": _check_tensor(_polyval_inc)},
    "numpy.polynomial.chebyshev": {"chebval": _check_tensor(_chebval)},
    "numpy.polynomial.legendre": {"legval": _check_tensor(_legval)},
    "numpy.polynomial.hermite": {"hermval": _check_tensor(_hermval)},
    "numpy.polynomial.hermite_e": {"hermeval": _check_tensor(_hermeval)},
    "numpy.polynomial.laguerre": {"lagval": _check_tensor(_lagval)},
}


@implements(np.block)
def _block(arrays: Any) -> Any:
    """``np.block``: the innermost lists join along the last axis, the next ones along the
    axis before, ...; pieces get leading unit axes up to the common number of axes."""

    def depth(a: Any) -> int:
        return 1 + depth(a[0]) if isinstance(a, list) and a else 0

    def leaves(a: Any) -> list:
        return [y for x in a for y in leaves(x)] if isinstance(a, list) else [a]

    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists can be used to arrange blocks (np.block)")
    d = depth(arrays)
    nd = max([d] + [R.ndim_of(_arr(v)) for v in leaves(arrays)])

    def build(a: Any, level: int) -> Any:
        if isinstance(a, list):
            return np.concatenate([build(x, level + 1) for x in a], axis=level - d)
        v = _arr(a)
        return np.reshape(v, (1,) * (nd - R.ndim_of(v)) + R.shape_of(v))

    return build(arrays, 0)
