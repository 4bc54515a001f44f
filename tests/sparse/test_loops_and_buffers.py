"""Loop-and-buffer code: the Brusselator written with Python loops filling a buffer.

With ``np.zeros_like`` buffers it runs on every engine; with plain ``np.zeros`` buffers it needs the
engine's array-creation interception (``anydiff.engine._intercept``, being added on another branch):
those tests are gated on that module, and run as soon as it is there.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from sparse_helpers import dense_hessian_pattern, dense_jacobian_pattern
from test_jacobian_sparsity import brusselator

import anydiff as ad

N = 4
HAS_INTERCEPT = importlib.util.find_spec("anydiff.engine._intercept") is not None
needs_intercept = pytest.mark.skipif(
    not HAS_INTERCEPT, reason="plain np.zeros buffers need the engine's creation interception"
)


def brusselator_loops(x, make=np.zeros_like, alpha=10.0):
    u = x[: N * N].reshape(N, N)
    v = x[N * N :].reshape(N, N)
    du = make(u)
    dv = make(u)
    for i in range(N):
        for j in range(N):
            ip, im, jp, jm = (i + 1) % N, (i - 1) % N, (j + 1) % N, (j - 1) % N
            lu = u[im, j] + u[ip, j] + u[i, jm] + u[i, jp] - 4 * u[i, j]
            lv = v[im, j] + v[ip, j] + v[i, jm] + v[i, jp] - 4 * v[i, j]
            du[i, j] = 1 + u[i, j] ** 2 * v[i, j] - 4.4 * u[i, j] + alpha * lu
            dv[i, j] = 3.4 * u[i, j] - u[i, j] ** 2 * v[i, j] + alpha * lv
    return np.concatenate([du.ravel(), dv.ravel()])


def _plain_zeros(u):
    return np.zeros((N, N))


@pytest.mark.parametrize(
    "make", [np.zeros_like, pytest.param(_plain_zeros, marks=needs_intercept)], ids=["zeros_like", "np.zeros"]
)
@pytest.mark.parametrize("local", [False, True], ids=["global", "local"])
def test_brusselator_with_loops_matches_vectorised_and_dense(make, local, rng):
    x = rng.normal(size=2 * N * N)
    f = lambda x: brusselator_loops(x, make)  # noqa: E731
    P = ad.jacobian_sparsity(f, x, ad.TracerSparsityDetector(local=local)).toarray()
    np.testing.assert_array_equal(P, dense_jacobian_pattern(f, x))
    vec = ad.jacobian_sparsity(lambda x: brusselator(x, N), x).toarray()
    np.testing.assert_array_equal(P, vec)


@needs_intercept
def test_plain_zeros_buffer_1d_and_hessian():
    def f(x):
        y = np.zeros(len(x))
        for i in range(1, len(x) - 1):
            y[i] = x[i - 1] * x[i + 1]
        return y

    np.testing.assert_array_equal(
        ad.jacobian_sparsity(f, np.ones(5)).toarray(), dense_jacobian_pattern(f, np.arange(1.0, 6.0))
    )
    g = lambda x: np.sum(f(x) ** 2)  # noqa: E731
    x = np.arange(1.0, 6.0)
    np.testing.assert_array_equal(ad.hessian_sparsity(g, x).toarray(), dense_hessian_pattern(g, x))


def test_buffer_hessian_with_zeros_like():
    def g(x):
        y = np.zeros_like(x)
        for i in range(1, len(x)):
            y[i] = x[i] * x[i - 1]
        return np.sum(np.sin(y))

    x = np.random.default_rng(5).normal(size=5)
    np.testing.assert_array_equal(ad.hessian_sparsity(g, x).toarray(), dense_hessian_pattern(g, x))


@needs_intercept
def test_array_api_buffer_in_a_loop():
    def f(x):
        xp = ad.array_namespace(x)
        y = xp.zeros(x.shape[0] - 1)
        for i in range(x.shape[0] - 1):
            y[i] = xp.sin(x[i]) * x[i + 1]
        return y

    x = np.random.default_rng(2).normal(size=5)
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x).toarray(), dense_jacobian_pattern(f, x))
