"""Statistics, padding, products and the ``math`` module (composites added for the broad suite)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from engine_helpers import check_both_modes

from anydiff import engine as E

rng = np.random.default_rng(3)
X = rng.standard_normal(12)


@pytest.mark.parametrize(
    "f",
    [
        lambda z: np.cov(z.reshape(3, 4), ddof=0).ravel(),
        lambda z: np.cov(z[:6], z[6:], bias=True).ravel(),
        lambda z: np.cov(z.reshape(4, 3), rowvar=False).ravel(),
        lambda z: np.corrcoef(z.reshape(2, 6)).ravel(),
        lambda z: np.quantile(z.reshape(3, 4), [0.1, 0.5, 0.9], axis=1).ravel(),
        lambda z: np.percentile(z, 37.0, keepdims=True),
        lambda z: np.median(z.reshape(3, 4), axis=0, keepdims=True).ravel(),
        lambda z: np.ptp(z.reshape(3, 4), axis=1),
        lambda z: np.nanmean(np.where(np.arange(12) % 5 == 0, np.nan, z).reshape(3, 4), axis=1),
        lambda z: np.nanmax(np.where(np.arange(12) == 3, np.nan, z)) + np.nanprod(z[:3]),
        lambda z: np.maximum.accumulate(z.reshape(3, 4), axis=1).ravel(),
        lambda z: np.minimum.accumulate(z) + np.add.accumulate(z) + np.multiply.accumulate(z[:3])[-1],
        lambda z: np.pad(z.reshape(3, 4), ((1, 0), (2, 1)), constant_values=((1.0, 2.0), (3.0, 4.0))).ravel(),
        lambda z: np.pad(z.reshape(3, 4), 2, mode="symmetric").ravel(),
        lambda z: np.pad(z, (3, 2), mode="wrap"),
        lambda z: np.concatenate([a.ravel() for a in np.meshgrid(z[:2], z[2:5], z[5:6], indexing="ij")]),
        lambda z: np.kron(z[:4].reshape(2, 2), z[4:10].reshape(3, 2)).ravel(),
        lambda z: np.linalg.multi_dot([z[:3], z[3:12].reshape(3, 3), z[:3]]),
        lambda z: np.concatenate(
            [
                np.linalg.lstsq(z.reshape(4, 3), np.arange(4.0), rcond=None)[0],
                np.linalg.lstsq(z.reshape(4, 3), np.arange(4.0), rcond=None)[1],
            ]
        ),
        lambda z: np.extract(z > 0, z) * 2.0,
    ],
)
def test_composites_match_fd(f):
    check_both_modes(f, X)


def test_unsupported_options_raise_naming_them():
    def pad_fn(vector, width, axis, kwargs):  # a callable mode: no rule
        vector[: width[0]] = 0.0

    with pytest.raises(E.EngineError, match=r"np\.pad with mode=.*callable"):
        E.grad(lambda z: np.sum(np.pad(z, 1, mode=pad_fn)), X)
    with pytest.raises(E.EngineError, match="method='inverted_cdf'"):
        E.grad(lambda z: np.quantile(z, 0.3, method="inverted_cdf"), X)
    with pytest.raises(E.EngineError, match="aweights"):
        E.grad(lambda z: np.sum(np.cov(z.reshape(3, 4), aweights=np.ones(4))), X)


def test_math_module_on_traced_scalars_both_modes():
    def f(z):
        return (
            math.sin(z[0]) * math.exp(z[1])
            + math.log(2 + z[2], 3)
            + math.hypot(z[0], z[1], z[2])
            + (math.pow(1.5 + z[3], 2.5) + math.lgamma(2 + z[4]) + math.erf(z[5]))
        )

    check_both_modes(f, X[:6] * 0.5)
    assert math.sin.__module__ == "math" or math.sin is math.__dict__["sin"]
    assert type(math.sin).__name__ == "builtin_function_or_method"  # restored after the trace


def test_math_module_other_threads_and_bound_names():
    seen = []

    def f(z):
        t = threading.Thread(target=lambda: seen.append(math.sqrt(4.0)))
        t.start()
        t.join()
        return math.sqrt(1 + z[0] ** 2)

    np.testing.assert_allclose(E.grad(f, np.array([0.5])), [0.5 / math.sqrt(1.25)], rtol=1e-14)
    assert seen == [2.0] and type(seen[0]) is float
    from math import exp as bound_exp

    with pytest.raises(E.EngineError, match="dropped a derivative"):  # bound before: the original
        E.grad(lambda z: bound_exp(z[0]), np.array([0.5]))
    with pytest.raises(TypeError, match="length-1"):
        E.grad(lambda z: math.exp(z) * 1.0, np.array([0.5, 1.0]))
