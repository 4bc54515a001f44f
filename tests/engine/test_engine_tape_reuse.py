"""Tape replay writing into memory it reuses or hands out: results stay right and stay put.

A replayed tape writes slice cotangents of a flat parameter vector straight into the gradient
it returns (``np.matmul(..., out=)`` into ``g[i:j].reshape(a, b)``), adds the bias into the
product it just computed, and runs logsumexp with reused temporaries.  References: the
unprepared engine (no replay buffers, no slice writes), HIPS autograd and central differences.
Every result must survive the next call unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import fd_jacobian

from anydiff import engine as E

rng = np.random.default_rng(11)
SHAPES = [(5, 4), (4, 3)]
N_W = sum(a * b + b for a, b in SHAPES)
X = rng.standard_normal((6, 5))
Y = np.eye(3)[rng.integers(0, 3, 6)]


def mlp(m, w, X, Y, lse):
    i, h = 0, X
    for k, (a, b) in enumerate(SHAPES):
        W = w[i : i + a * b].reshape(a, b)
        i += a * b
        c = w[i : i + b]
        i += b
        h = h @ W + c
        if k < len(SHAPES) - 1:
            h = m.tanh(h)
    return -m.sum(Y * (h - lse(h, axis=1, keepdims=True))) / X.shape[0]


def f_np(w, X, Y):
    return mlp(np, w, X, Y, E.special.logsumexp)


def ag_value_and_grad(w, X, Y):
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    return autograd.value_and_grad(lambda v: mlp(anp, v, X, Y, logsumexp))(w)


def test_mlp_replay_matches_autograd_and_keeps_earlier_results() -> None:
    w0 = rng.standard_normal(N_W) * 0.3
    tape = E.record(f_np, w0, X, Y)
    assert tape.replayable
    points = [w0 + 0.1, w0 - 0.2, w0 * 1.5]
    kept = []
    for w in points:
        v, g = tape.value_and_grad(w, X, Y)
        v_ag, g_ag = ag_value_and_grad(w, X, Y)
        np.testing.assert_allclose(v, v_ag, rtol=1e-12)
        np.testing.assert_allclose(g, g_ag, rtol=1e-10, atol=1e-14)
        kept.append((g, g.copy()))
    for g, snapshot in kept:  # later calls wrote into their own arrays, not these
        np.testing.assert_array_equal(g, snapshot)
    assert not any(np.shares_memory(a[0], b[0]) for a in kept for b in kept if a is not b)
    X2 = X * 0.5  # new data (a tape input): a real replay, not the recorded values
    np.testing.assert_allclose(tape.grad(w0, X2, Y), ag_value_and_grad(w0, X2, Y)[1], rtol=1e-10)


def test_mlp_vjp_cotangents_are_separate_arrays() -> None:
    w0 = rng.standard_normal(N_W) * 0.3
    tape = E.record(f_np, w0, X, Y)
    _, (g1, g2) = tape.vjp(w0, [np.float64(1.0), np.float64(-2.0)], X, Y)
    np.testing.assert_allclose(g2, -2 * g1, rtol=1e-12)
    assert not np.shares_memory(g1, g2)


def _unprepared(f, x):
    return E.value_and_grad(f, x)


def _square(W):
    return W @ W


def _two_products(W):
    return np.ones((3, 2)) @ W + np.ones((3, 2)) @ (2 * W)


def _product_and_sum(W):
    return np.ones((1, 2)) @ W + np.sum(W**2)


# each: (f, why) with f(x) reading x only through slices, or a reference case around them
SLICE_CASES = [
    # slices covering x, one of them never reaching the output with a cotangent (x ** 0):
    # the gradient buffer is not zeroed up front, so that slice must be zeroed at the end
    (lambda x: np.sum(np.sin(x[:3].reshape(3, 1) @ x[3:5].reshape(1, 2))) + np.sum(x[5:] ** 0), "zero"),
    # slices leaving entries out (their gradient is 0)
    (lambda x: np.sum(x[1:4].reshape(3, 1) @ x[6:8].reshape(1, 2)), "gaps"),
    # a step slice (not contiguous: assigned, not written by the product)
    (lambda x: np.sum(np.tanh(x[::2].reshape(2, 2) @ x[1:5:2].reshape(2, 1))), "step"),
    # the same reshaped slice used twice in one product, and in two products
    (lambda x: np.sum(x[:4].reshape(2, 2) @ x[:4].reshape(2, 2)) + np.sum(x[4:]), "twice"),
    (lambda x: np.sum(_square(x[:4].reshape(2, 2))) + np.sum(x[4:] ** 2), "square"),
    (lambda x: np.sum(_two_products(x[:4].reshape(2, 2))), "shared"),
    # a reshaped slice read by a product and by something else
    (lambda x: np.sum(_product_and_sum(x[:6].reshape(2, 3))), "reread"),
    # overlapping slices (their cotangents add up): the ordinary path
    (lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2), "overlap"),
    # x read whole besides its slices
    (lambda x: np.sum(x**2) + np.sum(x[:2].reshape(1, 2) @ x[2:6].reshape(2, 2)), "whole"),
    # a lazily scaled slice cotangent (sum, negation, literal factors)
    (lambda x: -3.0 * np.sum(x[:4]) + np.sum(x[4:] * 2.0), "lazy"),
    # an empty slice next to one covering everything
    (lambda x: np.sum(x[3:3]) + np.sum(np.sin(x[:])), "empty"),
    # columns of a matrix view (strided blocks of a 2-D reshape are read through the vector)
    (lambda x: np.sum(np.cos(x[:4].reshape(2, 2) @ x[4:8].reshape(2, 2)[:, ::-1])), "columns"),
    # the output is a slice itself
    (lambda x: x[2:3].reshape(()) * 1.0, "output"),
]


@pytest.mark.parametrize("f, why", SLICE_CASES, ids=[w for _, w in SLICE_CASES])
def test_slice_cotangents_match_unprepared_and_fd(f, why) -> None:
    x0 = rng.uniform(0.5, 1.5, 8)
    tape = E.record(f, x0)
    results = []
    for x in (x0 + 0.05, x0 - 0.1):
        v, g = tape.value_and_grad(x)
        v_ref, g_ref = _unprepared(f, x)
        np.testing.assert_allclose(v, v_ref, rtol=1e-13)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, fd_jacobian(f, x).reshape(x.shape), rtol=1e-6, atol=1e-8)
        results.append((g, g.copy()))
    for g, snapshot in results:
        np.testing.assert_array_equal(g, snapshot)


def test_uncovered_slice_is_zero_on_every_call() -> None:
    # the slice x[5:] gets no cotangent (x ** 0): its entries must read 0, not stale memory
    f = SLICE_CASES[0][0]
    x0 = rng.uniform(0.5, 1.5, 8)
    tape = E.record(f, x0)
    for k in range(5):
        g = tape.grad(x0 + k)
        np.testing.assert_array_equal(g[5:], 0.0)


def test_two_dimensional_parameter_rows() -> None:
    # a 2-D x split by rows (contiguous blocks) and used as matrices
    def f(x, A):
        return np.sum(np.tanh(A @ x[:2]) @ x[2:].T)

    x0 = rng.standard_normal((4, 3))
    A = rng.standard_normal((5, 2))
    tape = E.record(f, x0, A)
    g1 = tape.grad(x0, A)
    keep = g1.copy()
    g2 = tape.grad(x0 * 2, A)
    np.testing.assert_array_equal(g1, keep)
    np.testing.assert_allclose(g2, _unprepared(lambda z: f(z, A), x0 * 2)[1], rtol=1e-12)
    np.testing.assert_allclose(g2, fd_jacobian(lambda z: f(z, A), x0 * 2), rtol=1e-6, atol=1e-8)


def test_float32_parameters_with_float64_data() -> None:
    # the product's cotangent is float64, the gradient float32: cast, not written in place
    def f(w, X):
        return np.sum(np.tanh(X @ w[:6].reshape(3, 2) + w[6:]))

    w0 = rng.standard_normal(8).astype(np.float32)
    Xd = rng.standard_normal((4, 3))
    tape = E.record(f, w0, Xd)
    g = tape.grad(w0, Xd)
    assert g.dtype == np.float32
    _, g_ref = _unprepared(lambda z: f(z, Xd), w0)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)


def test_product_result_read_elsewhere_is_not_overwritten_by_the_bias_add() -> None:
    # h = X @ W is read by the add and again later: the add must not write into it
    def f(w, X):
        h = X @ w[:6].reshape(3, 2)
        return np.sum((h + w[6:]) * h)

    w0 = rng.standard_normal(8)
    Xd = rng.standard_normal((4, 3))
    tape = E.record(f, w0, Xd)
    for w in (w0, w0 + 1):
        v, g = tape.value_and_grad(w, Xd)
        v_ref, g_ref = _unprepared(lambda z: f(z, Xd), w)
        np.testing.assert_allclose(v, v_ref, rtol=1e-13)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12)


def test_bias_add_output_returned_by_value() -> None:
    # the add into the product is the output itself: Tape.value returns a fresh array each call
    def f(w, X):
        return X @ w[:6].reshape(3, 2) + w[6:]

    w0 = rng.standard_normal(8)
    Xd = rng.standard_normal((4, 3))
    tape = E.record(f, w0, Xd)
    y1 = tape.value(w0, Xd)
    keep = y1.copy()
    y2 = tape.value(w0 + 1, Xd)
    np.testing.assert_array_equal(y1, keep)
    np.testing.assert_allclose(y2, f(w0 + 1, Xd), rtol=1e-14)


@pytest.mark.parametrize(
    "axis, keepdims", [(1, True), (0, False), (None, False), (None, True), ((0, 2), False), (-1, True)]
)
def test_logsumexp_replay_values_bitwise_and_gradients(axis, keepdims) -> None:
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp as ag_lse

    x0 = rng.standard_normal((3, 4, 2))

    def f(m, lse, x):
        return m.sum(m.sin(lse(1.5 * x, axis=axis, keepdims=keepdims)))

    tape = E.record(lambda x: f(np, E.special.logsumexp, x), x0)
    # -inf entries (whole slices of them give nan, in both)
    for x in (x0, x0 + 0.3, np.where(x0 > 0.5, -np.inf, x0)):
        with np.errstate(all="ignore"):
            v, g = tape.value_and_grad(x)
            v_plain = f(np, E.special.logsumexp, x)
            g_ag = autograd.grad(lambda z: f(anp, ag_lse, z))(x)
        # the replayed forward is the recorded implementation, to the last bit
        np.testing.assert_array_equal(v, v_plain)
        np.testing.assert_allclose(g, g_ag, rtol=1e-12, atol=1e-15)


def test_logsumexp_all_minus_inf_slice_as_before() -> None:
    # a slice of only -inf: the value is -inf; its gradient is exp(-inf - -inf) = nan times
    # a zero cotangent, as in the general rule and in autograd (unchanged behaviour)
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp as ag_lse

    x0 = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    tape = E.record(lambda x: np.sum(E.special.logsumexp(x, axis=1)[1:]), x0)
    with np.errstate(invalid="ignore", divide="ignore"):
        v, g = tape.value_and_grad(x0)
        g_ag = autograd.grad(lambda x: anp.sum(ag_lse(x, axis=1)[1:]))(x0)
    assert v == np.logaddexp(0.0, 1.0)
    np.testing.assert_allclose(g, g_ag, rtol=1e-15)


def test_numpy_scalar_cotangent_takes_the_fast_rule() -> None:
    # -sum(x * y) / n: the division's cotangent is a NumPy scalar; the negation's and the
    # sum's fast closures take it (before, their general rules ran)
    y = rng.standard_normal(5)
    x0 = rng.standard_normal(5)
    tape = E.record(lambda x: -np.sum(x * y) / 5, x0)

    def boom(*a, **k):
        raise AssertionError("a general rule ran during replay")

    tape._bplan = [e[:4] + (boom if e[4] is not None else None,) + e[5:] for e in tape._bplan]
    np.testing.assert_allclose(tape.grad(x0 + 1), -y / 5, rtol=1e-15)


def test_nested_transformations_on_the_mlp() -> None:
    # forward-over-reverse (hvp) traces the same rules with traced values: no replay buffers
    w0 = rng.standard_normal(N_W) * 0.3
    v = rng.standard_normal(N_W)

    def f(w):
        return f_np(w, X, Y)

    hv = E.hvp(f, w0, v)
    h = 1e-5
    fd = (E.grad(f, w0 + h * v) - E.grad(f, w0 - h * v)) / (2 * h)
    np.testing.assert_allclose(np.ravel(hv), fd, rtol=1e-5, atol=1e-8)


def test_partition_never_writes_into_a_cotangent_it_does_not_own() -> None:
    # pulling back from the input slot itself: the seed is the cotangent of x; the slices of x
    # get none, and the pass must neither zero "their" entries of the caller's array nor copy
    from anydiff.engine._reverse import backward

    f = SLICE_CASES[0][0]
    x0 = rng.uniform(0.5, 1.5, 8)
    tape = E.record(f, x0)
    assert tape._part is not None and tape._part.cover
    seed = np.arange(1.0, 9.0)
    vals = list(tape._trace.vals)
    g = backward(tape._bplan, vals, tape._x_slot, seed, tape._x_slot, tape._part)
    np.testing.assert_array_equal(seed, np.arange(1.0, 9.0))
    np.testing.assert_array_equal(g.g, seed)  # returned as borrowed: finish_grad copies it
