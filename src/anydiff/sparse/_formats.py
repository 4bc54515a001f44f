"""Formats of ``AutoSparse`` results: SciPy CSR (default), JAX BCOO, torch sparse CSR.

``AutoSparse(dense, output=...)``: ``"scipy"`` gives ``scipy.sparse.csr_array``; ``"jax"`` gives
``jax.experimental.sparse.BCOO`` (indices ``(nnz, 2)`` int32, sorted and unique, shared by every
result of a prep: JAX arrays are immutable); ``"torch"`` gives a coalesced ``torch.sparse_coo_tensor``
(its own index and value tensors on every call). All three hold exactly the pattern's entries (explicit
zeros included), in the compressed matrix's dtype. The conversion runs after the NumPy
decompression, so it adds one host-to-framework copy of the ``nnz`` values. Float64 BCOO results
are made with x64 enabled, like every float64 JAX result of anydiff: work with them under
``jax.enable_x64(True)`` (or ``jax_enable_x64``), or JAX truncates them to float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import AnydiffValueError, BackendUnavailableError

FORMATS = ("scipy", "jax", "torch")


def check_format(output: Any) -> None:
    if output not in FORMATS:
        raise AnydiffValueError(f"AutoSparse(output=...) must be one of {FORMATS}, got {output!r}")


class Converter:
    """``csr_array -> the requested format`` for results of one fixed structure."""

    def __init__(self, output: str) -> None:
        self.output = output
        self._jax_indices = None
        if output == "jax":
            try:
                import jax  # noqa: F401
            except ImportError as exc:
                raise BackendUnavailableError("AutoSparse(output='jax') needs jax: pip install jax") from exc
        elif output == "torch":
            try:
                import torch  # noqa: F401
            except ImportError as exc:
                raise BackendUnavailableError("AutoSparse(output='torch') needs torch: pip install torch") \
                    from exc

    def __call__(self, csr: Any) -> Any:
        if self.output == "jax":
            return self._bcoo(csr)
        if self.output == "torch":
            import torch

            rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
            ij = torch.from_numpy(np.stack([rows, csr.indices.astype(np.int64)]))
            # Row-major sorted, unique indices: coalesced by construction (checked once in tests).
            return torch.sparse_coo_tensor(ij, torch.from_numpy(csr.data), size=tuple(csr.shape),
                                           is_coalesced=True, check_invariants=False)
        return csr

    def _bcoo(self, csr: Any) -> Any:
        import jax
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse

        wide = csr.data.dtype.itemsize >= 8 and csr.data.dtype != np.complex64
        with jax.enable_x64(wide):
            if self._jax_indices is None:  # the structure is fixed: one device copy per prep
                rows = np.repeat(np.arange(csr.shape[0], dtype=np.int32), np.diff(csr.indptr))
                self._jax_indices = jnp.asarray(np.stack([rows, csr.indices.astype(np.int32)], axis=1))
            return jsparse.BCOO((jnp.asarray(csr.data), self._jax_indices), shape=tuple(csr.shape),
                                indices_sorted=True, unique_indices=True)


def structure(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr, indices)`` (CSR, NumPy int64) of a result in any of the formats."""
    kind = type(result).__module__
    if kind.startswith("scipy"):
        return np.asarray(result.indptr, np.int64), np.asarray(result.indices, np.int64)
    ij = result.indices().numpy().T if kind.startswith("torch") else np.asarray(result.indices)
    counts = np.bincount(ij[:, 0], minlength=result.shape[0]) if len(ij) else np.zeros(result.shape[0], int)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), ij[:, 1].astype(np.int64)


def to_dense(result: Any) -> np.ndarray:
    """A NumPy array of a result in any of the formats."""
    kind = type(result).__module__
    if kind.startswith("scipy"):
        return result.toarray()
    if kind.startswith("torch"):
        return result.to_dense().numpy()
    import jax

    with jax.enable_x64(result.dtype.itemsize >= 8 and result.dtype != np.complex64):
        return np.asarray(result.todense())
