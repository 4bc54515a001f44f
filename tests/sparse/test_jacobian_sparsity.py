"""Jacobian patterns against those read off dense engine Jacobians at random points."""

from __future__ import annotations

import numpy as np
import pytest
from sparse_helpers import assert_superset, dense_jacobian_pattern

import anydiff as ad

GLOBAL = ad.TracerSparsityDetector()
LOCAL = ad.TracerSparsityDetector(local=True)


def banded(x):
    return np.sin(x[2:] - 2 * x[1:-1] + x[:-2]) * x[1:-1]


def laplacian_periodic(x):
    u = x.reshape(6, 5)
    lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
    return (lap + u**3).ravel()


def brusselator(x, N=6, alpha=10.0):
    """The 2-D Brusselator right-hand side, vectorised, periodic boundaries; x = (u, v) stacked."""
    u = x[: N * N].reshape(N, N)
    v = x[N * N :].reshape(N, N)
    xs = np.linspace(0, 1, N)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    forcing = np.where((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.01, 5.0, 0.0)

    def lap(a):
        return np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1) - 4 * a

    du = 1 + u**2 * v - 4.4 * u + alpha * lap(u) + forcing
    dv = 3.4 * u - u**2 * v + alpha * lap(v)
    return np.concatenate([du.ravel(), dv.ravel()])


def arrowhead(x):
    return np.concatenate([np.sum(x**2, keepdims=True), x[0] * x[1:] + np.exp(x[1:])])


BLOCKS = np.random.default_rng(1).normal(size=(4, 3, 3))


def block_diagonal(x):
    return np.einsum("kij,kj->ki", BLOCKS, np.tanh(x.reshape(4, 3))).ravel()


def block_diagonal_matmul(x):
    return np.matmul(BLOCKS, x.reshape(4, 3, 1) ** 2).ravel()


def array_api(x):
    xp = ad.array_namespace(x)
    a = xp.concat([x[1:] * x[:-1], xp.sum(x[:3], keepdims=True)])
    return xp.exp(a) + xp.flip(a, axis=0)


EXACT = {
    "banded": (banded, 9),
    "laplacian_periodic": (laplacian_periodic, 30),
    "brusselator": (brusselator, 72),
    "arrowhead": (arrowhead, 7),
    "block_diagonal": (block_diagonal, 12),
    "block_diagonal_matmul": (block_diagonal_matmul, 12),
    "array_api": (array_api, 6),
    "cumsum": (lambda x: np.cumsum(x**2), 5),
    "transpose_reshape": (lambda x: (x.reshape(3, 4).T * np.arange(1.0, 4.0)).ravel(), 12),
    "broadcast_outer": (lambda x: (x[:3, None] * x[None, 3:]).ravel(), 7),
    "fancy_index_repeat": (lambda x: x[np.array([0, 0, 3, 1])] * x[np.array([2, 2, 1, 1])], 4),
    "stack_tile_repeat": (lambda x: np.stack([np.tile(x[:2], 2), np.repeat(x[2:], 2)]).ravel(), 4),
    "sum_axis": (lambda x: np.sum(np.sin(x.reshape(3, 4)), axis=0), 12),
    "prod_axis": (lambda x: np.prod(x.reshape(3, 4), axis=1), 12),
    "matmul_traced": (lambda x: (x[:4].reshape(2, 2) @ x[4:].reshape(2, 2)).ravel(), 8),
    "diag_trace": (lambda x: np.diag(x[:3]).ravel() + np.trace(x[3:].reshape(3, 3)), 12),
}


@pytest.mark.parametrize("name", sorted(EXACT))
@pytest.mark.parametrize("detector", [GLOBAL, LOCAL], ids=["global", "local"])
def test_exact_structure(name, detector, rng):
    f, n = EXACT[name]
    x = rng.normal(size=n)
    P = ad.jacobian_sparsity(f, x, detector)
    D = dense_jacobian_pattern(f, x)
    assert P.dtype == bool and P.shape == D.shape
    np.testing.assert_array_equal(P.toarray(), D)
    # another random point: a global pattern holds at every x
    x2 = rng.normal(size=n)
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x2).toarray(), dense_jacobian_pattern(f, x2))


def test_brusselator_pattern_is_the_stencil():
    N = 6
    P = ad.jacobian_sparsity(lambda x: brusselator(x, N), np.ones(2 * N * N))
    # each u and v row: its own 5-point stencil plus the coupling to the other species at the same site
    assert P.nnz == 2 * N * N * 6
    assert (P.sum(axis=1) == 6).all()


def where_fn(x):
    return np.where(x > 0, x**2, np.sin(x[::-1]))


