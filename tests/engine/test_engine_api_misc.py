"""Public helpers, the Array API namespace, and property-based broadcasting checks."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anydiff import engine as E


def test_is_traced_inside_and_outside() -> None:
    seen = []

    def f(x):
        seen.append(E.is_traced(x))
        return np.sum(x)

    E.grad(f, np.ones(2))
    E.jvp(f, np.ones(2), [np.ones(2)])
    assert seen == [True, True]
    assert not E.is_traced(np.ones(2))


def test_array_namespace() -> None:
    def f(x):
        xp = x.__array_namespace__()
        y = xp.asarray(x)  # traced arrays pass through
        z = xp.concat([xp.permute_dims(xp.reshape(y, (2, 2)), (1, 0)), xp.ones((1, 2))])
        return xp.sum(xp.acos(z * 0.5) * xp.pow(z, 2.0))

    x = np.array([0.1, 0.2, 0.3, 0.4])

    def f_ag(x):
        z = anp.concatenate([anp.reshape(x, (2, 2)).T, anp.ones((1, 2))])
        return anp.sum(anp.arccos(z * 0.5) * z**2.0)

    np.testing.assert_allclose(E.grad(f, x), autograd.grad(f_ag)(x), rtol=1e-12)


def test_unsupported_method_and_np_array_messages() -> None:
    with pytest.raises(E.EngineError, match=r"ndarray\.byteswap has no derivative rule"):
        E.grad(lambda x: np.sum(x.byteswap()), np.ones(3))
    # np.array of traced pieces stacks them (it used to raise, pointing to np.stack)
    g = E.grad(lambda x: np.sum(np.array([x[0] * x[2], x[1]]) ** 2), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [18.0, 4.0, 6.0], rtol=1e-15)


def test_jvp_batched_tangents_one_pass() -> None:
    calls = []

    def f(x):
        calls.append(1)
        return np.tanh(x) * x[::-1]

    x = np.array([0.3, -0.2, 0.5])
    y, ts = E.jvp(f, x, list(np.eye(3)))
    assert len(calls) == 1
    np.testing.assert_allclose(np.stack(ts, axis=1), E.jacobian(f, x, mode="reverse"), rtol=1e-13)


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shapes, shapes, st.sampled_from(["add", "subtract", "multiply", "divide", "maximum"]))
def test_broadcasting_binary_matches_autograd(sa, sb, op) -> None:
    try:
        out_shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        return
    rng = np.random.default_rng(len(sa) * 7 + len(sb))
    a = rng.uniform(0.5, 1.5, sa)
    b = rng.uniform(0.5, 1.5, sb)
    na = a.size
    x = np.concatenate([a.ravel(), b.ravel()])

    def f(m, z):
        u = m.reshape(z[:na], sa)
        v = m.reshape(z[na:], sb)
        w = getattr(m, op)(u, v)
        return m.sum(w * m.reshape(m.arange(1.0, 1.0 + max(1, int(np.prod(out_shape)))), out_shape))

    g_ref = autograd.grad(lambda z: f(anp, z))(x)
    np.testing.assert_allclose(E.grad(lambda z: f(np, z), x), g_ref, rtol=1e-12)
    np.testing.assert_allclose(E.jacobian(lambda z: f(np, z), x), g_ref, rtol=1e-12)


def test_list_output_is_stacked_not_dropped() -> None:
    def f(x):
        return [x[0] ** 2, x[0] * x[1]]

    x = np.array([2.0, 3.0])
    J = np.array([[4.0, 0.0], [3.0, 2.0]])
    np.testing.assert_allclose(E.jacobian(f, x), J)
    np.testing.assert_allclose(E.jacobian(f, x, mode="reverse"), J)
    np.testing.assert_allclose(E.record(lambda z: f(z)[1], x).grad(x), [3.0, 2.0])
    tape = E.record(f, x)
    np.testing.assert_allclose(tape.vjp(x, [np.array([1.0, 1.0])])[1][0], [7.0, 2.0])
