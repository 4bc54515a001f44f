"""Broad-suite cases from an item-by-item audit of the engine's supported list: operand kinds,
shapes (0-d, stacked, broadcasting) and keyword options the other case files do not reach.
The first group are defects that were fixed (each failed before its fix)."""

from __future__ import annotations

import numpy as np
import scipy.special as sps
import scipy.stats as st
from broad_cases import A33, case

_rng = np.random.default_rng(9)  # its own points: the other files' random points stay as they were


def pt(*shape: int, lo: float = -1.0, hi: float = 1.0, cplx: bool = False) -> np.ndarray:
    x = _rng.uniform(lo, hi, shape)
    return x + 1j * _rng.uniform(lo, hi, shape) if cplx else x


def _w(a):  # fixed weights for a vector-valued result
    return np.cos(1.3 * np.arange(np.size(a)) + 0.4).reshape(np.shape(a))


# ---------------------------------------------------------------------------- fixed defects
@case(pt(10))
def au_solve_stacked_matrix_rhs(x):  # NumPy 2: a 2-D b is a matrix, broadcast over the stack
    A = np.reshape(x[:8], (2, 2, 2)) + 2 * np.eye(2)
    r = np.linalg.solve(A, np.reshape(x[8:], (2, 1)))
    return np.sum(r * _w(r)) + np.sum(np.linalg.solve(A, np.reshape(x[6:], (2, 2))) ** 2)


@case(pt(8))
def au_solve_stacked_rhs_2d_a(x):
    r = np.linalg.solve(np.reshape(x[:4], (2, 2)) + 2 * np.eye(2), np.reshape(x[4:], (2, 2, 1)))
    return np.sum(r * _w(r))


@case(pt(3, lo=0.5, hi=2.0))
def au_polygamma_order_array(x):
    return np.sum(sps.polygamma(np.array([1, 2, 3]), x) * _w(x)) + sps.polygamma(np.array(0), x[0])


@case(pt(4))
def au_mvn_frozen_traced(x):
    d = st.multivariate_normal(mean=x[:2], cov=np.eye(2) + np.outer(x[2:], x[2:]))
    return d.entropy() + np.sum(d.logpdf(np.array([[0.3, -0.2], [0.1, 0.5]]))) + d.pdf(x[2:])


@case(pt(6))
def au_select_traced_default(x):
    return np.sum(np.select([x < 0, x > 0.5], [1.0, 2.0], default=x**2) * _w(x))


@case(pt(12))
def au_cross_axes(x):
    a, b = np.reshape(x[:6], (3, 2)), np.reshape(x[6:], (2, 3))
    r = np.cross(a, b, axisa=0, axisc=0) + np.cross(a, np.reshape(x[6:], (3, 2)), axis=0)
    return np.sum(r * _w(r)) + np.sum(np.cross(x[:2], x[2:4])) + np.sum(np.cross(x[:3], x[3:5]) * _w(x[:3]))


@case(pt(12))
def au_matrix_norms_stacked(x):
    m = np.reshape(x, (2, 3, 2))
    return (
        np.sum(np.linalg.norm(m, "nuc", axis=(1, 2)) * [1.0, 2.0])
        + np.sum(np.linalg.norm(m, 2, axis=(2, 0), keepdims=True))
        + np.sum(np.linalg.norm(m, -np.inf, axis=(0, 1)))
        + np.sum(np.linalg.norm(m[0], "nuc", keepdims=True))
    )


@case(pt(4, lo=-0.3, hi=0.3))
def au_stats_cdf_in_shapes(x):  # gammainc / betainc / stdtr in their shapes (by quadrature)
    z = np.array([0.3, 0.8])
    a, b, df = 2.0 + x[0], 3.0 + x[1], 4.0 + x[2]
    return (
        np.sum(st.gamma.cdf(z + 0.5, a) + st.gamma.logsf(z * 4, a, scale=1 + x[3] ** 2))
        + np.sum(st.beta.logcdf(z, a, b) + st.beta.sf(z, b, a))
        + np.sum(st.t.cdf(z - 0.5, df) + st.t.logsf(z, df, loc=x[3]))
        + np.sum(sps.gammaincc(a, z) + sps.betainc(a, b, z))
    )


