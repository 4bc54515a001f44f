"""Prepared (replayed) derivatives when a mask, sign, bin or branch is read from the values.

Each function is prepared at one point and called at another where the mask (NaN pattern,
running maximum, selected branch, sign, bin, real/complex eigenvalues, binary exponent)
differs: the result must equal a fresh derivative at the new point (the tape re-traces), never
the recorded branch's derivative.  Before, these reused the recorded mask: wrong numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

import anydiff as ad

W3 = np.array([1.0, 2.0, 3.0])
LO = np.array([0.1, 0.7, 0.9])  # preparation point
HI = np.array([0.9, 0.2, 0.1])  # call point: every mask below flips

CASES: dict[str, tuple[Callable, np.ndarray, np.ndarray]] = {
    "maximum_accumulate": (lambda x: np.sum(np.maximum.accumulate(x) * W3), LO, HI),
    "nansum": (lambda x: np.nansum(np.where(x > 0.5, np.nan, x) * W3), LO, HI),
    "nanmean": (lambda x: np.nanmean(np.where(x > 0.5, np.nan, x) ** 2), LO, HI),
    "nanmax": (lambda x: np.nanmax(np.where(x > 0.5, np.nan, x) * W3), LO, HI),
    "nanvar": (lambda x: np.nanvar(np.where(x > 0.8, np.nan, x) * W3), LO, HI),
    "mean_where": (lambda x: np.mean(x**2 * W3, where=x > 0.5), LO, HI),
    "piecewise": (lambda x: np.sum(np.piecewise(x, [x < 0.5, x >= 0.5], [lambda v: v**2, np.sin])), LO, HI),
    "copysign": (lambda x: np.sum(np.copysign(x**2, x - 0.5)), LO, HI),
    "extract": (lambda x: np.sum(np.extract(x > 0.5, x) ** 2), LO, HI),
    "bincount_of_digitize": (
        lambda x: np.sum(
            np.bincount(np.digitize(x, [0.5]), weights=x**2, minlength=2) * np.array([1.0, 5.0])
        ),
        LO,
        HI,
    ),
    "eigvals_real_to_complex": (
        lambda x: np.sum(np.abs(np.linalg.eigvals(np.array([[x[0], x[1]], [-x[2], 0.3]]))) ** 2),
        np.array([0.2, 0.1, -0.5]),  # real eigenvalues
        np.array([0.2, 0.9, 0.8]),  # a complex pair
    ),
    "frexp_exponent": (lambda x: np.sum(np.frexp(x * 3)[0]), LO, HI),
    "unwrap_jumps": (lambda x: np.sum(np.unwrap(np.cumsum(x) * 8.0) * W3), LO, HI),
}


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_prepared_elsewhere_matches_a_fresh_derivative(name: str, mode: str) -> None:
    f, x0, x1 = CASES[name]
    b = ad.AutoEngine(mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN entries and their comparisons
        fresh = np.asarray(ad.gradient(f, b, x1))
        replayed = np.asarray(ad.prepare_gradient(f, b, x0)(x1))
        fd = np.asarray(ad.gradient(f, "finitediff", x1))
    np.testing.assert_allclose(fresh, fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(replayed, fresh, rtol=1e-12, atol=1e-12)
