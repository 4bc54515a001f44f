"""Hessian patterns against those read off dense engine Hessians at random points."""

from __future__ import annotations

import numpy as np
import pytest
from sparse_helpers import assert_superset, dense_hessian_pattern

import anydiff as ad

LOCAL = ad.TracerSparsityDetector(local=True)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def arrow(x):
    return x[0] * np.sum(x[1:]) + np.sum(np.exp(x[1:]))


def quadratic_band(x):
    return np.sum(x[1:] * x[:-1]) + np.sum(x**2)


def stencil(x):
    u = x.reshape(4, 4)
    lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
    return np.sum(lap**2)


def separable(x):
    return np.sum(np.sin(x)) + np.sum(3.0 * x)


def blocks(x):
    b = x.reshape(3, 2)
    return np.sum(np.prod(b, axis=1)) + np.sum(np.log1p(b**2))


def mixed_ops(x):
    A = x[:4].reshape(2, 2)
    return np.sum(A @ x[4:6]) + x[6] / x[7] + np.linalg.norm(x[:2]) + np.logaddexp(x[2], x[3])


EXACT = {
    "rosenbrock": (rosenbrock, 8),
    "arrow": (arrow, 6),
    "quadratic_band": (quadratic_band, 6),
    "stencil": (stencil, 16),
    "separable": (separable, 5),
    "blocks": (blocks, 6),
    "mixed_ops": (mixed_ops, 8),
}


@pytest.mark.parametrize("name", sorted(EXACT))
@pytest.mark.parametrize("local", [False, True], ids=["global", "local"])
def test_exact_structure(name, local, rng):
    f, n = EXACT[name]
    x = rng.normal(size=n) + 2.0
    H = ad.hessian_sparsity(f, x, ad.TracerSparsityDetector(local=local))
    D = dense_hessian_pattern(f, x)
    assert H.dtype == bool and H.shape == (n, n)
    assert (H != H.T).nnz == 0  # symmetric
    np.testing.assert_array_equal(H.toarray(), D)


def test_linear_ops_add_no_pairs_and_products_add_cross_pairs():
    f = lambda x: np.sum(2 * x[:2] - x[2:]) + x[0] * x[3]  # noqa: E731
    H = ad.hessian_sparsity(f, np.ones(4)).toarray()
    expected = np.zeros((4, 4), bool)
    expected[0, 3] = expected[3, 0] = True
    np.testing.assert_array_equal(H, expected)


def where_fn(x):
    return np.sum(np.where(x[:3] > 0, x[:3] ** 2, x[3:] * x[:3]))


@pytest.mark.parametrize("f", [where_fn, lambda x: np.sum(np.maximum(x[:3] ** 2, x[3:])) * x[0]])
def test_global_contains_local_contains_dense(f, rng):
    for _ in range(3):
        x = rng.normal(size=6)
        G = ad.hessian_sparsity(f, x)
        L = ad.hessian_sparsity(f, x, LOCAL)
        D = dense_hessian_pattern(f, x)
        assert_superset(G, L)
        assert_superset(L, D)


def test_local_hessian_follows_branches():
    def f(x):
        return x[0] ** 3 if x[1] > 0 else x[0] * x[1]

    with pytest.raises(ad.UnsupportedError, match="local=True"):
        ad.hessian_sparsity(f, np.ones(2))
    np.testing.assert_array_equal(ad.hessian_sparsity(f, np.ones(2), LOCAL).toarray(), [[1, 0], [0, 0]])
    np.testing.assert_array_equal(
        ad.hessian_sparsity(f, np.array([1.0, -1.0]), LOCAL).toarray(), [[0, 1], [1, 0]]
    )


def test_pytree_hessian():
    f = lambda t: np.sum(t["a"] ** 2) * t["b"][0]  # noqa: E731
    x = {"a": np.ones(2), "b": np.ones(2)}
    H = ad.hessian_sparsity(f, x).toarray()
    Hd = np.asarray(ad.hessian(f, "engine", x)) != 0
    np.testing.assert_array_equal(H, Hd)


def test_hessian_needs_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        ad.hessian_sparsity(lambda x: x**2, np.ones(3))
