"""Broad-suite cases: idioms of code written for HIPS autograd (tuple indices, integer casts,
``copy.copy``).  Names start with ``ag_``."""

from __future__ import annotations

import copy

import numpy as np
from broad_cases import case, pt


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
