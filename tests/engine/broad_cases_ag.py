"""Broad-suite cases: idioms of code written for HIPS autograd (tuple indices, integer casts,
``copy.copy``, ``np.cross`` along any axis, matrix norms over an axis pair, Dirichlet and
singular-covariance normal densities, a gradient nested in ``f`` reading ``x`` from its
closure).  Names start with ``ag_``."""

from __future__ import annotations

import copy
import functools

import numpy as np
import scipy.linalg
import scipy.signal
import scipy.special as sps
import scipy.stats as st
from broad_cases import case
from broad_cases import pt as _pt

_r = np.random.default_rng(777)
pt = functools.partial(_pt, rng=np.random.default_rng(778))  # its own points: others' stay as they were
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


# ---------------------------------------------------------------------------- NumPy compositions
M34 = _r.standard_normal((3, 4))
NAN34 = np.where(M34 > 0.8, np.nan, 0.0)  # NaN where M34 > 0.8, else 0
SAMPLES = _r.standard_normal(6)


@case(pt(3, 4))
def ag_nan_var_std_scans(x):
    y = x + NAN34
    v = np.nanvar(y, ddof=1) + np.sum(np.nanstd(y, axis=0)) + np.sum(np.nanstd(y, axis=1, keepdims=True))
    return v + np.sum(np.nancumsum(y, axis=1) ** 2) + np.sum(np.nancumprod(y))


@case(pt(3, 4))
def ag_nan_median_quantile(x):
    return np.nanmedian(x) + np.sum(np.nanquantile(x, 0.3, axis=0)) + np.nanpercentile(x**2, 70)


@case(pt(2, 3))
def ag_dstack_block(x):
    d = np.dstack([x, x**2, np.ones((2, 3))])
    b = np.block([[x, x[:, :1] ** 3], [np.exp(x), np.zeros((2, 1))]])
    return np.sum(d**2) + np.sum(b * np.arange(16.0).reshape(4, 4)) + np.sum(np.block([x[0], x[1] ** 2]))


@case(pt(5))
def ag_vander_ediff1d_cumulative(x):
    v = np.sum(np.vander(x) * 0.1) + np.sum(np.vander(x, 3, increasing=True) ** 2)
    e = np.sum(np.ediff1d(x, to_begin=[1.0], to_end=x[:2]) ** 2)
    c = np.sum(np.cumulative_sum(x, include_initial=True) ** 2) + np.sum(np.cumulative_prod(x))
    return v + e + c + np.sum(np.matrix_transpose(np.outer(x, x[:3]))[0])


@case(pt(5))
def ag_delete_choose(x):
    d = (
        np.sum(np.delete(x, [0, 2]) ** 2)
        + np.sum(np.delete(np.outer(x, x), 1, axis=1))
        + np.sum(np.delete(x, slice(1, 3)))
    )
    return d + np.sum(np.choose([0, 1, 0, 1, 1], [x, x**2])) + np.sum(np.choose([[0, 1, 0, 1, 1]], [x, 3.0]))


@case(pt(5, lo=-0.6, hi=0.6))
def ag_ldexp_unwrap(x):
    phase = np.cumsum(2.5 + x)  # jumps of about 2.5 rad: unwrap adds multiples of 2 pi
    return np.sum(np.ldexp(x, 2) + np.ldexp(x, np.arange(5)) ** 2) + np.sum(np.sin(np.unwrap(phase) / 7))


@case(pt(3, 3))
def ag_vecdot_linalg_aliases(s):
    a = np.sum(np.vecdot(s, s**2)) + np.sum(np.matvec(s, s[0])) + np.sum(np.vecmat(s[1], s))
    b = np.sum(np.linalg.matmul(s, s)) + np.sum(np.linalg.vecdot(s, s)) + np.sum(np.linalg.cross(s, s**2))
    c = (
        np.sum(np.linalg.diagonal(s) ** 2)
        + np.linalg.trace(s @ s)
        + np.sum(np.linalg.tensordot(s, s, axes=1))
    )
    d = np.linalg.vector_norm(s) + np.sum(np.linalg.vector_norm(s, axis=1, ord=3)) + np.linalg.matrix_norm(s)
    return a + b + c + d + np.sum(np.linalg.outer(s[0], s[2]))


