"""Buffer writes are done in place when nothing else holds the buffer (O(1) per write), and
the semantics stay NumPy's: reads after writes see the writes, views alias, copies do not."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import check_both_modes

from anydiff import engine as E
from anydiff.engine._rules_shape import SETITEM

X = np.array([0.3, -1.2, 0.7, 2.0])


def loop(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] += x[i] * (i + 1)
    return np.sin(y)


def _setitem_nodes(f, x):
    tape = E.record(f, x)
    return [nd.p.get("inplace", False) for nd in tape._trace.nodes if nd.prim is SETITEM], tape


def test_loop_writes_are_in_place_after_the_first():
    flags, tape = _setitem_nodes(lambda z: np.sum(loop(z)), X)
    assert flags == [False, True, True, True]  # one copy of the buffer, then in place
    check_both_modes(loop, X)
    # replays: each starts from a fresh copy, so results of earlier replays stay intact
    x1, x2 = X + 0.1, X - 0.2
    v1, g1 = tape.value_and_grad(x1)
    v2, g2 = tape.value_and_grad(x2)
    np.testing.assert_allclose([v1, v2], [np.sum(loop(x1)), np.sum(loop(x2))], rtol=1e-14)
    ks = np.arange(1, 5)
    np.testing.assert_allclose(g1, np.cos(x1 * ks) * ks, rtol=1e-13)
    np.testing.assert_allclose(g2, np.cos(x2 * ks) * ks, rtol=1e-13)


def test_returned_buffer_of_a_replay_is_not_overwritten_by_the_next():
    tape = E.record(loop, X)
    y1 = tape.value(X + 0.1)
    y1_copy = np.array(y1)
    tape.value(X - 0.5)
    np.testing.assert_array_equal(y1, y1_copy)


def read_then_write(x):
    y = np.zeros(3)
    y[0] = x[0]
    s = np.sin(y)  # reads the buffer: the next write must not change what s's rule sees
    y[1] = x[1] * x[0]
    y[2] = x[2]
    return np.concatenate([s, y * y])


def scalar_copy_then_write(x):
    y = np.zeros(2)
    y[0] = x[0]
    a = y[0]  # a NumPy scalar: a copy, unchanged by the next write
    y[0] = x[1]
    y[1] = a * 3
    return y * a


def view_then_write(x):
    y = np.zeros(4)
    y[0] = x[0]
    v = y[1:3]  # a view: it sees the later writes
    y[1] = x[1]
    y[2] = x[2] ** 2
    w = v * 2
    y[3] = x[3]
    return np.concatenate([w, v, y])


def row_view_and_writes(x):
    M = np.zeros((2, 2))
    M[0] = x[:2]
    r = M[0]
    M[0, 0] = x[2] * 5
    M[1, 1] = x[3]
    return np.concatenate([r, M.ravel()])


def method_read_between(x):
    y = np.ones(4)
    for i in range(4):
        y[i] = y[i] * x[i] + np.sum(y)  # whole-buffer read between writes
    return y


@pytest.mark.parametrize(
    "f", [read_then_write, scalar_copy_then_write, view_then_write, row_view_and_writes, method_read_between]
)
def test_aliasing_semantics_match_numpy_both_modes_and_replay(f):
    check_both_modes(f, X)
    ref = f(X + 0.05)  # plain NumPy
    tape = E.record(lambda z: np.sum(f(z) * np.arange(1.0, ref.size + 1)), X)
    v, _ = tape.value_and_grad(X + 0.05)
    np.testing.assert_allclose(v, np.sum(ref * np.arange(1.0, ref.size + 1)), rtol=1e-14)


def test_scalar_copy_gets_the_derivative_of_the_old_element():
    # regression: the engine used to treat y[0] as a view and re-read it after the write
    def f(x):
        y = np.zeros(2)
        y[0] = x[0]
        a = y[0]
        y[0] = x[1]
        return a * 1.0

    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(E.jacobian(f, np.array([2.0, 3.0]), mode=mode), [1.0, 0.0])


def test_hessian_of_buffer_loop_nested():
    def f(x):
        y = np.zeros(3)
        for i in range(3):
            y[i] += x[i] * x[(i + 1) % 3]
        return np.sum(y**2)

    x = X[:3]
    H = E.hessian(f, x)
    a, b, c = x
    # f = (ab)^2 + (bc)^2 + (ca)^2
    ref = 2 * np.array(
        [
            [b * b + c * c, 2 * a * b, 2 * a * c],
            [2 * a * b, a * a + c * c, 2 * b * c],
            [2 * a * c, 2 * b * c, a * a + b * b],
        ]
    )
    np.testing.assert_allclose(H, ref, rtol=1e-13)


def test_repeated_fancy_index_write_last_one_wins_in_reverse_mode():
    # regression: reverse mode gave the overwritten (earlier) duplicate a derivative too
    def f(x):
        y = np.zeros((2, 3))
        y[[0, 0, 1], [1, 1, 2]] = x[:3]
        y[1, [0, 0]] = x[2:] * 3
        return y.ravel()

    J = np.zeros((6, 4))
    J[1, 1] = J[5, 2] = 1.0  # y[0, 1] = x[1] (x[0] overwritten), y[1, 2] = x[2]
    J[3, 3] = 3.0  # y[1, 0] = 3 x[3] (3 x[2] overwritten)
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(E.jacobian(f, X, mode=mode), J)
    tape = E.record(lambda z: np.sum(f(z) * np.arange(1.0, 7.0)), X)
    np.testing.assert_array_equal(tape.grad(X + 1.0), np.arange(1.0, 7.0) @ J)


def test_constant_writes_then_traced_writes_replay_into_fresh_arrays():
    # regression: a buffer holding only constants was written in place by the first traced
    # write, so that array became a constant of the tape and replays shared (overwrote) it
    def f(x):
        y = np.zeros(3)
        y[0] = 1.0
        y[1] = x[0]
        y[2] = x[1] * 2
        return y

    tape = E.record(f, np.array([5.0, 6.0]))
    a = tape.value(np.array([1.0, 2.0]))
    b = tape.value(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(a, [1.0, 1.0, 4.0])
    np.testing.assert_array_equal(b, [1.0, 3.0, 8.0])
    _, [g] = tape.vjp(np.array([3.0, 4.0]), [np.ones(3)])
    np.testing.assert_array_equal(g, [1.0, 2.0])
