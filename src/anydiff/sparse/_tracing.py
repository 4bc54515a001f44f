"""Running ``f`` on index-set tracers: seeding ``x`` (arrays or pytrees), contexts, reading ``y``.

``x`` is flattened in anydiff's pytree order (leaves in :func:`anydiff._pytree.tree_flatten` order,
each in C order), exactly as the dense operators flatten it, so column ``j`` of a pattern is entry
``j`` of the flat ``x`` that ``ad.jacobian`` uses for pytrees; rows follow ``y`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._arrays import require_floating, to_numpy
from .._contexts import Cache, Context, as_context
from .._errors import AnydiffValueError, UnsupportedError
from .._layout import Layout
from .._pytree import tree_flatten, tree_unflatten
from ..engine._errors import EngineError
from ..engine._tracer import Traced, as_output
from . import _index as ix
from . import _np
from ._rules import rule_for
from ._trace import Dep, SparsityTrace


def flat_x(x: Any) -> tuple[Layout, np.ndarray]:
    """``x``'s layout and its leaves as one flat NumPy vector (a fresh copy; ``x`` is never touched)."""
    leaves, td = tree_flatten(x)
    layout = Layout.of_leaves(td, leaves)
    for dt in layout.dtypes:
        require_floating(np.dtype(dt))
    arrs = [_np.asarray(to_numpy(a)).ravel() for a in leaves]
    flat = np.concatenate(arrs).astype(layout.dtype) if arrs else _np.zeros(0)
    return layout, flat


def _context_value(trace: SparsityTrace, c: Context) -> Any:
    leaves, td = tree_flatten(c.value)
    out = []
    for a in leaves:
        if isinstance(c, Cache):  # scratch space f may overwrite: a buffer that accepts traced writes
            out.append(Traced(None, _np.array(to_numpy(a))))
            continue
        arr = a if isinstance(a, (int, bool)) else to_numpy(a)
        if isinstance(arr, np.ndarray) and arr.dtype.kind in "fc":
            # Constant data may change after detection: its values never decide a global pattern
            # (no zero-skipping, no branches on it), though it carries no dependency on x
            out.append(Traced(trace, arr, Dep(None, True)))
        else:
            out.append(a)  # integers, booleans, objects: structural data, fixed at detection
    return tree_unflatten(td, out)


def y_rows(trace: SparsityTrace, y: Any) -> tuple[Any, int]:
    """The stacked pattern of every leaf of ``y`` (``None`` rows for constants) and ``y.size``."""
    leaves, _ = tree_flatten(y)
    parts = []
    total = 0
    for leaf in leaves:
        leaf = as_output(leaf)
        if type(leaf) is Traced and leaf._trace is trace:
            size = leaf.size
            parts.append((leaf._aux.P, size))
        else:
            v = leaf._value if type(leaf) is Traced else leaf
            size = int(np.size(v))
            parts.append((None, size))
        total += size
    return (ix.rows_of(parts, trace.n_in) if parts else ix.empty(0, trace.n_in)), total


def _intercepting(f: Callable) -> Callable:
    """``f`` with the engine's NumPy interception (``np.zeros`` buffers created inside ``f`` accept
    traced writes) when this engine version has it; plain ``f`` otherwise."""
    try:
        from ..engine._intercept import intercepted
    except ImportError:  # an engine without array-creation interception
        return f
    return intercepted(f)


def run(
    f: Callable, x: Any, contexts: tuple, *, local: bool, hessian: bool
) -> tuple[SparsityTrace, Any, int]:
    """Trace ``f(x, *contexts)``; returns the finished trace, ``y``'s stacked pattern and ``y.size``."""
    layout, flat = flat_x(x)
    n = flat.size
    trace = SparsityTrace(n, local, hessian, rule_for)
    v = Traced(trace, flat, Dep(ix.identity(n), True))
    xt = layout.unravel(v)
    ctx = [_context_value(trace, as_context(c)) for c in contexts]
    try:
        y = _intercepting(f)(xt, *ctx)
        P, m = y_rows(trace, y)
    except EngineError as e:
        if isinstance(e, UnsupportedError) and "sparsity" in str(e):
            raise
        raise UnsupportedError(
            f"sparsity detection runs f through anydiff's engine, which cannot trace it: {e}. "
            "Use DenseSparsityDetector(backend) (a pattern read off one dense Jacobian at x) or "
            "KnownSparsity(pattern)."
        ) from e
    trace.check_dropped()
    return trace, P, m


def canonical(P: Any) -> Any:
    """A boolean CSR array with sorted, unique indices and no stored zeros."""
    P = sp.csr_array(P, dtype=bool)
    P.sum_duplicates()
    P.eliminate_zeros()
    P.sort_indices()
    return P


def check_scalar(m: int) -> None:
    if m != 1:
        raise AnydiffValueError(
            f"hessian_sparsity needs a scalar-valued f, but f returned {m} values; use "
            "jacobian_sparsity for vector-valued functions"
        )
