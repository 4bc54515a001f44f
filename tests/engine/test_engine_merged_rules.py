"""Rules that two implementations each had half of (kept together when they were merged)."""

import numpy as np
import pytest
import scipy.signal
import scipy.stats as st

import anydiff.engine as E


def _fd(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


SOS = np.array([[0.2, 0.4, 0.2, 1.0, -0.5, 0.2], [1.0, 0.0, -1.0, 1.0, 0.1, 0.3]])


def test_sosfilt_traced_sections_and_nd_signal():
    sig = np.linspace(-1.0, 1.0, 7)

    def in_sections(c):  # traced filter coefficients (a chain of lfilter)
        sos = np.concatenate([SOS[:, :3] * c[0], SOS[:, 3:4], SOS[:, 4:] * c[0]], axis=1)
        return np.sum(scipy.signal.sosfilt(sos, sig) ** 2)

    c0 = np.array([0.9])
    np.testing.assert_allclose(E.grad(in_sections, c0), _fd(in_sections, c0), rtol=1e-7)
    with pytest.raises(ValueError, match="all ones"):  # SciPy's check of the sections
        E.grad(lambda c: np.sum(scipy.signal.sosfilt(SOS * c[0], sig)), c0)

    def nd(x):  # a 2-D signal filtered along axis 0 (constant sections)
        return np.sum(scipy.signal.sosfilt(SOS, np.reshape(x, (4, 2)), axis=0) ** 2)

    x0 = np.linspace(0.1, 0.8, 8)
    np.testing.assert_allclose(E.grad(nd, x0), _fd(nd, x0), rtol=1e-7)


def test_frozen_singular_multivariate_normal():
    cov = np.array([[1.0, 1.0], [1.0, 1.0]])  # singular: the density lives on x0 == x1
    frozen = st.multivariate_normal(np.zeros(2), cov, allow_singular=True)

    def f(t):
        return frozen.logpdf(np.stack([t[0], t[0]]))

    t0 = np.array([0.3])
    assert np.isclose(f(t0), E.value_and_grad(f, t0)[0])
    np.testing.assert_allclose(E.grad(f, t0), _fd(f, t0), rtol=1e-6)


def test_summary_statistics_follow_scipy_options():
    x0 = np.array([[0.3, 1.2, -0.4], [0.9, -0.2, 0.5]])
    # bias=False corrects kurtosis only for n > 3 (here n = 3 along axis 1): SciPy's value
    kurt = E.value_and_grad(lambda x: np.sum(st.kurtosis(x, axis=1, bias=False)), x0)
    np.testing.assert_allclose(kurt[0], np.sum(st.kurtosis(x0, axis=1, bias=False)), rtol=1e-13)
    for f in (
        lambda x: np.sum(st.skew(x, axis=1, keepdims=True) * np.arange(1.0, 3.0)[:, None]),
        lambda x: np.sum(st.variation(x, 1, "propagate", 1)),  # positional nan_policy, ddof
        lambda x: np.sum(st.moment(x, 3, axis=None, center=0.1)),
    ):
        g = E.grad(f, x0)
        np.testing.assert_allclose(g.ravel(), _fd(lambda v, f=f: f(v.reshape(2, 3)), x0.ravel()), rtol=1e-6)
    with pytest.raises(E.EngineError, match="nan_policy"):
        E.grad(lambda x: np.sum(st.sem(x, nan_policy="omit")), x0)
    with pytest.raises(E.EngineError, match="pmean with keepdims"):
        E.grad(lambda x: np.sum(st.pmean(np.abs(x), 2.0, keepdims=True)), x0)


def test_histogram_and_ldexp_refuse_traced_choices():
    x0 = np.array([0.1, 0.4, 0.45, 0.9])
    with pytest.raises(E.EngineError, match="traced bin edges"):
        E.grad(lambda x: np.sum(np.histogram(x, bins=np.sort(x), weights=x)[0]), x0)
    with pytest.raises(E.EngineError, match="ldexp with a traced exponent"):
        E.grad(lambda x: np.sum(np.ldexp(2.0, x)), x0)


X24 = np.random.default_rng(7).normal(size=24)


def _s(z):
    return np.reshape(z, (2, 3, 4))


@pytest.mark.parametrize(
    "f",
    [
        # a tuple of axes is one flattened vector per remaining index (a matrix 2-norm over
        # (0, 1) was the old value: silently wrong)
        lambda z: np.sum(np.linalg.vector_norm(_s(z), axis=(0, 1)) * [1.0, 2.0, 3.0, 4.0]),
        lambda z: np.sum(np.linalg.vector_norm(_s(z), axis=(2, 0), ord=1, keepdims=True)),
        # max/min abs row or column sums over an axis pair of a stack (raised before)
        lambda z: np.sum(np.linalg.norm(_s(z), ord=1, axis=(2, 1), keepdims=True) * [1.0, 2.0]),
        lambda z: np.sum(np.linalg.norm(_s(z), ord=-np.inf, axis=(0, 2)) * [1.0, 2.0, 3.0]),
        # the rank is an integer: no derivative, and the rest of f still differentiates
        lambda z: np.linalg.matrix_rank(np.reshape(z[:9], (3, 3))) * np.sum(z**2),
    ],
)
def test_array_api_norms_and_rank_match_numpy_and_fd(f):
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(E.jacobian(f, X24, mode=mode), _fd(f, X24), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(E.value_and_grad(f, X24)[0], f(X24), rtol=1e-14)


def test_gradient_coordinates_of_the_wrong_length_raise_numpys_error():
    with pytest.raises(ValueError, match="distances must match the length"):
        E.grad(lambda z: np.sum(np.gradient(z[:6], [0.0, 1.0, 2.0])), X24)
