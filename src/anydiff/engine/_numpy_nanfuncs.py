"""NaN-skipping statistics (``nanvar``, ``nanstd``, ``nanmedian``, ``nanquantile``,
``nanpercentile``, ``nancumsum``, ``nancumprod``) and NumPy 2's ``cumulative_sum`` /
``cumulative_prod``.

NaN entries get derivative 0, as in the other ``nan*`` reductions.  The order statistics
(``nanmedian`` / ``nanquantile``) keep a different number of entries per row, so they read
the NaN pattern as a concrete value: a tape that sees one re-traces at each call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._numpy_api import _stack, _write_out, implements
from ._numpy_elementwise import _concrete
from ._numpy_extra import _nan_mask, _nanmean, _quantile
from ._tracer import bind


def _nan_options(kw: dict, name: str) -> None:
    kw.pop("overwrite_input", None)
    if kw.pop("where", True) is not True or kw:
        raise no_rule(f"np.{name} with {sorted(kw) or ['where']}")


@implements(np.nanvar)
def _nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    mean = kw.pop("mean", None)
    corr = kw.pop("correction", None)
    _nan_options(kw, "nanvar")
    ddof = ddof if corr is None else corr
    nan = _nan_mask(a)
    m = _nanmean(a, axis=axis, keepdims=True) if mean is None else mean
    d = np.where(nan, 0.0, a - m)
    sq = d * np.conjugate(d) if R.is_complex(d) else d * d
    n = np.sum(~nan, axis=axis, keepdims=keepdims)
    r = np.sum(np.real(sq) if R.is_complex(d) else sq, axis=axis, keepdims=keepdims) / np.maximum(n - ddof, 0)
    return r if out is None else _write_out(out, r)


@implements(np.nanstd)
def _nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    r = bind(
        R.ROOT, [_nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims, **kw)], {"p": 2}
    )  # 0 where var == 0
    return r if out is None else _write_out(out, r)


def _nanquantile(a: Any, q: Any, axis: Any, keepdims: bool, method: str, name: str) -> Any:
    nan = np.asarray(_concrete(np.isnan(a), f"np.{name}(traced) (the NaN pattern)"))
    if axis is None:
        r = _quantile(np.reshape(a, (-1,))[~nan.ravel()], q, None, False, method, name)
        return np.reshape(r, np.shape(q) + (1,) * R.ndim_of(a)) if keepdims else r
    if not isinstance(axis, (int, np.integer)):
        raise no_rule(f"np.{name} over several axes")
    ax = int(axis) % R.ndim_of(a)
    moved = np.moveaxis(a, ax, -1)
    rest = R.shape_of(moved)[:-1]
    rows = np.reshape(moved, (-1, R.shape_of(moved)[-1]))
    okrows = np.moveaxis(~nan, ax, -1).reshape(-1, R.shape_of(moved)[-1])
    vals = [_quantile(rows[i][okrows[i]], q, None, False, method, name) for i in range(len(okrows))]
    r = np.reshape(_stack(vals, axis=-1), np.shape(q) + rest)
    return np.expand_dims(r, np.ndim(q) + ax) if keepdims else r


def _nanquantile_call(
    a: Any, q: Any, axis: Any, out: Any, keepdims: bool, method: str, kw: dict, name: str
) -> Any:
    """np.nanquantile / np.nanpercentile (q as a fraction) after checking their options."""
    _nan_options(kw, name)
    r = _nanquantile(a, q, axis, keepdims, method, name)
    return r if out is None else _write_out(out, r)


@implements(np.nanquantile)
def _np_nanquantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    return _nanquantile_call(a, np.asarray(q), axis, out, keepdims, method, kw, "nanquantile")


@implements(np.nanpercentile)
def _np_nanpercentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    **kw: Any,
) -> Any:
    return _nanquantile_call(a, np.asarray(q) / 100.0, axis, out, keepdims, method, kw, "nanpercentile")


@implements(np.nanmedian)
def _np_nanmedian(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    r = _nanquantile(a, np.asarray(0.5), axis, keepdims, "linear", "nanmedian")
    return r if out is None else _write_out(out, r)


@implements(np.nancumsum)
def _nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    r = np.cumsum(np.where(_nan_mask(a), 0.0, a), axis=axis)
    return r if out is None else _write_out(out, r)


@implements(np.nancumprod)
def _nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    r = np.cumprod(np.where(_nan_mask(a), 1.0, a), axis=axis)
    return r if out is None else _write_out(out, r)


def _cumulative(acc: Any, first: float, x: Any, axis: Any, include_initial: bool, dtype: Any) -> Any:
    if axis is None:
        if R.ndim_of(x) != 1:
            raise ValueError("For arrays which have more than one dimension ``axis`` argument is required.")
        axis = 0
    r = acc(x, axis=axis, dtype=dtype)
    if include_initial:
        shp = list(R.shape_of(x))
        shp[axis] = 1
        r = np.concatenate([np.full(shp, first, dtype=R.dtype_of(r)), r], axis=axis)
    return r


if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1

    @implements(np.cumulative_sum)
    def _cumulative_sum(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        r = _cumulative(np.cumsum, 0.0, x, axis, include_initial, dtype)
        return r if out is None else _write_out(out, r)

    @implements(np.cumulative_prod)
    def _cumulative_prod(
        x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None, include_initial: bool = False
    ) -> Any:
        r = _cumulative(np.cumprod, 1.0, x, axis, include_initial, dtype)
        return r if out is None else _write_out(out, r)
