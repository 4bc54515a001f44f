"""Sparsity detection: which entries of a Jacobian or Hessian may be non-zero.

``jacobian_sparsity(f, x, detector=TracerSparsityDetector(), *contexts)`` and
``hessian_sparsity(...)`` return boolean ``scipy.sparse.csr_array`` patterns of shape
``(y.size, x.size)`` and ``(x.size, x.size)``, with ``x`` and ``y`` flattened in anydiff's pytree order.

Modules (one job each): ``_index`` (index sets as boolean sparse matrices), ``_trace`` (the engine
trace carrying them), ``_rules*`` (one dependency rule per engine primitive), ``_tracing`` (seeding
``x``, contexts, reading ``y``), ``_detectors`` (the detector classes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._contexts import Context
from ._detectors import DenseSparsityDetector, KnownSparsity, TracerSparsityDetector

_DEFAULT = TracerSparsityDetector()


def split_contexts(detector: Any, contexts: tuple, default: Any) -> tuple[Any, tuple]:
    """``jacobian_sparsity(f, x, ad.Constant(c))`` passes a context where the detector goes."""
    if isinstance(detector, Context):
        return default, (detector, *contexts)
    return (default if detector is None else detector), contexts


def jacobian_sparsity(f: Callable, x: Any, detector: Any = None, *contexts: Any) -> Any:
    """Boolean ``scipy.sparse.csr_array`` of shape ``(y.size, x.size)``: where ``∂y_i/∂x_j`` may be non-zero.

    ``detector``: :class:`TracerSparsityDetector` (default, global), ``TracerSparsityDetector(local=True)``,
    :class:`DenseSparsityDetector` or :class:`KnownSparsity`.  ``contexts`` (``ad.Constant`` /
    ``ad.Cache``, or bare values = Constants) follow as for every operator; a context may also be
    passed in the detector's place (``jacobian_sparsity(f, x, ad.Constant(c))``).

    Example:
        >>> import numpy as np, anydiff as ad
        >>> ad.jacobian_sparsity(lambda x: np.cumsum(x), np.ones(3)).toarray().astype(int)
        array([[1, 0, 0],
               [1, 1, 0],
               [1, 1, 1]])
    """
    det, ctx = split_contexts(detector, contexts, _DEFAULT)
    return det.jacobian_sparsity(f, x, ctx)


def hessian_sparsity(f: Callable, x: Any, detector: Any = None, *contexts: Any) -> Any:
    """Symmetric boolean ``scipy.sparse.csr_array`` ``(x.size, x.size)``: where ``∂²f/∂x_i∂x_j`` may
    be non-zero.

    ``f`` must return a scalar.  Detectors and contexts as for :func:`jacobian_sparsity`.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(np.sin(x[:1]))
        >>> ad.hessian_sparsity(f, np.ones(3)).toarray().astype(int)
        array([[1, 1, 0],
               [1, 0, 1],
               [0, 1, 0]])
    """
    det, ctx = split_contexts(detector, contexts, _DEFAULT)
    return det.hessian_sparsity(f, x, ctx)


__all__ = [
    "DenseSparsityDetector",
    "KnownSparsity",
    "TracerSparsityDetector",
    "hessian_sparsity",
    "jacobian_sparsity",
]
