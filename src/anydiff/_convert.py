"""Conversions between the caller's arrays and an adapter's native flat vectors, and the
writing of results into caller buffers (``out=`` / ``y=``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import cast_native, from_numpy, kind_of, to_numpy
from ._errors import AnydiffTypeError, AnydiffValueError
from ._layout import Layout
from ._protocol import Adapter
from ._pytree import tree_flatten


def leaf_to_native(adapter: Adapter, a: Any, kind: str, dtype: np.dtype, flat: bool = False) -> Any:
    """One caller leaf as a native array of ``dtype`` (raveled when ``flat``). Reshaping
    happens on the NumPy side when a conversion is needed anyway, where it is free."""
    if kind == adapter.native_kind or kind in adapter.accepts:
        arr = adapter.asarray(a, dtype)
        return arr.reshape(-1) if flat and len(arr.shape) != 1 else arr
    arr = to_numpy(a, kind)
    if flat and arr.ndim != 1:
        arr = arr.reshape(-1)
    return adapter.asarray(arr, dtype)


def ravel_native(adapter: Adapter, layout: Layout, leaves: list[Any], dtype: np.dtype) -> Any:
    natives = [
        leaf_to_native(adapter, a, k, dtype, flat=True) for a, k in zip(leaves, layout.kinds)
    ]
    return natives[0] if len(natives) == 1 else adapter.concat(natives)


def native_to_caller(
    adapter: Adapter,
    a: Any,
    kind: str,
    dtype: np.dtype,
    template: Any,
    shape: tuple[int, ...] | None = None,
) -> Any:
    """A native result as the caller's kind and dtype, reshaped to ``shape`` if given (on the
    NumPy side when converting anyway)."""
    if kind == adapter.native_kind or (kind in adapter.accepts and kind != "python"):
        a = cast_native(a, dtype)
        return a if shape is None or tuple(a.shape) == shape else a.reshape(shape)
    arr = adapter.to_numpy(a)
    if arr.dtype != dtype:
        arr = arr.astype(dtype) if dtype.kind == "c" or arr.dtype.kind != "c" else arr.real.astype(
            dtype
        )
    if shape is not None and arr.shape != shape:
        arr = arr.reshape(shape)
    return from_numpy(arr, kind if kind != "other" else "numpy", template)


def write_out(buf: Any, value: Any, what: str) -> None:
    """Copy a result into a caller's buffer (NumPy arrays and torch tensors, leaf by leaf)."""
    bl, btd = tree_flatten(buf)
    vl, vtd = tree_flatten(value)
    if btd != vtd or len(bl) != len(vl):
        raise AnydiffValueError(f"{what}= has structure {btd}, but the result has structure {vtd}.")
    for b, v in zip(bl, vl):
        kind = kind_of(b)
        shape = tuple(getattr(v, "shape", ()))
        if tuple(getattr(b, "shape", ())) != shape:
            raise AnydiffValueError(
                f"{what}= buffer has shape {tuple(getattr(b, 'shape', ()))}, but the result has "
                f"shape {shape}."
            )
        if kind == "numpy" and isinstance(b, np.ndarray):
            np.copyto(b, to_numpy(v), casting="same_kind")
        elif kind == "torch":
            import torch

            b.copy_(v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v)))
        elif kind == "jax":
            raise AnydiffTypeError(
                f"JAX arrays are immutable, so {what}= cannot be filled in place. Drop {what}= and "
                "use the returned value (or pass a NumPy / torch buffer)."
            )
        else:
            raise AnydiffTypeError(
                f"{what}= needs mutable arrays (NumPy arrays or torch tensors), got {type(b).__name__}."
            )
