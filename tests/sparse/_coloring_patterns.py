"""Random and structured sparsity patterns shared by the colouring tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def random_pattern(seed: int, square: bool = False, symmetric: bool = False) -> sp.csr_array:
    """A random boolean pattern; sizes 1..40, densities 2..40 %, sometimes with an empty row / column."""
    rng = np.random.default_rng(seed)
    m, n = (int(k) for k in rng.integers(1, 41, 2))
    if square or symmetric:
        m = n
    p = sp.random_array((m, n), density=float(rng.uniform(0.02, 0.4)), rng=rng) != 0
    if symmetric:
        p = p + p.T
        if seed % 2:
            p = p + sp.eye_array(n, dtype=bool)
    return sp.csr_array(p)


def banded(n: int, half_bandwidth: int) -> sp.csr_array:
    """Boolean band matrix with ``half_bandwidth`` sub- and super-diagonals."""
    offs = list(range(-half_bandwidth, half_bandwidth + 1))
    return sp.csr_array(sp.diags_array([np.ones(n - abs(k)) for k in offs], offsets=offs, shape=(n, n)) != 0)


def arrowhead(n: int) -> sp.csr_array:
    """Diagonal plus a dense first row and first column."""
    a = sp.lil_array((n, n), dtype=bool)
    a[0, :] = True
    a[:, 0] = True
    a.setdiag(True)
    return sp.csr_array(a)


def values_like(pattern: sp.csr_array, seed: int, symmetric: bool = False, dtype=float) -> sp.csr_array:
    """A random matrix with exactly this pattern (symmetric on request); some stored values are 0."""
    rng = np.random.default_rng(seed + 1000)
    p = sp.csr_array(pattern, dtype=float)
    vals = rng.standard_normal(p.nnz)
    if np.issubdtype(dtype, np.complexfloating):
        vals = vals + 1j * rng.standard_normal(p.nnz)
    vals[rng.random(p.nnz) < 0.1] = 0.0
    a = sp.csr_array((vals, p.indices, p.indptr), shape=p.shape)
    if symmetric:
        a = sp.csr_array(a + a.T)
    return a
