"""Array kinds: recognise the caller's array type without importing frameworks, and convert.

A *kind* names an array family: ``"python"`` (float / complex), ``"numpy"``, ``"jax"``,
``"torch"``, ``"autograd"`` (boxes seen while autograd traces), ``"engine"`` (the engine's traced
arrays). Lookups are cached per Python type, in the manner of einops' backend detection.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._errors import AnydiffTypeError

_PYTHON_SCALARS = (bool, int, float, complex)


@functools.lru_cache(maxsize=256)
def _kind_of_type(tp: type) -> str:
    if issubclass(tp, _PYTHON_SCALARS):
        return "python"
    if issubclass(tp, (np.ndarray, np.generic)):
        return "numpy"
    module = tp.__module__ or ""
    root = module.split(".", 1)[0]
    if root in ("jax", "jaxlib"):
        return "jax"
    if root == "torch":
        return "torch"
    if root == "autograd":
        return "autograd"
    if module.startswith("anydiff.engine"):
        return "engine"
    return "other"


def kind_of(a: Any) -> str:
    """The kind of one array-like leaf (``"numpy"``, ``"jax"``, ``"torch"``, ...)."""
    return _kind_of_type(type(a))


@functools.lru_cache(maxsize=64)
def _torch_to_numpy_dtype(torch_dtype: Any) -> np.dtype:
    name = str(torch_dtype).rsplit(".", 1)[-1]
    if name == "bfloat16":
        raise AnydiffTypeError("bfloat16 tensors are not supported; cast x to float32 first.")
    return np.dtype(name)


def dtype_of(a: Any) -> np.dtype:
    """NumPy dtype of a leaf (Python floats are float64, like NumPy)."""
    dt = getattr(a, "dtype", None)
    if dt is None:
        return np.asarray(a).dtype
    if kind_of(a) == "torch":
        return _torch_to_numpy_dtype(dt)
    dt = np.dtype(dt) if not isinstance(dt, np.dtype) else dt
    # Byte order is storage, not precision: a big-endian '>f8' leaf is float64 (JAX cannot
    # take it as it is, and read it as zeros), so arrays are converted to native order.
    return dt if dt.isnative else dt.newbyteorder("=")


def shape_of(a: Any) -> tuple[int, ...]:
    shape = getattr(a, "shape", None)
    return tuple(shape) if shape is not None else ()


def require_floating(dt: np.dtype, what: str = "x") -> None:
    if not np.issubdtype(dt, np.inexact):
        raise AnydiffTypeError(
            f"{what} has dtype {dt}, but differentiation needs a floating-point {what} "
            f"(float32, float64, complex64 or complex128). Convert it first, e.g. "
            f"np.asarray({what}, dtype=float)."
        )


def to_numpy(a: Any, kind: str | None = None) -> np.ndarray:
    """Copy-free where possible conversion of one leaf to a NumPy array."""
    kind = kind or kind_of(a)
    if kind == "torch":
        return a.detach().cpu().resolve_conj().resolve_neg().numpy()
    if kind == "python":
        return np.asarray(a, dtype=np.result_type(a, np.float64) if not isinstance(a, bool) else None)
    try:
        return np.asarray(a)
    except Exception as exc:  # tracers of another framework cannot become NumPy arrays
        from ._errors import UnsupportedError

        raise UnsupportedError(
            f"Cannot convert a {type(a).__name__} to a NumPy array: it is being traced by another "
            "AD system. Mixing AD systems inside one function needs ad.differentiate_with, or an "
            "outer backend that works on NumPy (finitediff)."
        ) from exc


def from_numpy(arr: np.ndarray, kind: str, template: Any = None) -> Any:
    """Convert a NumPy result back to the caller's kind (device taken from ``template``)."""
    if kind == "python":
        return arr.item() if arr.ndim == 0 else arr
    if kind == "numpy":
        return arr
    if kind == "jax":
        import jax

        with jax.enable_x64(arr.dtype.itemsize >= 8 or arr.dtype.kind == "c"):
            if template is not None and hasattr(template, "devices"):
                try:
                    return jax.device_put(arr, next(iter(template.devices())))
                except Exception:  # tracers have no devices
                    pass
            return jax.numpy.asarray(arr)
    if kind == "torch":
        import torch

        # torch.from_numpy shares memory. A read-only array (a view of a JAX buffer, or of a
        # preparation's stored result) must be copied first, or a caller writing into the
        # tensor would write into memory that is not theirs. np.ascontiguousarray is not used:
        # it turns 0-d arrays into shape (1,).
        if not (arr.flags.writeable and arr.flags.c_contiguous and arr.dtype.isnative):
            arr = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
        t = torch.from_numpy(arr)
        device = getattr(template, "device", None)
        return t if device is None or device.type == "cpu" else t.to(device)
    return arr


def cast_native(a: Any, dtype: np.dtype) -> Any:
    """Cast a native result to ``dtype`` when it differs (works for numpy, jax and torch arrays)."""
    if dtype_of(a) == dtype:
        return a
    if kind_of(a) == "torch":
        import torch

        return a.to(getattr(torch, dtype.name))
    return a.astype(dtype)


def array_namespace(*arrays: Any) -> Any:
    """The Array API namespace of ``arrays``: write ``f`` once, run it on every backend.

    NumPy arrays get ``array_api_compat.numpy``, JAX arrays ``jax.numpy``, torch tensors
    ``array_api_compat.torch``, autograd boxes an Array API namespace of traced
    ``autograd.numpy`` functions (``anydiff.backends._autograd_namespace``) and engine arrays
    the engine's namespace.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> def f(x):
        ...     xp = ad.array_namespace(x)
        ...     return xp.sum(xp.sin(x) ** 2)
        >>> g = ad.gradient(f, "finitediff", np.array([0.5, 1.0]))
    """
    key = tuple(type(a) for a in arrays)
    ns = _NAMESPACES.get(key)
    if ns is None:
        ns = _NAMESPACES[key] = _find_namespace(arrays)
    return ns


_NAMESPACES: dict[tuple[type, ...], Any] = {}  # the namespace depends on the types only


def _find_namespace(arrays: tuple) -> Any:
    kinds = {kind_of(a) for a in arrays} - {"python"}
    if "autograd" in kinds:
        # Not autograd.numpy itself: its Array API names (concat, vecdot, linalg.vector_norm,
        # ...) are NumPy's untraced functions. See anydiff/backends/_autograd_namespace.py.
        from .backends._autograd_namespace import namespace

        return namespace
    if not kinds:
        kinds = {"numpy"}
    for a in arrays:
        ns = getattr(a, "__array_namespace__", None)
        if ns is not None and kind_of(a) == "engine":
            return ns()
    import array_api_compat
    import array_api_compat.numpy  # a submodule: not loaded by the package import

    if kinds == {"numpy"}:
        return array_api_compat.numpy
    return array_api_compat.array_namespace(*[a for a in arrays if kind_of(a) != "python"])
