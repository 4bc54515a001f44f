"""Sparsity detectors: frozen, hashable settings objects, like the backends.

* :class:`TracerSparsityDetector` -- traces index sets through ``f`` (global, or local at x);
* :class:`DenseSparsityDetector` -- reads the pattern off one dense Jacobian / Hessian at x;
* :class:`KnownSparsity` -- a pattern the user supplies.

Each has ``jacobian_sparsity(f, x, contexts)`` and ``hessian_sparsity(f, x, contexts)`` returning a
boolean ``scipy.sparse.csr_array`` of shape ``(y.size, x.size)`` / ``(x.size, x.size)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import AnydiffValueError


class _Lazy:
    """``_tracing`` (which imports the engine and scipy.sparse) loaded on first use, so that
    ``import anydiff`` stays light."""

    def __getattr__(self, name: str) -> Any:
        from . import _tracing as mod

        return getattr(mod, name)


_tracing = _Lazy()


@dataclass(frozen=True)
class TracerSparsityDetector:
    """Sparsity by running ``f`` on index-set tracers through anydiff's engine.

    ``local=False`` (default): a **global** pattern, valid at every ``x`` (and every value of the
    ``ad.Constant`` contexts): both branches of ``np.where`` / ``np.maximum`` count, comparisons add
    no dependency, and Python control flow on a traced value (``if x[0] > 0``, ``int(x)``, indexing
    by ``argmax``) raises :class:`anydiff.UnsupportedError`.  Closure and global arrays are treated as
    fixed: their exact zeros are skipped in products (``A @ x`` with a banded ``A`` is banded).

    ``local=True``: the pattern **at this x only**: branches taken at ``x`` are followed, ``where`` /
    ``maximum`` keep the branch chosen at ``x``, and products with an exact zero drop the other
    factor's dependencies.  It is a superset of the non-zeros of the Jacobian at ``x`` but may miss
    entries that are non-zero at other points.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> ad.jacobian_sparsity(lambda x: x[1:] * x[:-1], np.ones(3)).toarray()
        array([[ True,  True, False],
               [False,  True,  True]])
    """

    local: bool = False

    def jacobian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        _, P, _ = _tracing.run(f, x, contexts, local=self.local, hessian=False)
        return _tracing.canonical(P)

    def hessian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        trace, _, m = _tracing.run(f, x, contexts, local=self.local, hessian=True)
        _tracing.check_scalar(m)
        return _tracing.canonical(trace.hessian_pattern())


@dataclass(frozen=True)
class DenseSparsityDetector:
    """The pattern of one dense Jacobian (or Hessian) at ``x``, computed with ``backend``.

    Entries with ``|J_ij| > atol`` are kept.  The pattern is **local**: an entry that happens to be
    zero at ``x`` is missing, so it is valid at this point only (or where the structure does not
    depend on ``x``).  Works for any ``f`` the backend can differentiate.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> d = ad.DenseSparsityDetector("finitediff", atol=1e-6)
        >>> ad.jacobian_sparsity(lambda x: x ** 2, np.ones(2), d).toarray()
        array([[ True, False],
               [False,  True]])
    """

    backend: Any
    atol: float = 0.0

    def jacobian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        import anydiff as ad

        n = _tracing.flat_x(x)[1].size
        J = np.asarray(ad.jacobian(f, self.backend, x, *contexts))
        return _tracing.canonical(np.abs(J.reshape(-1, n) if n else J.reshape(0, 0)) > self.atol)

    def hessian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        import anydiff as ad

        n = _tracing.flat_x(x)[1].size
        H = np.asarray(ad.hessian(f, self.backend, x, *contexts)).reshape(n, n)
        return _tracing.canonical(np.abs(H) > self.atol)


def _as_pattern(pattern: Any) -> Any:
    import scipy.sparse as sp

    if sp.issparse(pattern):
        P = sp.csr_array(pattern)
        P = sp.csr_array(P != 0)
    else:
        a = np.asarray(pattern)
        if a.ndim != 2:
            raise AnydiffValueError(f"KnownSparsity needs a 2-D pattern, got shape {a.shape}")
        P = sp.csr_array(a != 0)
    return _tracing.canonical(P)


@dataclass(frozen=True, eq=False)
class KnownSparsity:
    """A pattern you know: a 2-D boolean (or 0/1) array or ``scipy.sparse`` matrix.

    Its shape is checked against ``(y.size, x.size)`` for Jacobians and ``(x.size, x.size)`` for
    Hessians (``ValueError`` when it differs).  Equal patterns compare equal and hash alike.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> k = ad.KnownSparsity(np.eye(2, dtype=bool))
        >>> ad.jacobian_sparsity(lambda x: 2 * x, np.ones(2), k).nnz
        2
    """

    pattern: Any
    _key: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        P = _as_pattern(self.pattern)
        object.__setattr__(self, "pattern", P)
        object.__setattr__(self, "_key", (P.shape, P.indptr.tobytes(), P.indices.tobytes()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KnownSparsity) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def _check(self, shape: tuple[int, int], what: str) -> Any:
        if tuple(self.pattern.shape) != shape:
            raise AnydiffValueError(
                f"KnownSparsity pattern has shape {tuple(self.pattern.shape)}, but the {what} has shape "
                f"{shape}"
            )
        return self.pattern.copy()

    def jacobian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        from .._contexts import as_context
        from .._pytree import tree_flatten

        n = _tracing.flat_x(x)[1].size
        y = f(x, *[as_context(c).value for c in contexts])
        m = sum(int(np.size(leaf)) for leaf in tree_flatten(y)[0])
        return self._check((m, n), "Jacobian (y.size, x.size)")

    def hessian_sparsity(self, f: Callable, x: Any, contexts: tuple = ()) -> Any:
        n = _tracing.flat_x(x)[1].size
        return self._check((n, n), "Hessian (x.size, x.size)")
