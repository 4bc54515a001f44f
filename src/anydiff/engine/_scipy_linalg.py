"""``scipy.linalg`` solvers and matrix functions, and convolutions, for traced arguments.

New primitives: ``solve_triangular``, ``expm`` (Fréchet derivative by the block-matrix
identity ``expm([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]]``, shared with ``logm`` in
:mod:`._scipy_matfuncs`), ``solve_sylvester``, ``lu``
(the packed LAPACK factor).  Composites: ``solve``, ``cho_factor``/``cho_solve``,
``lu_factor``/``lu_solve``, ``sqrtm`` (a Sylvester equation), ``solve_banded``, ``inv``, ``det``,
``cholesky``, ``solve_continuous_lyapunov``; ``scipy.signal.convolve``/``correlate`` (and
``convolve2d``/``correlate2d`` with zero fill) and ``np.convolve``/``np.correlate`` as sums of
shifted copies.  Rules call these same functions, so they nest.  2-D matrices only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._scipy_matfuncs import _each, frechet_adjoint, frechet_block
from ._tracer import Prim, bind


def _sl() -> Any:
    import scipy.linalg as sl

    return sl


def _mat(a: Any, name: str) -> None:
    if R.ndim_of(a) != 2:
        raise no_rule(f"scipy.linalg.{name} of stacked (>2-D) or 1-D arrays")


def _H(a: Any) -> Any:
    return np.conjugate(np.swapaxes(a, -1, -2))


# ---------------------------------------------------------------------------- triangular solve


def _tri_mask(a: Any, lower: bool, unit: bool) -> Any:
    n = R.shape_of(a)[-1]
    m = (
        np.tril(np.ones((n, n), dtype=bool), -1 if unit else 0)
        if lower
        else np.triu(np.ones((n, n), dtype=bool), 1 if unit else 0)
    )
    return m


def _st_impl(a: Any, b: Any, lower: bool, unit: bool) -> Any:
    return _sl().solve_triangular(a, b, lower=lower, unit_diagonal=unit)


def _bsolve(t: Any, rhs: Any, **kw: Any) -> Any:
    """``solve_triangular(t, r)`` for every ``r`` in a batch ``rhs`` of shape ``(B, n, k)``."""
    B, n, k = R.shape_of(rhs)
    flat = np.reshape(np.moveaxis(rhs, 0, 1), (n, B * k))
    return np.moveaxis(np.reshape(solve_triangular(t, flat, **kw), (n, B, k)), 1, 0)


def _st_jvp(ts: list, xs: list, x: Any, p: dict) -> Any:
    a, b = xs
    lower, unit = p["lower"], p["unit"]
    vec = R.ndim_of(b) == 1
    xm = x[:, None] if vec else x
    rhs: Any = None
    if ts[1] is not None:
        rhs = ts[1][..., None] if vec else ts[1]
    if ts[0] is not None:
        da = -(np.where(_tri_mask(a, lower, unit), ts[0], 0) @ xm)
        rhs = da if rhs is None else rhs + da
    sol = _bsolve(a, rhs, lower=lower, unit_diagonal=unit)
    return sol[..., 0] if vec else sol


def _st_vjp(g: Any, xs: list, x: Any, need: tuple, p: dict) -> tuple:
    a, b = xs
    lower, unit = p["lower"], p["unit"]
    gb = solve_triangular(a, g, trans="C", lower=lower, unit_diagonal=unit)
    ga = None
    if need[0]:
        vec = R.ndim_of(b) == 1
        gbm = gb[:, None] if vec else gb
        xm = x[:, None] if vec else x
        ga = np.where(_tri_mask(a, lower, unit), -(gbm @ _H(xm)), 0)
    return ga, gb if need[1] else None


SOLVE_TRIANGULAR = Prim("scipy.linalg.solve_triangular", _st_impl, _st_jvp, _st_vjp)


def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(A) x = b`` using only the ``lower``/upper triangle of ``a`` (``b``: (n,) or (n, k))."""
    _mat(a, "solve_triangular")
    if trans in (1, "T"):
        return solve_triangular(np.swapaxes(a, -1, -2), b, 0, not lower, unit_diagonal)
    if trans in (2, "C"):
        return solve_triangular(_H(a), b, 0, not lower, unit_diagonal)
    return bind(SOLVE_TRIANGULAR, [a, b], {"lower": bool(lower), "unit": bool(unit_diagonal)})


# ---------------------------------------------------------------------------- composites


