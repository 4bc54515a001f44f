"""Broad-suite cases: elementwise, shape, indexing, reductions, linear algebra, complex."""

from __future__ import annotations

import numpy as np
from broad_cases import A33, A34, B43, IDX, Y5, case, pt


# ---------------------------------------------------------------------------- elementwise / kinks
@case(pt(5))
def where_clip_abs(x):
    return np.sum(np.where(x > 0.1, np.clip(x, -0.5, 0.5), np.abs(x) * 2))


@case(pt(5))
def maximum_minimum(x):
    return np.sum(np.maximum(x, 0.2) * np.minimum(x, -0.1 + x**2))


@case(pt(4))
def sign_times(x):
    return np.sum(np.sign(x) * x**2)


@case(pt(4, lo=0.1, hi=1.0))
def trig_family(x):
    return np.sum(np.arcsin(x / 2) + np.arccos(x / 3) + np.arctan(x) + np.sinh(x) + np.tan(x))


@case(pt(4, lo=1.1, hi=2.0))
def hyperbolic_inverse(x):
    return np.sum(np.arccosh(x) + np.arcsinh(x) + np.arctanh(1 / x))


@case(pt(4, lo=0.1, hi=2.0))
def logs_and_powers(x):
    return np.sum(np.log2(x) + np.log10(x) + np.cbrt(x) + x**0.3 + np.reciprocal(x) + np.square(x))


@case(pt(4))
def exp2_expm1(x):
    return np.sum(np.exp2(x) + np.expm1(x) + np.log1p(x**2))


@case(pt(3))
def arctan2_hypot(x):
    return np.sum(np.arctan2(x, 1.5 + x[::-1]) + np.hypot(x, 2.0))


@case(pt(4))
def sinc_logaddexp2(x):
    return np.sum(np.sinc(x) + np.logaddexp2(x, -x))


@case(pt(4))
def fmax_fmin(x):
    return np.sum(np.fmax(x, 0.0) - np.fmin(x, x[::-1] + 0.05))


@case(pt(4, lo=0.5, hi=3.0))
def floor_mod(x):
    return np.sum(np.mod(x, 1.0) * np.floor(x) + x % 0.7)


@case(pt(4))
def float_power(x):
    return np.sum(np.float_power(2.0 + x, 1.5))


@case(pt(4))
def nan_to_num_case(x):
    return np.sum(np.nan_to_num(x) ** 2)


@case(pt(4))
def heaviside_mask(x):
    return np.sum(x * (x > 0) + 0.1 * x * (x <= 0))


@case(pt(4))
def degrees_radians(x):
    return np.sum(np.sin(np.radians(np.degrees(x))))


# ---------------------------------------------------------------------------- sorting, cumulative
@case(pt(6))
def sort_weighted(x):
    return np.sum(np.sort(x) * np.arange(6.0))


@case(pt(6))
def argsort_gather(x):
    return np.sum(x[np.argsort(x)][:3])


@case(pt(6))
def topk(x):
    return np.sum(np.sort(x)[-2:])


@case(pt(2, 3))
def sort_axis0(x):
    return np.sum(np.sort(x, axis=0) * np.arange(6.0).reshape(2, 3))


@case(pt(5))
def cumsum_case(x):
    return np.sum(np.cumsum(x) ** 2)


@case(pt(5, lo=0.5, hi=1.5))
def cumprod_case(x):
    return np.sum(np.cumprod(x))


@case(pt(2, 3))
def cumsum_axis(x):
    return np.sum(np.cumsum(x, axis=1) * A33[:2])


@case(pt(6))
def diff_case(x):
    return np.sum(np.diff(x, n=2) ** 2)


@case(pt(5))
def roll_case(x):
    return np.sum(x * np.roll(x, 2))


@case(pt(5))
def gradient_case(x):
    return np.sum(np.gradient(x) ** 2)


@case(pt(6))
def partition_case(x):
    return np.sum(np.partition(x, 2)[:2])


@case(pt(5))
def maximum_accumulate(x):
    return np.sum(np.maximum.accumulate(x))


@case(pt(5))
def argmax_pick(x):
    return x[np.argmax(x)] * x[np.argmin(x)]


# ---------------------------------------------------------------------------- shape
@case(pt(4))
def pad_constant(x):
    return np.sum(np.pad(x, (1, 2)) * np.arange(7.0))


