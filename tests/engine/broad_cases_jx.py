"""Broad-suite cases, fourth batch: the gradient-checked operations of array-library test
suites (special functions in every argument, ``scipy.fft``, ``scipy.stats`` summaries and
more distributions, NaN-skipping statistics, NumPy's in-place writers, polynomials) and whole
programs that use them, as scientists write them."""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
import scipy.optimize
import scipy.signal
import scipy.special as sps
import scipy.stats as st
from broad_cases import case
from broad_cases import pt as _shared_pt

_r = np.random.default_rng(9090)
pt = functools.partial(_shared_pt, rng=np.random.default_rng(9191))  # its own points
V5 = _r.uniform(0.5, 2.5, 5)
M34 = _r.standard_normal((3, 4))
NANS = M34 > 0.6  # where the data are missing
IMG = _r.standard_normal((4, 5))
K5 = np.array([0, 1, 3, 2, 5])


# ---------------------------------------------------------------------------- kinks and shapes
@case(pt(3, 3, cplx=True))
def jx_abs_complex_zero(z):
    # the strict upper triangle of a Cholesky factor is exactly 0: |0| has derivative 0
    L = np.linalg.cholesky(z @ np.conj(z).T + 3 * np.eye(3))
    return np.sum(np.abs(L))


@case(pt(4, cplx=True))
def jx_abs_complex_masked(z):
    return np.sum(np.abs(z * np.array([0, 1, 0, 1]))) + np.sum(np.abs(z) ** 2)


@case(pt())
def jx_take_along_axis_broadcast(x):
    y = x * np.arange(3.0).reshape((1, 3))
    return np.take_along_axis(y, np.repeat(np.arange(3), 4).reshape((12, 1)), -1).sum()


@case(pt(1, 4))
def jx_take_along_axis_broadcast_2d(x):
    return np.sum(np.take_along_axis(x**2, np.array([[0], [3], [1]]), axis=1))


# ---------------------------------------------------------------------------- scipy.special
@case(pt(4, lo=0.3, hi=2.5))
def jx_sp_exponential_integrals(x):
    return np.sum(sps.expi(x) + sps.exp1(x) + sps.expn(2, x) + sps.expn(0, x))


@case(pt(4, lo=0.2, hi=2.5))
def jx_sp_gamma_family(x):
    return np.sum(sps.loggamma(x) + sps.poch(x, 1.7) + sps.poch(2.2, x) + sps.factorial(x) + sps.gammasgn(x))


@case(pt(4, lo=0.2, hi=2.0))
def jx_sp_dawsn_spence_cbrt(x):
    return np.sum(sps.dawsn(x) + sps.spence(x) + sps.cbrt(x) + sps.exprel(x - 1.0))


@case(pt(4, lo=0.2, hi=0.8))
def jx_sp_elliptic(x):
    return np.sum(sps.ellipk(x) + sps.ellipe(x))


@case(pt(4, lo=0.5, hi=3.0))
def jx_sp_boxcox(x):
    return np.sum(
        sps.boxcox(x, 0.7) + sps.boxcox(V5[:4], x - 1.5) + sps.boxcox1p(x, 0.3) + sps.boxcox1p(V5[:4], x)
    )


@case(pt(4, lo=0.5, hi=3.0))
def jx_sp_comb_binom(x):
    return np.sum(sps.comb(5.5, x) + sps.binom(x + 3, 1.5) + sps.comb(x + 2, 2.0, repetition=True))


@case(pt(4))
def jx_sp_owens_t(x):
    return np.sum(sps.owens_t(x, 0.7) + sps.owens_t(0.4, x))


@case(pt(4, lo=-2.0, hi=2.0))
def jx_sp_robust_losses(x):
    return np.sum(sps.huber(0.5, x) + sps.pseudo_huber(0.5, x) + sps.huber(np.abs(x) + 0.1, 0.3))


@case(pt(4, lo=0.1, hi=0.9))
def jx_sp_inverses_and_hypergeometric(x):
    return np.sum(sps.gammaincinv(2.0, x) + sps.hyp1f1(1.5, 2.5, x) + sps.hyp2f1(0.5, 1.5, 2.5, x))


@case(pt(4, lo=0.2, hi=2.5))
def jx_sp_two_output_ufuncs(x):
    si, ci = sps.sici(x)
    s, c = sps.fresnel(x)
    return np.sum(si + 2 * ci + s * c)


