"""The ndarray methods of a traced array (``x.T``, ``x.sum()``, ``x.reshape(...)``, ...), each
the NumPy function of the same name, so that the call reaches the engine's rule for it.

A mixin of :class:`~anydiff.engine._tracer.Traced`, kept apart from its state and operators:
adding a method here is all it takes to support one more ``ndarray`` method.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NdarrayMethods:
    """``ndarray`` methods and properties written as NumPy calls on ``self``."""

    __slots__ = ()

    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return np.real(self)

    @property
    def imag(self) -> Any:
        return np.imag(self)

    def conj(self) -> Any:
        return np.conjugate(self)

    def conjugate(self) -> Any:
        return np.conjugate(self)

    def copy(self, order: str = "C") -> Any:
        return np.copy(self)

    def __copy__(self) -> Any:  # copy.copy(x), as SciPy's odeint does with y0
        return np.copy(self)

    def __deepcopy__(self, memo: Any) -> Any:
        return np.copy(self)

    def astype(self, dtype: Any, copy: bool = True, **kw: Any) -> Any:
        from ._numpy_api import astype

        return astype(self, dtype)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, a: int, b: int) -> Any:
        return np.swapaxes(self, a, b)

    def ravel(self, order: str = "C") -> Any:
        return np.ravel(self, order=order)

    def flatten(self, order: str = "C") -> Any:
        return np.copy(np.ravel(self, order=order))  # a copy in numpy too: not a view of self

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis)

    def sum(self, *a: Any, **k: Any) -> Any:
        return np.sum(self, *a, **k)

    def mean(self, *a: Any, **k: Any) -> Any:
        return np.mean(self, *a, **k)

    def prod(self, *a: Any, **k: Any) -> Any:
        return np.prod(self, *a, **k)

    def max(self, *a: Any, **k: Any) -> Any:
        return np.max(self, *a, **k)

    def min(self, *a: Any, **k: Any) -> Any:
        return np.min(self, *a, **k)

    def var(self, *a: Any, **k: Any) -> Any:
        return np.var(self, *a, **k)

    def std(self, *a: Any, **k: Any) -> Any:
        return np.std(self, *a, **k)

    def cumsum(self, *a: Any, **k: Any) -> Any:
        return np.cumsum(self, *a, **k)

    def cumprod(self, *a: Any, **k: Any) -> Any:
        return np.cumprod(self, *a, **k)

    def argmax(self, *a: Any, **k: Any) -> Any:
        return np.argmax(self, *a, **k)

    def argmin(self, *a: Any, **k: Any) -> Any:
        return np.argmin(self, *a, **k)

    def argsort(self, *a: Any, **k: Any) -> Any:
        return np.argsort(self, *a, **k)

    def any(self, *a: Any, **k: Any) -> Any:
        return np.any(self, *a, **k)

    def all(self, *a: Any, **k: Any) -> Any:
        return np.all(self, *a, **k)

    def dot(self, o: Any) -> Any:
        return np.dot(self, o)

    def clip(self, lo: Any = None, hi: Any = None, **kw: Any) -> Any:
        lo = kw.pop("min", lo)  # ndarray.clip(min=..., max=...) as NumPy accepts
        hi = kw.pop("max", hi)
        return np.clip(self, lo, hi, **kw)

    def round(self, decimals: int = 0, out: Any = None) -> Any:
        return np.round(self, decimals, out=out)

    def diagonal(self, *a: Any, **k: Any) -> Any:
        return np.diagonal(self, *a, **k)

    def trace(self, *a: Any, **k: Any) -> Any:
        return np.trace(self, *a, **k)