def solve(
    a: Any,
    b: Any,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    assume_a: Any = None,
    transposed: bool = False,
) -> Any:
    """``scipy.linalg.solve``: ``a x = b`` (``a`` used whole; ``assume_a`` only picks LAPACK's
    routine in SciPy, the solution is the same for the matrices it admits)."""
    _mat(a, "solve")
    if assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite"):
        a = np.where(
            np.tril(np.ones(R.shape_of(a), dtype=bool))
            if lower
            else np.triu(np.ones(R.shape_of(a), dtype=bool)),
            a,
            0,
        )
        a = a + np.where(
            np.eye(R.shape_of(a)[0], dtype=bool),
            0,
            _H(a) if assume_a in ("her", "pos", "hermitian", "positive definite") else np.swapaxes(a, -1, -2),
        )
    elif assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, b, lower=assume_a.startswith("lower"))
    if transposed:
        a = np.swapaxes(a, -1, -2)
    return np.linalg.solve(a, b)


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """``scipy.linalg.cholesky`` (upper factor by default)."""
    _mat(a, "cholesky")
    return np.linalg.cholesky(a, upper=not lower)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    """``(c, lower)``; ``c`` holds the factor in its ``lower``/upper triangle and zeros elsewhere
    (SciPy leaves unspecified data there; only the triangle is ever used)."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple, b: Any, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """Solve ``A x = b`` given ``cho_factor(A)``."""
    c, lower = c_and_lower
    if lower:
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans="C", lower=True)
    return solve_triangular(c, solve_triangular(c, b, trans="C", lower=False), lower=False)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    return np.linalg.inv(a)


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    return np.linalg.det(a)


# ---------------------------------------------------------------------------- LU


def _lu_impl(a: Any, perm: np.ndarray) -> Any:
    return _sl().lu_factor(a)[0]


def _lu_parts(lu: Any) -> tuple[Any, Any]:
    n = R.shape_of(lu)[-1]
    L = np.tril(lu, -1) + np.eye(n, dtype=R.dtype_of(lu))
    U = np.triu(lu)
    return L, U


def _perm(piv: np.ndarray) -> np.ndarray:
    """Row order ``p`` with ``A[p] = L U`` from LAPACK's sequential row swaps."""
    p = np.arange(len(piv))
    for i, j in enumerate(piv.tolist()):
        p[i], p[j] = p[j], p[i]
    return p


def _lu_jvp(ts: list, xs: list, lu: Any, p: dict) -> Any:
    # A[perm] = L U  =>  F = L⁻¹ dA[perm] U⁻¹ = L⁻¹ dL + dU U⁻¹ (strictly lower + upper parts)
    L, U = _lu_parts(lu)
    n = R.shape_of(lu)[-1]
    X = _bsolve(L, ts[0][:, p["perm"], :], lower=True, unit_diagonal=True)
    F = np.swapaxes(_bsolve(U, np.swapaxes(X, -1, -2), trans="T", lower=False), -1, -2)
    low = np.tril(np.ones((n, n), dtype=bool), -1)
    return np.where(low, L @ np.where(low, F, 0), np.where(low, 0, F) @ U)


def _lu_vjp(g: Any, xs: list, lu: Any, need: tuple, p: dict) -> tuple:
    perm = p["perm"]
    L, U = _lu_parts(lu)
    n = R.shape_of(lu)[-1]
    low = np.tril(np.ones((n, n), dtype=bool), -1)
    gL, gU = np.where(low, g, 0), np.where(low, 0, g)
    # adjoint of F -> (L mask_low(F), mask_up(F) U): G_F = mask_low(Lᴴ gL) + mask_up(gU Uᴴ)
    GF = np.where(low, _H(L) @ gL, 0) + np.where(low, 0, gU @ _H(U))
    # F = L⁻¹ dA' U⁻¹  =>  G_dA' = L⁻ᴴ G_F U⁻ᴴ
    t = solve_triangular(L, GF, trans="C", lower=True, unit_diagonal=True)
    t = _H(solve_triangular(U, _H(t), lower=False))
    inv_perm = np.argsort(perm)
    return (t[inv_perm, :],)


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    """``(lu, piv)`` as SciPy returns them; ``lu`` is traced, ``piv`` is the plain pivot vector."""
    from ._numpy_api import _concrete

    _mat(a, "lu_factor")
    # the pivot order depends on the values: a tape that saw it re-traces (never stale pivots)
    piv = _sl().lu_factor(_concrete(a, "scipy.linalg.lu_factor (pivoting depends on the values)"))[1]
    lu = bind(LU, [a], {"perm": _perm(piv)})
    return lu, piv


LU = Prim("scipy.linalg.lu_factor", _lu_impl, _lu_jvp, _lu_vjp)