def max_fn(x):
    return np.maximum(x[:-1], 2 * x[1:]) + 3 * np.abs(x[:-1])  # 3: no cancellation at x


def clip_fn(x):
    return np.clip(x, -0.5, 0.5) * x[0]


@pytest.mark.parametrize("f", [where_fn, max_fn, clip_fn], ids=["where", "maximum", "clip"])
def test_global_contains_local_contains_dense(f, rng):
    for _ in range(3):
        x = rng.normal(size=6)
        G = ad.jacobian_sparsity(f, x)
        L = ad.jacobian_sparsity(f, x, LOCAL)
        D = dense_jacobian_pattern(f, x)
        assert_superset(G, L)
        assert_superset(L, D)
        np.testing.assert_array_equal(L.toarray(), D)  # at a random point the local pattern is exact


def test_where_global_is_the_union_of_both_branches():
    x = np.array([1.0, -1.0, 2.0])
    P = ad.jacobian_sparsity(where_fn, x).toarray()
    np.testing.assert_array_equal(P, np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1])
    L = ad.jacobian_sparsity(where_fn, x, LOCAL).toarray()
    np.testing.assert_array_equal(L, np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool) | [[0] * 3] * 3)


def test_local_follows_python_branches_and_global_refuses():
    def f(x):
        if x[0] > 0:
            return x * x[1]
        return x * 2.0

    with pytest.raises(ad.UnsupportedError, match=r"local=True"):
        ad.jacobian_sparsity(f, np.ones(3))
    P = ad.jacobian_sparsity(f, np.array([1.0, 2.0, 3.0]), LOCAL).toarray()
    np.testing.assert_array_equal(P, [[1, 1, 0], [0, 1, 0], [0, 1, 1]])
    P = ad.jacobian_sparsity(f, np.array([-1.0, 2.0, 3.0]), LOCAL).toarray()
    np.testing.assert_array_equal(P, np.eye(3, dtype=bool))


@pytest.mark.parametrize(
    "f, cause",
    [
        (lambda x: x[: int(x[0])], "int"),
        (lambda x: np.sum(x[x > 0]) * x, "boolean-mask"),
        (lambda x: x * (1.0 if bool(np.sum(x) > 0) else 2.0), "bool"),
    ],
    ids=["int", "argmax_index", "bool"],
)
def test_value_dependent_code_raises_in_global_mode(f, cause):
    with pytest.raises(ad.UnsupportedError, match="TracerSparsityDetector\\(local=True\\)") as e:
        ad.jacobian_sparsity(f, np.array([2.0, 1.0, 3.0]))
    assert cause in str(e.value)
    ad.jacobian_sparsity(f, np.array([2.0, 1.0, 3.0]), LOCAL)  # fine at one point


def test_value_dependent_reads_are_unions_over_candidates(rng):
    # np.sort (take_along_axis of argsort) and x[argmax(x)]: any element of the axis may be read
    x = rng.normal(size=(2, 3))
    P = ad.jacobian_sparsity(lambda x: np.sort(x, axis=1), x).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(2), np.ones((3, 3))) != 0)
    P = ad.jacobian_sparsity(lambda x: x[np.argmax(x)] * x[:1], np.arange(3.0)).toarray()
    np.testing.assert_array_equal(P, [[1, 1, 1]])
    L = ad.jacobian_sparsity(lambda x: np.sort(x, axis=1), x, LOCAL).toarray()
    assert L.sum() == 6 and (L.sum(axis=1) == 1).all()  # at x: a permutation
    assert_superset(L, dense_jacobian_pattern(lambda x: np.sort(x, axis=1), x))
    # a write at a position computed from x: any position may receive it
    x = np.array([1.0, 3.0, 2.0])

    def w(x):
        y = x**2
        y[np.argmax(x)] = x[0]
        return y * 2

    P = ad.jacobian_sparsity(w, x).toarray()
    np.testing.assert_array_equal(P, [[1, 0, 0], [1, 1, 0], [1, 0, 1]])
    L = ad.jacobian_sparsity(w, x, LOCAL).toarray()
    np.testing.assert_array_equal(L, [[1, 0, 0], [1, 0, 0], [0, 0, 1]])


def test_local_drops_products_with_exact_zeros():
    f = lambda x: x[:2] * x[2:]  # noqa: E731
    x = np.array([0.0, 1.0, 2.0, 0.0])
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x, LOCAL).toarray(), [[1, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x).toarray(), [[1, 0, 1, 0], [0, 1, 0, 1]])
    assert_superset(ad.jacobian_sparsity(f, x, LOCAL), dense_jacobian_pattern(f, x))


