"""anydiff: one interface to every automatic-differentiation system in Python.

Write ``f`` once, pick the AD system with one argument::

    import anydiff as ad
    g = ad.gradient(f, "jax", x)              # or "torch", "autograd", "finitediff", "engine"
    prep = ad.prepare_gradient(f, "jax", x)   # one-time work: tracing, compiling, tapes
    g = prep(x)                               # fast repeated calls

Importing anydiff imports no AD framework; each backend loads its own when first used.
"""

from __future__ import annotations

from typing import Any

from ._arrays import array_namespace
from ._backend_types import (
    AbstractBackend,
    AutoAutograd,
    AutoEngine,
    AutoFiniteDiff,
    AutoJax,
    AutoTorch,
    MixedMode,
    SecondOrder,
)
from ._contexts import Batch, Cache, Constant
from ._errors import (
    AnydiffError,
    AnydiffTypeError,
    AnydiffValueError,
    BackendUnavailableError,
    PreparationMismatchError,
    UnsupportedError,
)
from ._operators import PUBLIC as _PUBLIC
from ._prep import Prep
from ._registry import available_backends, check_available
from .bridge import custom_derivative, differentiate_with
from .sparse import (
    DenseSparsityDetector,
    KnownSparsity,
    TracerSparsityDetector,
    hessian_sparsity,
    jacobian_sparsity,
)

derivative = _PUBLIC["derivative"]
value_and_derivative = _PUBLIC["value_and_derivative"]
gradient = _PUBLIC["gradient"]
value_and_gradient = _PUBLIC["value_and_gradient"]
jacobian = _PUBLIC["jacobian"]
value_and_jacobian = _PUBLIC["value_and_jacobian"]
pushforward = _PUBLIC["pushforward"]
value_and_pushforward = _PUBLIC["value_and_pushforward"]
pullback = _PUBLIC["pullback"]
value_and_pullback = _PUBLIC["value_and_pullback"]
second_derivative = _PUBLIC["second_derivative"]
value_derivative_and_second_derivative = _PUBLIC["value_derivative_and_second_derivative"]
hessian = _PUBLIC["hessian"]
value_gradient_and_hessian = _PUBLIC["value_gradient_and_hessian"]
hvp = _PUBLIC["hvp"]
gradient_and_hvp = _PUBLIC["gradient_and_hvp"]

prepare_derivative = _PUBLIC["prepare_derivative"]
prepare_gradient = _PUBLIC["prepare_gradient"]
prepare_jacobian = _PUBLIC["prepare_jacobian"]
prepare_pushforward = _PUBLIC["prepare_pushforward"]
prepare_pullback = _PUBLIC["prepare_pullback"]
prepare_second_derivative = _PUBLIC["prepare_second_derivative"]
prepare_hessian = _PUBLIC["prepare_hessian"]
prepare_hvp = _PUBLIC["prepare_hvp"]
prepare_pushforward_same_point = _PUBLIC["prepare_pushforward_same_point"]
prepare_pullback_same_point = _PUBLIC["prepare_pullback_same_point"]
prepare_hvp_same_point = _PUBLIC["prepare_hvp_same_point"]

__version__ = "0.1.0"

__all__ = [
    "AbstractBackend", "AutoAutograd", "AutoEngine", "AutoFiniteDiff", "AutoJax", "AutoTorch",
    "MixedMode", "SecondOrder",
    "Batch", "Cache", "Constant", "Prep",
    "AnydiffError", "AnydiffTypeError", "AnydiffValueError", "BackendUnavailableError",
    "PreparationMismatchError", "UnsupportedError",
    "array_namespace", "available_backends", "check_available",
    *_PUBLIC,
    "custom_derivative", "differentiate_with", "implicit_function",
    "AutoSparse", "GreedyColoring", "plot_sparsity",
    "DenseSparsityDetector", "KnownSparsity", "TracerSparsityDetector", "hessian_sparsity",
    "jacobian_sparsity",
]


# Public names whose modules load on first access (colouring needs scipy.sparse and is not needed
# by `import anydiff`); scripts/gen_stubs.py reads this dict for the type stub.
_LAZY_ATTRIBUTES = {
    "AutoSparse": "sparse._autosparse",
    "GreedyColoring": "sparse._autosparse",
    "plot_sparsity": "sparse._plot",
    "implicit_function": "implicit",
}


def __getattr__(name: str) -> Any:
    # Subpackages load on first access so that `import anydiff` stays light.
    if name in _LAZY_ATTRIBUTES:
        import importlib

        return getattr(importlib.import_module(f"anydiff.{_LAZY_ATTRIBUTES[name]}"), name)
    if name in ("engine", "implicit", "optimize", "testing"):
        import importlib

        return importlib.import_module(f"anydiff.{name}")
    raise AttributeError(f"module 'anydiff' has no attribute {name!r}")