@case(pt(6))
def au_pad_stat_ramp_odd(x):
    m = np.reshape(x, (2, 3))
    r = (
        np.pad(m, ((1, 2), (2, 1)), mode="mean", stat_length=((1, 2), (2, 2)))
        + np.pad(m, ((1, 2), (2, 1)), mode="maximum") * np.pad(m, ((1, 2), (2, 1)), mode="median")
        + np.pad(m, ((1, 2), (2, 1)), mode="linear_ramp", end_values=((1.0, -1.0), (0.5, x[0])))
        + np.pad(m, ((1, 2), (2, 1)), mode="symmetric", reflect_type="odd")
        + np.pad(m, ((1, 2), (2, 1)), constant_values=(x[1], 2.0))
    )
    return np.sum(r * _w(r)) + np.sum(np.pad(x, (2, 3), mode="reflect", reflect_type="odd") * _w(np.ones(11)))


@case(pt(4))
def au_linspace_family_axes(x):
    r = (
        np.sum(np.linspace(x[:2], x[2:], 3, axis=1) * _w(np.ones((2, 3))))
        + np.sum(np.linspace(x[:2], 3.0, 4, axis=-1, retstep=True)[1])
        + np.sum(np.logspace(x[0], x[1], 3, base=2.0) * [1.0, 2.0, 3.0])
        + np.sum(np.geomspace(1 + x[:2] ** 2, 3.0, 3, axis=1) * _w(np.ones((2, 3))))
    )
    return r


@case(pt(12))
def au_gradient_coordinates(x):
    m = np.reshape(x, (3, 4))
    g0, g1 = np.gradient(m, np.array([0.0, 1.0, 3.0]), 0.5)
    g2 = np.gradient(m, np.array([0.0, 1.0, 1.5, 4.0]), axis=1, edge_order=2)
    g3 = np.gradient(np.array([1.0, 4.0, 2.0, 5.0]), np.cumsum(1 + x[:4] ** 2))
    return np.sum(g0 * _w(g0)) + np.sum(g1**2) + np.sum(g2 * _w(g2)) + np.sum(g3 * [1.0, -1.0, 2.0, 0.5])


@case(pt(6))
def au_insert_along_axis(x):
    m = np.reshape(x, (2, 3))
    r = np.insert(m, [1, 3], x[:2].reshape(2, 1) ** 2, axis=1)
    r2 = np.insert(m, 1, m * 2, axis=0) + np.sum(np.insert(m, 0, 5.0, axis=0) ** 2)
    r3 = np.insert(m, 2, [7.0, 8.0], axis=-1)
    return np.sum(r * _w(r)) + np.sum(r2 * _w(r2)) + np.sum(r3 * _w(r3))


@case(pt(4, cplx=True))
def au_logsumexp_complex_weights(x):  # complex a with weights (a constant buffer b included)
    a = np.reshape(x, (2, 2))
    r = sps.logsumexp(a, b=np.array([1.0, 2.0]), axis=1) + sps.logsumexp(x[:2], b=np.array([-1.0, 2.0]))
    mag, sign = sps.logsumexp(x, b=np.array([0.5, -1.0, 2.0, 1.0]), return_sign=True)
    r2 = sps.logsumexp(x, b=np.array([0.5, 2.0, 1, 1]))
    return np.sum(np.abs(r) ** 2) + mag + np.real(sign) + np.real(r2)


@case(pt(3, lo=0.2, hi=1.0))
def au_operands_lists_ints(x):  # list / int / bool operands of the composite ufuncs (TypeError before)
    r = (
        np.copysign([1.0, 2.0, 3.0], x - 0.5) * x + np.copysign(x, [-1, 1, -1]) + np.copysign(2, x) * x
        + np.copysign(np.array([True, False, True]), x) * x + np.heaviside([1.0, -1.0, 0.0], x)
        + np.heaviside(x, 2) + np.polyval(x, [0.5, 1.5, 2.0]) + np.polyval([1, 2, 3], x)
    )
    return np.sum(r * _w(r))


