"""More ``scipy.linalg`` for traced arguments: decompositions, norms and structured matrices.

``eig``/``eigvals`` of standard problems are NumPy's (whose rules apply); ``polar`` is built
from the SVD.

Routed here by :mod:`._intercept` (the ``LINALG`` table of :mod:`._scipy_linalg`).  The
decompositions call SciPy's own LAPACK drivers in their primitives, so values (and vector
signs) are exactly SciPy's; their derivatives are the rules of :mod:`._rules_decomp` and
``eigh``.  ``block_diag``, ``toeplitz``, ``circulant``, ``hankel`` are gathers and
concatenations.  Options without a rule raise ``EngineError`` naming them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._tracer import bind


def eigh(a: Any, b: Any = None, *, lower: bool = True, eigvals_only: bool = False, **kw: Any) -> Any:
    """``scipy.linalg.eigh`` of one real symmetric matrix (the standard problem, all values)."""
    if b is not None or kw.get("subset_by_index") is not None or kw.get("subset_by_value") is not None:
        raise no_rule("scipy.linalg.eigh with b= or subsets")
    if kw.get("type", 1) != 1 or kw.get("driver") not in (None, "ev", "evd", "evr", "evx"):
        raise no_rule("scipy.linalg.eigh with type= or a generalized driver")
    if eigvals_only:
        return np.linalg.eigvalsh(a, UPLO="L" if lower else "U")
    if R.ndim_of(a) != 2:
        raise no_rule("scipy.linalg.eigh of stacked matrices")
    if R.is_complex(a):
        raise no_rule("scipy.linalg.eigh vectors of a complex matrix (np.linalg.eigh has the rule)")
    # SciPy's default driver ("evr") picks eigenvector signs that jump under tiny changes of
    # the input (measured: ~1 in 5 perturbations of 1e-6); the derivative is that of the
    # continuous branch through the current vectors, exact for sign-invariant functions
    packed = bind(R.EIGH, [a], {"uplo": "L" if lower else "U", "scipy": kw.get("driver") or True})
    return packed[:, 0], packed[:, 1:]


def eigvalsh(a: Any, b: Any = None, *, lower: bool = True, **kw: Any) -> Any:
    return eigh(a, b, lower=lower, eigvals_only=True, **kw)


def svd(
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    overwrite_a: bool = False,
    check_finite: bool = True,
    lapack_driver: str = "gesdd",
) -> Any:
    from . import _rules_decomp as D
    from ._rules_linalg2 import svdvals

    if not compute_uv:
        return svdvals(a)
    return tuple(D.svd(a, full_matrices, driver=lapack_driver))


def svdvals(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    from ._rules_linalg2 import svdvals as sv

    return sv(a)


def qr(
    a: Any,
    overwrite_a: bool = False,
    lwork: Any = None,
    mode: str = "full",
    pivoting: bool = False,
    check_finite: bool = True,
) -> Any:
    """``scipy.linalg.qr`` without pivoting: modes ``economic``, ``r``, and ``full`` of a square
    matrix (a tall one's complete ``Q`` is not unique)."""
    from . import _rules_decomp as D

    if pivoting or mode not in ("full", "economic", "r"):
        raise no_rule(f"scipy.linalg.qr with pivoting=True or mode={mode!r}")
    m, n = R.shape_of(a)
    if mode == "full" and m != n:
        raise no_rule("scipy.linalg.qr(mode='full') of a non-square matrix (use mode='economic')")
    Q, Rm = D.qr(a, "reduced", scipy=True)
    if mode == "r":
        if m > n:  # SciPy's R is (m, n), zero below row n
            Rm = np.concatenate([Rm, np.zeros((m - n, n), dtype=R.dtype_of(Rm))], axis=0)
        return (Rm,)
    return Q, Rm


def pinv(
    a: Any, *, atol: Any = None, rtol: Any = None, return_rank: bool = False, check_finite: bool = True
) -> Any:
    if atol not in (None, 0, 0.0):
        raise no_rule("scipy.linalg.pinv with atol=")
    X = np.linalg.pinv(a) if rtol is None else np.linalg.pinv(a, rcond=rtol)
    if return_rank:
        from ._tracer import primal

        return X, int(np.linalg.matrix_rank(np.asarray(primal(a)), tol=None))
    return X


def lstsq(
    a: Any,
    b: Any,
    cond: Any = None,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    lapack_driver: Any = None,
) -> Any:
    return np.linalg.lstsq(a, b, rcond=cond)


def norm(a: Any, ord: Any = None, axis: Any = None, keepdims: bool = False, check_finite: bool = True) -> Any:
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def block_diag(*arrs: Any) -> Any:
    """Block-diagonal matrix of the arguments (0-d and 1-D ones as rows, as SciPy)."""
    blocks = [np.atleast_2d(a) for a in arrs]
    if not blocks:
        return np.zeros((1, 0))
    dt = np.result_type(*[R.dtype_of(b) for b in blocks])
    widths = [R.shape_of(b)[1] for b in blocks]
    rows = []
    for i, b in enumerate(blocks):
        h = R.shape_of(b)[0]
        parts = [b if j == i else np.zeros((h, w), dtype=dt) for j, w in enumerate(widths)]
        rows.append(np.concatenate(parts, axis=1))
    return np.concatenate(rows, axis=0)


def _gather(vals: Any, idx: np.ndarray) -> Any:
    return np.reshape(np.take(vals, idx.ravel()), idx.shape)


def toeplitz(c: Any, r: Any = None) -> Any:
    c = np.ravel(c)
    r = np.conjugate(c) if r is None else np.ravel(r)
    m, n = R.shape_of(c)[0], R.shape_of(r)[0]
    vals = np.concatenate([c[::-1], r[1:]])  # T[i, j] = vals[m - 1 - i + j]
    return _gather(vals, m - 1 - np.arange(m)[:, None] + np.arange(n)[None, :])


def circulant(c: Any) -> Any:
    c = np.ravel(c)
    n = R.shape_of(c)[0]
    return _gather(c, (np.arange(n)[:, None] - np.arange(n)[None, :]) % n)


def hankel(c: Any, r: Any = None) -> Any:
    c = np.ravel(c)
    m = R.shape_of(c)[0]
    r = np.zeros_like(c) if r is None else np.ravel(r)
    n = R.shape_of(r)[0]
    vals = np.concatenate([c, r[1:]])  # H[i, j] = vals[i + j]
    return _gather(vals, np.arange(m)[:, None] + np.arange(n)[None, :])


def _plain_problem(name: str, b: Any, extra: bool) -> None:
    if b is not None or extra:
        raise no_rule(f"scipy.linalg.{name} with b= (a generalized problem), left= or homogeneous_eigvals=")


def eigvals(
    a: Any,
    b: Any = None,
    overwrite_a: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
) -> Any:
    """``scipy.linalg.eigvals`` of a standard problem: ``np.linalg.eigvals``."""
    _plain_problem("eigvals", b, homogeneous_eigvals)
    return np.linalg.eigvals(a)


def eig(a: Any, b: Any = None, left: bool = False, right: bool = True, **kw: Any) -> Any:
    """``scipy.linalg.eig`` of a standard problem (right vectors): ``np.linalg.eig``."""
    _plain_problem("eig", b, left or kw.get("homogeneous_eigvals", False))
    w, v = np.linalg.eig(a)
    return (w, v) if right else w


def polar(a: Any, side: str = "right") -> tuple:
    """``a = u p`` (``side='right'``) or ``p u`` (``'left'``) from the SVD ``a = W S Vᴴ``:
    ``u = W Vᴴ``, ``p = V S Vᴴ`` (or ``W S Wᴴ``)."""
    if side not in ("right", "left"):
        raise ValueError("`side` must be either 'right' or 'left'")
    w, s, vh = np.linalg.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        p = np.conjugate(vh.T) @ (s[:, None] * vh)
    else:
        p = w @ (s[:, None] * np.conjugate(w.T))
    return u, p


TABLE = {
    "eig": eig,
    "eigvals": eigvals,
    "polar": polar,
    "eigh": eigh,
    "eigvalsh": eigvalsh,
    "svd": svd,
    "svdvals": svdvals,
    "qr": qr,
    "pinv": pinv,
    "lstsq": lstsq,
    "norm": norm,
    "block_diag": block_diag,
    "toeplitz": toeplitz,
    "circulant": circulant,
    "hankel": hankel,
}


def lfilter(b: Any, a: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    """``scipy.signal.lfilter`` (direct form, zero initial state) of a 1-D signal:
    ``a[0] y[n] = Σ_k b[k] x[n-k] - Σ_{k>=1} a[k] y[n-k]``, a loop over ``n`` writing into a
    buffer (each write O(1)); differentiable in ``x``, ``b`` and ``a``."""
    from ._numpy_api import _build, _has_traced
    from ._tracer import Traced

    if zi is not None or R.ndim_of(x) != 1:
        raise no_rule("scipy.signal.lfilter with zi= or a signal of more than one dimension")

    def arr(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return _build(v) if _has_traced(v) else np.asarray(v, dtype=float)
        return np.atleast_1d(v)

    b, a = arr(b), arr(a)
    nb, na, n = R.shape_of(b)[0], R.shape_of(a)[0], R.shape_of(x)[0]
    b, a = b / a[0], a / a[0]
    ys: list[Any] = []
    for i in range(n):
        acc = 0.0
        for k in range(min(nb, i + 1)):
            acc = acc + b[k] * x[i - k]
        for k in range(1, min(na, i + 1)):
            acc = acc - a[k] * ys[i - k]
        ys.append(acc)
    return np.stack([y if isinstance(y, Traced) else np.asarray(y, dtype=float) for y in ys])


def lu(
    a: Any,
    permute_l: bool = False,
    overwrite_a: bool = False,
    check_finite: bool = True,
    p_indices: bool = False,
) -> Any:
    """``scipy.linalg.lu`` of a square matrix: ``P, L, U`` with ``A = P @ L @ U`` (``P`` is
    piecewise constant), from the ``lu_factor`` rule; ``permute_l``: ``(P @ L, U)``."""
    from ._scipy_linalg import _perm, lu_factor

    if R.ndim_of(a) != 2 or R.shape_of(a)[0] != R.shape_of(a)[1] or p_indices:
        raise no_rule("scipy.linalg.lu of a non-square matrix or with p_indices=True")
    n = R.shape_of(a)[0]
    packed, piv = lu_factor(a)
    L = np.tril(packed, -1) + np.eye(n)
    U = np.triu(packed)
    P = np.eye(n)[_perm(piv)].T  # A[perm] = L U, so A = P L U with P = I[perm]ᵀ
    if permute_l:
        return P @ L, U
    return P, L, U


TABLE["lu"] = lu