@case(pt(2, 2))
def pad_edge_reflect(x):
    return np.sum(np.pad(x, 1, mode="edge") ** 2) + np.sum(np.pad(x, 1, mode="reflect") * 0.5)


@case(pt(4))
def concat_stack(x):
    a = np.concatenate([x, x**2, [1.0]])
    b = np.stack([x, np.sin(x)], axis=1)
    return np.sum(a) + np.sum(b[:, 1] * b[:, 0])


@case(pt(6))
def split_case(x):
    a, b, c = np.split(x, 3)
    return np.sum(a * b) + np.sum(c)


@case(pt(4, 2))
def hsplit_vsplit(x):
    top, bot = np.vsplit(x, 2)
    l, r = np.hsplit(x, 2)
    return np.sum(top * bot) + np.sum(l**2 * r)


@case(pt(3))
def hstack_vstack(x):
    return np.sum(np.vstack([x, 2 * x]) @ np.hstack([x, x])[:3])


@case(pt(6))
def reshape_transpose(x):
    M = x.reshape(2, 3)
    return np.sum(M.T @ M * A33)


@case(pt(6))
def ravel_flatten(x):
    M = np.reshape(x, (3, 2), order="F")
    return np.sum(M.ravel() * np.arange(6.0)) + np.sum(M.flatten() ** 2)


@case(pt(2, 3))
def expand_squeeze(x):
    y = np.expand_dims(x, 0)[:, :, None]
    return np.sum(np.squeeze(y) ** 3)


@case(pt(2, 3))
def swapaxes_moveaxis(x):
    y = np.moveaxis(x[:, :, None] * np.ones(4), 2, 0)
    return np.sum(np.swapaxes(y, 1, 2) * np.arange(24.0).reshape(4, 3, 2))


@case(pt(2, 2))
def flips_rot(x):
    return np.sum(np.flip(x) * A33[:2, :2] + np.fliplr(x) + np.rot90(x) * np.flipud(x))


@case(pt(3))
def tile_repeat(x):
    return np.sum(np.tile(x, 2) * np.arange(6.0)) + np.sum(np.repeat(x, 2) ** 2)


@case(pt(3))
def broadcast_outer(x):
    return np.sum((x[:, None] - x[None, :]) ** 2)


@case(pt(3))
def broadcast_to_case(x):
    return np.sum(np.broadcast_to(x, (4, 3)) * B43)


@case(pt(3))
def atleast_nd(x):
    return np.sum(np.atleast_2d(x) @ np.atleast_2d(x).T) + np.sum(np.atleast_3d(x))


@case(pt(4))
def append_insert(x):
    return np.sum(np.append(x, x[0] ** 2) * np.insert(x, 1, 3.0))


@case(pt(3, 3))
def triu_tril_diag(x):
    return np.sum(np.triu(x) ** 2) + np.sum(np.tril(x, -1)) + np.sum(np.diag(x) * np.array([1.0, 2, 3]))


@case(pt(3))
def diag_build(x):
    return np.sum(np.diag(x) @ A33)


@case(pt(3, 3))
def trace_diagonal(x):
    return np.trace(x @ x) + np.sum(np.diagonal(x, 1))


@case(pt(3))
def meshgrid_case(x):
    X, Y = np.meshgrid(x, x[:2])
    return np.sum(X * Y**2)


@case(pt(2))
def linspace_endpoints(x):
    return np.sum(np.linspace(x[0], x[1], 5) ** 2)


@case(pt(3))
def select_case(x):
    return np.sum(np.select([x < -0.3, x > 0.3], [x**2, np.sin(x)], default=x))


# ---------------------------------------------------------------------------- indexing
@case(pt(5))
def fancy_index(x):
    return np.sum(x[IDX] ** 2 * np.arange(5.0))


@case(pt(5))
def boolean_index(x):
    return np.sum(x[x > 0] ** 2) + np.sum(x[Y5 > 0])


@case(pt(3, 4))
def mixed_index(x):
    return np.sum(x[[0, 2], 1:3] * 2) + np.sum(x[1, [0, 0, 3]])


@case(pt(3, 4))
def ellipsis_newaxis(x):
    return np.sum(x[..., 1] * x[:, None, 2].ravel())


@case(pt(3, 4))
def take_case(x):
    return np.sum(np.take(x, [0, 2, 2], axis=1) ** 2)


