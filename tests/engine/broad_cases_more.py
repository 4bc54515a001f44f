"""Broad-suite cases, second batch: SciPy beyond the basics, NumPy idioms with options."""

from __future__ import annotations

import math

import numpy as np
import scipy.integrate as si
import scipy.linalg as sla
import scipy.signal as ss
import scipy.spatial.distance as ssd
import scipy.special as sps
import scipy.stats as st
from broad_cases import A33, B43, Y5, _spd, case, pt

K5 = np.array([0, 1, 3, 2, 1])


# ---------------------------------------------------------------------------- scipy.stats
@case(pt(2))
def st_poisson_glm(x):
    return -np.sum(st.poisson.logpmf(K5, np.exp(x[0] + x[1] * np.arange(5) / 5)))


@case(pt(1))
def st_binom_logit(x):
    return np.sum(st.binom.logpmf([0, 2, 5], 5, sps.expit(x[0])))


@case(pt(2))
def st_nbinom(x):
    return np.sum(st.nbinom.logpmf(K5, np.exp(x[0]) + 1, sps.expit(x[1])))


@case(pt(2))
def st_bernoulli_geom(x):
    p = sps.expit(x)
    return np.sum(st.bernoulli.logpmf([1, 0], p)) + np.sum(st.geom.logpmf([1, 3], p))


@case(pt(2))
def st_cauchy_laplace(x):
    return np.sum(st.cauchy.logpdf(Y5, x[0], np.exp(x[1]))) + np.sum(st.laplace.logcdf(Y5, x[1]))


@case(pt(2))
def st_lognorm_fit(x):
    return -np.sum(st.lognorm.logpdf(np.exp(Y5), s=np.exp(x[0]), scale=np.exp(x[1])))


@case(pt(2, lo=0.5, hi=2.0))
def st_chi2_invgamma(x):
    return np.sum(st.chi2.logpdf([0.5, 1.5], x[0] + 1)) + np.sum(st.invgamma.logpdf([0.5, 2.0], x[1] + 1))


@case(pt(2, lo=0.5, hi=2.0))
def st_weibull_pareto(x):
    return np.sum(st.weibull_min.logpdf([0.5, 1.5], x[0])) + np.sum(st.pareto.logsf([1.5, 3.0], x[1]))


@case(pt(3))
def st_uniform_gumbel(x):
    return np.sum(st.uniform.cdf(x, -2, 4)) + np.sum(st.gumbel_r.logpdf(x)) + np.sum(st.rayleigh.sf(x + 2))


@case(pt(3, lo=0.1, hi=0.9))
def st_ppf(x):
    return np.sum(st.norm.ppf(x)) + np.sum(st.expon.ppf(x, scale=2.0)) + np.sum(st.logistic.ppf(x))


@case(pt(2))
def st_halfnorm_t(x):
    return np.sum(st.halfnorm.logpdf(np.abs(Y5), scale=np.exp(x[0]))) + np.sum(st.t.logsf(Y5, 3.0, x[1]))


# ---------------------------------------------------------------------------- scipy.linalg & co.
@case(pt(9))
def sla_eigh_energy(x):
    w, V = sla.eigh(_spd(x, 3))
    return w[0] + np.sum(V[:, 0] ** 2 * np.array([1.0, 2.0, 3.0]))


@case(pt(3, 3))
def sla_svd_nuclear(x):
    return np.sum(sla.svd(x, compute_uv=False)) + np.sum(sla.svdvals(x) ** 2)


@case(pt(4, 2))
def sla_qr_econ(x):
    Q, R = sla.qr(x, mode="economic")
    return np.sum(Q * B43[:, :2]) + np.sum(np.abs(np.diag(R)))


@case(pt(3, 2))
def sla_pinv_lstsq(x):
    A = x + np.eye(3, 2)
    return np.sum(sla.pinv(A)) + np.sum(sla.lstsq(A, np.array([1.0, 0.0, 2.0]))[0] ** 2)


@case(pt(4))
def sla_toeplitz_solve(x):
    T = sla.toeplitz(np.array([4.0, 0.0, 0.0, 0.0]) + 0.3 * x)
    return np.sum(np.linalg.solve(T, np.ones(4)))


@case(pt(3))
def sla_circulant_hankel(x):
    return np.sum(sla.circulant(x) @ x) + np.sum(sla.hankel(x) ** 2)


@case(pt(4))
def sla_block_diag(x):
    M = sla.block_diag(np.reshape(x, (2, 2)), np.array([[1.0]]))
    return np.sum(M @ np.arange(3.0)) + sla.norm(M)


@case(pt(3, 2))
def cdist_rbf(x):
    D = ssd.cdist(x, np.array([[0.0, 0.0], [1.0, 1.0]]), "sqeuclidean")
    return np.sum(np.exp(-D / 2))


@case(pt(4, 2))
def pdist_stress(x):
    d = ssd.pdist(x + np.arange(8.0).reshape(4, 2))
    return np.sum((d - 1.0) ** 2) + np.sum(ssd.squareform(d) * 0.1)


