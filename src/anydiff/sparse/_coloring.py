"""Colouring of sparsity patterns: the problem, the algorithm, and the entry point :func:`color`.

Three small objects, kept apart:

- :class:`ColoringProblem` — *what* is coloured: ``structure="nonsymmetric"`` with
  ``partition="column"`` (groups of structurally orthogonal columns, one pushforward each) or
  ``"row"`` (one pullback each), or ``structure="symmetric"`` (a Hessian pattern, columns grouped so
  that ``H`` can be recovered from ``H·S``);
- :class:`GreedyColoring` — *how*: the vertex order(s) and the decompression
  (``"direct"``: star colouring for symmetric problems; ``"substitution"``: acyclic colouring,
  fewer colours, entries recovered by solving along two-coloured trees);
- :class:`~anydiff.sparse._decompress.ColoringResult` — the colours, groups, seed matrix and the
  precomputed decompression indices.

Only NumPy and SciPy are used; no AD backend is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import AnydiffValueError
from . import _greedy
from ._orders import ORDERS, vertex_order

# Default cap on the number of stored entries of the distance-2 conflict graph PᵀP. One dense row
# of P makes PᵀP dense (n² entries); column colouring then needs n colours anyway.
DEFAULT_BUDGET = 200_000_000


def as_pattern(pattern: Any, shape: tuple[int, int] | None = None) -> sp.csr_array:
    """A canonical boolean CSR pattern: sorted indices, no duplicates, no stored ``False``.

    ``pattern``: a ``scipy.sparse`` array / matrix or a dense 2-D array (non-zero = structural
    non-zero). ``shape``, when given, must match (``ValueError`` otherwise).
    """
    if sp.issparse(pattern):
        p = sp.csr_array(pattern, copy=True)
    else:
        arr = np.asarray(pattern)
        if arr.ndim != 2:
            raise AnydiffValueError(f"a sparsity pattern must be 2-D, got an array of shape {arr.shape}")
        p = sp.csr_array(arr != 0)
    if shape is not None and tuple(p.shape) != tuple(shape):
        raise AnydiffValueError(f"the sparsity pattern has shape {tuple(p.shape)}, expected {tuple(shape)}")
    p.sum_duplicates()
    p.data = p.data != 0
    p.eliminate_zeros()
    p = sp.csr_array(p, dtype=bool)
    p.sort_indices()
    p.indptr = p.indptr.astype(np.int64)
    p.indices = p.indices.astype(np.int64)
    return p


def _offdiag_graph(g: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) of a square boolean CSR with its diagonal removed."""
    g = sp.csr_array(g, dtype=bool)
    g.sort_indices()
    rows = np.repeat(np.arange(g.shape[0]), np.diff(g.indptr))
    keep = rows != g.indices
    indices = g.indices[keep].astype(np.int64)
    counts = np.bincount(rows[keep], minlength=g.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, indices


def conflict_graph(p: sp.csr_array, partition: str,
                   budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """The distance-2 conflict graph of the columns (``PᵀP``) or rows (``PPᵀ``), without diagonal.

    Raises ``ValueError`` when its size bound (Σ of squared row / column counts) exceeds ``budget``.
    """
    side = p if partition == "column" else sp.csr_array(p.T)
    counts = np.diff(sp.csr_array(side).indptr).astype(np.int64)
    bound = int(np.sum(counts * counts))
    if bound > budget:
        other = "row" if partition == "column" else "column"
        raise AnydiffValueError(
            f"{partition} colouring of this {p.shape[0]}x{p.shape[1]} pattern needs a conflict graph of up "
            f"to {bound} entries (budget {budget}): a dense {other} makes the {partition}s conflict. "
            f"Use {other} colouring, MixedMode (bicolouring), or raise GreedyColoring(budget=...)."
        )
    side = sp.csr_array(side, dtype=bool)
    g = sp.csr_array(side.T @ side)
    return _offdiag_graph(g)


def symmetric_graph(p: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacency graph of a square pattern (symmetrised, diagonal removed) and its edge ids.

    Returns ``(indptr, indices, edge)``; ``edge[k]`` numbers the undirected edge of stored position
    ``k``, equal for (i, j) and (j, i).
    """
    if p.shape[0] != p.shape[1]:
        raise AnydiffValueError(f"a symmetric colouring needs a square pattern, got shape {tuple(p.shape)}")
    indptr, indices = _offdiag_graph(sp.csr_array(p + p.T))
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(indptr))
    key = np.minimum(rows, indices) * p.shape[0] + np.maximum(rows, indices)
    _, edge = np.unique(key, return_inverse=True)
    return indptr, indices, edge.astype(np.int64).ravel()


@dataclass(frozen=True)
class ColoringProblem:
    """What is coloured.

    ``structure``: ``"nonsymmetric"`` (a Jacobian pattern) or ``"symmetric"`` (a Hessian pattern).
    ``partition``: ``"column"`` (groups of columns: pushforwards / hvps) or ``"row"`` (groups of rows:
    pullbacks); symmetric problems are always coloured by columns.
    """

    structure: str = "nonsymmetric"
    partition: str = "column"

    def __post_init__(self) -> None:
        if self.structure not in ("nonsymmetric", "symmetric"):
            raise AnydiffValueError(f"ColoringProblem(structure=...) must be 'nonsymmetric' or 'symmetric', "
                                    f"got {self.structure!r}")
        allowed = ("column",) if self.structure == "symmetric" else ("column", "row")
        if self.partition not in allowed:
            raise AnydiffValueError(f"ColoringProblem(structure={self.structure!r}) takes partition in "
                                    f"{allowed}, got {self.partition!r}")


@dataclass(frozen=True)
class GreedyColoring:
    """Greedy colouring: visit vertices in an order, give each the smallest colour allowed.

    ``order``: one of ``natural``, ``largest_first``, ``smallest_last``, ``incidence_degree``,
    ``dynamic_largest_first``, ``random``, or ``"best"`` (try them all and keep the fewest colours), or
    a tuple of these (keep the best of the tuple; ties go to the earliest). ``decompression``:
    ``"direct"`` (star colouring for Hessians, every entry read from one compressed product) or
    ``"substitution"`` (acyclic colouring for Hessians: fewer colours, entries recovered by solving
    along two-coloured trees; Jacobians are always direct). ``seed``: for the ``random`` order.
    ``budget``: most entries allowed in the distance-2 conflict graph of a column / row colouring.
    ``postprocessing``: after colouring, take out of the seeds every column / row / vertex that no
    entry is read from (colour ``-1``, *neutral*) and drop the colours left empty, so ``ncolors``
    never grows and shrinks where possible (e.g. a star without diagonal entries needs one colour).
    """

    order: str | tuple[str, ...] = "largest_first"
    decompression: str = "direct"
    seed: int = 0
    budget: int = DEFAULT_BUDGET
    postprocessing: bool = True

    def __post_init__(self) -> None:
        names = self.orders
        for name in names:
            if name not in ORDERS:
                raise AnydiffValueError(
                    f"GreedyColoring(order=...) must be 'best' or one of {ORDERS}, got {name!r}")
        if self.decompression not in ("direct", "substitution"):
            raise AnydiffValueError("GreedyColoring(decompression=...) must be 'direct' or 'substitution', "
                                    f"got {self.decompression!r}")

    @property
    def orders(self) -> tuple[str, ...]:
        """The orders tried, in tie-breaking priority."""
        if self.order == "best":
            return ("largest_first", "smallest_last", "dynamic_largest_first", "incidence_degree", "natural",
                    "random")
        if isinstance(self.order, str):
            return (self.order,)
        return tuple(self.order)

    def color(self, pattern: Any, partition: str = "column", symmetric: bool = False):
        """Colour ``pattern``; shorthand for :func:`color` with a :class:`ColoringProblem`."""
        problem = ColoringProblem("symmetric" if symmetric else "nonsymmetric",
                                  "column" if symmetric else partition)
        return color(pattern, problem, self)


def colors_only(pattern: sp.csr_array, problem: ColoringProblem, algorithm: GreedyColoring) -> np.ndarray:
    """Just the colours (``int64`` array, one per column / row / vertex), best over the algorithm's orders
    (before postprocessing)."""
    return min(_candidates(pattern, problem, algorithm), key=_ncolors)


def _candidates(pattern: sp.csr_array, problem: ColoringProblem,
                algorithm: GreedyColoring) -> list[np.ndarray]:
    """One colouring per order of the algorithm, in its tie-breaking priority."""
    if problem.structure == "symmetric":
        indptr, indices, edge = symmetric_graph(pattern)
        kernel = _greedy.star if algorithm.decompression == "direct" else _greedy.acyclic
        run = lambda order: kernel(indptr, indices, edge, order)  # noqa: E731
    else:
        indptr, indices = conflict_graph(pattern, problem.partition, algorithm.budget)
        run = lambda order: _greedy.distance1(indptr, indices, order)  # noqa: E731
    return [run(vertex_order(name, indptr, indices, algorithm.seed)) for name in algorithm.orders]


def _ncolors(colors: np.ndarray) -> int:
    return int(colors.max()) + 1 if len(colors) else 0


def color(pattern: Any, problem: ColoringProblem | None = None, algorithm: GreedyColoring | None = None):
    """Colour a sparsity pattern and precompute its decompression.

    ``pattern``: boolean ``scipy.sparse`` (or dense) array of shape ``(m, n)``. Returns a
    :class:`~anydiff.sparse._decompress.ColoringResult`.
    """
    from ._decompress import ColoringResult

    problem = problem or ColoringProblem()
    algorithm = algorithm or GreedyColoring()
    p = as_pattern(pattern)
    if problem.structure == "symmetric":
        if p.shape[0] != p.shape[1]:
            raise AnydiffValueError(f"a Hessian pattern must be square, got shape {tuple(p.shape)}")
        p = as_pattern(p + p.T)
    # The fewest colours after postprocessing (min keeps the first of equals: order priority).
    results = [ColoringResult(p, problem, algorithm, c) for c in _candidates(p, problem, algorithm)]
    return min(results, key=lambda r: r.ncolors)


# ----------------------------------------------------------------------------------------------
# Validity checkers (vectorised; used by the tests and cheap enough to run after every colouring)


def structurally_orthogonal(pattern: Any, colors: np.ndarray, partition: str = "column") -> bool:
    """True when no row (column) of ``pattern`` has two non-zeros in columns (rows) of one colour."""
    p = as_pattern(pattern)
    if partition == "row":
        p = as_pattern(p.T)
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(p.indptr))
    key = rows * (int(colors.max(initial=0)) + 1) + colors[p.indices]
    return len(np.unique(key)) == len(key)


def _neighbour_color_counts(indptr, indices, colors, ncolors):
    """``count(i, c)`` = number of neighbours of vertex i with colour c, as a lookup function."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    keys, counts = np.unique(rows * ncolors + colors[indices], return_counts=True)

    def lookup(i: np.ndarray, c: np.ndarray) -> np.ndarray:
        q = i * ncolors + c
        pos = np.clip(np.searchsorted(keys, q), 0, max(len(keys) - 1, 0))
        if len(keys) == 0:
            return np.zeros(len(q), dtype=np.int64)
        return np.where(keys[pos] == q, counts[pos], 0)

    return lookup


def star_valid(pattern: Any, colors: np.ndarray) -> bool:
    """True when ``colors`` allow direct recovery of a symmetric matrix (a star colouring).

    Condition (Coleman & Moré): adjacent vertices differ, and for every edge (i, j) either ``j`` is
    the only neighbour of ``i`` coloured ``colors[j]`` or ``i`` the only neighbour of ``j`` coloured
    ``colors[i]``.
    """
    p = as_pattern(pattern)
    indptr, indices = _offdiag_graph(sp.csr_array(p + p.T))
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(indptr))
    if np.any(colors[rows] == colors[indices]):
        return False
    lookup = _neighbour_color_counts(indptr, indices, colors, _ncolors(colors))
    ok = (lookup(rows, colors[indices]) == 1) | (lookup(indices, colors[rows]) == 1)
    return bool(np.all(ok))


def acyclic_valid(pattern: Any, colors: np.ndarray) -> bool:
    """True when adjacent vertices differ and every two-coloured subgraph is a forest."""
    from ._decompress import two_colored_forest

    p = as_pattern(pattern)
    indptr, indices = _offdiag_graph(sp.csr_array(p + p.T))
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(indptr))
    if np.any(colors[rows] == colors[indices]):
        return False
    return two_colored_forest(indptr, indices, colors) is not None
