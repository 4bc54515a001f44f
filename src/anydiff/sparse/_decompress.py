"""Colouring results and decompression with precomputed indices.

The compressed matrix ``B`` has shape ``(ncolors, dim)``: row ``c`` is the product of the matrix
with the seed of colour ``c`` — ``J·s_c`` (column colouring, ``dim = m``), ``s_cᵀ·J`` (row colouring,
``dim = n``), ``H·s_c`` (symmetric, ``dim = n``). It is what one batched pushforward / pullback / hvp
over :attr:`ColoringResult.seed_matrix` returns.

Decompression never sorts and never calls ``tocsr()``: the output CSR structure (``indptr``,
``indices`` of the pattern, explicit zeros kept) is fixed when the result is built, and each
non-zero's source in ``B.ravel()`` is precomputed, so a direct decompression is one gather.
Substitution (acyclic colourings) adds one vectorised round per level of the two-coloured trees,
peeled from the leaves: a leaf's entry is its compressed value minus what its children already
accounted for.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .._errors import AnydiffError, AnydiffValueError
from ._coloring import ColoringProblem, GreedyColoring, _neighbour_color_counts, _offdiag_graph


class ColoringError(AnydiffError, RuntimeError):
    """A colouring does not allow the requested decompression (a bug in the colouring kernel)."""


def _positions(p: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Positions in ``p.data`` of the entries (rows, cols), all of which must be stored."""
    n = p.shape[1]
    prow = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(p.indptr))
    keys = prow * n + p.indices  # ascending: canonical CSR
    return np.searchsorted(keys, rows * n + cols)


