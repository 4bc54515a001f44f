"""More SciPy for traced arguments: scipy.linalg decompositions (SciPy's own drivers, so its
vector signs), structured matrices, and more scipy.stats distributions (with ppf)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sla
import scipy.stats as st
from engine_helpers import check_both_modes

from anydiff import engine as E

rng = np.random.default_rng(11)
C = rng.standard_normal((3, 3))


def _sym(z):
    M = np.reshape(z, (3, 3))
    return M + M.T + np.diag([0.0, 3.0, 6.0])


@pytest.mark.parametrize(
    "f",
    [
        # not sign-invariant: the derivative of SciPy's own vectors (driver "evd": the default
        # "evr" flips vector signs under tiny perturbations, so only sign-invariant functions
        # of its vectors are differentiable)
        lambda z: np.concatenate(
            [sla.eigh(_sym(z))[0], (sla.eigh(_sym(z), lower=False, driver="evd")[1] * C).ravel()]
        ),
        lambda z: (sla.eigh(_sym(z))[1] ** 2 * C).ravel(),
        lambda z: sla.eigvalsh(_sym(z)) ** 2,
        lambda z: np.concatenate([a.ravel() for a in sla.svd(np.reshape(z, (3, 3)))]),
        lambda z: sla.svd(np.reshape(z, (3, 3)), compute_uv=False),
        lambda z: np.concatenate([a.ravel() for a in sla.qr(np.reshape(z, (3, 3)))]),
        lambda z: sla.qr(np.reshape(z[:8], (4, 2)), mode="r")[0].ravel(),
        lambda z: np.concatenate([a.ravel() for a in sla.qr(np.reshape(z[:8], (4, 2)), mode="economic")]),
        lambda z: sla.pinv(np.reshape(z[:6], (3, 2))).ravel(),
        lambda z: sla.lstsq(np.reshape(z[:6], (3, 2)), np.array([1.0, 2.0, 3.0]))[0],
        lambda z: np.stack([sla.norm(z), sla.norm(np.reshape(z, (3, 3)), 1)]),
        lambda z: sla.block_diag(np.reshape(z[:4], (2, 2)), z[4:6], z[6]).ravel(),
        lambda z: np.concatenate([sla.toeplitz(z[:3], z[3:7]).ravel(), sla.toeplitz(z[:2]).ravel()]),
        lambda z: np.concatenate([sla.circulant(z[:4]).ravel(), sla.hankel(z[:3], z[2:6]).ravel()]),
        lambda z: np.concatenate(
            [
                a.ravel()
                for a in (*sla.lu(np.reshape(z, (3, 3))), *sla.lu(np.reshape(z, (3, 3)), permute_l=True))
            ]
        ),
    ],
)
def test_scipy_linalg_matches_fd(f):
    check_both_modes(f, rng.standard_normal(9))


def test_scipy_linalg_unsupported_options_raise():
    with pytest.raises(E.EngineError, match="mode='full'"):
        E.grad(lambda z: np.sum(sla.qr(np.reshape(z[:8], (4, 2)))[0]), rng.standard_normal(9))
    with pytest.raises(E.EngineError, match="b= or subsets"):
        E.grad(lambda z: np.sum(sla.eigh(_sym(z), np.eye(3))[0]), rng.standard_normal(9))


_DISTS = [
    ("uniform", (), 0.5, 0.9),
    ("cauchy", (), None, None),
    ("laplace", (), None, None),
    ("lognorm", (0.7,), 0.5, None),
    ("chi2", (3.0,), 0.5, None),
    ("halfnorm", (), 0.5, None),
    ("invgamma", (2.5,), 0.5, None),
    ("weibull_min", (1.7,), 0.5, None),
    ("pareto", (2.5,), 1.5, None),
    ("gumbel_r", (), None, None),
    ("rayleigh", (), 0.5, None),
]


@pytest.mark.parametrize("name, shapes, lo, hi", _DISTS, ids=[d[0] for d in _DISTS])
def test_more_distributions_all_methods_match_fd(name, shapes, lo, hi):
    from anydiff.engine._scipy_stats import methods_of

    dist = getattr(st, name)
    lo = -1.5 if lo is None else lo
    hi = lo + 1.0 if hi is None else hi
    x = np.linspace(lo, hi, 3)
    q = np.array([0.2, 0.5, 0.8])
    for m in methods_of(name):
        pts = q if m in ("ppf", "isf") else x
        f = lambda z, m=m, pts=pts: getattr(dist, m)(pts, *shapes, loc=0.1 * z[0], scale=1.2 + 0.1 * z[1])  # noqa: E731
        check_both_modes(f, np.array([0.3, 0.4]), rtol_fd=1e-5, atol_fd=1e-7)
        np.testing.assert_allclose(
            E.jvp(f, np.array([0.3, 0.4]), [np.ones(2)])[0], f(np.array([0.3, 0.4])), rtol=1e-12
        )
    if shapes:  # derivative in the shape parameter too, where its special function has one
        g = lambda z: dist.logpdf(x, *(np.asarray(shapes) + 0.1 * z[0]))  # noqa: E731
        check_both_modes(g, np.array([0.3]), rtol_fd=1e-5, atol_fd=1e-7)


def test_norm_ppf_and_unsupported_method_raise():
    check_both_modes(
        lambda z: st.norm.ppf(np.array([0.1, 0.6]), loc=z[0], scale=np.exp(z[1])), np.array([0.2, 0.1])
    )
    check_both_modes(lambda z: st.norm.ppf(0.2 + 0.5 * z), np.array([0.3, 0.9]))
    with pytest.raises(E.EngineError, match="scipy.stats.chi2.ppf"):
        E.grad(lambda z: np.sum(st.chi2.ppf(0.3, z)), np.array([2.0]))


@pytest.mark.parametrize(
    "f",
    [
        lambda z: st.poisson.logpmf([0, 1, 3, -1, 2.5], np.exp(z[0])),
        lambda z: st.poisson.pmf(np.array([0, 2]), mu=np.exp(z[0])) + st.poisson.cdf([1, 4], np.exp(z[0])),
        lambda z: st.poisson.sf(np.array([1.0, 3.0]), np.exp(z[0]), loc=1),
        lambda z: st.binom.logpmf([0, 2, 5, 6], 5, 1 / (1 + np.exp(-z[0]))),
        lambda z: st.binom.cdf([0, 2, 5], 5, 1 / (1 + np.exp(-z[0]))) + st.binom.sf(1, 5, 0.3 + 0.1 * z[0]),
        lambda z: st.bernoulli.logpmf([0, 1], 0.4 + 0.1 * z[0]),
        lambda z: st.geom.logpmf([1, 3], 0.3 + 0.1 * z[0]) + st.geom.cdf([1, 2], 0.3 + 0.1 * z[0]),
        lambda z: st.nbinom.logpmf([0, 3], 2.5 + z[0], 0.4) + st.nbinom.cdf([2, 4], 2.5, 0.4 + 0.1 * z[0]),
    ],
)
def test_discrete_distributions_in_their_parameters(f):
    x = np.array([0.2])
    with np.errstate(divide="ignore"):
        ref = f(x)
        check_both_modes(lambda z: np.where(np.isfinite(ref), f(z), 0.0), x, rtol_fd=1e-6, atol_fd=1e-8)
        np.testing.assert_allclose(E.jvp(f, x, [np.ones(1)])[0], ref, rtol=1e-12)


@pytest.mark.parametrize(
    "f",
    [
        lambda z: si.trapezoid(z**2, dx=0.1) + si.trapezoid(np.sin(z), x=np.linspace(0.0, 1.0, 6) ** 2),
        lambda z: np.stack(
            [si.simpson(z**2, dx=0.1), si.simpson(z[:5] ** 3, x=np.array([0, 0.1, 0.3, 0.6, 1.0]))]
        ),
        lambda z: si.simpson(np.reshape(z, (2, 3)) ** 2, x=np.array([0.0, 0.5, 2.0]), axis=1),
        lambda z: si.cumulative_trapezoid(z**2, dx=0.5, initial=0),
        lambda z: si.cumulative_trapezoid(np.reshape(z, (3, 2)), x=np.array([0.0, 0.3, 1.0]), axis=0).ravel(),
    ],
)
def test_scipy_integrate_sampled_data(f):
    z = rng.standard_normal(6)
    check_both_modes(f, z)
    np.testing.assert_allclose(E.jvp(f, z, [np.ones(6)])[0], f(z), rtol=1e-13)


def test_scipy_integrate_compiled_solvers_raise_naming_them():
    with pytest.raises(E.EngineError, match="scipy.integrate.quad"):
        E.grad(lambda z: si.quad(lambda t: t * z[0], 0, 1)[0], np.array([0.5]))
    with pytest.raises(E.EngineError, match="simpson with traced sample points"):
        E.grad(lambda z: si.simpson(np.ones(3), x=z), np.array([0.0, 0.5, 1.0]))


@pytest.mark.parametrize(
    "metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "cosine"]
)
def test_spatial_distances(metric):
    import scipy.spatial.distance as ssd

    kw = {"p": 3.0} if metric == "minkowski" else {}
    B = rng.standard_normal((2, 3))

    def f(z):
        X = np.reshape(z, (3, 3))
        return np.concatenate([ssd.cdist(X, B, metric, **kw).ravel(), ssd.pdist(X, metric, **kw)])

    z = rng.standard_normal(9)
    check_both_modes(f, z)
    np.testing.assert_allclose(E.jvp(f, z, [np.ones(9)])[0], f(z), rtol=1e-13)
    check_both_modes(
        lambda v: np.concatenate([ssd.squareform(v).ravel(), ssd.squareform(ssd.squareform(v) * 2.0)]),
        rng.standard_normal(6),
    )


def test_lfilter_in_signal_and_coefficients():
    import scipy.signal as ss

    def f(z):
        return np.concatenate(
            [
                ss.lfilter([1.0, 0.3], [1.0, -0.5], z),
                ss.lfilter(z[:2], [2.0, 0.1 * z[2], 0.05], np.arange(5.0)),
            ]
        )

    z = rng.standard_normal(5)
    check_both_modes(f, z)
    np.testing.assert_allclose(E.jvp(f, z, [np.ones(5)])[0], f(z), rtol=1e-13)
    with pytest.raises(E.EngineError, match="lfilter with zi="):
        E.grad(lambda v: np.sum(ss.lfilter([1.0], [1.0, -0.5], v, zi=np.zeros(1))[0]), z)


def test_vectorize_runs_the_python_function_per_element():
    vf = np.vectorize(lambda t, s: t * t * s if t > 0 else -t)
    f = lambda z: vf(np.reshape(z, (2, 3)), np.array([1.0, 2.0, 3.0])).ravel()  # noqa: E731
    z = rng.standard_normal(6)
    check_both_modes(f, z)
    assert np.vectorize.__call__.__name__ == "__call__"  # NumPy's own again after the trace
    np.testing.assert_array_equal(vf(np.array([1.0, -2.0]), 2.0), [2.0, 2.0])
