"""More ``np.linalg``: singular values, general eigenvalues, matrix powers, spectral norms.

* ``svd(a, compute_uv=False)`` / ``svdvals``: ``dσ_i = Re(u_iᴴ dA v_i)``, adjoint
  ``U diag(g) Vᴴ`` (2-D, distinct nonzero singular values for a derivative that exists);
* ``eigvals``: ``dλ_i = (V⁻¹ dA V)_ii``, adjoint ``V⁻ᴴ diag(g) Vᴴ`` (diagonalisable ``a``);
* ``matrix_power``: repeated products (``inv`` first for negative powers);
* ``norm(ord="nuc" | 2 | -2)`` of a matrix: sum / max / min of the singular values.

The rules obtain ``U, V`` by calling ``np.linalg.svd`` / ``eig`` on their input; on a traced
input (a second derivative) they use the vectors' own rules (:mod:`._rules_decomp`, which also
has ``qr`` and ``pinv``), never constant vectors, which would give a wrong answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._numpy_api import HANDLERS, implements
from ._numpy_elementwise import _concrete
from ._tracer import Prim, Traced, bind


def _svd_vectors(a: Any) -> tuple[Any, Any]:
    """``U, Vh`` of ``a``; on a traced ``a`` (a second derivative) the vectors' own rule."""
    if isinstance(a, Traced):
        from ._rules_decomp import svd

        U, _, Vh = svd(a, full_matrices=False)
    else:
        U, _, Vh = np.linalg.svd(a, full_matrices=False)
    return U, Vh


def _eig_vectors(a: Any) -> Any:
    if isinstance(a, Traced):
        from ._rules_decomp import eig

        return eig(a)[1]
    return np.linalg.eig(a)[1]


def _svdvals_jvp(ts: list, xs: list, s: Any, p: dict) -> Any:
    U, Vh = _svd_vectors(xs[0])
    # (B, m, n) tangents: dσ_i = Re Σ_jk conj(U_ji) dA_jk V_ki
    r = np.einsum("ji,bjk,ik->bi", np.conjugate(U), ts[0], np.conjugate(Vh))
    return np.real(r)


def _svdvals_vjp(g: Any, xs: list, s: Any, need: tuple, p: dict) -> tuple:
    U, Vh = _svd_vectors(xs[0])
    return ((U * g) @ Vh,)


SVDVALS = Prim("linalg.svdvals", lambda a: np.linalg.svd(a, compute_uv=False), _svdvals_jvp, _svdvals_vjp)


def svdvals(a: Any) -> Any:
    """Singular values of ``a`` (``(m, n)`` -> ``(min(m, n),)``, descending)."""
    if R.ndim_of(a) > 2:  # stacked: one 2-D rule per matrix
        from ._numpy_linalg import _per_matrix

        return _per_matrix(svdvals, a)
    return bind(SVDVALS, [a], {})


if hasattr(np.linalg, "svdvals"):
    HANDLERS[np.linalg.svdvals] = lambda x: svdvals(x)


def _eigvals_impl(a: Any) -> Any:
    return np.linalg.eigvals(a)


def _eigvals_jvp(ts: list, xs: list, w: Any, p: dict) -> Any:
    V = _eig_vectors(xs[0])
    Vi = np.linalg.inv(V)
    return np.einsum("ij,bjk,ki->bi", Vi, ts[0], V)


def _eigvals_vjp(g: Any, xs: list, w: Any, need: tuple, p: dict) -> tuple:
    V = _eig_vectors(xs[0])
    Vi = np.linalg.inv(V)
    return (np.conjugate(Vi).T @ (g[:, None] * np.conjugate(V).T),)


EIGVALS = Prim("linalg.eigvals", _eigvals_impl, _eigvals_jvp, _eigvals_vjp)


@implements(np.linalg.eigvals)
def _eigvals(a: Any) -> Any:
    if R.ndim_of(a) > 2:  # stacked: one 2-D rule per matrix
        from ._numpy_linalg import _per_matrix

        return _per_matrix(_eigvals, a)
    if not R.is_complex(a):  # real or complex eigenvalues, by the values: a tape re-traces
        _concrete(a, "np.linalg.eigvals(real matrix): real or complex eigenvalues, by the values")
    return bind(EIGVALS, [a], {})


#: registered only to raise a clear error (listed as unsupported in the docs)
NO_RULE: tuple = ()


@implements(np.linalg.matrix_power)
def _matrix_power(a: Any, n: int) -> Any:
    n = int(n)
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 0:
        eye = np.broadcast_to(np.eye(R.shape_of(a)[-1], dtype=R.dtype_of(a)), R.shape_of(a))
        return eye + 0 * a
    result = None
    base = a
    while n:  # binary powering, as NumPy
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


from . import _rules_decomp  # noqa: E402,F401 - registers svd (vectors), qr, eig, pinv
