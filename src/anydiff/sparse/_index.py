"""Index sets as boolean sparse matrices: the data structure the sparsity tracer propagates.

A traced array ``a`` carries ``P``, a boolean ``scipy.sparse.csr_array`` of shape
``(a.size, n_in)``: row ``r`` (C order over ``a``'s elements) holds the inputs element ``r`` may
depend on.  ``None`` stands for "no dependency at all" (a constant), so constants cost nothing.

Every rule is built from four vectorised operations, so big problems stay linear in the number of
non-zeros (no Python loop over elements):

* :func:`gather` -- ``P[idx]`` with ``-1`` meaning an empty row (data movement, broadcasting,
  masking rows of a product by a zero factor);
* :func:`union` -- row-wise OR of matrices with the same rows (elementwise operations);
* :func:`scatter` -- ``G @ P`` for a 0/1 matrix ``G`` given by coordinates (reductions, scatters,
  contractions);
* :func:`rows_of` -- the matrix of several operands stacked, so one gather can mix them
  (concatenate, setitem).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _np

Pattern = Any  # a boolean scipy.sparse.csr_array; kept loose for the type checker


def csr(data_len: int, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> Pattern:
    """A canonical (sorted, duplicate-free) boolean CSR built from trusted parts without checks."""
    # one index dtype for both arrays: scipy would otherwise copy them to a common one
    it = np.int32 if max(data_len, shape[0], shape[1]) < 2**31 - 1 else np.int64
    m = sp.csr_array(
        (_np.ones(data_len, dtype=bool), indices.astype(it, copy=False), indptr.astype(it, copy=False)),
        shape=shape,
        copy=False,
    )
    m.has_sorted_indices = True
    return m


def identity(n: int) -> Pattern:
    """The seed of ``n`` inputs: element ``i`` depends on input ``i``."""
    return csr(n, np.arange(n), np.arange(n + 1), (n, n))


def empty(rows: int, n_in: int) -> Pattern:
    """``rows`` elements depending on nothing."""
    return csr(0, _np.zeros(0, dtype=np.int32), _np.zeros(rows + 1, dtype=np.int64), (rows, n_in))


def gather(P: Pattern, idx: np.ndarray) -> Pattern:
    """Rows ``P[idx]`` (``idx`` flat int array); rows where ``idx < 0`` are empty.

    Vectorised: the new ``indptr`` is a cumulative sum of the selected row lengths and the new
    ``indices`` one fancy-index into the old ones, so the cost is O(len(idx) + nnz(result)).
    """
    idx = _np.asarray(idx, dtype=np.int64).ravel()
    n_rows = P.shape[0]
    if idx.size == n_rows and (n_rows == 0 or (idx[0] == 0 and np.array_equal(idx, np.arange(n_rows)))):
        return P
    indptr = P.indptr.astype(np.int64, copy=False)
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    starts = indptr[safe]
    lens = np.where(valid, indptr[safe + 1] - starts, 0)
    new_ptr = _np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(lens, out=new_ptr[1:])
    total = int(new_ptr[-1])
    if total == 0:
        return empty(idx.size, P.shape[1])
    if total == idx.size and lens.min() == 1:  # one input per row (slices of the seed): no repeat
        return csr(total, P.indices[starts], new_ptr, (idx.size, P.shape[1]))
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - new_ptr[:-1], lens)
    return csr(total, P.indices[pos], new_ptr, (idx.size, P.shape[1]))


def union(*Ps: Pattern | None) -> Pattern | None:
    """Row-wise OR of same-shaped patterns; ``None`` operands are skipped (``None`` if all are)."""
    out = None
    for P in Ps:
        if P is None:
            continue
        out = P if out is None else out + P  # boolean + is OR in scipy.sparse
    return out


def coords(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Pattern:
    """The 0/1 matrix with ones at ``(rows[k], cols[k])`` (duplicates allowed)."""
    m = sp.coo_array(
        (_np.ones(rows.size, dtype=bool), (_np.asarray(rows).ravel(), _np.asarray(cols).ravel())), shape=shape
    )
    return sp.csr_array(m)


def scatter(P: Pattern, out_of: np.ndarray, n_out: int) -> Pattern:
    """Row ``k`` of the result is the OR of the rows ``r`` of ``P`` with ``out_of[r] == k``.

    ``out_of``: flat int array of length ``P.shape[0]``; entries ``< 0`` are dropped.  This is
    ``G @ P`` with ``G[out_of[r], r] = 1``: reductions (``out_of`` = the reduced position of each
    element) and scatter-adds (``np.add.at``) alike.
    """
    out_of = _np.asarray(out_of, dtype=np.int64).ravel()
    keep = out_of >= 0
    r = np.flatnonzero(keep)
    G = coords(out_of[keep], r, (n_out, P.shape[0]))
    return sp.csr_array(G @ P)


def matmul(G: Pattern, P: Pattern) -> Pattern:
    """Boolean product ``G @ P`` as CSR (OR of ANDs)."""
    return sp.csr_array(G @ P)


def rows_of(parts: list[tuple[Pattern | None, int]], n_in: int) -> Pattern:
    """Stack patterns vertically (``(P, rows)`` pairs; ``None`` gives ``rows`` empty rows)."""
    mats = [empty(rows, n_in) if P is None else P for P, rows in parts]
    if len(mats) == 1:
        return mats[0]
    return sp.csr_array(sp.vstack(mats, format="csr"))


def any_rows(P: Pattern) -> Pattern:
    """One row: the union of every row of ``P`` (everything the array depends on)."""
    return scatter(P, _np.zeros(P.shape[0], dtype=np.int64), 1)


def positions(shape: tuple[int, ...], offset: int = 0) -> np.ndarray:
    """The position map ``arange(size).reshape(shape)`` (+ offset): apply an op to it to see which
    element each output element reads (the trick asdex uses for data movement)."""
    return (np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64) + offset).reshape(shape)


def broadcast_rows(P: Pattern, shape: tuple[int, ...], to: tuple[int, ...]) -> Pattern:
    """``P`` of an array of ``shape`` broadcast to the shape ``to``."""
    if tuple(shape) == tuple(to):
        return P
    return gather(P, np.broadcast_to(positions(shape), to).ravel())


def mask_rows(P: Pattern, keep: np.ndarray) -> Pattern:
    """``P`` with the rows where ``keep`` is false emptied (``keep``: flat bool of P's rows)."""
    keep = _np.asarray(keep, dtype=bool).ravel()
    if keep.all():
        return P
    return gather(P, np.where(keep, np.arange(P.shape[0]), -1))
