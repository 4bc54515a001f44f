"""Every dependency rule against dense engine derivatives at random points (first and second order).

For each operation: the global pattern contains the dense Jacobian's non-zeros (equal where the
structure is exact), and the Hessian pattern of a scalarisation ``sum(w * f(x))`` contains the dense
Hessian's non-zeros -- which checks the second-order traits (a nonlinear operation classified as
linear would miss pairs here).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sps
from sparse_helpers import assert_superset, dense_hessian_pattern, dense_jacobian_pattern, engine_prims

import anydiff as ad

POS = ("log", "log2", "log10", "log1p", "sqrt", "arccosh", "gammaln", "psi", "reciprocal")  # need x > 1
UNIT = ("arcsin", "arccos", "arctanh", "logit")  # need |x| < 1 (logit: 0 < x < 1)

UNARY = [
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "sqrt",
    "cbrt",
    "square",
    "reciprocal",
    "deg2rad",
    "rad2deg",
    "negative",
    "positive",
    "absolute",
    "fabs",
    "conjugate",
    "real",
]
SCIPY_UNARY = ["expit", "logit", "erf", "erfc", "ndtr", "gammaln", "psi"]
BINARY = [
    "add", "subtract", "multiply", "true_divide", "power", "float_power", "maximum", "minimum", "fmax",
    "fmin", "arctan2", "hypot", "logaddexp", "remainder",
]  # fmt: skip


def _point(name, rng, n):
    if name in POS:
        return rng.uniform(1.5, 3.0, size=n)
    if name in UNIT:
        return rng.uniform(0.1, 0.9, size=n)
    return rng.uniform(0.5, 2.0, size=n) * rng.choice([-1, 1], size=n)


def _check(f, x, exact=True, hessian=True):
    P = ad.jacobian_sparsity(f, x)
    D = dense_jacobian_pattern(f, x)
    assert_superset(P, D)
    assert_superset(ad.jacobian_sparsity(f, x, ad.TracerSparsityDetector(local=True)), D)
    if exact:
        np.testing.assert_array_equal(P.toarray(), D)
    if not hessian:
        return
    w = np.linspace(1.0, 2.0, P.shape[0])
    g = lambda x: np.sum(w * np.real(f(x)).ravel())  # noqa: E731
    assert_superset(ad.hessian_sparsity(g, x), dense_hessian_pattern(g, x))


@pytest.mark.parametrize("name", UNARY)
def test_unary(name, rng):
    fn = getattr(np, name)
    x = _point(name, rng, 4)
    _check(lambda x: fn(x[::-1] * x[0] + x) if name not in POS + UNIT else fn(x[::-1]), x)


@pytest.mark.parametrize("name", SCIPY_UNARY)
def test_scipy_unary(name, rng):
    fn = getattr(sps, name)
    x = _point(name, rng, 4)
    _check(lambda x: fn(x[::-1]), x, hessian=name != "psi")  # the engine has no third derivative of gammaln


@pytest.mark.parametrize("name", BINARY)
def test_binary(name, rng):
    fn = getattr(np, name)
    x = rng.uniform(1.1, 2.0, size=6)
    # broadcasting (3, 1) against (1, 3), and a scalar constant operand
    exact = name not in ("remainder", "maximum", "minimum", "fmax", "fmin")  # both branches count
    _check(lambda x: fn(x[:3, None], x[None, 3:]), x, exact)
    _check(lambda x: fn(x, 1.7) + 3 * fn(2.3, x), x, exact)  # 3: no cancellation (subtract)


def test_xlogy(rng):
    x = rng.uniform(1.1, 2.0, size=4)
    _check(lambda x: sps.xlogy(x[:2], x[2:]), x)


REDUCTIONS = {
    "sum": lambda x: np.sum(x.reshape(2, 3, 2) ** 2, axis=(0, 2)),
    "sum_keepdims": lambda x: np.sum(np.exp(x.reshape(3, 4)), axis=1, keepdims=True),
    "mean_var_std": lambda x: np.concatenate(
        [np.mean(x.reshape(3, 4), 0), np.stack([np.var(x), np.std(x[:5])])]
    ),
    "max": lambda x: np.max(x.reshape(3, 4), axis=0),
    "min": lambda x: np.min(x.reshape(3, 4), axis=1) * x[:3],
    "prod": lambda x: np.prod(x.reshape(4, 3), axis=0),
    "logsumexp": lambda x: ad.engine.special.logsumexp(x.reshape(3, 4), axis=1),
    "cumsum": lambda x: np.cumsum(x.reshape(3, 4) ** 3, axis=0).ravel(),
    "cumprod": lambda x: np.cumprod(x[:6]),
    "norm": lambda x: np.linalg.norm(x.reshape(3, 4), axis=1),
    "norm3": lambda x: np.linalg.norm(x[:5], ord=3) * x[5:],
}
INEXACT = {"max", "min", "mean_var_std"}  # max/min: the global pattern holds both candidates


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name, rng):
    _check(REDUCTIONS[name], rng.uniform(0.5, 2.0, size=12), exact=name not in INEXACT)


LINALG = {
    "matmul_const_left": lambda x: np.arange(1.0, 7.0).reshape(2, 3) @ x[:3],
    "matmul_const_right": lambda x: (x.reshape(2, 3) @ np.array([[1.0, 0], [0, 0], [2, 3]])).ravel(),
    "matmul_batched": lambda x: np.matmul(x[:4].reshape(2, 1, 2), x[2:6].reshape(2, 2, 1)).ravel(),
    "dot_vec": lambda x: np.concatenate([np.dot(x[:3], x[3:]).reshape(1), np.outer(x[:2], x[4:]).ravel()]),
    "einsum_trace": lambda x: np.einsum("ii->", x[:4].reshape(2, 2)) * x[4:],
    "einsum_ellipsis": lambda x: np.einsum("...i,...i->...", x.reshape(3, 2), x.reshape(3, 2) ** 2),
    "tensordot": lambda x: np.tensordot(x.reshape(3, 2), np.eye(3), axes=([0], [0])).ravel(),
    "solve_matrix_rhs": lambda x: np.linalg.solve(x[:4].reshape(2, 2) + 3 * np.eye(2), x[2:6].reshape(2, 2)),
    "inv": lambda x: np.linalg.inv(x[:4].reshape(2, 2) + 3 * np.eye(2)).ravel(),
    "det_slogdet": lambda x: np.stack(
        [np.linalg.det(x[:4].reshape(2, 2)), np.linalg.slogdet(x[2:6].reshape(2, 2))[1]]
    ),
    "eigh": lambda x: np.linalg.eigh(np.outer(x[:3], x[:3]) + np.diag(x[3:]))[0],
    "cholesky": lambda x: np.linalg.cholesky(np.outer(x[:3], x[:3]) + 5 * np.eye(3)).ravel(),
}  # fmt: skip
LINALG_INEXACT = {"cholesky", "eigh", "solve_matrix_rhs", "det_slogdet"}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linear_algebra(name, rng):
    _check(LINALG[name], rng.uniform(0.5, 2.0, size=6), exact=name not in LINALG_INEXACT)


SHAPES = {
    "transpose_swap": lambda x: np.swapaxes(x.reshape(2, 3, 2), 0, 2).ravel() * np.arange(12.0),
    "flip_roll": lambda x: np.flip(x) + np.roll(x, 3),
    "broadcast_to": lambda x: np.broadcast_to(x[:4], (3, 4)).ravel() * x[-1],
    "setitem_slice": lambda x: _setitem(x),
    "diag_tril": lambda x: np.tril(x[:9].reshape(3, 3)).ravel() + np.diag(x[9:]).ravel()[:9],
    "take_sort": lambda x: np.take(x, [3, 0, 0]) * np.sort(x[:3]),
    "astype_copy": lambda x: np.copy(x.astype(np.float32)) * x,
    "where_const": lambda x: np.where(np.arange(12) % 2 == 0, x, x[::-1] ** 2),
    "concat_hstack": lambda x: np.hstack([x[:2], np.vstack([x[2:4], x[4:6]]).ravel(), x[6:]]),
}


def _setitem(x):
    y = np.zeros_like(x)
    y[2:5] = x[:3] ** 2
    y[::4] += x[1]
    y[np.array([1, 1])] = x[5]
    return y


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_data_movement(name, rng):
    _check(SHAPES[name], rng.uniform(0.5, 2.0, size=12), exact=name not in ("take_sort",))


def test_complex_and_float32(rng):
    z = rng.normal(size=3) + 1j * rng.normal(size=3)
    P = ad.jacobian_sparsity(lambda z: z[1:] * np.conj(z[:-1]), z)
    np.testing.assert_array_equal(P.toarray(), [[1, 1, 0], [0, 1, 1]])
    P = ad.jacobian_sparsity(lambda x: x[1:] * x[:-1], np.ones(3, dtype=np.float32))
    assert P.nnz == 4
    P = ad.jacobian_sparsity(lambda x: x**2, np.float64(2.0))
    assert P.shape == (1, 1) and P.nnz == 1


def _engine_has(name: str) -> bool:
    return name in engine_prims()


NEWER = {  # operations of newer engine versions: checked once the engine has their primitive
    "fft.fftn": lambda x: np.real(np.fft.fft(x.reshape(2, 3), axis=1)).ravel(),
    "fft.rfft": lambda x: np.abs(np.fft.rfft(x.reshape(2, 3), axis=0)).ravel(),
    "linalg.svdvals": lambda x: np.linalg.svd(x.reshape(2, 3), compute_uv=False),
    "erfinv": lambda x: sps.erfinv(x / 10),
    "xlog1py": lambda x: sps.xlog1py(x[:3], x[3:]),
    "logaddexp2": lambda x: np.logaddexp2(x[:3], x[3:]),
    "stacked_inv": lambda x: np.linalg.inv(np.stack([x[:4], x[2:]]).reshape(2, 2, 2) + 3 * np.eye(2)).ravel(),
}


@pytest.mark.parametrize("name", sorted(NEWER))
def test_newer_engine_operations(name, rng):
    if name == "stacked_inv":
        try:
            ad.engine.jacobian(NEWER[name], np.ones(6))
        except ad.engine.EngineError:
            pytest.skip("this engine has no stacked np.linalg.inv")
    elif not _engine_has(name):
        pytest.skip(f"this engine has no primitive {name}")
    no_hessian = ("stacked_inv", "linalg.svdvals")  # the engine has no dense second derivative of these
    _check(NEWER[name], rng.uniform(0.5, 1.5, size=6), exact=False, hessian=name not in no_hessian)
