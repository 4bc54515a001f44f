"""``np.fft``: derivative rules (the transforms are linear, so each rule is a transform).

Primitives on arrays whose transformed axes already have the transform length (the ``n``/``s``
arguments pad or truncate first, with ordinary engine operations):

* ``FFTN(axes, norm, inverse)``: complex ``fftn``/``ifftn``; adjoint = the opposite transform
  with the dual normalisation (``backward`` <-> ``forward``, ``ortho`` self-dual);
* ``RFFT(axis, norm)``: real -> half spectrum; adjoint = the full inverse transform of the
  zero-padded spectrum (its real part is taken for a real input, as for any real x);
* ``IRFFT(axis, n, norm)``: half spectrum -> real signal of length ``n``; an R-linear map whose
  adjoint in the engine's convention (``∂/∂Re + i ∂/∂Im``) is ``c · rfft(g)`` with weights
  ``c_k`` = 1 for ``k = 0`` (and ``n/2``), 2 otherwise, and the dual normalisation.

``fft``, ``ifft``, ``fft2``, ``ifft2``, ``fftn``, ``ifftn``, ``rfft``, ``irfft``, ``rfft2``,
``irfft2``, ``rfftn``, ``irfftn``, ``hfft``, ``ihfft`` are built from these; ``fftshift`` and
``ifftshift`` are rolls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._numpy_api import implements
from ._tracer import Prim, bind

_DUAL = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _shift_axes(axes: tuple, by: int) -> tuple:
    return tuple(a + by for a in axes)


def _fftn_impl(x: Any, axes: tuple, norm: Any, inverse: bool) -> Any:
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


def _fftn_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return bind(FFTN, [ts[0]], {**p, "axes": _shift_axes(p["axes"], 1)})


def _fftn_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    return (bind(FFTN, [g], {**p, "norm": _DUAL[p["norm"]], "inverse": not p["inverse"]}),)


FFTN = Prim("fft.fftn", _fftn_impl, _fftn_jvp, _fftn_vjp)


def _rfft_impl(x: Any, axis: int, norm: Any) -> Any:
    return np.fft.rfft(x, axis=axis, norm=norm)


def _rfft_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return bind(RFFT, [ts[0]], {**p, "axis": p["axis"] + 1})


def _pad_axis(a: Any, axis: int, n: int) -> Any:
    """``a`` zero-padded (or truncated) to length ``n`` along ``axis``."""
    from ._intercept import buffer

    m = R.shape_of(a)[axis]
    pre = (slice(None),) * axis
    if m >= n:
        return a[pre + (slice(0, n),)]
    shp = list(R.shape_of(a))
    shp[axis] = n
    buf = buffer(
        np.zeros(
            shp,
            dtype=np.result_type(R.dtype_of(a), np.complex64) if R.dtype_of(a).kind == "c" else R.dtype_of(a),
        )
    )
    buf[pre + (slice(0, m),)] = a
    return buf


def _rfft_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    axis = p["axis"]
    n = R.shape_of(xs[0])[axis]
    full = _pad_axis(g, axis, n)
    return (bind(FFTN, [full], {"axes": (axis,), "norm": _DUAL[p["norm"]], "inverse": True}),)


RFFT = Prim("fft.rfft", _rfft_impl, _rfft_jvp, _rfft_vjp)


def _irfft_impl(w: Any, axis: int, n: int, norm: Any) -> Any:
    return np.fft.irfft(w, n=n, axis=axis, norm=norm)


def _irfft_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return bind(IRFFT, [ts[0]], {**p, "axis": p["axis"] + 1})


def _irfft_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    axis, n = p["axis"], p["n"]
    m = R.shape_of(xs[0])[axis]
    spec = bind(RFFT, [g], {"axis": axis, "norm": _DUAL[p["norm"]]})  # length n // 2 + 1 == m
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    shp = [1] * R.ndim_of(spec)
    shp[axis] = m
    return (spec * c.reshape(shp),)


IRFFT = Prim("fft.irfft", _irfft_impl, _irfft_jvp, _irfft_vjp)


# ---------------------------------------------------------------------------- public functions


def _norm_axes(x: Any, s: Any, axes: Any, default_last: int | None = None) -> tuple[tuple, tuple | None]:
    nd = R.ndim_of(x)
    if axes is None:
        if s is not None:
            axes = tuple(range(nd - len(s), nd))
        elif default_last is not None:
            axes = tuple(range(nd - default_last, nd))
        else:
            axes = tuple(range(nd))
    axes = tuple(a % nd for a in (axes if isinstance(axes, (tuple, list)) else (axes,)))
    return axes, (tuple(s) if s is not None else None)


def _fit(x: Any, axes: tuple, s: tuple | None) -> Any:
    if s is None:
        return x
    for a, n in zip(axes, s):
        if n is not None and n != R.shape_of(x)[a]:
            x = _pad_axis(x, a, n)
    return x


def _complex(x: Any) -> Any:
    if R.dtype_of(x).kind == "c":
        return x
    return x + 0j


def _fftn(x: Any, s: Any, axes: Any, norm: Any, inverse: bool, default_last: int | None = None) -> Any:
    axes, s = _norm_axes(x, s, axes, default_last)
    x = _fit(_complex(x), axes, s)
    return bind(FFTN, [x], {"axes": axes, "norm": norm, "inverse": inverse})


@implements(np.fft.fft)
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, None if n is None else (n,), (axis,), norm, False)


@implements(np.fft.ifft)
def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, None if n is None else (n,), (axis,), norm, True)


@implements(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, s, axes, norm, False)


@implements(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, s, axes, norm, True)


@implements(np.fft.fft2)
def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, s, axes, norm, False)


@implements(np.fft.ifft2)
def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return _fftn(a, s, axes, norm, True)


@implements(np.fft.rfft)
def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    axis %= R.ndim_of(a)
    if n is not None:
        a = _pad_axis(a, axis, n)
    if R.dtype_of(a).kind == "c":
        a = np.real(a)
    return bind(RFFT, [a], {"axis": axis, "norm": norm})


@implements(np.fft.irfft)
def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    axis %= R.ndim_of(a)
    m = R.shape_of(a)[axis]
    n = 2 * (m - 1) if n is None else int(n)
    a = _pad_axis(_complex(a), axis, n // 2 + 1)
    return bind(IRFFT, [a], {"axis": axis, "n": n, "norm": norm})


@implements(np.fft.rfftn)
def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    axes, s = _norm_axes(a, s, axes)
    a = _fit(a, axes, s)
    r = rfft(a, axis=axes[-1], norm=norm)
    return _fftn(r, None, axes[:-1], norm, False) if len(axes) > 1 else r


@implements(np.fft.rfft2)
def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return rfftn(a, s, axes, norm)


@implements(np.fft.irfftn)
def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    axes, s = _norm_axes(a, s, axes)
    last_n = None if s is None else s[-1]
    if len(axes) > 1:
        a = _fftn(a, None if s is None else s[:-1], axes[:-1], norm, True)
    return irfft(a, last_n, axes[-1], norm)


@implements(np.fft.irfft2)
def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    return irfftn(a, s, axes, norm)


@implements(np.fft.hfft)
def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``hfft(a, n) = irfft(conj(a), n) * n`` (the ``backward`` normalisation), as NumPy."""
    m = R.shape_of(a)[axis % R.ndim_of(a)]
    n = 2 * (m - 1) if n is None else int(n)
    return irfft(np.conjugate(_complex(a)), n, axis, _DUAL[norm])


@implements(np.fft.ihfft)
def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    return np.conjugate(rfft(a, n, axis, _DUAL[norm]))


@implements(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    nd = R.ndim_of(x)
    axes = tuple(range(nd)) if axes is None else tuple(np.atleast_1d(axes).tolist())
    for a in axes:
        x = np.roll(x, R.shape_of(x)[a] // 2, axis=a)
    return x


@implements(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    nd = R.ndim_of(x)
    axes = tuple(range(nd)) if axes is None else tuple(np.atleast_1d(axes).tolist())
    for a in axes:
        x = np.roll(x, -(R.shape_of(x)[a] // 2), axis=a)
    return x
