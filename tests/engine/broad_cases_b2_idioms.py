"""Broad-suite cases, third batch (part 2): NumPy idioms and structured Python (index helpers used
as constants, ``out=``, in-place slices, methods, recursion, reductions of lists)."""

from __future__ import annotations

import functools

import numpy as np
import scipy.special as sps
from broad_cases import case, pt

_r = np.random.default_rng(4242)
M34 = _r.standard_normal((3, 4))
M33 = _r.standard_normal((3, 3))
V5 = _r.standard_normal(5)
BINS = np.array([-0.5, 0.0, 0.5])
GRP = np.array([0, 2, 1, 2, 0, 1])


@case(pt(6))
def b2_add_at_groups(x):
    acc = np.zeros(3)
    np.add.at(acc, GRP, x**2)
    return np.sum(acc * np.array([1.0, 2.0, 3.0]))


@case(pt(6))
def b2_bincount_weights(x):
    s = np.bincount(GRP, weights=np.exp(x), minlength=4)
    return np.sum(np.log1p(s))


@case(pt(6))
def b2_searchsorted_const(x):
    idx = np.searchsorted(BINS, x)  # integer result: a constant
    return np.sum(x * (idx + 1))


@case(pt(6))
def b2_digitize_weights(x):
    w = np.array([0.5, 1.0, 2.0, 3.0])[np.digitize(x, BINS)]
    return np.sum(w * x**2)


@case(pt(4, lo=0.1, hi=3.9))
def b2_interp_in_x(x):
    return np.sum(np.interp(x, [0.0, 1.0, 2.0, 4.0], [0.0, 2.0, 1.0, 3.0]) ** 2)


@case(pt(4, lo=0.1, hi=3.9))
def b2_interp_in_fp(x):
    return np.sum(np.interp([0.5, 1.5, 2.7], [0.0, 1.0, 2.0, 4.0], x))


@case(pt(6))
def b2_where_mask_assign(x):
    y = x.copy()
    mask = y > 0
    y[mask] = np.sqrt(y[mask] + 1)
    y[~mask] *= 2
    return np.sum(y**2)


@case(pt(5))
def b2_clip_array_bounds(x):
    lo = np.array([-0.5, -0.2, 0.0, -1.0, -0.3])
    return np.sum(np.clip(x, lo, lo + 0.8) ** 2 + x)


@case(pt(5))
def b2_clip_method(x):
    return np.sum(x.clip(-0.3, 0.4) * V5) + np.sum(x.clip(min=0.1))


@case(pt(3, 4))
def b2_take_along_axis_argsort(x):
    order = np.argsort(x, axis=1)
    s = np.take_along_axis(x, order, axis=1)
    return np.sum(s * np.arange(4))


@case(pt(5))
def b2_argsort_reorder(x):
    i = np.argsort(V5)
    return np.sum(np.cumsum(x[i]) ** 2)


@case(pt(4, 4))
def b2_triu_tril_trace(x):
    return np.sum(np.triu(x, 1) ** 2) - np.sum(np.tril(x, -1) * 3) + np.trace(x @ x)


@case(pt(4, 4))
def b2_trace_offset(x):
    return np.trace(x, offset=1) + np.trace(np.exp(x), offset=-1)


@case(pt(6))
def b2_outer_product(x):
    O = np.outer(x[:3], x[3:])
    return np.sum(O**2) + np.sum(np.multiply.outer(x[:2], x[4:]))


@case(pt(3, 3))
def b2_einsum_three(x):
    return np.einsum("ij,jk,ki->", x, M33, x)


@case(pt(3, 4))
def b2_einsum_batch(x):
    return np.sum(np.einsum("ij,kj,k->i", x, M34, np.array([1.0, 2.0, 3.0])) ** 2)


@case(pt(3, 3))
def b2_einsum_optimize(x):
    return np.einsum("ab,bc,cd,da->", x, x, M33, x.T, optimize=True)