@case(pt(3, 3))
def ag_tensorinv_tensorsolve(s):
    t = np.reshape(np.kron(s, s) + 9 * np.eye(9), (3, 3, 3, 3))
    return np.sum(np.linalg.tensorinv(t, ind=2)) + np.sum(np.linalg.tensorsolve(t, s) ** 2)


@case(pt(6))
def ag_histogram_weights(x):
    h = np.histogram(SAMPLES, bins=3, weights=x)[0]
    dens = np.histogram(SAMPLES, bins=4, weights=x**2 + 1, density=True)[0]
    own = np.histogram(x, bins=3, density=True)  # equal bins from min(x) to max(x): they move with x
    fixed = x[0] * np.sum(np.histogram(x, bins=[-3.0, 0.0, 3.0])[0])
    return np.sum(h**2) + np.sum(dens) + fixed + np.sum(own[0] ** 2) + np.sum(own[1] ** 2)


@case(pt(3, 4))
def ag_put_put_along_axis(x):
    a = x.copy()
    np.put(a, [0, 5], x[2, :2] ** 2)
    np.put(a, [7], 3.0)
    np.put_along_axis(a, np.array([[1], [3], [0]]), x[0, :1] * 2, axis=1)
    return np.sum(a**2) + np.sum((x + x.round(-1)) ** 2)  # |x| < 5: the rounding is 0 (no jump)


# ---------------------------------------------------------------------------- SciPy
K33 = _r.standard_normal((3, 3))


@case(pt(3, 4, lo=0.5, hi=1.5))
def ag_special_elementwise_more(x):
    a = sps.log1p(x) + sps.expm1(x) + sps.exp2(x) + sps.exp10(x / 3) + sps.cbrt(x) + sps.erfi(x / 2)
    b = sps.dawsn(x) + sps.loggamma(x + 1) + sps.spence(x) + sps.binom(x + 3, x / 2) + sps.binom(5.0, x)
    c = sps.boxcox(x, 0.3) + sps.boxcox(x, 0.0) + sps.boxcox(2.0, x - 1) + sps.inv_boxcox(x, 0.4)
    return np.sum(a + b + c + sps.inv_boxcox(x, 0.0))


@case(pt(3, 4))
def ag_convolve2d_correlate2d(x):
    same = scipy.signal.convolve2d(x, K33, mode="same")
    return (
        np.sum(same**2)
        + np.sum(scipy.signal.correlate2d(x, K33[:2, :2], mode="valid"))
        + np.sum(scipy.signal.convolve2d(K33, x))
    )


@case(pt(8))
def ag_sosfilt(x):
    sos = np.array([[0.2, 0.4, 0.2, 1.0, -0.5, 0.2], [1.0, 0.0, -1.0, 1.0, 0.1, 0.3]])
    return np.sum(scipy.signal.sosfilt(sos, x) ** 2)


@case(pt(3, 3))
def ag_refusal_names_decorated_scipy_function(s):  # refused: no rule; the message names it
    return np.sum(scipy.linalg.funm(s, np.sin))


@case(pt(3, 4, lo=0.3, hi=1.5))
def ag_stats_summary_functions(x):
    e = st.entropy(x[0]) + np.sum(st.entropy(x, axis=1)) + st.entropy(x[1], x[2], base=2)
    z = np.sum(st.zscore(x) ** 3) + np.sum(st.zscore(x, axis=None) * B33[0, 0])
    m = np.sum(st.moment(x, 3)) + np.sum(st.skew(x, axis=1, bias=False)) + np.sum(st.kurtosis(x, bias=False))
    g = (
        np.sum(st.gmean(x))
        + np.sum(st.hmean(x, axis=1))
        + np.sum(st.variation(x))
        + np.sum(st.sem(x, axis=1))
    )
    return e + z + m + g


@case(pt(3, 3))
def ag_sla_eig_eigvals_polar(s):
    sym = s @ s.T + np.diag([1.0, 2.0, 3.0])
    e = np.sum(np.real(scipy.linalg.eigvals(sym))) + np.sum(np.abs(scipy.linalg.eig(sym)[1][:, 0]))
    u, p = scipy.linalg.polar(s)
    return e + np.sum(u * B33) + np.sum(p**2) + np.sum(scipy.linalg.polar(s, "left")[1] * B33)
