"""A broad NumPy/SciPy gradient suite: ~200 small functions as scientists write them.

Every case (``broad_cases*.py``) is differentiated by the engine in both modes (reverse and
forward), unprepared and prepared (prepared at a nearby point, then called at ``x``), through
the public ``anydiff.gradient`` / ``anydiff.prepare_gradient``, and compared with fourth-order
central differences of the plain function (error ~1e-11 at these sizes).  Cases the engine
does not support are listed in :data:`EXPECTED_ERRORS`: they must raise ``EngineError`` (never a
number).  ``python tests/engine/test_broad_suite.py`` prints the pass rate.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import broad_cases  # noqa: E402
import broad_cases_ag  # noqa: E402, F401  (registers its cases)
import broad_cases_arrays  # noqa: E402, F401  (registers its cases)
import broad_cases_audit  # noqa: E402, F401  (registers its cases, own random points)
import broad_cases_b2  # noqa: E402, F401  (registers its cases)
import broad_cases_b2_idioms  # noqa: E402, F401  (registers its cases)
import broad_cases_jx  # noqa: E402, F401  (registers its cases)
import broad_cases_linalg  # noqa: E402, F401  (registers its cases)
import broad_cases_more  # noqa: E402, F401  (registers its cases)
import broad_cases_scipy  # noqa: E402, F401  (registers its cases)

import anydiff as ad  # noqa: E402
from anydiff.engine import EngineError  # noqa: E402

CASES = {name: (f, x) for name, f, x in broad_cases.CASES}

#: cases the engine refuses with EngineError: the pattern the message must contain (it names the
#: function), asserted, not skipped
EXPECTED_ERRORS: dict[str, str] = {
    # np.float64(traced): a C scalar type, it cannot hold a derivative; the message names the fix
    "b2_float32_roundtrip": r"np\.float64\(np\.sum.*np\.asarray\(x, dtype=np\.float64\)",
    "ag_mvn_singular_cov_traced": r"multivariate_normal with allow_singular",  # rank not constant
    "ag_refusal_names_decorated_scipy_function": r"^scipy\.linalg\.funm \(",  # not "scipy.wrapper"
}

MODES = ("reverse", "forward")


def _fd(f: Callable, x: np.ndarray) -> np.ndarray:
    """Fourth-order central differences of real ``f`` (complex x: d/dRe + i d/dIm)."""

    def real_grad(fr: Callable, xr: np.ndarray) -> np.ndarray:
        g = np.zeros_like(xr)
        for k in range(xr.size):
            h = 1e-3 * max(1.0, abs(xr.flat[k]))
            e = np.zeros_like(xr)
            e.flat[k] = h
            g.flat[k] = (8 * (fr(xr + e) - fr(xr - e)) - (fr(xr + 2 * e) - fr(xr - 2 * e))) / (12 * h)
        return g

    if np.iscomplexobj(x):
        n = x.size
        both = np.concatenate([x.real.ravel(), x.imag.ravel()])
        gb = real_grad(lambda v: float(np.real(f((v[:n] + 1j * v[n:]).reshape(x.shape)))), both)
        return (gb[:n] + 1j * gb[n:]).reshape(x.shape)
    return real_grad(lambda v: float(f(v)), x)


def _engine_grads(f: Callable, x: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    x_prep = np.asarray(x + 1e-4 * np.cos(np.arange(x.size)).reshape(x.shape))  # nearby (0-d stays an array)
    for mode in MODES:
        b = ad.AutoEngine(mode)
        out[mode] = np.asarray(ad.gradient(f, b, x))
        prep = ad.prepare_gradient(f, b, x_prep)
        out[mode + " prepared"] = np.asarray(prep(x))
    return out


def check_case(name: str) -> None:
    f, x = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy deprecations and the like: not ours to judge
        ref = _fd(f, x)
        grads = _engine_grads(f, x)
    scale = max(1.0, float(np.max(np.abs(ref))))
    for label, g in grads.items():
        assert g.shape == x.shape, (name, label, g.shape)
        np.testing.assert_allclose(g, ref, rtol=1e-7, atol=1e-8 * scale, err_msg=f"{name} [{label}]")


@pytest.mark.parametrize("name", [n for n in CASES if n not in EXPECTED_ERRORS])
def test_case_matches_finite_differences(name: str) -> None:
    check_case(name)


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_unsupported_case_raises_engine_error_naming_it(name: str) -> None:
    with pytest.raises(EngineError, match=EXPECTED_ERRORS[name]):
        check_case(name)


def test_suite_is_broad_and_mostly_supported() -> None:
    assert len(CASES) >= 150
    assert len(CASES) == len(broad_cases.CASES), "two cases share a name"
    assert len(EXPECTED_ERRORS) <= 0.05 * len(CASES), "the pass rate must stay >= 95 %"


if __name__ == "__main__":  # pass-rate report
    fails = {}
    for n in CASES:
        try:
            check_case(n)
        except Exception as e:  # noqa: BLE001 - a report of every kind of failure
            fails[n] = f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"
    for n, m in fails.items():
        print(f"{n:32s} {m}")
    print(f"passed {len(CASES) - len(fails)}/{len(CASES)} = {100 * (1 - len(fails) / len(CASES)):.1f} %")