@case(pt(3, 3))
def b2_matrix_power(x):
    A = 0.5 * x
    return np.sum(np.linalg.matrix_power(A, 3)) + np.trace(np.linalg.matrix_power(A, 0))


@case(pt(3, 3))
def b2_matrix_power_neg(x):
    A = x + 3 * np.eye(3)
    return np.sum(np.linalg.matrix_power(A, -2))


@case(pt(5, lo=0.5, hi=1.5))
def b2_cumprod_method(x):
    return np.sum(x.cumprod()) + np.sum(np.cumprod(x[::-1]))


@case(pt(5))
def b2_logaddexp_chain(x):
    return functools.reduce(np.logaddexp, x) + np.sum(np.logaddexp(x, V5))


@case(pt(5))
def b2_sinc_heaviside(x):
    return np.sum(np.sinc(x + 0.1) * np.heaviside(x, 0.5)) + np.sum(np.sinc(2 * x))


@case(pt(4))
def b2_float32_roundtrip(x):
    y = np.float64(np.sum(x.astype(np.float32) ** 2))
    return y + np.sum(x**2)


@case(pt(3, 4))
def b2_keepdims_normalize(x):
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True) + 0.1
    return np.sum(((x - mu) / sd) * M34)


@case(pt(3, 4))
def b2_broadcast_none(x):
    return np.sum(np.tanh(x[:, None, :] * x[None, :, :]))


@case(pt(6))
def b2_dict_accumulate(x):
    acc: dict[str, float] = {}
    for k, v in zip("abcabc", x):
        acc[k] = acc.get(k, 0.0) + v**2
    return acc["a"] * acc["b"] + acc["c"]


@case(pt(4))
def b2_list_accumulate(x):
    parts = []
    for i in range(3):
        parts.append(np.sum(x[i:] * x[: 4 - i]))
    return sum(parts) + max(parts)


@case(pt(3, lo=0.5, hi=1.0))
def b2_recursion(x):
    def power_tower(v, n):
        return v if n == 0 else v * power_tower(np.sin(v), n - 1)

    return np.sum(power_tower(x, 4))


@case(pt(3))
def b2_while_fixed(x):
    y, i = x, 0
    while i < 5:
        y = np.cos(y) + 0.1 * x
        i += 1
    return np.sum(y)


@case(pt(4))
def b2_reduce_matmul(x):
    mats = [np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) for t in x]
    R = functools.reduce(np.matmul, mats)
    return R[0, 1] + R[1, 1] * 2


@case(pt(4))
def b2_list_comp_stack(x):
    rows = [x * k for k in range(3)]
    return np.sum(np.stack(rows, axis=1) ** 2) + np.sum(np.concatenate(rows)[::2])


@case(pt(4))
def b2_list_comp_array(x):
    a = np.array([np.sin(v) * v for v in x])
    return np.sum(a * np.arange(4))


@case(pt(5))
def b2_copy_slice_ops(x):
    y = x.copy()
    y[1:4] += 2 * x[:3]
    y[::2] *= x[::2]
    y[-1] -= y[0]
    y[2] /= 1.5 + x[2] ** 2
    return np.sum(y**2)


@case(pt(3, 3))
def b2_copy_2d_slice_ops(x):
    y = x.copy()
    y[0, :] **= 2
    y[:, 1] += y[:, 2]
    y[1:, 1:] *= 0.5
    return np.sum(y * M33)


@case(pt(5))
def b2_ufunc_out(x):
    buf = np.empty_like(x)
    np.multiply(x, x, out=buf)
    np.exp(buf, out=buf)
    return np.sum(buf)


@case(pt(5))
def b2_ufunc_out_add(x):
    out = np.zeros(5)
    np.add(x, V5, out=out)
    np.sin(out, out=out)
    return out @ out