@case(pt(4, lo=0.2, hi=2.0))
def jx_sp_elementary_aliases(x):
    return np.sum(
        sps.log1p(x)
        + sps.expm1(x)
        + sps.exp2(x)
        + sps.exp10(0.3 * x)
        + sps.sindg(30 * x)
        + sps.cosdg(30 * x)
        + sps.tandg(20 * x)
    )


# ---------------------------------------------------------------------------- scipy.fft
@case(pt(8))
def jx_scipy_fft(x):
    F = scipy.fft.fft(x, workers=2)
    return np.sum(np.abs(F) ** 2 * np.arange(8.0)) + np.sum(
        scipy.fft.irfft(scipy.fft.rfft(x) * np.arange(5.0)) ** 2
    )


@case(pt(3, 6))
def jx_scipy_fft_2d(x):
    return np.sum(np.abs(scipy.fft.fft2(x, norm="ortho")) * np.arange(6.0)) + np.sum(
        scipy.fft.fftshift(x) * M34[:, :1]
    )


@case(pt(8))
def jx_scipy_dct(x):
    return np.sum(scipy.fft.dct(x) * np.arange(8.0)) + np.sum(scipy.fft.idct(x, type=3, norm="ortho") ** 2)


@case(pt(3, 5))
def jx_scipy_dst_axis(x):
    return np.sum(scipy.fft.dst(x, axis=0, n=4) ** 2) + np.sum(scipy.fft.dct(x, type=1) * IMG[:3])


# ---------------------------------------------------------------------------- scipy.stats
@case(pt(5))
def jx_stats_entropy(x):
    return st.entropy(np.exp(x)) + st.entropy(np.exp(x), V5, base=2)


@case(pt(3, 4))
def jx_stats_zscore_moments(x):
    return (
        np.sum(st.zscore(x, axis=1) ** 3)
        + np.sum(st.skew(x))
        + np.sum(st.kurtosis(x, axis=1, bias=False))
        + np.sum(st.moment(x, 3, axis=None))
    )


@case(pt(6))
def jx_stats_spread(x):
    return st.sem(x) + st.variation(x + 3) + st.iqr(x) + st.median_abs_deviation(x, scale="normal")


@case(pt(6, lo=0.5, hi=2.0))
def jx_stats_means(x):
    return st.gmean(x) + st.hmean(x) + st.pmean(x, 2.5) + st.trim_mean(x, 0.2)


@case(pt(6))
def jx_stats_pearsonr(x):
    res = st.pearsonr(x, np.arange(6.0) ** 1.5)
    return res[0] + 0.1 * res.pvalue


@case(pt(5, lo=-1.5, hi=1.5))
def jx_stats_more_distributions(x):
    return np.sum(
        st.gumbel_l.logpdf(x, 0.1, 1.2)
        + st.gumbel_l.cdf(x)
        + st.halfcauchy.logpdf(np.abs(x), 0, 1.5)
        + st.truncnorm.logpdf(0.5 * x, -1.0, 1.5)
        + st.truncnorm.cdf(x, -1.0, 1.5)
        + st.vonmises.logpdf(x, 1.5)
        + st.wrapcauchy.logpdf(x + 1.6, 0.5)
        + st.gennorm.logpdf(x, 1.5)
    )


@case(pt(3, lo=0.5, hi=2.5))
def jx_stats_shape_parameters(x):
    return np.sum(
        st.vonmises.logpdf(V5, x[0])
        + st.wrapcauchy.logpdf(V5, 0.3 * x[1])
        + st.truncnorm.logpdf(0.1 * V5, -x[2], x[1])
        + st.betabinom.logpmf(K5, 6, x[0], x[2])
    )


@case(pt(5, lo=0.1, hi=0.9))
def jx_stats_isf(x):
    return np.sum(st.norm.isf(x, 0.3, 2.0) + st.expon.isf(x) + st.logistic.isf(x, scale=2.0))


@case(pt(3, lo=0.5, hi=2.5))
def jx_stats_dirichlet_multinomial(x):
    p = x / np.sum(x)
    return (
        st.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), x)
        + st.dirichlet(np.array([1.5, 2.0, 3.0])).logpdf(p)
        + st.multinomial.logpmf([1, 2, 3], 6, p)
        + st.multinomial.pmf([2, 2, 2], 6, p)
    )


