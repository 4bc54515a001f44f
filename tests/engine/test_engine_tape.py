"""Recorded tapes: replay equals re-tracing; value-dependent control flow disables replay."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff import engine as E

rng = np.random.default_rng(3)


def logistic(b, X, y):
    p = 1 / (1 + np.exp(-X @ b))
    return np.sum(np.log(np.where(y, p, 1 - p)))


def test_replay_equals_retrace_with_changing_contexts() -> None:
    X = rng.standard_normal((20, 3))
    y = rng.random(20) > 0.5
    b = rng.standard_normal(3)
    tape = E.record(logistic, b, X, y)
    assert tape.replayable and "replay=True" in repr(tape)
    for _ in range(3):
        b2, X2 = rng.standard_normal(3), rng.standard_normal((20, 3))
        y2 = rng.random(20) > 0.5  # a changed boolean context: not replayed, re-traced
        for args in ((X, y), (X2, y), (X2, y2)):
            v, g = tape.value_and_grad(b2, *args)
            Xa, ya = args  # analytic: p = sigmoid(X b), d/db sum log(p or 1 - p) = X^T (y - p)
            p = 1 / (1 + np.exp(-Xa @ b2))
            v_ref, g_ref = np.sum(np.log(np.where(ya, p, 1 - p))), Xa.T @ (ya - p)
            np.testing.assert_allclose(v, v_ref, rtol=1e-13)
            np.testing.assert_allclose(g, g_ref, rtol=1e-12)
            np.testing.assert_allclose(tape.value(b2, *args), v_ref, rtol=1e-13)


def test_python_scalar_context_change_retraces() -> None:
    f = lambda x, lam: np.sum(lam * x**2)  # noqa: E731
    tape = E.record(f, np.ones(3), 2.0)
    np.testing.assert_allclose(tape.grad(np.ones(3), 5.0), 10 * np.ones(3))
    np.testing.assert_allclose(tape.grad(np.ones(3), 2.0), 4 * np.ones(3))


def test_vjp_batched_cotangents_and_shapes() -> None:
    f = lambda x: np.tanh(x.reshape(2, 3)) @ np.arange(3.0)  # noqa: E731
    x = rng.standard_normal(6)
    tape = E.record(f, x)
    x2 = rng.standard_normal(6)
    ws = [np.array([1.0, 0.0]), np.array([0.3, -2.0])]
    y, outs = tape.vjp(x2, ws)

    def analytic_jacobian(v):  # y_i = sum_j tanh(v[3i + j]) * j
        J = np.zeros((2, 6))
        for i in range(2):
            J[i, 3 * i : 3 * i + 3] = (1 - np.tanh(v[3 * i : 3 * i + 3]) ** 2) * np.arange(3.0)
        return J

    J = analytic_jacobian(x2)
    np.testing.assert_allclose(y, f(x2))
    for w, o in zip(ws, outs):
        np.testing.assert_allclose(o, w @ J, rtol=1e-12)
    # a different x shape: re-traced, still right
    x3 = rng.standard_normal(6).reshape(6)
    np.testing.assert_allclose(tape.vjp(x3, ws[:1])[1][0], ws[0] @ analytic_jacobian(x3), rtol=1e-12)


def branchy(x):
    if x[0] > 0:
        return np.sum(x**2)
    return np.sum(np.sin(x))


@pytest.mark.parametrize(
    "f, reason",
    [
        (branchy, "bool(traced)"),
        (lambda x: np.sum(x[: int(np.argmax(x)) + 1]), "int(traced)"),
        (lambda x: np.sum(x ** (1 + (x[0] > 0) * 1)), None),  # mask used as data: replayable
        (lambda x: np.sum(x[x > 0] ** 2), "boolean-mask"),
        (lambda x: np.sum(x[np.argmax(x)] * x), None),  # traced integer index is data
    ],
)
def test_control_flow_marks_tape(f, reason) -> None:
    x_pos = np.array([0.5, -1.0, 2.0])
    x_neg = np.array([-0.5, 3.0, -2.0])
    tape = E.record(f, x_pos)
    if reason is None:
        assert tape.replayable, repr(tape)
    else:
        assert not tape.replayable
        assert reason in repr(tape) and "replay=False" in repr(tape)
    for x in (x_neg, x_pos, x_neg):
        v, g = tape.value_and_grad(x)
        v_ref, g_ref = E.value_and_grad(f, x)
        np.testing.assert_allclose(v, f(x))
        np.testing.assert_allclose(g, g_ref)


def test_branch_both_sides_correct() -> None:
    tape = E.record(branchy, np.array([1.0, 2.0]))
    np.testing.assert_allclose(tape.grad(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(tape.grad(np.array([-1.0, 2.0])), np.cos([-1.0, 2.0]))


def test_mutated_input_between_calls_is_replayed_not_cached() -> None:
    x = np.array([1.0, 2.0])
    tape = E.record(lambda z: np.sum(z**3), x)
    x[0] = 3.0  # same object, new values
    np.testing.assert_allclose(tape.grad(x), [27.0, 12.0])


def test_vjp_function_reusable() -> None:
    y, pull = E.vjp(lambda x: np.cumsum(x) ** 2, np.array([1.0, 2.0, 3.0]))
    J = E.jacobian(lambda x: np.cumsum(x) ** 2, np.array([1.0, 2.0, 3.0]))
    for w in np.eye(3):
        np.testing.assert_allclose(pull(w), w @ J)


@pytest.mark.parametrize(
    "expr",
    [
        "np.sum(-x)",
        "np.sum(3 * x**2)",
        "np.sum(-(x**2) * 0.5)",
        "np.sum(2 * np.tanh(x)) - np.sum(np.exp(-x))",
        "np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)",
        "np.sum((x - np.sum(x)) ** 2)",
        "np.sum(x[::2]) * 2 - np.sum(x[1:] / 3)",
        "np.sum(1 / (1 + x**2)) + np.sum(np.sqrt(1 + x**2))",
    ],
)
def test_replay_scaled_cotangent_patterns(expr) -> None:
    import autograd
    import autograd.numpy as anp

    f = eval("lambda x, np=np: " + expr)
    x0 = rng.standard_normal(7)
    tape = E.record(f, x0)
    for x in (x0, x0 * 2 + 0.3):
        v, g = tape.value_and_grad(x)
        np.testing.assert_allclose(g, autograd.grad(lambda z: f(z, anp))(x), rtol=1e-12)
        np.testing.assert_allclose(v, f(x), rtol=1e-13)
        g[0] = 1e9  # the caller owns the result: the next replay must not see this
    np.testing.assert_allclose(tape.grad(x0), autograd.grad(lambda z: f(z, anp))(x0), rtol=1e-12)


def test_context_values_may_leave_as_python_values() -> None:
    # a context (not differentiated) converted to float / ndarray is not a dropped derivative:
    # it only makes the tape re-trace
    def f(x, c):
        s = float(c[0])
        return np.sum(x**2) * s + np.sum(np.asarray(c) * x)

    x = np.array([1.0, 2.0])
    c = np.array([3.0, 0.5])
    tape = E.record(f, x, c)
    assert not tape.replayable
    np.testing.assert_allclose(tape.grad(x, c), 2 * x * 3.0 + c)
    c2 = np.array([2.0, 1.0])
    np.testing.assert_allclose(tape.grad(x, c2), 2 * x * 2.0 + c2)
    np.testing.assert_allclose(E.grad(f, x, c2), 2 * x * 2.0 + c2)
    np.testing.assert_allclose(E.jacobian(f, x, c2), 2 * x * 2.0 + c2)


def test_two_dimensional_x() -> None:
    X = rng.standard_normal((3, 2))
    f = lambda W: np.sum(np.tanh(W @ np.ones(2)) ** 2) + np.sum(W[:, 0] * W[:, 1])  # noqa: E731
    tape = E.record(f, X)
    g = tape.grad(X * 0.5)
    assert g.shape == (3, 2)
    W = X * 0.5
    t = np.tanh(W @ np.ones(2))[:, None]  # analytic: 2 tanh (1 - tanh^2) + the other column
    np.testing.assert_allclose(g, 2 * t * (1 - t**2) + W[:, ::-1], rtol=1e-12)
    assert E.hessian(f, X).shape == (3, 2, 3, 2)


def test_data_dependent_shapes_retrace() -> None:
    def f(x):
        idx = np.nonzero(x > 0)[0]
        return np.sum(x[idx] ** 2) / len(idx)

    x1 = np.array([1.0, -2.0, 3.0])
    x2 = np.array([1.0, 2.0, 3.0])
    tape = E.record(f, x1)
    assert not tape.replayable and "nonzero" in repr(tape)
    np.testing.assert_allclose(tape.grad(x2), 2 * x2 / 3)
    np.testing.assert_allclose(tape.grad(x1), [2 / 2, 0.0, 6 / 2])
