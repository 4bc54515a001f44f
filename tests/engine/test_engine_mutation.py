"""In-place programs (which JAX and autograd cannot run) against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import check_both_modes, fd_jacobian

from anydiff import engine as E

x0 = np.random.default_rng(7).standard_normal(5)


def loop_fill(x):
    y = np.zeros_like(x)
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * np.cos(x[i]) + x[i] ** 2
    return y


def augmented(x):
    y = np.empty_like(x)
    y[:] = x
    y += np.sin(x)
    y[1:] -= x[:-1] * 2.0
    y *= 1.5
    y[::2] /= 1.0 + x[::2] ** 2
    return y


def view_write(x):
    y = np.ones_like(x)
    v = y[1:4]  # a view: writes through it must reach y
    v += x[:3]
    v[0] = x[4] ** 3
    return y * x


def stale_view(x):
    y = np.zeros_like(x)
    v = y[:3]
    y[1] = x[0] * x[1]  # v must see this write, as a numpy view would
    return v * 2.0 + np.sum(y)


def full_like_and_fill(x):
    y = np.full_like(x, 2.0)
    y[np.array([0, 2])] = x[np.array([1, 3])] * x[0]
    z = np.zeros((2, x.shape[0]), dtype=x.dtype)
    z = np.zeros_like(z, dtype=float) if False else np.zeros_like(np.stack([x, x]))
    z[0] = y
    z[1, 1:] = x[:-1]
    return z.sum(axis=0) * x


def bool_mask_write(x):
    y = x.copy()
    y[x > 0] = 0.0  # mask depends on x: recorded as data
    return y * x


def ufunc_out(x):
    y = np.empty_like(x)
    np.multiply(x, x, out=y)
    np.add(y, 1.0, out=y)
    return y


def buffer_fn(x):
    y = E.empty_buffer(x.shape, x.dtype)
    y[0] = x[0] * x[1]
    y[1:] = np.sin(x[1:])
    return y


@pytest.mark.parametrize(
    "f",
    [
        loop_fill,
        augmented,
        view_write,
        stale_view,
        full_like_and_fill,
        bool_mask_write,
        ufunc_out,
        buffer_fn,
    ],
)
def test_mutation_program(f) -> None:
    check_both_modes(f, x0)


def test_mutation_tape_replay_matches_retrace() -> None:
    for f in (loop_fill, augmented, view_write, stale_view):
        g = lambda z, f=f: np.sum(f(z) ** 2)  # noqa: E731
        tape = E.record(g, x0)
        assert tape.replayable
        x1 = x0 * 1.3 - 0.2
        v, gr = tape.value_and_grad(x1)
        v2, gr2 = E.value_and_grad(g, x1)
        np.testing.assert_allclose(v, v2, rtol=1e-13)
        np.testing.assert_allclose(gr, gr2, rtol=1e-12)
        np.testing.assert_allclose(gr, fd_jacobian(g, x1), rtol=1e-6, atol=1e-7)


_PREEXISTING = np.zeros(3)


def test_preexisting_buffer_error_explains() -> None:
    def f(x):
        y = _PREEXISTING  # created outside f: writing a traced value into it must raise
        y[0] = x[0]
        return y

    with pytest.raises(E.EngineError, match="plain NumPy array at `y\\[0\\]`.*created inside"):
        E.grad(lambda x: np.sum(f(x)), x0)
    with pytest.raises(E.EngineError):
        E.jacobian(f, x0)


def test_inplace_form_with_empty_buffer() -> None:
    def f_inplace(y, x):
        y[0] = x[0] ** 2
        y[1] = x[0] * x[1]

    def f(x):
        y = E.empty_buffer((2,), x.dtype)
        f_inplace(y, x)
        return y

    J = E.jacobian(f, np.array([1.0, 2.0]))
    np.testing.assert_allclose(J, [[2.0, 0.0], [2.0, 1.0]])
    tape = E.record(lambda x: np.sum(f(x)), np.array([1.0, 2.0]))
    np.testing.assert_allclose(tape.grad(np.array([3.0, 1.0])), [7.0, 3.0])
    # outside a trace it is a plain zero buffer
    assert np.asarray(E.empty_buffer(3)).tolist() == [0.0, 0.0, 0.0]


def like_buffers(x):
    y = np.zeros(x.shape[0] + 1, like=x)
    y[1:] = np.cumsum(x)
    z = np.ones((2, x.shape[0]), like=x)
    z[0] = x * y[:-1]
    w = np.array([x[0] * x[1], 2.0, np.sum(x)], like=x)
    return np.concatenate([y, z.ravel(), w, np.full(2, x[2], like=x)])


def test_like_keyword_buffers_and_array() -> None:
    check_both_modes(like_buffers, x0)
    g = lambda z: np.sum(like_buffers(z) ** 2)  # noqa: E731
    tape = E.record(g, x0)
    assert tape.replayable
    np.testing.assert_allclose(tape.grad(x0 * 1.7), E.grad(g, x0 * 1.7), rtol=1e-13)
    # outside a trace like= of a plain array is plain numpy
    assert type(np.zeros(2, like=x0)) is np.ndarray


def reshaped_views(x):
    y = np.zeros_like(x)
    m = y[:4].reshape(2, 2)  # a view of y, as in numpy
    m[0] = x[:2] * 3.0  # writes reach y
    y.T[4] = x[0] * x[4]  # .T of 1-D is y itself; still must work
    w = np.ones_like(np.outer(x[:2], x[:3]))
    wt = w.T
    wt[1:] *= x[1]  # write through a transpose view
    x2 = y[1:]
    y[2] = x[3] ** 2  # x2 must re-read y
    flat = w.flatten()  # a copy: writes must not reach w
    flat[0] = 100.0
    return np.concatenate([y, w.ravel(), x2 * 2.0, flat])


def test_reshape_transpose_views_follow_numpy_semantics() -> None:
    # same values as plain numpy (which really has views) and right derivatives
    v_engine, _ = E.jvp(reshaped_views, x0, [np.ones(5)])
    np.testing.assert_allclose(v_engine, reshaped_views(x0.copy()))
    check_both_modes(reshaped_views, x0)
    tape = E.record(lambda z: np.sum(reshaped_views(z) ** 2), x0)
    assert tape.replayable
    np.testing.assert_allclose(
        tape.grad(x0 + 0.5), E.grad(lambda z: np.sum(reshaped_views(z) ** 2), x0 + 0.5), rtol=1e-13
    )