# ---------------------------------------------------------------------------- scipy.signal, optimize
@case(pt(3, 3))
def jx_signal_convolve2d(k):
    return np.sum(scipy.signal.convolve2d(IMG, k, mode="valid") ** 2) + np.sum(
        scipy.signal.correlate2d(IMG, k, mode="same")
    )


@case(pt(4))
def jx_optimize_rosen(x):
    return scipy.optimize.rosen(x) + np.sum(scipy.optimize.rosen(np.reshape(x, (2, 2))))


# ---------------------------------------------------------------------------- NaN-skipping statistics
@case(pt(3, 4))
def jx_nanvar_nanstd(x):
    d = np.where(NANS, np.nan, x)
    return np.nanvar(d) + np.sum(np.nanstd(d, axis=0)) + np.sum(np.nanvar(d, axis=1, ddof=1))


@case(pt(3, 4))
def jx_nan_order_statistics(x):
    d = np.where(NANS, np.nan, x)
    return (
        np.nanmedian(d)
        + np.sum(np.nanmedian(d, axis=1))
        + np.sum(np.nanquantile(d, [0.2, 0.7], axis=0))
        + np.nanpercentile(d, 30)
    )


@case(pt(3, 4, lo=0.5, hi=1.5))
def jx_nan_cumulative(x):
    d = np.where(NANS, np.nan, x)
    return np.sum(np.nancumsum(d, axis=1) ** 2) + np.sum(np.nancumprod(d))


@case(pt(3, 4, lo=0.5, hi=1.5))
def jx_cumulative_sum_prod(x):
    return np.sum(np.cumulative_sum(x, axis=1, include_initial=True) ** 2) + np.sum(
        np.cumulative_prod(x, axis=0)
    )


@case(pt(7))
def jx_quantile_methods(x):
    return sum(
        np.quantile(x, 0.3, method=m) * (k + 1)
        for k, m in enumerate(("lower", "higher", "nearest", "midpoint"))
    )


@case(pt(3, 4))
def jx_logaddexp_accumulate(x):
    return np.sum(np.logaddexp.accumulate(x, axis=1) ** 2) + np.sum(np.logaddexp2.accumulate(x[0]))


# ---------------------------------------------------------------------------- NumPy's writers
@case(pt(6))
def jx_put(x):
    y = np.zeros(12)
    np.put(y, [0, 5, 7], x[:3] * 2)
    np.put(y, [13, -1], x[3:5] ** 2, mode="wrap")
    return np.sum(y**2 * np.arange(12.0))


@case(pt(3, 4))
def jx_put_along_axis(x):
    y = x.copy()
    np.put_along_axis(y, np.array([[0], [1], [3]]), x[:, :1] ** 2, axis=1)
    return np.sum(y**2)


@case(pt(3, 4))
def jx_putmask_place_copyto(x):
    y = x.copy()
    np.putmask(y, M34 > 0, x * 3)
    z = np.ones((3, 4))
    np.copyto(z, x**2, where=M34 > -0.3)
    w = x.copy()
    np.place(w, M34 < 0, x[0, :2])
    return np.sum(y**2) + np.sum(z) + np.sum(w * M34)


@case(pt(5))
def jx_ufunc_at_rounds(x):
    y = np.ones(3) + 0.1 * x[:3]
    np.multiply.at(y, [0, 0, 2, 0], x[1:] + 2)  # repeated indices multiply in turn
    m = np.zeros(3)
    np.maximum.at(m, [0, 0, 1, 2, 2], x)
    return np.sum(y * np.arange(1.0, 4.0)) + np.sum(m**2)


@case(pt(2, 4))
def jx_choose_where1(x):
    c = np.choose(np.array([0, 1, 0, 1]), [x[0], x[1] ** 2])
    return np.sum(c * np.arange(4.0)) + np.sum(x[np.where(M34[:2] > 0)] ** 2)


# ---------------------------------------------------------------------------- ufuncs, polynomials, tensors
@case(pt(5))
def jx_ldexp_frexp(x):
    return np.sum(np.ldexp(x, np.arange(-2, 3)) ** 2) + np.sum(np.frexp(3 * x + 5)[0] * np.arange(5.0))


@case(pt(6))
def jx_polyfit(y):
    coef = np.polyfit(np.linspace(0.0, 1.0, 6), y, 2)
    wcoef = np.polyfit(np.linspace(0.0, 1.0, 6), y, 1, w=np.arange(1.0, 7.0))
    return np.sum(np.polyval(coef, np.array([0.3, 1.2])) ** 2) + np.sum(wcoef**2)