def test_closure_constants_are_fixed_but_constant_contexts_are_not():
    band = np.diag(np.ones(5)) + np.diag(np.ones(4), 1)  # closure data: its zeros are structural
    P = ad.jacobian_sparsity(lambda x: band @ x, np.ones(5)).toarray()
    np.testing.assert_array_equal(P, band != 0)
    # an ad.Constant may change after detection: a global pattern must not rely on its zeros
    g = lambda x, a: a @ x  # noqa: E731
    P = ad.jacobian_sparsity(g, np.ones(5), GLOBAL, ad.Constant(band)).toarray()
    assert P.all()
    P = ad.jacobian_sparsity(g, np.ones(5), ad.Constant(band)).toarray()  # context in the detector slot
    assert P.all()
    P = ad.jacobian_sparsity(g, np.ones(5), LOCAL, ad.Constant(band)).toarray()
    np.testing.assert_array_equal(P, band != 0)
    h = lambda x, c: c * x  # noqa: E731
    c = np.array([1.0, 0.0, 2.0])
    assert ad.jacobian_sparsity(h, np.ones(3), GLOBAL, ad.Constant(c)).nnz == 3
    assert ad.jacobian_sparsity(h, np.ones(3), LOCAL, ad.Constant(c)).nnz == 2
    with pytest.raises(ad.UnsupportedError, match="local=True"):
        ad.jacobian_sparsity(lambda x, c: x * (1 if c[0] > 0 else 2), np.ones(3), GLOBAL, ad.Constant(c))


def test_pytrees_in_and_out(rng):
    def f(t):
        a, b = t["a"], t["b"]
        return {"s": np.sum(a) * b[:1], "p": a * b[1:]}

    x = {"b": rng.normal(size=3), "a": rng.normal(size=2)}
    P = ad.jacobian_sparsity(f, x)
    J = np.asarray(ad.jacobian(f, "engine", x))
    assert P.shape == J.shape == (3, 5)
    np.testing.assert_array_equal(P.toarray(), J != 0)
    P = ad.jacobian_sparsity(lambda t: [t[0] * t[1], t[1] ** 2], (np.ones(2), np.ones(2)))
    expected = np.block([[np.eye(2), np.eye(2)], [0 * np.eye(2), np.eye(2)]]) != 0
    np.testing.assert_array_equal(P.toarray(), expected)


def test_loops_with_buffers():
    def f(x):
        y = np.zeros_like(x)
        for i in range(1, len(x) - 1):
            y[i] = x[i - 1] - 2 * x[i] + x[i + 1]
        y[0] = x[0] ** 2
        y[-1] = x[-1]
        return y

    x = np.random.default_rng(3).normal(size=7)
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x).toarray(), dense_jacobian_pattern(f, x))
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x, LOCAL).toarray(), dense_jacobian_pattern(f, x))


def test_linear_algebra_and_scans():
    def f(x):
        A = x[:4].reshape(2, 2) + 3 * np.eye(2)
        return np.concatenate([np.linalg.solve(A, x[4:]), np.linalg.inv(A).ravel(), [np.linalg.det(A)]])

    P = ad.jacobian_sparsity(f, np.ones(6)).toarray()
    np.testing.assert_array_equal(P[:2], np.ones((2, 6), bool))  # solve: dense in A and in b
    np.testing.assert_array_equal(P[2:], np.c_[np.ones((5, 4), bool), np.zeros((5, 2), bool)])
    L = ad.jacobian_sparsity(lambda x: np.linalg.cholesky(np.outer(x, x) + np.eye(2)), np.ones(2)).toarray()
    np.testing.assert_array_equal(L, [[1, 1], [0, 0], [1, 1], [1, 1]])
    C = ad.jacobian_sparsity(lambda x: np.cumsum(x.reshape(2, 3), axis=1), np.ones(6)).toarray()
    np.testing.assert_array_equal(C, np.kron(np.eye(2), np.tril(np.ones((3, 3)))) != 0)


def test_comparisons_floor_sign_add_no_dependency():
    f = lambda x: x[0] * (x > 0) + np.floor(x) + np.sign(x) * 2.0  # noqa: E731
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, np.ones(3)).toarray(), [[1, 0, 0]] * 3)


def test_constant_output_and_empty_x():
    P = ad.jacobian_sparsity(lambda x: np.ones(3), np.ones(2))
    assert P.shape == (3, 2) and P.nnz == 0
    assert ad.jacobian_sparsity(lambda x: x * 2, np.zeros(0)).shape == (0, 0)
    assert ad.jacobian_sparsity(lambda x: x**0, np.ones(2)).nnz == 0
