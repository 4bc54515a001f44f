"""Differentiable versions of common ``scipy.special`` functions (NumPy only).

``scipy.special.expit``, ``erf``, ``gammaln`` ... are ufuncs and already work on traced arrays
directly; ``logsumexp`` is a Python function, so use this one (or pass a traced array to
scipy's, which works when scipy routes it through the Array API namespace).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._numpy_api import logsumexp as _lse


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(b * exp(a), axis))`` computed stably; ``a``'s shape reduced over ``axis``.

    ``b`` (positive weights, broadcastable to ``a``) is optional.

    Example::

        logsumexp(np.array([[0.0, 1.0], [2.0, 3.0]]), axis=1)   # shape (2,)
    """
    if b is not None:
        a = a + np.log(b)
    return _lse(a, axis=axis, keepdims=keepdims)


def expit(x: Any) -> Any:
    """Logistic sigmoid ``1 / (1 + exp(-x))`` elementwise (shape of ``x``)."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x - logsumexp(x, axis))`` (shape of ``x``)."""
    return np.exp(x - _lse(x, axis=axis, keepdims=True))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x, axis)`` (shape of ``x``)."""
    return x - _lse(x, axis=axis, keepdims=True)
