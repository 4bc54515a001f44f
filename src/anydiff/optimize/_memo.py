"""A thread-safe last-point cache: ``fun`` and ``jac`` of one point share one evaluation.

SciPy asks for the value and the derivative of the same point in two calls (``fun(x)``, then
``jac(x)``). :class:`LastPoint` computes both in one call of a prepared ``value_and_*`` and serves
the second request from the cache, like SciPy's private ``MemoizeJac``, but

- for pytrees: the key is a copy of every leaf (NumPy), compared leaf by leaf;
- thread-safe: the point and its outputs are stored as one tuple, replaced atomically, so a
  thread never pairs one point's value with another point's derivative. Two threads asking for
  the same new point at once may both evaluate it (the results are equal); one computing is not
  held up by another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import to_numpy
from .._pytree import tree_flatten


def _key(x: Any) -> tuple[np.ndarray, ...]:
    if type(x) is np.ndarray:  # the common case (SciPy's flat vectors): no pytree walk
        return (x.copy(),)
    leaves, _ = tree_flatten(x)
    return tuple(np.array(to_numpy(a), copy=True) for a in leaves)


def _same(key: tuple[np.ndarray, ...], x: Any) -> bool:
    if type(x) is np.ndarray:  # inline, not np.array_equal: this runs twice per point
        k = key[0]
        return len(key) == 1 and k.shape == x.shape and bool((k == x).all())
    leaves, _ = tree_flatten(x)
    return len(leaves) == len(key) and all(
        k.shape == np.shape(a) and bool(np.array_equal(k, to_numpy(a))) for k, a in zip(key, leaves)
    )


class LastPoint:
    """``compute(x) -> tuple`` cached for the last ``x`` it was called at.

    ``get(x)`` returns the tuple for ``x``, computing it only when ``x`` differs from the last
    point (exact equality, NaNs never equal). ``evaluations`` counts the computations.

    Example:
        >>> import numpy as np
        >>> from anydiff.optimize._memo import LastPoint
        >>> memo = LastPoint(lambda x: (float(np.sum(x**2)), 2 * x))
        >>> memo.get(np.ones(2))[0], memo.get(np.ones(2))[1], memo.evaluations
        (2.0, array([2., 2.]), 1)
    """

    def __init__(self, compute: Callable[[Any], tuple]) -> None:
        self._compute = compute
        self._entry: tuple[tuple[np.ndarray, ...], tuple] | None = None
        self.evaluations = 0

    def get(self, x: Any) -> tuple:
        entry = self._entry  # one read: key and outputs belong together
        if entry is not None and _same(entry[0], x):
            return entry[1]
        key = _key(x)  # copied before computing: the caller may reuse its buffer afterwards
        out = self._compute(x)
        self._entry = (key, out)
        self.evaluations += 1
        return out

    def peek(self, x: Any) -> tuple | None:
        """The cached outputs if ``x`` is the last point, else None (computes nothing)."""
        entry = self._entry
        return entry[1] if entry is not None and _same(entry[0], x) else None

    def part(self, i: int) -> Callable[..., Any]:
        """``lambda x, *_: get(x)[i]``: one output as a SciPy callable (extra args ignored)."""

        def call(x: Any, *_: Any) -> Any:
            return self.get(x)[i]

        return call