@case(pt(3, 4))
def b2_ndarray_methods(x):
    return (x.sum() + x.mean(axis=1).dot(np.ones(3)) + x.std() + x.T.reshape(-1)[3]
            + x.ravel()[5] * x.flatten()[7] + x.cumsum(axis=1)[:, -1].sum())


@case(pt(3, 4, lo=0.5, hi=1.5))
def b2_ndarray_prod_max(x):
    return x.prod(axis=0).sum() + x.max(axis=1).sum() + x.min() + x.var(axis=0).sum()


@case(pt(2, 2))
def b2_matmul_inplace(x):
    A = np.eye(2)
    for _ in range(3):
        A @= x + np.eye(2)
    return np.sum(A)


@case(pt(8))
def b2_fft_magnitude(x):
    X = np.fft.fft(x * np.hanning(8))
    return np.sum(np.abs(X[:5]) ** 2) + np.sum(np.angle(X[1:3]))


@case(pt(4))
def b2_complex_intermediate(x):
    z = x[:2] + 1j * x[2:]
    w = z * np.exp(1j * z) / (1 + z.conj() * z)
    return np.sum(np.abs(w)) + np.real(np.sum(w**2))


@case(pt(5))
def b2_scipy_softmax_entropy(x):
    p = sps.softmax(x)
    return -np.sum(p * sps.log_softmax(x))


@case(pt(2, 3))
def b2_log_softmax_axis(x):
    return np.sum(sps.log_softmax(x, axis=0)[0]) + np.sum(sps.softmax(x, axis=1)[:, 1] ** 2)


@case(pt(6))
def b2_expit_erf_mix(x):
    return np.sum(sps.expit(3 * x) * sps.erf(x / 2)) + np.sum(sps.logit(sps.expit(x) * 0.9 + 0.05))


@case(pt(3, 4))
def b2_argmax_gather(x):
    j = np.argmax(x, axis=1)
    return np.sum(x[np.arange(3), j]) + np.sum(np.max(x, axis=0))


@case(pt(6))
def b2_sort_then_diff(x):
    s = np.sort(x)
    return np.sum(np.diff(s) ** 2) + s[-1] - s[0]


@case(pt(6))
def b2_nonzero_index(x):
    idx = np.nonzero(V5 > 0)[0]
    return np.sum(x[idx] ** 2) + np.sum(x[np.flatnonzero(V5 < 0)])


@case(pt(4, 4))
def b2_fill_diagonal(x):
    y = x.copy()
    np.fill_diagonal(y, 1.0)
    return np.sum(y**2)


@case(pt(3, 3))
def b2_diag_indices_assign(x):
    y = x.copy()
    y[np.diag_indices(3)] += 2.0
    return np.linalg.det(y)


@case(pt(6))
def b2_reshape_order_f(x):
    A = x.reshape(2, 3, order="F")
    return np.sum(A * np.arange(6).reshape(2, 3)) + np.sum(A.ravel(order="F") * V5.sum())


@case(pt(4))
def b2_linspace_endpoint(x):
    t = np.linspace(x[0], x[1] + 2.0, 5)
    return np.sum(np.sin(t)) + np.sum(np.arange(4) * x)


@case(pt(6))
def b2_where_three_arg(x):
    return np.sum(np.where(x > 0, x**2, np.where(x > -0.5, -x, 0.1 * x**3)))


@case(pt(5))
def b2_sum_generator(x):
    return sum(xi * xi for xi in x) + sum(np.exp(-abs(xi)) for xi in x)


@case(pt(6))
def b2_mean_over_list(x):
    pieces = np.split(x, 3)
    return np.mean([np.sum(p**2) for p in pieces]) + np.max([p.sum() for p in pieces])


@case(pt(4))
def b2_abs_fft_real_loss(x):
    return np.sum(np.abs(np.fft.rfft(np.tanh(x))) ** 1.5)


@case(pt(3, 3))
def b2_kron_trace(x):
    return np.trace(np.kron(x, np.eye(2))) + np.sum(np.kron(x[:2, :2], x[1:, 1:]))