@case(pt(4))
def jx_polyder_polyint(p):
    return (
        np.sum(np.polyder(p) ** 2) + np.sum(np.polyint(p, k=1.5) * np.arange(5.0)) + np.sum(np.polyder(p, 2))
    )


@case(pt(2, 3, 6))
def jx_tensorsolve_tensorinv(a):
    b = a + 4 * np.eye(6).reshape(6, 2, 3).transpose(1, 2, 0)  # (2, 3, 6): invertible as 6 x 6
    return np.sum(np.linalg.tensorsolve(b, np.arange(6.0).reshape(2, 3))) + np.sum(
        np.linalg.tensorinv(b, ind=2) ** 2
    )


@case(pt(8))
def jx_histogram_weights(w):
    h, _ = np.histogram(IMG.ravel()[:8], bins=3, weights=np.exp(w))
    d, _ = np.histogram(IMG.ravel()[:8], bins=[-2.0, 0.0, 2.0], weights=w**2, density=True)
    return np.sum(h**2) + np.sum(d)


@case(pt(7))
def jx_gradient_coordinates(f):
    t = np.array([0.0, 0.1, 0.25, 0.5, 0.6, 0.9, 1.0])
    return np.sum(np.gradient(f, t) ** 2) + np.sum(np.gradient(f, t, edge_order=2) * t)


@case(pt(3, 4))
def jx_gradient_2d_coordinates(f):
    gy, gx = np.gradient(f, np.array([0.0, 0.4, 1.0]), 0.5)
    return np.sum(gx**2 + gy**3)


# ---------------------------------------------------------------------------- whole programs
T_IRREG = np.array([0.0, 0.3, 0.5, 1.1, 1.6, 2.0, 2.8, 3.0])
Y_OBS = np.exp(-0.7 * T_IRREG) * np.cos(2.0 * T_IRREG)


@case(np.array([0.6, 1.8, 0.2]))
def jx_prog_irregular_ode_residual(theta):
    # fit a damped oscillator: residual of y'' + 2ζω y' + ω² y on an irregular grid
    zeta, omega, amp = theta
    y = amp + np.exp(-zeta * T_IRREG) * np.cos(omega * T_IRREG)
    dy = np.gradient(y, T_IRREG, edge_order=2)
    d2y = np.gradient(dy, T_IRREG, edge_order=2)
    res = d2y + 2 * zeta * omega * dy + omega**2 * (y - amp)
    return np.mean(res[1:-1] ** 2) + np.sum((y - Y_OBS) ** 2)


@case(pt(16))
def jx_prog_spectral_features(x):
    # detrend with a polynomial, window, then spectral entropy and band power (scipy.fft)
    t = np.arange(16.0)
    trend = np.polyval(np.polyfit(t, x, 1), t)
    s = (x - trend) * scipy.signal.windows.hann(16)
    p = np.abs(scipy.fft.rfft(s)) ** 2 + 1e-3
    freqs = scipy.fft.rfftfreq(16)
    return st.entropy(p) + np.sum(p[freqs > 0.2]) / np.sum(p) + st.kurtosis(s)


@case(pt(3, 4))
def jx_prog_missing_data_standardise(x):
    # standardise columns ignoring missing entries, then a robust loss
    d = np.where(NANS, np.nan, x + M34)
    z = np.where(np.isnan(d), 0.0, d - np.nanmean(d, axis=0)) / (np.nanstd(d, axis=0) + 1.0)
    med = np.nanmedian(np.where(NANS, np.nan, z), axis=1)
    return np.sum(sps.huber(1.0, z)) + np.sum(med**2)


@case(pt(3, lo=-0.5, hi=0.5))
def jx_prog_dirichlet_mixture_map(v):
    # MAP objective of mixture weights with a Dirichlet prior and a multinomial likelihood
    w = sps.softmax(v)
    counts = np.array([3, 5, 2])
    return -(
        st.multinomial.logpmf(counts, counts.sum(), w) + st.dirichlet.logpdf(w, np.array([2.0, 2.0, 2.0]))
    )


@case(pt(6))
def jx_prog_scatter_accumulate(x):
    # a particle-to-grid deposit with np.add.at / np.multiply.at and a weighted histogram
    grid = np.zeros(4)
    cells = np.array([0, 1, 1, 3, 0, 2])
    np.add.at(grid, cells, np.exp(x))
    damp = np.ones(4)
    np.multiply.at(damp, cells, 1 / (1 + x**2))
    h, _ = np.histogram(np.linspace(0, 1, 6), bins=2, weights=x**2)
    return np.sum(grid * damp) + np.sum(h**2)


