"""Broad-suite cases: idioms of code written for HIPS autograd (tuple indices, integer casts,
``copy.copy``, ``np.cross`` along any axis, matrix norms over an axis pair, Dirichlet and
singular-covariance normal densities, a gradient nested in ``f`` reading ``x`` from its
closure).  Names start with ``ag_``."""

from __future__ import annotations

import copy

import numpy as np
import scipy.special as sps
import scipy.stats as st
from broad_cases import case, pt

_r = np.random.default_rng(777)
B33 = _r.standard_normal((3, 3))
V3 = _r.standard_normal(3)
ALPHA = np.array([1.4, 2.2, 3.1])
X_SIMPLEX = np.array([[0.2, 0.5], [0.3, 0.1]])  # K - 1 = 2 rows: the last entry is 1 - sum
COV_SING = np.diag([1.0, 2.0, 0.0])  # rank 2


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


@case(pt(3, lo=0.2, hi=1.0))
def ag_dirichlet_in_x(x):
    p = x / np.sum(x)
    return st.dirichlet.logpdf(p, ALPHA) + st.dirichlet.pdf(p, ALPHA) + st.dirichlet(ALPHA).logpdf(p)


@case(pt(3, lo=0.5, hi=3.0))
def ag_dirichlet_in_alpha(a):
    return np.sum(st.dirichlet.logpdf(X_SIMPLEX, a)) + st.dirichlet.pdf([0.2, 0.3, 0.5], a)


@case(pt(3))
def ag_mvn_singular_cov(x):
    pt_ = np.concatenate([x[:2], [0.3]])
    mean = np.array([0.1, -0.2, 0.3])  # x - mean stays in the covariance's range
    two = np.stack([pt_, pt_ * np.array([1.0, 2.0, 1.0])])
    lp = st.multivariate_normal.logpdf(pt_, mean, COV_SING, allow_singular=True)
    frozen = st.multivariate_normal(mean, COV_SING, allow_singular=True)
    pdfs = st.multivariate_normal.pdf(two, mean, COV_SING, allow_singular=True)
    return lp + np.sum(pdfs) + frozen.logpdf(pt_)


@case(pt(2))
def ag_mvn_singular_cov_traced(x):  # refused: the rank would change under perturbation
    cov = np.diag(np.concatenate([np.exp(x), [0.0]]))
    return st.multivariate_normal.logpdf(np.zeros(3), np.zeros(3), cov, allow_singular=True)


@case(pt(3))
def ag_grad_of_closure_over_x(x):
    # the inner gradient is in w (a constant point), its function reads x from the closure
    import anydiff as ad

    inner = lambda w: np.sum(x * w**2 + np.sin(x * w))  # noqa: E731
    g = ad.gradient(inner, ad.AutoEngine("reverse"), np.array([2.0, 1.0, -1.0]))
    return np.sum(x * g) + np.sum(ad.gradient(inner, "engine", np.ones(3)) ** 2)


@case(pt(3))
def ag_nested_derivative_at_python_float(x):
    # the inner point is a Python float: its derivative comes back traced, not as a float
    import anydiff as ad

    d = ad.derivative(lambda t: np.sum(np.sin(x * t)), "engine", 0.5)
    g = ad.gradient(lambda t: np.sum(x * t**3), ad.AutoEngine("forward"), 2.0)
    return d * g