@case(pt(6))
def integrate_trap_simpson(x):
    t = np.linspace(0, 1, 6)
    return si.trapezoid(x**2, t) + si.simpson(np.sin(x), x=t) + np.sum(si.cumulative_trapezoid(x, t))


# ---------------------------------------------------------------------------- NumPy idioms
@case(pt(5))
def unique_values(x):
    return np.sum(np.unique(np.round(x, 0) * 0 + x) ** 2)


@case(pt(1))
def interp_lists(x):
    return np.interp(0.3 + 0.1 * x[0], [0.0, 0.5, 1.0], [1.0, 3.0, 2.0]) * x[0]


@case(pt(3))
def interp_values(x):
    return np.sum(np.interp([0.25, 0.75, 1.5], [0.0, 1.0, 2.0], x))


@case(pt(4))
def clip_keywords(x):
    return np.sum(x.clip(min=-0.5, max=0.5) ** 2) + np.sum(np.clip(x, a_min=0.0, a_max=None))


@case(pt(4))
def sum_where_initial(x):
    m = np.array([True, False, True, True])
    return np.sum(x, where=m) + np.max(x, initial=-5.0) + np.prod(x + 2, where=m)


@case(pt(3, 3))
def matrix_norms_cond(x):
    A = x + 3 * np.eye(3)
    return np.linalg.norm(A, 1) + np.linalg.norm(A, -np.inf) + np.linalg.cond(A)


@case(pt(4))
def copysign_fmod(x):
    return np.sum(np.copysign(x, -1.0) + np.fmod(x + 3, 0.7) + np.divmod(x + 3, 0.4)[1])


@case(pt(4))
def logaddexp_reduce(x):
    return np.logaddexp.reduce(x) + np.logaddexp2.reduce(x)


@case(pt(3))
def piecewise_fn(x):
    return np.sum(np.piecewise(x, [x < 0, x >= 0], [lambda t: t**2, lambda t: np.sin(t)]))


@case(pt(3, 4))
def apply_along(x):
    return np.sum(np.apply_along_axis(lambda r: np.sum(r**2) * r[0], 1, x))


@case(pt(4))
def accumulate_running(x):
    return np.sum(np.maximum.accumulate(x) * np.minimum.accumulate(x[::-1]) + np.add.accumulate(x))


@case(pt(2, 5))
def cov_corr(x):
    return np.sum(np.cov(x) * np.array([[1.0, 0.5], [0.5, 2.0]])) + np.corrcoef(x[0], x[1])[0, 1]


@case(pt(6))
def robust_stats(x):
    return np.median(x) + np.percentile(x, [25, 75]).sum() + np.quantile(x, 0.9) + np.ptp(x)


@case(pt(5))
def nan_reductions(x):
    y = np.where(np.arange(5) == 2, np.nan, x)
    return np.nansum(y**2) + np.nanmean(y) + np.nanmax(y) - np.nanmin(y)


@case(pt(2, 2))
def pad_kron(x):
    return np.sum(np.pad(x, 1, mode="edge") * 0.5) + np.sum(np.kron(x, np.eye(2)) ** 2)


@case(pt(3))
def meshgrid_field(x):
    X, Y = np.meshgrid(x, np.array([0.0, 1.0]))
    return np.sum(np.exp(-(X**2 + Y**2)) * X)


@case(pt(3, 3))
def multi_dot_chain(x):
    return np.sum(np.linalg.multi_dot([x, A33, x.T, A33]))


@case(pt(4, 2))
def lstsq_np(x):
    sol, res, rank, s = np.linalg.lstsq(x + np.eye(4, 2), np.arange(4.0), rcond=None)
    return np.sum(sol**2) + np.sum(res) + np.sum(s)


@case(pt(3))
def math_mixed(x):
    return sum(math.exp(-v) * math.cos(v) for v in x) + math.log(2 + x[0], 2) + math.lgamma(2 + x[1])


@case(pt(4))
def sorted_builtin(x):
    s = sorted(x)
    return s[0] * 2 + s[-1] + max(x) * min(x) + sum(x)


@case(pt(3))
def convolve_mode_same(x):
    return np.sum(ss.convolve(x, np.array([1.0, 2.0, 1.0]), mode="same") ** 2) + np.sum(
        np.convolve(x, [0.5, 0.5], mode="valid")
    )


# ---------------------------------------------------------------------------- loops inside SciPy
@case(pt(4))
def lfilter_iir(x):
    return np.sum(ss.lfilter([1.0], [1.0, -0.5], x) ** 2)


@case(pt(3))
def vectorized_python(x):
    return np.sum(np.vectorize(lambda t: t * t if t > 0 else -t)(x))


# ---------------------------------------------------------------------------- ODEs, logm
@case(pt(1))
def odeint_decay(x):
    # tight tolerances: finite differences of a solution at odeint's default ones (1.5e-8) are
    # themselves off by ~1e-7 relative (measured), while the engine's derivative is not
    return si.odeint(lambda y, t: -np.exp(x[0]) * y, 1.0, [0.0, 1.0], rtol=1e-12, atol=1e-12)[-1, 0]


@case(pt(2, 2))
def sla_logm(x):
    return np.sum(np.real(sla.logm(np.eye(2) * 2 + 0.1 * x)))