# ---------------------------------------------------------------------------- linear filters
SIG = np.sin(np.linspace(0.0, 6.0, 24))


@case(pt(24))
def jx_signal_savgol(x):
    return np.sum(scipy.signal.savgol_filter(x, 5, 2) ** 2) + np.sum(
        scipy.signal.savgol_filter(x, 7, 3, deriv=1, mode="nearest") * SIG
    )


@case(pt(24))
def jx_signal_filtfilt(x):
    b, a = scipy.signal.butter(2, 0.3)
    sos = scipy.signal.butter(2, 0.2, output="sos")
    return (
        np.sum(scipy.signal.filtfilt(b, a, x) ** 2)
        + np.sum(scipy.signal.sosfiltfilt(sos, x) * SIG)
        + np.sum(scipy.signal.sosfilt(sos, x) ** 2)
    )


@case(pt(24))
def jx_signal_detrend_resample(x):
    return np.sum(scipy.signal.detrend(x) ** 2) + np.sum(scipy.signal.resample(x, 9) ** 3)


@case(pt(4, 6))
def jx_ndimage_filters(x):
    import scipy.ndimage as ndi

    return (
        np.sum(ndi.gaussian_filter(x, [1.0, 0.7], mode="nearest") ** 3)
        + np.sum(ndi.uniform_filter(x, 3, mode="constant", cval=0.5) ** 2)
        + np.sum(ndi.gaussian_filter1d(x, 1.2, axis=0, order=1) * x)
    )


@case(pt(8, lo=-3.0, hi=3.0))
def jx_unwrap(x):
    phase = np.cumsum(x) * 2.0
    return np.sum(np.unwrap(phase) ** 2) + np.sum(np.unwrap(np.angle(np.exp(1j * phase))) * np.arange(8.0))


@case(pt(32))
def jx_prog_smooth_and_fit_peak(x):
    # smooth a noisy spectrum, then a Gaussian-peak least-squares misfit and its curvature
    t = np.linspace(-2.0, 2.0, 32)
    y = np.exp(-(t**2) / 0.5) + 0.1 * x
    ys = scipy.signal.savgol_filter(y, 7, 2)
    curv = np.gradient(np.gradient(ys, t), t)
    peak = np.exp(-(t**2) / 0.6)
    return np.sum((ys - peak) ** 2) + 1e-3 * np.sum(curv**2)


# ---------------------------------------------------------------------------- more idioms
@case(pt(6))
def jx_ediff1d(x):
    return np.sum(np.ediff1d(x, to_begin=[0.0], to_end=x[:2]) ** 2 * np.arange(8.0))


@case(pt(3, 3))
def jx_solve_continuous_lyapunov(a):
    import scipy.linalg as sla

    return np.trace(sla.solve_continuous_lyapunov(a - 3 * np.eye(3), -np.eye(3)))


@case(pt(4))
def jx_numpy_polynomial_evaluators(c):
    from numpy.polynomial import chebyshev, hermite, hermite_e, laguerre, legendre
    from numpy.polynomial import polynomial as poly

    t = np.linspace(-0.9, 0.9, 5)
    return sum(
        np.sum(m(t, c) ** 2)
        for m in (
            poly.polyval,
            chebyshev.chebval,
            legendre.legval,
            hermite.hermval,
            hermite_e.hermeval,
            laguerre.lagval,
        )
    ) + np.sum(poly.polyval(c, np.array([0.5, -1.0, 2.0])))


# ---------------------------------------------------------------------------- splines
KNOTS = np.linspace(0.0, 1.0, 6)


@case(pt(4, lo=0.05, hi=0.95))
def jx_spline_at_traced_points(t):
    from scipy.interpolate import CubicSpline, make_interp_spline

    cs = CubicSpline(KNOTS, np.sin(3 * KNOTS))
    bs = make_interp_spline(KNOTS, np.cos(2 * KNOTS), k=2)
    return np.sum(cs(t) ** 2) + np.sum(cs(t, 1)) + np.sum(bs(t) ** 3)


