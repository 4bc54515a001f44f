"""Bicolouring: a Jacobian from a few pushforwards *and* a few pullbacks (for ``MixedMode``).

A pattern with a dense row and a dense column defeats both column and row colouring (each needs
about ``n`` colours). Bicolouring star-colours the bipartite graph of the pattern, the augmented
symmetric pattern ``[[0, Pᵀ], [P, 0]]`` on the ``n`` column vertices and the ``m`` row vertices;
each non-zero ``J[i, j]`` is then read either from the pushforward of column ``j``'s colour (at row
``i``) or from the pullback of row ``i``'s colour (at column ``j``), whichever the star structure
allows. Colours that no entry is read from are dropped ("neutral": those columns / rows are in no
seed), which is where the savings come from.

Cost of a call: ``nforward`` pushforwards plus ``nreverse`` pullbacks; ``order="best"`` keeps the
order with the fewest of both together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import AnydiffValueError
from . import _greedy
from ._coloring import GreedyColoring, _neighbour_color_counts, _offdiag_graph, as_pattern, symmetric_graph
from ._decompress import ColoringError, CSRBuilder
from ._orders import vertex_order


def _augmented(p: sp.csr_array) -> sp.csr_array:
    m, n = p.shape
    return sp.csr_array(sp.block_array([[None, p.T], [p, None]], format="csr", dtype=bool)) if m and n else \
        sp.csr_array((m + n, m + n), dtype=bool)


class BicoloringResult:
    """A bicolouring of an ``(m, n)`` pattern.

    Attributes: ``pattern``, ``column_colors`` (``(n,)``, ``-1`` for a column in no pushforward),
    ``row_colors`` (``(m,)``, ``-1`` for a row in no pullback), ``nforward``, ``nreverse``,
    ``ncolors`` (their sum), ``column_seeds`` (``(nforward, n)``), ``row_seeds`` (``(nreverse, m)``),
    ``kind = "bidirectional"``.
    """

    kind = "bidirectional"

    def __init__(self, pattern: sp.csr_array, algorithm: GreedyColoring, colors: np.ndarray) -> None:
        self.pattern, self.algorithm = pattern, algorithm
        m, n = pattern.shape
        self.shape = (m, n)
        rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(pattern.indptr))
        cols = pattern.indices
        cc, rc = colors[:n], colors[n:]
        g_indptr, g_indices = _offdiag_graph(_augmented(pattern))
        ncol = int(colors.max()) + 1 if len(colors) else 1
        lookup = _neighbour_color_counts(g_indptr, g_indices, colors, ncol)
        # Entry (i, j) by pushforward: column j is row i's only neighbour of colour cc[j];
        # by pullback: row i is column j's only neighbour of colour rc[i].
        fwd_ok = lookup(n + rows, cc[cols]) == 1
        rev_ok = lookup(cols, rc[rows]) == 1
        if np.any(~fwd_ok & ~rev_ok):
            raise ColoringError("bicolouring does not allow direct decompression (colouring bug)")
        use_fwd = fwd_ok & ~rev_ok
        need_f = set(np.unique(cc[cols[use_fwd]]).tolist())
        need_r = set(np.unique(rc[rows[~fwd_ok]]).tolist())
        # Entries readable both ways: reuse a colour already needed, else open a pushforward.
        for k in np.flatnonzero(fwd_ok & rev_ok).tolist():
            cf, cr = int(cc[cols[k]]), int(rc[rows[k]])
            if cf in need_f:
                use_fwd[k] = True
            elif cr in need_r:
                pass
            else:
                need_f.add(cf)
                use_fwd[k] = True
        fmap = np.full(ncol, -1, dtype=np.int64)
        rmap = np.full(ncol, -1, dtype=np.int64)
        fmap[sorted(need_f)] = np.arange(len(need_f))
        rmap[sorted(need_r)] = np.arange(len(need_r))
        self.column_colors = fmap[cc] if n else np.zeros(0, np.int64)
        self.row_colors = rmap[rc] if m else np.zeros(0, np.int64)
        self.nforward, self.nreverse = len(need_f), len(need_r)
        self.ncolors = self.nforward + self.nreverse
        offset = self.nforward * m
        self._src = np.where(use_fwd, self.column_colors[cols] * m + rows,
                             offset + self.row_colors[rows] * n + cols)
        self._indptr, self._indices = pattern.indptr, pattern.indices
        self._csr = CSRBuilder(self._indptr, self._indices, self.shape)

    @property
    def column_seeds(self) -> np.ndarray:
        """``(nforward, n)`` 0/1 tangents of the pushforwards."""
        return _seeds(self.column_colors, self.nforward)

    @property
    def row_seeds(self) -> np.ndarray:
        """``(nreverse, m)`` 0/1 cotangents of the pullbacks."""
        return _seeds(self.row_colors, self.nreverse)

    def compress(self, matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(J·Sᶠᵀ as (nforward, m), Sʳ·J as (nreverse, n))`` of a dense or sparse ``matrix``."""
        a = sp.csr_array(matrix) if sp.issparse(matrix) else np.asarray(matrix)
        return np.asarray((a @ self.column_seeds.T).T), np.asarray(self.row_seeds @ a)

    def decompress(self, forward: Any, reverse: Any) -> sp.csr_array:
        """The sparse Jacobian from the pushforward block ``(nforward, m)`` and the pullback block
        ``(nreverse, n)`` (``wᵀJ``, not ``Jᴴw``: conjugate pullbacks of complex ``f`` first)."""
        m, n = self.shape
        bf, br = np.asarray(forward), np.asarray(reverse)
        if bf.shape != (self.nforward, m) or br.shape != (self.nreverse, n):
            raise AnydiffValueError(f"compressed blocks of shapes {bf.shape}, {br.shape}; expected "
                                    f"{(self.nforward, m)} and {(self.nreverse, n)}")
        flat = np.concatenate([bf.reshape(-1), br.reshape(-1)])
        return self._csr(np.take(flat, self._src))

    def __repr__(self) -> str:
        return f"BicoloringResult(shape={self.shape}, nforward={self.nforward}, nreverse={self.nreverse})"


def _seeds(colors: np.ndarray, k: int) -> np.ndarray:
    s = np.zeros((k, len(colors)))
    used = colors >= 0
    s[colors[used], np.flatnonzero(used)] = 1.0
    return s


def bicolor(pattern: Any, algorithm: GreedyColoring | None = None) -> BicoloringResult:
    """Bicolour an ``(m, n)`` pattern; keeps the order with the fewest pushforwards + pullbacks."""
    algorithm = algorithm or GreedyColoring()
    p = as_pattern(pattern)
    m, n = p.shape
    indptr, indices, edge = symmetric_graph(_augmented(p))
    best = None
    for name in algorithm.orders:
        order = vertex_order(name, indptr, indices, algorithm.seed)
        res = BicoloringResult(p, algorithm, _greedy.star(indptr, indices, edge, order))
        if best is None or res.ncolors < best.ncolors:
            best = res
    return best
