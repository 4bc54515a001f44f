"""Broad-suite cases: idioms of code written for HIPS autograd (tuple indices, integer casts,
``copy.copy``, ``np.cross`` along any axis, matrix norms over an axis pair,
``scipy.special.gammasgn``).  Names start with ``ag_``."""

from __future__ import annotations

import copy

import numpy as np
import scipy.special as sps
from broad_cases import case, pt

_r = np.random.default_rng(777)
B33 = _r.standard_normal((3, 3))
V3 = _r.standard_normal(3)


@case(pt(3, 4, 3))
def ag_tuple_of_tuples_index(x):
    return np.sum(x[(0, 1, 0), (3, 3, 2)] ** 2) + np.sum(x[(2, 1), :, (0, 2)])


@case(pt(4, 4, 4))
def ag_rfftn_tuple_index(x):
    return np.sum(np.abs(np.fft.rfftn(x)[(0, 1, 0), (3, 3, 2)]))


@case(pt(4))
def ag_copy_copy(x):
    y = copy.copy(x)
    y[0] = 2.0  # the copy is its own array: x keeps its value
    z = copy.deepcopy(x)
    return np.sum(x * y) + np.sum(np.sin(z))


@case(pt(4, 3, lo=0.1, hi=0.9))
def ag_int64_cast_indices(w):
    idx = np.int64(3 * w[:, -1])  # an integer array: piecewise constant, no derivative
    return np.sum(w[idx, :2] ** 2) + np.sum(w * np.int32(idx)[:, None])


@case(pt(3, 3))
def ag_cross_axes(x):
    c = np.cross(x, B33, axisa=0, axisb=1, axisc=0) + np.cross(B33, x, axis=0)
    return np.sum(c * B33) + np.sum(np.cross(x, B33, axisc=0) ** 2)


@case(pt(3, 3))
def ag_cross_2d_vectors(x):
    planar = np.cross(x[:, :2], B33[:, :2])  # 2-vectors: the z component only
    mixed = np.cross(x[:, :2], V3)  # a 2-vector has z = 0
    return np.sum(planar**2) + np.sum(mixed * V3)


@case(pt(4, 3, 2))
def ag_nuc_norm_axis_pair(x):
    n = np.linalg.norm(x, ord="nuc", axis=(0, 1))
    k = np.linalg.norm(x, ord="nuc", axis=(2, 0), keepdims=True)
    return np.sum(n**2) + np.sum(k * x) + np.sum(np.linalg.norm(x, ord=2, axis=(1, 0)))


@case(pt(3, 2, 2, cplx=True))
def ag_nuc_norm_complex_stack(x):
    return np.sum(np.linalg.norm(x, ord="nuc", axis=(1, 2))) + np.linalg.norm(x[0], ord=-2)


@case(pt(4, lo=0.2, hi=0.8) - np.array([0.0, 1.0, 2.0, 3.0]))
def ag_gammasgn(x):
    return np.sum(sps.gammasgn(x) * x**2 + sps.gammasgn(x) * sps.gammaln(x))
