"""Resolve backend names and find adapters, importing no framework until a backend is used."""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import TYPE_CHECKING, Any

from ._backend_types import (
    AbstractBackend,
    AutoAutograd,
    AutoEngine,
    AutoFiniteDiff,
    AutoJax,
    AutoTorch,
    SecondOrder,
)
from ._errors import AnydiffTypeError, BackendUnavailableError

if TYPE_CHECKING:
    from ._protocol import Adapter

BACKEND_CLASSES: dict[str, type[AbstractBackend]] = {
    "jax": AutoJax,
    "torch": AutoTorch,
    "autograd": AutoAutograd,
    "finitediff": AutoFiniteDiff,
    "engine": AutoEngine,
}
# The framework module whose presence makes a backend available (None: always available).
_FRAMEWORK = {"jax": "jax", "torch": "torch", "autograd": "autograd"}

_adapters: dict[Any, Adapter] = {}
_lock = threading.RLock()  # re-entrant: SecondOrder loads its inner adapters


def resolve(backend: Any) -> AbstractBackend:
    """Turn a name such as ``"jax"`` into its backend object; backend objects pass through."""
    if isinstance(backend, AbstractBackend):
        return backend
    if isinstance(backend, str):
        cls = BACKEND_CLASSES.get(backend.lower())
        if cls is not None:
            return cls()
    raise AnydiffTypeError(
        f"Unknown backend {backend!r}: pass one of {sorted(BACKEND_CLASSES)} or a backend object "
        "such as anydiff.AutoJax()."
    )


def check_available(backend: Any) -> bool:
    """Whether the AD system behind ``backend`` is installed (imports nothing).

    Example:
        >>> import anydiff as ad
        >>> ad.check_available("finitediff")
        True
    """
    b = resolve(backend)
    if isinstance(b, SecondOrder):
        return check_available(b.outer) and check_available(b.inner)
    for attr in ("dense", "forward", "reverse"):
        if hasattr(b, attr) and isinstance(getattr(b, attr), AbstractBackend):
            if not check_available(getattr(b, attr)):
                return False
    module = _FRAMEWORK.get(b.name)
    return module is None or importlib.util.find_spec(module) is not None


def available_backends() -> list[str]:
    """Names of the backends whose AD system is installed.

    Example:
        >>> import anydiff as ad
        >>> "finitediff" in ad.available_backends() and "engine" in ad.available_backends()
        True
    """
    return [name for name in BACKEND_CLASSES if check_available(name)]


def get_adapter(backend: Any) -> Adapter:
    """The adapter that runs ``backend`` (one per distinct backend value, created on first use)."""
    b = resolve(backend)
    adapter = _adapters.get(b)
    if adapter is not None:
        return adapter
    with _lock:
        adapter = _adapters.get(b)
        if adapter is None:
            adapter = _load_adapter(b)
            _adapters[b] = adapter
    return adapter


def _load_adapter(b: AbstractBackend) -> Adapter:
    if isinstance(b, SecondOrder):
        from ._protocol import SecondOrderAdapter

        return SecondOrderAdapter(b, get_adapter(b.outer), get_adapter(b.inner))
    if b.name == "sparse":  # AutoSparse: wraps the dense backend's adapter (anydiff.sparse)
        from .sparse._autosparse import SparseAdapter

        return SparseAdapter.create(b, get_adapter)
    if getattr(b, "not_a_backend", None):
        raise AnydiffTypeError(b.not_a_backend)
    if b.name not in BACKEND_CLASSES:
        raise AnydiffTypeError(f"{type(b).__name__} has no dense adapter; it wraps other backends.")
    if not check_available(b):
        raise _unavailable(b)
    try:
        module = importlib.import_module(f"anydiff.backends.{b.name}")
    except ImportError as exc:
        raise _unavailable(b) from exc
    return module.Adapter(b)


def _unavailable(b: AbstractBackend) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"Backend {type(b).__name__} needs the '{_FRAMEWORK.get(b.name, b.name)}' package, which "
        f"is not installed or failed to import. Install it with: pip install \"anydiff[{b.extra}]\""
    )