@case(pt(3, 4))
def take_along_axis_case(x):
    i = np.argsort(x, axis=1)
    return np.sum(np.take_along_axis(x, i, axis=1)[:, -1])


@case(pt(6))
def negative_step(x):
    return np.sum(x[::-2] * x[1::2])


@case(pt(5))
def add_at(x):
    y = np.zeros(4)
    np.add.at(y, np.array([0, 1, 1, 3, 0]), x)
    return np.sum(y**2)


@case(pt(4))
def compress_extract(x):
    return np.sum(np.compress([True, False, True, True], x) ** 2) + np.sum(np.extract(x > 0, x))


# ---------------------------------------------------------------------------- reductions
@case(pt(3, 4))
def sum_axis_keepdims(x):
    return np.sum(x / np.sum(np.abs(x), axis=1, keepdims=True))


@case(pt(3, 4))
def mean_axis(x):
    return np.sum(np.mean(x, axis=0) ** 2) + np.mean(x, axis=(0, 1))


@case(pt(3, 4))
def max_axis(x):
    return np.sum(np.max(x, axis=1)) + np.min(x)


@case(pt(3, 4, lo=0.5, hi=1.5))
def prod_axis(x):
    return np.sum(np.prod(x, axis=0))


@case(pt(2, 3))
def amax_amin_ptp(x):
    return np.sum(np.amax(x, axis=0) - np.amin(x, axis=0)) + np.ptp(x)


@case(pt(2, 3))
def logsumexp_manual(x):
    m = x.max(axis=1, keepdims=True)
    return np.sum(m.squeeze() + np.log(np.exp(x - m).sum(axis=1)))


@case(pt(2, 3))
def nansum_nanmean(x):
    return np.nansum(x**2) + np.nanmean(x)


@case(pt(2, 3))
def method_reductions(x):
    return x.sum() + x.mean(axis=1).sum() + x.var() + x.std(axis=0).sum() + x.max() * x.min()


# ---------------------------------------------------------------------------- dtype casts
@case(pt(4))
def astype_float32_back(x):
    return np.sum(x.astype(np.float64) ** 2 + np.float64(2.0) * x)


@case(pt(4))
def int_constant_mix(x):
    k = np.arange(4)
    b = np.array([True, False, True, True])
    return np.sum(x * k + b * x + np.int32(3) * x)


@case(pt(4))
def complex_cast(x):
    z = x.astype(complex) * (1 + 2j)
    return np.sum(np.abs(z) ** 2)


@case(pt(3))
def numpy_scalar_ops(x):
    return np.float64(2.0) ** x[0] + np.sum(x * np.float32(1.5)) + x[1] * 0.5 ** x[2]


# ---------------------------------------------------------------------------- products
@case(pt(3))
def matmul_chain(x):
    return x @ A33 @ x + np.sum(A34.T @ x)


@case(pt(3, 3))
def matmul_matrix(x):
    return np.sum((x @ x.T) * A33) + np.sum(x @ A34)


@case(pt(3))
def outer_kron(x):
    return np.sum(np.outer(x, x) * A33) + np.sum(np.kron(x, np.array([1.0, -1.0])) ** 2)


@case(pt(2, 3))
def einsum_forms(x):
    a = np.einsum("ij,jk->ik", x, A34)
    b = np.einsum("ij,ij->", x, x)
    c = np.einsum("ii", x @ x.T)
    return np.sum(a**2) + b + c


@case(pt(2, 3))
def einsum_sublist(x):
    return np.sum(np.einsum(x, [0, 1], A34, [1, 2], [0, 2]) ** 2)


@case(pt(2, 3))
def tensordot_case(x):
    return np.sum(np.tensordot(x, A34, axes=([1], [0])) ** 2) + np.tensordot(x, x, axes=2)


@case(pt(3))
def dot_vdot_inner(x):
    return np.dot(x, A33 @ x) + np.vdot(x, x) + np.inner(x, x[::-1])


@case(pt(3))
def cross_product(x):
    return np.sum(np.cross(x, np.array([1.0, 2.0, 3.0])) ** 2)


@case(pt(4))
def convolve_np(x):
    return np.sum(np.convolve(x, np.array([1.0, -2.0, 1.0])) ** 2)


@case(pt(4))
def correlate_np(x):
    return np.sum(np.correlate(x, np.array([0.5, 1.0]), mode="full") ** 2)
