"""Every supported operation against central differences and HIPS autograd, both modes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
from engine_helpers import as_anp, as_np, check_both_modes

rng = np.random.default_rng(1234)
X6 = rng.uniform(0.2, 0.9, 6)  # positive, < 1: valid for log, sqrt, arcsin, ...
XM = rng.standard_normal(6)

# name -> (f(m, x) with m = numpy or autograd.numpy, x)
OPS = {
    # elementwise unary
    "exp": (lambda m, x: m.exp(x), XM),
    "expm1": (lambda m, x: m.expm1(x), XM),
    "exp2": (lambda m, x: m.exp2(x), XM),
    "log": (lambda m, x: m.log(x), X6),
    "log1p": (lambda m, x: m.log1p(x), X6),
    "log2": (lambda m, x: m.log2(x), X6),
    "log10": (lambda m, x: m.log10(x), X6),
    "sin": (lambda m, x: m.sin(x), XM),
    "cos": (lambda m, x: m.cos(x), XM),
    "tan": (lambda m, x: m.tan(x), XM),
    "arcsin": (lambda m, x: m.arcsin(x), X6),
    "arccos": (lambda m, x: m.arccos(x), X6),
    "arctan": (lambda m, x: m.arctan(x), XM),
    "sinh": (lambda m, x: m.sinh(x), XM),
    "cosh": (lambda m, x: m.cosh(x), XM),
    "tanh": (lambda m, x: m.tanh(x), XM),
    "arcsinh": (lambda m, x: m.arcsinh(x), XM),
    "arctanh": (lambda m, x: m.arctanh(x), X6),
    "sqrt": (lambda m, x: m.sqrt(x), X6),
    "cbrt": (lambda m, x: m.cbrt(x), X6, False),
    "square": (lambda m, x: m.square(x), XM),
    "reciprocal": (lambda m, x: m.reciprocal(x), X6),
    "negative": (lambda m, x: m.negative(x), XM),
    "neg_op": (lambda m, x: -x, XM),
    "abs": (lambda m, x: m.abs(x), XM),
    "abs_op": (lambda m, x: abs(x), XM),
    "sign": (lambda m, x: m.sign(x) * x, XM),
    # binary, broadcasting, scalars
    "add": (lambda m, x: m.add(x[:3], x[3:]), XM),
    "subtract": (lambda m, x: x[:3] - x[3:], XM),
    "multiply": (lambda m, x: x[:3] * x[3:], XM),
    "divide": (lambda m, x: m.divide(x[:3], x[3:]), X6),
    "true_divide": (lambda m, x: m.true_divide(2.0, x), X6),
    "power_both": (lambda m, x: m.power(x[:3], x[3:]), X6),
    "pow_op": (lambda m, x: x**3, XM),
    "pow_half": (lambda m, x: x**0.5, X6),
    "rpow": (lambda m, x: 2.0**x, XM),
    "maximum": (lambda m, x: m.maximum(x[:3], x[3:]), XM),
    "minimum": (lambda m, x: m.minimum(x[:3], x[3:]), XM),
    "relu": (lambda m, x: m.maximum(x, 0.0), XM),
    "arctan2": (lambda m, x: m.arctan2(x[:3], x[3:]), XM),
    "hypot": (lambda m, x: m.hypot(x[:3], x[3:]), XM),
    "logaddexp": (lambda m, x: m.logaddexp(x[:3], x[3:]), XM),
    "broadcast_add": (lambda m, x: m.reshape(x, (2, 3)) + x[:3], XM),
    "broadcast_mul": (lambda m, x: m.reshape(x, (2, 3)) * m.reshape(x[:2], (2, 1)), XM),
    "scalar_ops": (lambda m, x: (3.0 * x - 1.0) / 2.0 + 1.0, XM),
    # reductions
    "sum": (lambda m, x: m.sum(x), XM),
    "sum_axis": (lambda m, x: m.sum(m.reshape(x, (2, 3)), axis=0), XM),
    "sum_keepdims": (lambda m, x: m.sum(m.reshape(x, (2, 3)), axis=1, keepdims=True), XM),
    "sum_method": (lambda m, x: m.reshape(x, (2, 3)).sum(axis=-1), XM),
    "mean": (lambda m, x: m.mean(m.reshape(x, (2, 3)), axis=1), XM),
    "prod": (lambda m, x: m.prod(m.reshape(x, (3, 2)), axis=1), XM),
    "max": (lambda m, x: m.max(x), XM),
    "max_axis": (lambda m, x: m.max(m.reshape(x, (2, 3)), axis=1), XM),
    "amax": (lambda m, x: m.amax(m.reshape(x, (2, 3)), axis=0), XM),
    "min": (lambda m, x: m.min(x), XM),
    "amin": (lambda m, x: m.amin(m.reshape(x, (2, 3)), axis=1, keepdims=True), XM),
    "cumsum": (lambda m, x: m.cumsum(x), XM),
    "cumsum_axis": (lambda m, x: m.cumsum(m.reshape(x, (2, 3)), axis=1), XM),
    "var": (lambda m, x: m.var(m.reshape(x, (2, 3)), axis=1), XM),
    "std": (lambda m, x: m.std(x), XM),
    # shapes
    "reshape": (lambda m, x: m.reshape(x, (3, 2)) * m.arange(6.0).reshape(3, 2), XM),
    "transpose": (lambda m, x: m.transpose(m.reshape(x, (2, 3))) * m.arange(6.0).reshape(3, 2), XM),
    "T": (lambda m, x: m.reshape(x, (2, 3)).T @ m.ones(2), XM),
    "swapaxes": (lambda m, x: m.swapaxes(m.reshape(x, (1, 2, 3)), 0, 2), XM),
    "moveaxis": (lambda m, x: m.moveaxis(m.reshape(x, (1, 2, 3)), 0, -1), XM),
    "squeeze": (lambda m, x: m.squeeze(m.reshape(x, (1, 6, 1))), XM),
    "expand_dims": (lambda m, x: m.expand_dims(x, 0) * m.ones((2, 1)), XM),
    "broadcast_to": (
        lambda m, x: m.broadcast_to(x[:3], (2, 3)) * m.arange(6.0).reshape(2, 3),
        XM,
        False,
    ),
    "concatenate": (lambda m, x: m.concatenate([x[:2], x * 2.0, x[4:]]), XM),
    "stack": (lambda m, x: m.stack([x[:3], x[3:]], axis=1), XM),
    "hstack": (lambda m, x: m.hstack([x[:2], x[3:]]), XM),
    "vstack": (lambda m, x: m.vstack([x[:3], x[3:]]), XM),
    "flip": (lambda m, x: m.flip(x) * m.arange(6.0), XM, False),
    "ravel": (lambda m, x: m.ravel(m.reshape(x, (2, 3)).T), XM),
    # indexing
    "slice": (lambda m, x: x[1:5:2], XM),
    "neg_step": (lambda m, x: x[::-2] * x[:3], XM),
    "int_array": (lambda m, x: x[np.array([0, 2, 2, 5])], XM),
    "bool_mask": (lambda m, x: x[np.array([True, False, True, True, False, True])], XM),
    "newaxis": (lambda m, x: x[:, None] * x[None, :], XM),
    "ellipsis_2d": (lambda m, x: m.reshape(x, (2, 3))[..., 1:], XM),
    "mixed_2d": (lambda m, x: m.reshape(x, (2, 3))[np.array([1, 0]), 1:], XM),
    "scalar_index": (lambda m, x: x[2] * x[-1], XM),
    # products and matrices
    "matmul_mv": (lambda m, x: m.reshape(x, (2, 3)) @ x[:3], XM),
    "matmul_vm": (lambda m, x: x[:2] @ m.reshape(x, (2, 3)), XM),
    "matmul_mm": (lambda m, x: m.reshape(x, (2, 3)) @ m.reshape(x, (3, 2)), XM),
    "matmul_vv": (lambda m, x: m.matmul(x[:3], x[3:]), XM),
    "dot": (lambda m, x: m.dot(m.reshape(x, (3, 2)), x[:2]), XM),
    "dot_vv": (lambda m, x: m.dot(x, x), XM),
    "inner": (lambda m, x: m.inner(x[:3], x[3:]), XM),
    "outer": (lambda m, x: m.outer(x[:3], x[3:]), XM),
    "einsum": (lambda m, x: m.einsum("ij,jk->ik", m.reshape(x, (2, 3)), m.reshape(x, (3, 2))), XM),
    "einsum_implicit": (
        lambda m, x: m.einsum("ij,ij", m.reshape(x, (2, 3)), m.reshape(x, (2, 3))),
        XM,
    ),
    "einsum_sumonly": (lambda m, x: m.einsum("ij->j", m.reshape(x, (2, 3))), XM),
    "tensordot": (lambda m, x: m.tensordot(m.reshape(x, (2, 3)), m.reshape(x, (3, 2)), axes=1), XM),
    "trace": (lambda m, x: m.trace(m.reshape(x[:4], (2, 2))) * x, XM),
    "diag_vec": (lambda m, x: m.diag(x[:3]), XM),
    "diag_mat": (lambda m, x: m.diag(m.reshape(x[:4], (2, 2))), XM),
    "diagonal": (lambda m, x: m.diagonal(m.reshape(x, (2, 3)), 1), XM, False),
    "tril": (lambda m, x: m.tril(m.reshape(x, (2, 3))), XM),
    "triu": (lambda m, x: m.triu(m.reshape(x, (2, 3)), 1), XM),
    "diff": (lambda m, x: m.diff(x), XM),
    "where": (lambda m, x: m.where(x > 0.1, x**2, -x), XM),
    "clip": (lambda m, x: m.clip(x, -0.5, 0.5), XM),
    "sort": (lambda m, x: m.sort(x) * m.arange(6.0), XM),
    "repeat": (lambda m, x: m.repeat(x[:3], 2) * m.arange(6.0), XM),
    "tile": (lambda m, x: m.tile(x[:2], 3) * x, XM),
    "roll": (lambda m, x: m.roll(x, 2) * m.arange(6.0), XM, False),
    "split": (lambda m, x: m.split(x, 3)[1] * m.array_split(x, 2)[0][:2], XM, False),
    "average": (lambda m, x: m.average(m.reshape(x, (2, 3)), axis=0), XM, False),
    "cross": (lambda m, x: m.cross(x[:3], x[3:]), XM, False),
    "take": (lambda m, x: m.take(x, np.array([4, 0, 4])), XM, False),
    "take_along_axis": (
        lambda m, x: np.take_along_axis(m.reshape(x, (2, 3)), np.array([[2, 0], [1, 1]]), 1),
        XM,
        False,
    ),
    "array_namespace": (
        lambda m, x: (x.__array_namespace__().sin(x) * 2) if m is np else m.sin(x) * 2,
        XM,
    ),
}

A0 = rng.standard_normal((3, 3)) + 3 * np.eye(3)
LINALG = {
    "solve_vec": (lambda m, x: m.linalg.solve(m.reshape(x[:9], (3, 3)) + A0, x[9:]), 12),
    "solve_mat": (
        lambda m, x: m.linalg.solve(m.reshape(x[:9], (3, 3)) + A0, m.reshape(x[9:], (3, 1))),
        12,
    ),
    "inv": (lambda m, x: m.linalg.inv(m.reshape(x, (3, 3)) + A0), 9),
    "det": (lambda m, x: m.linalg.det(m.reshape(x, (3, 3)) + A0), 9),
    "slogdet": (lambda m, x: m.linalg.slogdet(m.reshape(x, (3, 3)) + A0)[1], 9),
    "norm2": (lambda m, x: m.linalg.norm(x), 9),
    "norm_fro": (lambda m, x: m.linalg.norm(m.reshape(x, (3, 3))), 9),
    "norm1": (lambda m, x: m.linalg.norm(x, 1), 9, False),
    "norm_inf": (lambda m, x: m.linalg.norm(x, np.inf), 9, False),
    "eigh": (
        lambda m, x: m.linalg.eigh(m.reshape(x, (3, 3)) + A0 + A0.T)[0] * m.arange(1.0, 4.0),
        9,
    ),
    "eigh_vectors": (  # sign-invariant use of the eigenvectors
        lambda m, x: m.linalg.eigh(m.reshape(x, (3, 3)) + A0 + A0.T)[1] ** 2,
        9,
    ),
    "eigvalsh_upper": (
        lambda m, x: m.linalg.eigvalsh(m.reshape(x, (3, 3)) + A0 + A0.T, UPLO="U"),
        9,
        False,
    ),
    "cholesky": (
        lambda m, x: m.linalg.cholesky(m.dot(m.reshape(x, (3, 3)), m.reshape(x, (3, 3)).T) + 3 * m.eye(3)),
        9,
    ),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op(name: str) -> None:
    f, x, *flags = OPS[name]
    check_both_modes(as_np(f), x, as_anp(f) if not flags else None)  # flag: autograd lacks it


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg(name: str) -> None:
    f, n, *flags = LINALG[name]
    x = np.random.default_rng(5).standard_normal(n) * 0.5
    check_both_modes(as_np(f), x, as_anp(f) if not flags else None, rtol_fd=1e-5)


def test_scipy_special_ufuncs() -> None:
    import autograd.scipy.special as asp

    x = X6 + 0.5
    for f_np, f_ag in [(sp.expit, asp.expit), (sp.erf, asp.erf), (sp.gammaln, asp.gammaln)]:
        check_both_modes(lambda z, f=f_np: f(z) * z, x, lambda z, f=f_ag: f(z) * z)


def test_logsumexp_engine_and_scipy() -> None:
    import autograd.scipy.special as asp

    from anydiff import engine as E

    x = rng.standard_normal(6)
    ref = lambda z: asp.logsumexp(z.reshape(2, 3), axis=1)  # noqa: E731
    check_both_modes(lambda z: E.special.logsumexp(z.reshape(2, 3), axis=1), x, ref)
    check_both_modes(lambda z: E.special.logsumexp(z), x, lambda z: asp.logsumexp(z))
    # scipy's own logsumexp (it converts its input with np.asarray) is routed to the rule
    check_both_modes(lambda z: sp.logsumexp(z.reshape(2, 3), axis=1), x, ref)