@case(pt(6))
def jx_spline_of_traced_data(y):
    from scipy.interpolate import CubicSpline, make_interp_spline

    t = np.array([0.15, 0.5, 0.77])
    cs = CubicSpline(KNOTS, y, bc_type="natural")
    return (
        np.sum(cs(t) ** 2)
        + np.sum(cs.derivative()(t))
        + cs.integrate(0.0, 1.0)
        + np.sum(make_interp_spline(KNOTS, y, k=3)(t) ** 2)
    )


@case(np.r_[np.sin(3 * KNOTS), 0.2, -0.1])
def jx_prog_spline_warp_fit(v):
    # fit spline control values and a time shift/scale so the warped spline matches data
    from scipy.interpolate import CubicSpline

    t_obs = np.linspace(0.1, 0.9, 7)
    y_obs = np.sin(3 * (t_obs * 1.1 - 0.05))
    cs = CubicSpline(KNOTS, v[:6])
    tw = np.clip(t_obs * (1 + v[7]) + v[6] * 0.1, 0.0, 1.0)
    return np.sum((cs(tw) - y_obs) ** 2) + 1e-3 * np.sum(cs(KNOTS, 2) ** 2)


# ---------------------------------------------------------------------------- matrix functions, block
E33 = _r.standard_normal((3, 3))


@case(pt(3, 3))
def jx_np_block(a):
    big = np.block([[a, np.eye(3)], [np.zeros((3, 3)), a.T**2]])
    return np.sum(big * np.arange(36.0).reshape(6, 6)) + np.sum(np.block([a[0], 2.0, a[1]]) ** 2)


@case(pt(3, 3))
def jx_linalg_trig_functions(a):
    import scipy.linalg as sla

    return (
        np.sum(sla.cosm(a) * E33)
        + np.sum(sla.sinm(a) * E33.T)
        + np.sum(sla.tanm(0.5 * a))
        + np.sum(sla.coshm(a) * E33)
        + np.sum(sla.sinhm(a))
        + np.sum(sla.tanhm(a) * E33)
    )


@case(pt(3, 3))
def jx_linalg_polar_frechet_eigvals(a):
    import scipy.linalg as sla

    u, p = sla.polar(a + 3 * np.eye(3))
    _, pl = sla.polar(a + 3 * np.eye(3), side="left")
    return (
        np.sum(u * E33)
        + np.sum(p * E33.T)
        + np.sum(pl)
        + np.sum(sla.expm_frechet(a, E33)[1] * E33)
        + np.sum(np.abs(sla.eigvals(a)))
    )


@case(pt(4, lo=0.1, hi=2.0))
def jx_sp_lambertw(x):
    return np.sum(np.real(sps.lambertw(x)) ** 2) + np.sum(np.real(sps.lambertw(0.1 * x, 0)))


@case(pt(6))
def jx_interp1d_of_traced_data(y):
    from scipy.interpolate import interp1d

    t = np.array([0.15, 0.5, 0.77])
    return (
        np.sum(interp1d(KNOTS, y)(t) ** 2)
        + np.sum(interp1d(KNOTS, y, kind="cubic")(t))
        + np.sum(interp1d(KNOTS, y, kind="quadratic", fill_value="extrapolate")(np.array([1.2])) ** 2)
        + np.sum(interp1d(KNOTS, y)(0.3 + 0.1 * y[:2]) ** 2)
    )


@case(pt(20))
def jx_constant_buffers_as_knots_and_coefficients(x):
    # knots, bins and filter coefficients built inside f with np.linspace / np.array
    from scipy.interpolate import CubicSpline

    knots = np.linspace(0.0, 1.0, 5)
    s = CubicSpline(knots, x[:5])(np.array([0.3, 0.6]))
    h, _ = np.histogram(np.linspace(0.0, 1.0, 20), bins=np.linspace(0.0, 1.0, 4), weights=x**2)
    y = scipy.signal.filtfilt(np.array([0.5, 0.5]), np.array([1.0, -0.2]), x)
    return np.sum(s**2) + np.sum(h**2) + np.sum(y**2)


KDE_DATA = _r.standard_normal((2, 25))


@case(pt(6))
def jx_stats_gaussian_kde_at_traced_points(x):
    kde1 = st.gaussian_kde(KDE_DATA[0])
    kde2 = st.gaussian_kde(KDE_DATA, weights=np.linspace(0.5, 1.0, 25))
    return np.sum(np.log(kde1(x))) + np.sum(kde2.logpdf(x.reshape(2, 3))) + np.sum(kde2.pdf(x[:2]))