def lu_solve(
    lu_and_piv: tuple, b: Any, trans: int = 0, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``A x = b`` (``trans`` 0), ``Aᵀ x = b`` (1) or ``Aᴴ x = b`` (2) from ``lu_factor(A)``."""
    lu, piv = lu_and_piv
    perm = _perm(np.asarray(piv))
    if trans == 0:
        y = solve_triangular(lu, b[perm], lower=True, unit_diagonal=True)
        return solve_triangular(lu, y, lower=False)
    t = "T" if trans == 1 else "C"
    y = solve_triangular(lu, b, trans=t, lower=False)
    z = solve_triangular(lu, y, trans=t, lower=True, unit_diagonal=True)
    return z[np.argsort(perm)]


# ---------------------------------------------------------------------------- matrix functions


def _expm_impl(a: Any) -> Any:
    return _each(_sl().expm, a)  # scipy's expm handles stacks; one code path for every version


def _expm_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return frechet_block(expm, xs[0], ts[0])


def _expm_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    return (frechet_adjoint(expm, xs[0], g),)


EXPM = Prim("scipy.linalg.expm", _expm_impl, _expm_jvp, _expm_vjp)


def expm(A: Any) -> Any:
    """Matrix exponential of ``A`` (``(..., n, n)``)."""
    return bind(EXPM, [A], {})


def _syl_impl(a: Any, b: Any, q: Any) -> Any:
    if R.ndim_of(q) == 3:  # a batch of right-hand sides (forward-mode tangents)
        return np.stack([_sl().solve_sylvester(a, b, qi) for qi in q])
    return _sl().solve_sylvester(a, b, q)


def _syl_jvp(ts: list, xs: list, x: Any, p: dict) -> Any:
    a, b, _ = xs
    rhs: Any = 0
    if ts[2] is not None:
        rhs = ts[2]
    if ts[0] is not None:
        rhs = rhs - ts[0] @ x
    if ts[1] is not None:
        rhs = rhs - x @ ts[1]
    return bind(SYLVESTER, [a, b, rhs], {})


def _syl_vjp(g: Any, xs: list, x: Any, need: tuple, p: dict) -> tuple:
    a, b, _ = xs
    y = bind(SYLVESTER, [_H(a), _H(b), g], {})
    return (-(y @ _H(x)) if need[0] else None, -(_H(x) @ y) if need[1] else None, y if need[2] else None)


SYLVESTER = Prim("scipy.linalg.solve_sylvester", _syl_impl, _syl_jvp, _syl_vjp)


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """``X`` with ``A X + X B = Q``."""
    _mat(a, "solve_sylvester")
    return bind(SYLVESTER, [a, b, q], {})


def sqrtm(A: Any, disp: bool = True, blocksize: int = 64) -> Any:
    """Principal square root ``X`` (``X @ X = A``); derivative from ``X dX + dX X = dA``."""
    _mat(A, "sqrtm")
    return bind(SQRTM, [A], {})


def _sqrtm_jvp(ts: list, xs: list, X: Any, p: dict) -> Any:
    return bind(SYLVESTER, [X, X, ts[0]], {})


def _sqrtm_vjp(g: Any, xs: list, X: Any, need: tuple, p: dict) -> tuple:
    return (bind(SYLVESTER, [_H(X), _H(X), g], {}),)


SQRTM = Prim("scipy.linalg.sqrtm", lambda a: _sl().sqrtm(a), _sqrtm_jvp, _sqrtm_vjp)


def solve_banded(
    l_and_u: tuple,
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve with a banded matrix in LAPACK's ``ab`` storage (``ab[u + i - j, j] = A[i, j]``)."""
    lo, up = (int(v) for v in l_and_u)
    n = R.shape_of(ab)[-1]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    band = (j - i <= up) & (i - j <= lo)
    rows = np.where(band, up + i - j, 0)
    A = np.where(band, ab[rows, j], 0)
    return np.linalg.solve(A, b)


# ---------------------------------------------------------------------------- convolution


def _conv_full(a: Any, v: Any) -> Any:
    """Full N-D convolution as a sum of shifted copies of ``a`` weighted by ``v``'s entries."""
    from ._intercept import buffer

    sa, sv = R.shape_of(a), R.shape_of(v)
    if len(sa) != len(sv):
        raise no_rule("convolution of arrays with different numbers of dimensions")
    out_shape = tuple(p + q - 1 for p, q in zip(sa, sv))
    out: Any = 0
    for k in np.ndindex(*sv):
        shifted = buffer(np.zeros(out_shape, dtype=R.dtype_of(a)))
        shifted[tuple(slice(ki, ki + s) for ki, s in zip(k, sa))] = a
        out = out + shifted * v[k]
    return out


def solve_continuous_lyapunov(a: Any, q: Any) -> Any:
    """``scipy.linalg.solve_continuous_lyapunov``: ``a x + x aᴴ = q``, a Sylvester equation."""
    ah = np.swapaxes(a, -1, -2)
    return solve_sylvester(a, np.conjugate(ah) if R.is_complex(a) else ah, q)


def signal_convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.convolve`` (also ``fftconvolve``/``oaconvolve``): ``mode`` full/same/valid."""
    s1, s2 = R.shape_of(in1), R.shape_of(in2)
    big, small = (in1, in2) if np.prod(s1) >= np.prod(s2) else (in2, in1)
    full = _conv_full(big, small)
    fs = R.shape_of(full)
    if mode == "full":
        return full
    if mode == "same":
        start = [(f - s) // 2 for f, s in zip(fs, s1)]
        return full[tuple(slice(st, st + s) for st, s in zip(start, s1))]
    if mode == "valid":
        if not (all(p >= q for p, q in zip(s1, s2)) or all(q >= p for p, q in zip(s1, s2))):
            raise ValueError(
                "For 'valid' mode, one must be at least as large as the other in every dimension"
            )
        shp = [abs(p - q) + 1 for p, q in zip(s1, s2)]
        start = [(f - s) // 2 for f, s in zip(fs, shp)]
        return full[tuple(slice(st, st + s) for st, s in zip(start, shp))]
    raise ValueError(f"acceptable mode flags are 'valid', 'same', or 'full', got {mode!r}")


def signal_correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.correlate``: convolution with the flipped conjugate of ``in2``."""
    flipped = np.conjugate(np.flip(in2)) if R.dtype_of(in2).kind == "c" else np.flip(in2)
    return signal_convolve(in1, flipped, mode)


def _zero_fill(name: str, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or np.any(np.asarray(fillvalue) != 0):
        raise no_rule(f"scipy.signal.{name} with boundary={boundary!r} or a nonzero fillvalue")


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.convolve2d`` with zero fill: the 2-D ``scipy.signal.convolve``."""
    _zero_fill("convolve2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("convolve2d inputs must both be 2-D arrays")
    return signal_convolve(in1, in2, mode)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.correlate2d`` with zero fill: the 2-D ``scipy.signal.correlate``."""
    _zero_fill("correlate2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("correlate2d inputs must both be 2-D arrays")
    return signal_correlate(in1, in2, mode)


def np_convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``np.convolve`` of 1-D arrays (``same``: length ``max(M, N)``, as NumPy)."""
    a, v = np.ravel(a), np.ravel(v)
    m, n = R.shape_of(a)[0], R.shape_of(v)[0]
    full = _conv_full(a, v) if m >= n else _conv_full(v, a)
    if mode == "full":
        return full
    if mode == "same":
        off = (min(m, n) - 1) // 2
        return full[off : off + max(m, n)]
    if mode == "valid":
        k = min(m, n) - 1
        return full[k : max(m, n)]
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")


def np_correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """``np.correlate``: ``c[k] = Σ_n a[n + k] conj(v[n])`` (NumPy's offsets for ``same``)."""
    a, v = np.ravel(a), np.ravel(v)
    m, n = R.shape_of(a)[0], R.shape_of(v)[0]
    vr = np.flip(v)
    if R.dtype_of(v).kind == "c":
        vr = np.conjugate(vr)
    if mode != "same":
        return np_convolve(a, vr, mode)
    full = np_convolve(a, vr, "full")
    off = (n - 1) // 2 if m >= n else m // 2
    return full[off : off + max(m, n)]


#: scipy.linalg / scipy.signal functions routed here when an argument is traced
LINALG: dict[str, Callable] = {
    "solve": solve,
    "solve_triangular": solve_triangular,
    "cho_factor": cho_factor,
    "cho_solve": cho_solve,
    "lu_factor": lu_factor,
    "lu_solve": lu_solve,
    "expm": expm,
    "sqrtm": sqrtm,
    "solve_sylvester": solve_sylvester,
    "solve_continuous_lyapunov": solve_continuous_lyapunov,
    "solve_banded": solve_banded,
    "inv": inv,
    "det": det,
    "cholesky": cholesky,
}
SIGNAL: dict[str, Callable] = {
    "convolve": signal_convolve,
    "fftconvolve": signal_convolve,
    "oaconvolve": signal_convolve,
    "correlate": signal_correlate,
    "convolve2d": convolve2d,
    "correlate2d": correlate2d,
}

from ._scipy_linalg2 import TABLE as _MORE  # noqa: E402 - eig, eigh, svd, polar, qr, pinv, norm, ...
from ._scipy_linalg2 import lfilter as _lfilter  # noqa: E402
from ._scipy_matfuncs import TABLE as _MATFUNCS  # noqa: E402 - logm, expm_frechet, cosm, ...

LINALG.update(_MORE)
LINALG.update(_MATFUNCS)
SIGNAL["lfilter"] = _lfilter
