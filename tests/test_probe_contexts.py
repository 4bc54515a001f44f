"""Contexts that are not plain arrays: pytrees mixing arrays with ints / strings, and values
with no array leaf at all (None, {}). They reach ``f`` on every backend, arrays converted."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]
X = np.array([1.0, 2.0, 3.0])


def _xp(x):
    return ad.array_namespace(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_next_to_ints_in_a_constant_are_the_backends_arrays(backend):
    # Before: under torch the NumPy leaf of a mixed context reached f unconverted, and
    # torch raised (with a hint to pass the data as ad.Constant, which the user had done).
    def f(x, c):
        return _xp(x).sum(c[0] * x[: c[1]] ** 2) * c[2]["s"]

    ctx = ad.Constant((np.array([1.0, 2.0]), 2, {"s": np.array(0.5), "name": "w"}))
    g = ad.gradient(f, backend, X, ctx)
    np.testing.assert_allclose(g, [1.0, 4.0, 0.0], rtol=1e-6)
    prep = ad.prepare_gradient(f, backend, X, ctx)
    np.testing.assert_allclose(prep(X + 1, ctx), [2.0, 6.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value", [None, {}, ()], ids=["None", "empty-dict", "empty-tuple"])
def test_a_context_without_array_leaves_is_passed(backend, value):
    # Before: under JAX a context such as Constant(None) was dropped: f got one argument too
    # few and a bare TypeError came back.
    seen = []

    def f(x, c):
        seen.append(c)
        return _xp(x).sum(x**2)

    g = ad.gradient(f, backend, X, ad.Constant(value))
    np.testing.assert_allclose(g, 2 * X, rtol=1e-6)
    assert seen and all(c == value for c in seen)