@case(pt(12))
def au_numpy2_array_api_names(x):  # np.vecdot & co., stacked svdvals / eigvals (EngineError before)
    m = np.reshape(x, (2, 2, 3))
    sq = np.reshape(x[:8], (2, 2, 2)) + np.diag([0.0, 3.0])
    r = (
        np.sum(np.vecdot(m, x[:3]) * [1.0, 2.0]) + np.sum(np.matvec(m, x[3:6]) ** 2)
        + np.sum(np.vecmat(x[:2], m[0])) + np.sum(np.linalg.vector_norm(m, axis=(0, 2), ord=3))
        + np.sum(np.linalg.matrix_norm(m, ord="nuc")) + np.sum(np.linalg.svdvals(m) * [1.0, 0.5])
        + np.sum(np.sort(np.real(np.linalg.eigvals(sq)), axis=-1) * [1.0, 2.0])
        + np.sum(np.cumulative_sum(x[:4], include_initial=True) * [1.0, 2.0, 3.0, 4.0, 5.0])
        + np.sum(np.linalg.trace(sq, offset=1))
        + np.sum(np.linalg.tensorinv(np.reshape(x[:4], (2, 2)) + 3 * np.eye(2), 1))
    )
    return r


# ---------------------------------------------------------------------------- coverage
@case(pt(lo=0.5, hi=2.0))
def au_special_0d(x):  # a 0-d point through the special functions
    return (
        sps.gammaln(x) + sps.digamma(x) + sps.erf(x) + sps.expit(x) + sps.logit(0.4 * x)
        + sps.iv(1.5, x) + sps.yn(2, x) + sps.gammainc(1.5, x) + sps.betainc(2.0, 1.5, 0.4 * x)
        + sps.xlogy(x, x + 1) + sps.logsumexp(x) + sps.multigammaln(x + 1, 2)
    )


@case(pt(2, 3))
def au_logsumexp_options(x):
    return (
        np.sum(sps.logsumexp(x, axis=-1, keepdims=True))
        + sps.logsumexp(x, b=A33[:2] ** 2)
        + np.sum(sps.logsumexp(x, axis=0, b=A33[:2], return_sign=True)[0])
        + np.sum(sps.softmax(x, axis=0) * _w(x)) + np.sum(sps.log_softmax(x) * _w(x))
    )


@case(pt(4))
def au_stats_loc_scale_shapes(x):
    z = np.array([0.3, 0.6])
    return (
        np.sum(st.t.logcdf(z, 3.0, loc=0.1 * x[1], scale=1 + x[2] ** 2)) + np.sum(st.t.logpdf(z, 3.0 + x[0]))
        + np.sum(st.gamma.logsf(z + 1, 2.0, scale=1.2 + 0.3 * x[3]))
        + np.sum(st.beta.logpdf(z, 2.0 + 0.5 * x[0], 3.0 + 0.5 * x[1]))
        + np.sum(st.logistic(loc=x[2]).logcdf(z)) + np.sum(st.expon.logsf(z, scale=2 + x[3]))
    )


@case(pt(12))
def au_fft_options(x):
    a = np.reshape(x, (2, 2, 3))
    r = (
        np.sum(np.abs(np.fft.fftn(a, s=(3, 4), axes=(2, 0), norm="ortho")) ** 2)
        + np.sum(np.fft.irfftn(np.fft.rfftn(a, axes=(1, 2)), s=(2, 4), axes=(1, 2)) * 0.5)
        + np.sum(np.fft.irfft(a[0, 0] + 1j * a[1, 0], n=5, norm="forward") * _w(np.ones(5)))
        + np.sum(np.real(np.fft.ifft2(a[0], s=(3, 3))) * _w(np.ones((3, 3))))
        + np.sum(np.fft.fftshift(a, axes=(0, 2)) * _w(a))
    )
    return r


@case(pt(8, cplx=True))
def au_linalg_complex_stacked(x):
    m = np.reshape(x, (2, 2, 2))
    h = m + np.conj(np.swapaxes(m, -1, -2)) + np.diag([0.0, 4.0])
    w, v = np.linalg.eigh(h)
    inv = np.linalg.inv(h + 5 * np.eye(2))
    return np.sum(w * [1.0, 2.0]) + np.sum(np.abs(v) ** 2 * _w(v)) + np.sum(np.abs(inv))


@case(pt(6))
def au_qr_modes(x):
    m = np.reshape(x, (3, 2)) + np.eye(3, 2)
    q, r = np.linalg.qr(m)
    r2 = np.linalg.qr(m[:2], mode="complete")[1]
    return np.sum(q * _w(q)) + np.sum(np.linalg.qr(m, mode="r") * _w(r)) + np.sum(r2)