class CSRBuilder:
    """Fresh ``csr_array`` results of one fixed structure, cheaply.

    SciPy's constructor validates the structure on every call (~10 µs at 10⁴ non-zeros, a large
    share of a sparse Jacobian's per-call cost). The structure never changes between calls, so it
    is validated once, here, into a template; each call clones the template (a shallow copy),
    gives it the new ``data`` and its own copies of ``indices`` / ``indptr`` (results belong to the
    caller, who may modify them in place). Index arrays are int32 where they fit, as SciPy picks.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, shape: tuple[int, int]) -> None:
        fits = max(*shape, len(indices)) < np.iinfo(np.int32).max
        dt = np.int32 if fits else np.int64
        self.indptr = np.ascontiguousarray(indptr, dtype=dt)
        self.indices = np.ascontiguousarray(indices, dtype=dt)
        self.nnz, self.shape = len(indices), tuple(shape)
        # Validated on a separate instance: the template keeps no cached flags (sorted /
        # canonical), which would go stale in a result whose indices the caller edits.
        check = sp.csr_array((np.zeros(self.nnz), self.indices, self.indptr), shape=self.shape)
        check.check_format(full_check=True)
        if not check.has_canonical_format:  # patterns are canonical (as_pattern); say so if not
            raise ColoringError("internal error: a decompression structure is not canonical CSR")
        self._template = sp.csr_array((np.zeros(self.nnz), self.indices, self.indptr),
                                      shape=self.shape, copy=False)

    def __call__(self, data: np.ndarray) -> sp.csr_array:
        if data.shape != (self.nnz,):
            raise ColoringError(f"internal error: {data.shape} values for {self.nnz} non-zeros")
        out = copy.copy(self._template)
        out.data, out.indices, out.indptr = data, self.indices.copy(), self.indptr.copy()
        return out


def two_colored_forest(indptr: np.ndarray, indices: np.ndarray, colors: np.ndarray):
    """Peel plan of the two-coloured subgraphs of a graph, or ``None`` if one has a cycle.

    A vertex ``v`` belongs to one two-coloured subgraph per other colour ``c'`` of its neighbours; in
    the compressed Hessian that membership is the slot ``c'·n + v``. Returns a list of rounds, each a
    pair of vertex arrays ``(leaf, parent)``: in round ``r`` every ``leaf`` has no neighbour left in its
    tree but ``parent``, so its entry can be solved, and all leaves of one round are independent.
    """
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    upper = rows < indices
    eu, ev = rows[upper], indices[upper]
    if len(eu) == 0:
        return []
    cu, cv = colors[eu], colors[ev]
    nc = int(colors.max()) + 1
    pair = np.minimum(cu, cv) * nc + np.maximum(cu, cv)
    # Node = (vertex, pair); the node of vertex v in the subgraph of its colour and colour c' is
    # identified by the key (pair, v).
    node_keys, inv = np.unique(np.concatenate([pair * n + eu, pair * n + ev]), return_inverse=True)
    inv = inv.ravel()
    nu, nv = inv[: len(eu)], inv[len(eu):]
    nnodes = len(node_keys)
    node_vertex = node_keys % n
    nedges = len(nu)
    g = sp.coo_array((np.ones(nedges), (nu, nv)), shape=(nnodes, nnodes))
    ncomp, _ = connected_components(g, directed=False)
    if nedges != nnodes - ncomp:
        return None
    # Leaf peeling with running sums: for a node of degree 1, nbr_sum is its only neighbour.
    deg = np.bincount(nu, minlength=nnodes) + np.bincount(nv, minlength=nnodes)
    nbr_sum = np.bincount(nu, weights=nv, minlength=nnodes).astype(np.int64) + np.bincount(
        nv, weights=nu, minlength=nnodes
    ).astype(np.int64)
    rounds = []
    cand = np.flatnonzero(deg == 1)
    while len(cand):
        cand = cand[deg[cand] == 1]
        par = nbr_sum[cand]
        # Two leaves joined to each other (the last edge of a tree): peel only the smaller one.
        both = deg[par] == 1
        cand = cand[~both | (cand < par)]
        par = nbr_sum[cand]
        if len(cand) == 0:
            break
        rounds.append((node_vertex[cand], node_vertex[par]))
        deg[cand] = 0
        np.subtract.at(deg, par, 1)
        np.subtract.at(nbr_sum, par, cand)
        par = np.unique(par)
        cand = par[deg[par] == 1]
    if sum(len(r[0]) for r in rounds) != nedges:
        raise ColoringError("internal error: leaf peeling did not consume every edge of the forest")
    return rounds


class ColoringResult:
    """A colouring of a pattern with everything needed to compress and decompress.

    Attributes: ``pattern`` (the boolean CSR pattern of the result; symmetrised for Hessians),
    ``problem``, ``algorithm``, ``colors`` (``int64`` array, one per column / row / vertex),
    ``ncolors``, ``groups`` (tuple of index arrays, one per colour), ``seed_matrix``
    (``(ncolors, dim_in)`` float64: row ``c`` is the tangent / cotangent of colour ``c``), ``kind``
    (``"column"``, ``"row"``, ``"star"``, ``"acyclic"``).
    """

    def __init__(self, pattern: sp.csr_array, problem: ColoringProblem, algorithm: GreedyColoring,
                 colors: np.ndarray) -> None:
        self.pattern = pattern
        self.problem = problem
        self.algorithm = algorithm
        m, n = pattern.shape
        self.shape = (m, n)
        if problem.structure == "symmetric":
            self.kind = "star" if algorithm.decompression == "direct" else "acyclic"
        else:
            self.kind = problem.partition
        #: The colouring as coloured (valid for its kind); ``colors`` is it after postprocessing.
        self.full_colors = np.asarray(colors, dtype=np.int64)
        self.full_colors.flags.writeable = False
        self._star_read = None
        if getattr(algorithm, "postprocessing", False):
            colors = self._postprocess(self.full_colors)
        self.colors = np.asarray(colors, dtype=np.int64)
        self.colors.flags.writeable = False
        self.ncolors = int(self.colors.max()) + 1 if len(self.colors) else 0
        self.ncolors = max(self.ncolors, 0)
        # The compressed matrix has one row per colour and `compressed_dim` columns.
        self.compressed_dim = n if self.kind == "row" or problem.structure == "symmetric" else m
        self._indptr = pattern.indptr
        self._indices = pattern.indices
        self._rounds: list = []
        self._build()
        self._csr = CSRBuilder(self._indptr, self._indices, self.shape)

    # -- postprocessing -------------------------------------------------------------------------

    def _postprocess(self, colors: np.ndarray) -> np.ndarray:
        """Keep only the seeds that decompression reads, renumber the colours still used.

        A vertex (column, row) that no entry is read from becomes *neutral* (colour ``-1``: in no
        seed), and a colour left with no seeded vertex disappears, so ``ncolors`` never grows and
        often shrinks. Column / row colourings: empty columns / rows. Acyclic colourings:
        vertices with no entry at all. Star colourings: every diagonal entry needs its vertex;
        an off-diagonal entry ``(i, j)`` is read from ``j``'s seed at row ``i`` when ``j`` is ``i``'s
        only neighbour of colour ``c(j)`` (or the other way round); when both ways work, the
        endpoint whose colour is already needed is seeded (SparseMatrixColorings' rule for trivial
        stars), so spokes of a star without diagonal entries cost nothing.
        """
        p = self.pattern
        m, n = self.shape
        if self.kind == "column":
            seeded = np.diff(sp.csc_array(p).indptr) > 0 if n else np.zeros(0, bool)
        elif self.kind == "row":
            seeded = np.diff(p.indptr) > 0
        else:
            rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
            cols = p.indices
            diag = np.zeros(n, dtype=bool)
            diag[rows[rows == cols]] = True
            if self.kind == "acyclic":
                seeded = diag | (np.bincount(rows[rows != cols], minlength=n) > 0)
            else:
                seeded = self._star_seeds(colors, diag)
        new = np.full(len(colors), -1, dtype=np.int64)
        kept = np.unique(colors[seeded])
        new[seeded] = np.searchsorted(kept, colors[seeded])
        return new

    def _star_seeds(self, colors: np.ndarray, diag: np.ndarray) -> np.ndarray:
        """Which vertices of a star colouring must be seeded (see :meth:`_postprocess`); also
        records, per stored entry, whether it is read from its column's seed."""
        p, n = self.pattern, self.shape[1]
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(p.indptr))
        cols = p.indices
        off = rows != cols
        if np.any(colors[rows[off]] == colors[cols[off]]):
            raise ColoringError("star colouring gave two adjacent vertices one colour (colouring bug)")
        indptr, indices = _offdiag_graph(p)
        lookup = _neighbour_color_counts(indptr, indices, colors, int(colors.max(initial=0)) + 1)
        # entry (r, k) readable from k's seed at row r / from r's seed at row k
        by_col = off & (lookup(rows, colors[cols]) == 1)
        by_row = off & (lookup(cols, colors[rows]) == 1)
        if np.any(off & ~by_col & ~by_row):
            raise ColoringError("star colouring does not allow direct decompression (colouring bug)")
        seeded = diag.copy()
        upper = off & (rows < cols)
        i, j = rows[upper], cols[upper]
        ij, ji = by_col[upper], by_row[upper]  # (i, j) from j's seed / from i's seed
        seeded[j[ij & ~ji]] = True
        seeded[i[ji & ~ij]] = True
        todo = ~(seeded[i] | seeded[j])
        while todo.any():
            used = np.zeros(int(colors.max(initial=0)) + 1, dtype=bool)
            used[colors[seeded]] = True
            pick_i = todo & ji & used[colors[i]]
            pick_j = todo & ij & ~pick_i & used[colors[j]]
            if not (pick_i.any() or pick_j.any()):
                # open the colour that serves the most remaining edges
                cand = np.concatenate([colors[i[todo & ji]], colors[j[todo & ij]]])
                best = np.bincount(cand).argmax()
                pick_i = todo & ji & (colors[i] == best)
                pick_j = todo & ij & ~pick_i & (colors[j] == best)
            seeded[i[pick_i]] = True
            seeded[j[pick_j]] = True
            todo = ~(seeded[i] | seeded[j])
        # reading rule per stored entry: from the column's seed when it is seeded and allowed
        self._star_read = (by_col & seeded[cols]) | ~off
        if np.any(off & ~self._star_read & ~(by_row & seeded[rows])):
            raise ColoringError("star postprocessing left an entry unreadable (bug)")
        return seeded

    # -- construction ---------------------------------------------------------------------------

    def _build(self) -> None:
        p, c = self.pattern, self.colors
        m, n = self.shape
        rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
        cols = p.indices
        if self.kind == "column":
            self._src = c[cols] * m + rows
        elif self.kind == "row":
            self._src = c[rows] * n + cols
        elif self.kind == "star":
            self._src = self._star_sources(rows, cols)
        else:
            self._build_substitution(rows, cols)

    def _star_sources(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        c, n = self.colors, self.shape[1]
        if self._star_read is not None:  # postprocessed: the reading rule is fixed already
            return np.where(self._star_read, c[cols] * n + rows, c[rows] * n + cols)
        indptr, indices = _offdiag_graph(self.pattern)
        lookup = _neighbour_color_counts(indptr, indices, c, max(self.ncolors, 1))
        diag = rows == cols
        if np.any(c[rows[~diag]] == c[cols[~diag]]):
            raise ColoringError("star colouring gave two adjacent vertices one colour (colouring bug)")
        # (i, j) is read from column j's group at row i when j is i's only neighbour of its colour,
        # else from i's group at row j (then i is j's only neighbour of colour c(i)).
        own = lookup(rows, c[cols]) == 1
        other = lookup(cols, c[rows]) == 1
        if np.any(~diag & ~own & ~other):
            raise ColoringError("star colouring does not allow direct decompression (colouring bug)")
        return np.where(diag | own, c[cols] * n + rows, c[rows] * n + cols)

    def _build_substitution(self, rows: np.ndarray, cols: np.ndarray) -> None:
        c, n = self.colors, self.shape[1]
        diag = np.flatnonzero(rows == cols)
        self._diag_pos = diag
        self._diag_src = c[rows[diag]] * n + rows[diag]
        indptr, indices = _offdiag_graph(self.pattern)
        rounds = two_colored_forest(indptr, indices, c)
        if rounds is None:
            raise ColoringError("acyclic colouring has a two-coloured cycle (colouring bug)")
        # One position lookup for all rounds (per-round lookups would cost O(nnz) each).
        sizes = [len(leaf) for leaf, _ in rounds]
        leaves = np.concatenate([leaf for leaf, _ in rounds]) if rounds else np.zeros(0, np.int64)
        parents = np.concatenate([par for _, par in rounds]) if rounds else np.zeros(0, np.int64)
        pos_lp = _positions(self.pattern, leaves, parents)
        pos_pl = _positions(self.pattern, parents, leaves)
        plan = []
        start = 0
        for size in sizes:
            sl = slice(start, start + size)
            start += size
            leaf, par = leaves[sl], parents[sl]
            src = c[par] * n + leaf  # compressed value of the leaf in its tree's group
            dst = c[leaf] * n + par  # the parent's slot in the same tree
            plan.append((src, dst, np.concatenate([pos_lp[sl], pos_pl[sl]])))
        self._rounds = plan

    # -- public surface -------------------------------------------------------------------------

    @cached_property
    def groups(self) -> tuple[np.ndarray, ...]:
        """Indices of the columns (rows, vertices) of each colour."""
        order = np.argsort(self.colors, kind="stable")
        bounds = np.searchsorted(self.colors[order], np.arange(self.ncolors + 1))
        return tuple(order[bounds[k]:bounds[k + 1]] for k in range(self.ncolors))

    @cached_property
    def seed_matrix(self) -> np.ndarray:
        """``(ncolors, dim_in)`` float64 array: row ``c`` is the 0/1 indicator of colour ``c``'s group."""
        s = np.zeros((self.ncolors, len(self.colors)))
        used = self.colors >= 0  # neutral vertices (colour -1) are in no seed
        s[self.colors[used], np.flatnonzero(used)] = 1.0
        s.flags.writeable = False
        return s

    def compress(self, matrix: Any) -> np.ndarray:
        """The compressed matrix ``B`` of ``matrix`` (dense or sparse, shape ``self.shape``)."""
        a = sp.csr_array(matrix) if sp.issparse(matrix) else np.asarray(matrix)
        s = self.seed_matrix
        if self.kind == "row":
            return np.asarray(s @ a)
        return np.asarray((a @ s.T).T)

    def decompress(self, compressed: Any) -> sp.csr_array:
        """The sparse matrix from its compressed form ``B`` of shape ``(ncolors, compressed_dim)``.

        Returns a fresh ``scipy.sparse.csr_array`` of shape ``self.shape`` whose structure is exactly
        the pattern (explicit zeros kept), in ``B``'s dtype.
        """
        b = np.asarray(compressed)
        if b.shape != (self.ncolors, self.compressed_dim):
            raise AnydiffValueError(f"the compressed matrix has shape {b.shape}, expected "
                                    f"{(self.ncolors, self.compressed_dim)} (ncolors, dim)")
        flat = b.reshape(-1)
        if self.kind != "acyclic":
            data = np.take(flat, self._src)
        else:
            data = np.empty(len(self._indices), dtype=b.dtype)
            buf = flat.copy()
            data[self._diag_pos] = buf[self._diag_src]
            for src, dst, pos in self._rounds:
                val = buf[src]
                np.subtract.at(buf, dst, val)
                data[pos] = np.concatenate([val, val])
        return self._csr(data)

    def __repr__(self) -> str:
        return f"ColoringResult({self.kind}, shape={self.shape}, ncolors={self.ncolors})"
