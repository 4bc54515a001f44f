"""Broad-suite cases: SciPy called directly (special, stats, linalg, signal)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal
import scipy.special
import scipy.stats
from broad_cases import A33, LAB5, Y5, _spd, case, pt
from scipy import special as sps
from scipy.special import expit, logsumexp


# ---------------------------------------------------------------------------- scipy.special
@case(pt(2, 3))
def sp_logsumexp(x):
    return np.sum(logsumexp(x, axis=1)) + scipy.special.logsumexp(x)


@case(pt(5))
def sp_logsumexp_b(x):
    return logsumexp(x, b=np.array([1.0, 2.0, 0.5, 1.0, 3.0]))


@case(pt(2, 3))
def sp_softmax(x):
    return np.sum(sps.softmax(x, axis=1) * A33[:2]) + np.sum(sps.log_softmax(x[0]))


@case(pt(5))
def sp_expit_logit(x):
    p = expit(x)
    return np.sum(LAB5 * np.log(p) + (1 - LAB5) * np.log1p(-p)) + np.sum(sps.logit(0.5 + 0.3 * p))


@case(pt(4))
def sp_erf_family(x):
    return np.sum(sps.erf(x) + sps.erfc(x) ** 2 + sps.erfinv(0.5 * x) + sps.erfcinv(1 + 0.5 * x))


@case(pt(4, lo=0.5, hi=3.0))
def sp_gamma_family(x):
    return np.sum(sps.gammaln(x) + sps.gamma(x) + sps.digamma(x) + sps.psi(x) ** 2 + sps.polygamma(1, x))


@case(pt(3, lo=1.5, hi=3.0))
def sp_multigammaln_beta(x):
    return sps.multigammaln(x[0], 2) + sps.beta(x[1], x[2]) + sps.betaln(x[0], 2.0)


@case(pt(4, lo=0.1, hi=2.0))
def sp_xlogy(x):
    return np.sum(sps.xlogy(x, x + 1) + sps.xlog1py(2.0, x) + sps.entr(x))


@case(pt(4, lo=0.1, hi=2.0))
def sp_bessel(x):
    return np.sum(sps.i0(x) + sps.i1(x) + sps.iv(1.5, x) + sps.ive(0.5, x) + sps.j0(x) + sps.j1(x))


@case(pt(4, lo=0.5, hi=2.0))
def sp_bessel2(x):
    return np.sum(sps.jv(2.0, x) + sps.y0(x) + sps.y1(x) + sps.yn(2, x))


@case(pt(4, lo=0.5, hi=2.0))
def sp_gammainc(x):
    return np.sum(sps.gammainc(2.0, x) + sps.gammaincc(1.5, x))


@case(pt(3, lo=0.1, hi=0.9))
def sp_betainc(x):
    return np.sum(sps.betainc(2.0, 3.0, x))


@case(pt(3))
def sp_ndtr(x):
    return np.sum(sps.ndtr(x) + sps.log_ndtr(x) + sps.ndtri(0.5 + 0.3 * np.tanh(x)))


@case(pt(3, lo=0.1, hi=2.0))
def sp_kl_rel_entr(x):
    return np.sum(sps.rel_entr(x, 1.0) + sps.kl_div(x, 0.5))


@case(pt(3))
def sp_log_expit(x):
    return np.sum(sps.log_expit(x) + sps.softplus(x) if hasattr(sps, "softplus") else sps.log_expit(x))


@case(pt(3, lo=0.5, hi=2.0))
def sp_k0_k1(x):
    return np.sum(sps.k0(x) + sps.k1(x) + sps.kv(0.5, x))


# ---------------------------------------------------------------------------- scipy.stats
@case(pt(2))
def st_norm_logpdf(x):
    return np.sum(scipy.stats.norm.logpdf(Y5, loc=x[0], scale=np.exp(x[1])))


@case(pt(3))
def st_norm_cdf_sf(x):
    return np.sum(scipy.stats.norm.cdf(x) + scipy.stats.norm.logsf(x) + scipy.stats.norm.pdf(x, 0.5, 2.0))


@case(pt(3))
def st_t_logpdf(x):
    return np.sum(scipy.stats.t.logpdf(x, df=4.0) + scipy.stats.t.cdf(x, 3.0))


@case(pt(3, lo=0.5, hi=2.0))
def st_gamma(x):
    return np.sum(scipy.stats.gamma.logpdf(x, a=2.0, scale=1.5) + scipy.stats.gamma.cdf(x, 3.0))


@case(pt(2, lo=1.5, hi=3.0))
def st_gamma_shape(x):
    return np.sum(scipy.stats.gamma.logpdf(np.array([0.5, 1.0, 2.0]), a=x[0], scale=x[1]))


@case(pt(3, lo=0.1, hi=0.9))
def st_beta(x):
    return np.sum(scipy.stats.beta.logpdf(x, 2.0, 3.0) + scipy.stats.beta.cdf(x, 2.0, 2.5))


@case(pt(3, lo=0.1, hi=2.0))
def st_expon_logistic(x):
    return np.sum(scipy.stats.expon.logpdf(x, scale=2.0) + scipy.stats.logistic.logcdf(x))


@case(pt(3))
def st_mvn_logpdf(x):
    S = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]])
    return scipy.stats.multivariate_normal.logpdf(x, mean=np.zeros(3), cov=S)


@case(pt(9))
def st_mvn_cov(x):
    S = _spd(x, 3)
    return scipy.stats.multivariate_normal.logpdf(np.array([0.1, 0.2, 0.3]), cov=S) + (
        scipy.stats.multivariate_normal.entropy(cov=S)
    )


@case(pt(2))
def st_frozen_norm(x):
    d = scipy.stats.norm(loc=x[0], scale=1.0 + x[1] ** 2)
    return np.sum(d.logpdf(Y5))


# ---------------------------------------------------------------------------- scipy.linalg
@case(pt(3, 3))
def la_solve(x):
    return np.sum(scipy.linalg.solve(x + 3 * np.eye(3), np.array([1.0, 0.0, 2.0])))


@case(pt(9))
def la_cho(x):
    S = _spd(x, 3)
    c = scipy.linalg.cho_factor(S)
    return np.sum(scipy.linalg.cho_solve(c, np.array([1.0, 2.0, 3.0])))


@case(pt(3, 3))
def la_lu(x):
    lu = scipy.linalg.lu_factor(x + 3 * np.eye(3))
    return np.sum(scipy.linalg.lu_solve(lu, np.ones(3)) ** 2)


@case(pt(3, 3))
def la_triangular(x):
    L = np.tril(x) + 3 * np.eye(3)
    return np.sum(scipy.linalg.solve_triangular(L, np.ones(3), lower=True))


@case(pt(2, 2))
def la_expm(x):
    return np.sum(scipy.linalg.expm(x) * np.array([[1.0, 2.0], [3.0, 4.0]]))


@case(pt(4))
def la_sqrtm(x):
    S = _spd(x, 2)
    return np.sum(scipy.linalg.sqrtm(S))


@case(pt(2, 2))
def la_sylvester(x):
    return np.sum(scipy.linalg.solve_sylvester(x + 3 * np.eye(2), np.eye(2) * 2, np.ones((2, 2))))


@case(pt(3, 3))
def la_inv_det(x):
    A = x + 3 * np.eye(3)
    return np.sum(scipy.linalg.inv(A)) + scipy.linalg.det(A)


@case(pt(9))
def la_cholesky(x):
    return np.sum(scipy.linalg.cholesky(_spd(x, 3), lower=True))


@case(pt(3))
def la_banded(x):
    ab = np.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])
    return np.sum(scipy.linalg.solve_banded((1, 1), ab, x) ** 2)


# ---------------------------------------------------------------------------- scipy.signal
@case(pt(5))
def sig_convolve(x):
    return np.sum(scipy.signal.convolve(x, np.array([0.25, 0.5, 0.25]), mode="same") ** 2)


@case(pt(5))
def sig_fftconvolve(x):
    return np.sum(scipy.signal.fftconvolve(x, np.array([1.0, -1.0])) ** 2)


@case(pt(5))
def sig_correlate(x):
    return np.sum(scipy.signal.correlate(x, np.array([1.0, 2.0]), mode="valid") * np.arange(4.0))
