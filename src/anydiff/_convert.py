"""Conversions between the caller's arrays and an adapter's native flat vectors, and the
writing of results into caller buffers (``out=`` / ``y=``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import cast_native, dtype_of, from_numpy, kind_of, to_numpy
from ._errors import AnydiffTypeError, AnydiffValueError
from ._layout import Layout
from ._protocol import Adapter
from ._pytree import tree_flatten, tree_unflatten


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


def mixed_context_to_native(adapter: Adapter, role: str, value: Any) -> Any:
    """A context whose leaves are not all arrays (arrays next to ints, strings, None, ...):
    its NumPy / JAX / torch array leaves become the backend's arrays, the rest stay as they are,
    so that ``Constant((a, n))`` reaches ``f`` like ``Constant(a)`` and ``Constant(n)`` would."""
    leaves, td = tree_flatten(value)
    if td.is_leaf:
        return adapter.context(role, value)
    converted = [
        adapter.context(role, leaf_to_native(adapter, a, kind_of(a), dtype_of(a)))
        if _numeric_array(a)
        else a
        for a in leaves
    ]
    return tree_unflatten(td, converted)


def _numeric_array(a: Any) -> bool:
    if kind_of(a) not in ("numpy", "jax", "torch") or not hasattr(a, "shape"):
        return False
    try:
        return dtype_of(a).kind in "biufc"
    except Exception:  # an exotic dtype (e.g. bfloat16 tensors): leave the leaf as it is
        return False


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
        a = a if shape is None or tuple(a.shape) == shape else a.reshape(shape)
        return _keep_sharding(a, template) if kind == "jax" else a
    arr = adapter.to_numpy(a)
    if arr.dtype != dtype:
        arr = arr.astype(dtype) if dtype.kind == "c" or arr.dtype.kind != "c" else arr.real.astype(
            dtype
        )
    if shape is not None and arr.shape != shape:
        arr = arr.reshape(shape)
    if not isinstance(arr, np.ndarray):  # the engine's derivative inside an enclosing engine trace
        return arr  # stays traced (for a Python-number x too), or its derivative would be lost
    return from_numpy(arr, kind if kind != "other" else "numpy", template)


def _keep_sharding(a: Any, template: Any) -> Any:
    """A JAX result shaped like the caller's (multi-device) ``template`` gets its sharding.

    Results are computed on flat vectors and reshaped, after which XLA shards along the first
    mesh axis only; re-applying the caller's sharding keeps "arrays stay where they are" for
    arrays sharded along several mesh axes (a device-to-device move, never a host round trip).
    """
    s = getattr(template, "sharding", None)
    if s is None or getattr(s, "num_devices", 1) <= 1 or tuple(a.shape) != tuple(template.shape):
        return a
    if a.sharding == s:
        return a
    import jax

    return jax.device_put(a, s)


def write_out(buf: Any, value: Any, what: str) -> None:
    """Copy a result into a caller's buffer (NumPy arrays and torch tensors, leaf by leaf).

    ``what`` names the buffer in errors (``"out"``, ``"out[1]"``, ``"y"``). Before anything is
    written, every leaf is checked: same shape as the result, a dtype the result casts to under
    NumPy's ``same_kind`` rule (float64 into float32 is fine; float into int, or complex into
    real, is an AnydiffTypeError), and writeable (else an AnydiffValueError)."""
    bl, btd = tree_flatten(buf)
    vl, vtd = tree_flatten(value)
    if btd != vtd or len(bl) != len(vl):
        raise AnydiffValueError(f"{what}= has structure {btd}, but the result has structure {vtd}.")
    single = len(bl) == 1 and btd.is_leaf
    for i, (b, v) in enumerate(zip(bl, vl)):
        _check_buffer(b, v, f"{what}=" if single else f"{what}= (leaf {i})")
    for b, v in zip(bl, vl):
        if kind_of(b) == "torch":
            import torch

            b.copy_(v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v)))
        else:
            np.copyto(b, to_numpy(v), casting="same_kind")


def _check_buffer(b: Any, v: Any, label: str) -> None:
    """Raise a clear anydiff error if result ``v`` cannot be written into buffer ``b``."""
    kind = kind_of(b)
    if kind == "jax":
        raise AnydiffTypeError(
            f"JAX arrays are immutable, so {label} cannot be filled in place. Drop it and "
            "use the returned value (or pass a NumPy / torch buffer)."
        )
    if kind == "torch" or (kind == "numpy" and isinstance(b, np.ndarray)):
        pass
    else:
        raise AnydiffTypeError(
            f"{label} needs mutable arrays (NumPy arrays or torch tensors), got {type(b).__name__}."
        )
    shape = tuple(getattr(v, "shape", ()))
    rdt = dtype_of(v)
    if tuple(b.shape) != shape:
        raise AnydiffValueError(
            f"{label} buffer has shape {tuple(b.shape)}, but the result has shape {shape} "
            f"(dtype {rdt})."
        )
    bdt = dtype_of(b)
    if not np.can_cast(rdt, bdt, casting="same_kind"):
        lost = "its imaginary part" if rdt.kind == "c" else "its fractional part"
        raise AnydiffTypeError(
            f"{label} buffer has dtype {bdt}, but the result has dtype {rdt}; writing it would "
            f"lose {lost}. Pass a {rdt} buffer (e.g. np.empty({shape}, dtype=np.{rdt.name}))."
        )
    if kind == "numpy" and not b.flags.writeable:
        raise AnydiffValueError(
            f"{label} buffer is read-only (its 'writeable' flag is False, e.g. np.asarray of a "
            "JAX array or a broadcast view): pass a writeable array, such as a copy np.array(buf)."
        )
    if kind == "torch" and b.requires_grad:
        raise AnydiffValueError(
            f"{label} tensor requires grad, so torch cannot write into it in place: pass a "
            "tensor without requires_grad (e.g. buf.detach().clone())."
        )
