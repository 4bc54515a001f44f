"""Fixes found by the array-library gradient suites that the broad (first-order) suite cannot
show: second derivatives at a numerically singular matrix, values of the new quantile methods."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.engine import EngineError

_r = np.random.default_rng(77)
# rank 2 in exact arithmetic: det is ~1e-17 from rounding, inv(a) does not raise
SING = _r.standard_normal((3, 2)) @ _r.standard_normal((2, 3))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_det_hessian_at_a_numerically_singular_matrix_raises(mode: str) -> None:
    # det(a) * inv(a) there is rounding error times a huge inverse: its derivative was a wrong number
    with pytest.raises(EngineError, match=r"higher derivative of np\.linalg\.det at a singular matrix"):
        ad.hessian(np.linalg.det, ad.AutoEngine(mode), SING)


def test_det_gradient_at_a_numerically_singular_matrix_is_the_cofactor_matrix() -> None:
    g = ad.gradient(np.linalg.det, ad.AutoEngine("reverse"), SING)
    cof = np.array(
        [
            [np.linalg.det(np.delete(np.delete(SING, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(g, cof, atol=1e-12)


def test_det_hessian_of_a_regular_matrix_still_matches_finite_differences() -> None:
    a = _r.standard_normal((3, 3)) + 2 * np.eye(3)
    H = ad.hessian(np.linalg.det, ad.AutoEngine("reverse"), a)
    Hfd = ad.hessian(np.linalg.det, "finitediff", a)
    np.testing.assert_allclose(H, Hfd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["lower", "higher", "nearest", "midpoint"])
@pytest.mark.parametrize("n", [4, 5, 8])
def test_quantile_method_values_match_numpy(method: str, n: int) -> None:
    a = _r.standard_normal(n)
    for q in (0.0, 0.1, 0.25, 0.5, 0.7, 1.0, 0.5 / (n - 1), 1.5 / (n - 1)):
        v, g = ad.value_and_gradient(lambda x, q=q: np.quantile(x, q, method=method), "engine", a)
        assert v == np.quantile(a, q, method=method), (method, n, q)
        assert np.count_nonzero(g) in (1, 2) and np.isclose(np.sum(g), 1.0)


def test_linear_filters_with_traced_coefficients_raise_naming_them() -> None:
    import scipy.signal as ss

    sig = np.sin(np.linspace(0, 6, 20))
    with pytest.raises(EngineError, match=r"scipy\.signal\.filtfilt .*traced b"):
        ad.gradient(lambda b: np.sum(ss.filtfilt(b, [1.0, -0.5], sig)), "engine", np.array([0.5, 0.5]))
    with pytest.raises(EngineError, match=r"gaussian_filter1d with output="):
        import scipy.ndimage as ndi

        ad.gradient(lambda x: np.sum(ndi.gaussian_filter1d(x, 1.0, output=np.zeros(20))), "engine", sig)


def test_hvp_through_a_fancy_index_after_a_traced_partial_cotangent() -> None:
    # forward-over-reverse: the scatter fast path added a traced partial cotangent into a plain
    # buffer (a misleading out= EngineError); such sums take the general route now
    x = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]])

    def f(x):
        stacked = np.stack([x[0], x[1] ** 2])
        picked = stacked[np.array([[0, 1, 0, 1]]), np.arange(4)[None]][0]
        return np.sum(picked * np.arange(4.0)) + np.sum(
            np.choose(np.array([1, 0, 1, 0]), [x[0], x[1] ** 3]) ** 2
        )

    v = np.cos(np.arange(8.0)).reshape(2, 4)
    H = ad.hessian(f, "finitediff", x).reshape(8, 8)
    for mode in ("reverse", "forward"):
        hv = ad.hvp(f, ad.AutoEngine(mode), x, v)
        np.testing.assert_allclose(np.ravel(hv), H @ v.ravel(), rtol=1e-5, atol=1e-5)
