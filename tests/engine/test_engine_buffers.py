"""Plain NumPy buffers inside a traced call.

Each function builds its result the way NumPy code is written (``np.zeros`` then writes in a
loop, ``np.array`` of traced scalars, ``np.r_``, ...).  References: analytic Jacobians, central
differences and autograd on the same function rewritten with ``np.stack``.  Also: NumPy stays
untouched outside the trace and in other threads, tapes of buffer code replay at new points,
an exception inside f leaves NumPy as it was, and a pre-existing array still refuses traced
values.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from engine_helpers import check_both_modes, fd_jacobian

import anydiff as ad
from anydiff import engine as E
from anydiff.engine import _intercept

rng = np.random.default_rng(3)
x0 = rng.uniform(0.5, 1.5, 5)


def seed_loop(x):
    """The seed talks' example: a buffer filled in a loop with y[i] += ..."""
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] += x[i] * i
    return y


def seed_loop_stacked(anp, x):
    return anp.stack([x[i] * i for i in range(len(x))])


def test_seed_loop_matches_analytic_jacobian() -> None:
    J = np.diag(np.arange(5.0))
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(E.jacobian(seed_loop, x0, mode=mode), J)


def test_seed_loop_matches_autograd_on_the_stacked_rewrite() -> None:
    import autograd.numpy as anp

    check_both_modes(seed_loop, x0, lambda x: seed_loop_stacked(anp, x))


def f_creators(x):
    a, b = x[0], x[1]
    y = np.empty(3)
    y[0] = a * b
    y[1:] = np.sin(x[2:4])
    z = np.ones((2, 3))
    z[1, ::2] += x[:2] ** 2  # slice with a step
    z[0, [2, 0]] = x[3:5]  # fancy index
    f = np.full(2, 0.5)
    f *= x[4]
    g = np.full((2,), x[1])  # traced fill value
    e = np.eye(2)
    e[0, 1] = x[2]
    return np.concatenate([y, z.ravel(), f, g, e.ravel()])


def f_lists(x):
    T = np.array([[x[0], 2.0], [x[1] * x[2], x[3]]])
    p, q = T[1]  # tuple unpacking of a traced row
    u = np.asarray([p, q * x[4], 1.0])
    w = np.empty((2, 2))
    w[0] = [x[0], x[1] ** 2]  # a list holding traced values written into a row
    w[1] = (q, 3.0)
    return np.concatenate([T.ravel(), u, w.ravel()])


def f_rc(x):
    r = np.r_[x[:2], 0.0, x[3] * x[4], np.array([1.0, 2.0])]
    r2 = np.r_[0:2, x[:2]]  # a slice piece
    c = np.c_[x[:2], x[2:4] ** 2]  # columns
    return np.concatenate([r, r2, c.ravel()])


def f_as(x):
    y = np.asarray(x)  # the traced array itself
    z = np.array(x)  # a traced copy: writes must not reach x
    z[0] = 10.0 * x[1]
    c = np.array([1.0, 2.0, 3.0])  # plain data: a buffer that accepts traced writes
    c[1] = x[2] ** 3
    return np.concatenate([y * 2.0, z, c, np.ascontiguousarray(x[1:3])])


def f_namespace(x):
    xp = ad.array_namespace(x)
    y = xp.zeros((2, 2))
    y[0, 0] = x[0]
    y[1] = x[1:3] * x[3]
    o = xp.full(2, x[4])
    a = xp.asarray([x[0], x[1]])
    return xp.concat([xp.reshape(y, (-1,)), o, a, xp.ones(1)])


def f_like_plain(x):
    c = np.arange(3.0)
    y = np.zeros_like(c)  # of plain data, inside f: a buffer too
    y[1] = x[0] * x[1]
    k = np.copy(c)
    k[2] = x[4]
    return np.concatenate([y, k])


def f_matrix_loop(x):
    n = len(x)
    A = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            A[i, j] = x[i] * x[j]
            A[j, i] = A[i, j]
    return A @ x


@pytest.mark.parametrize(
    "f", [seed_loop, f_creators, f_lists, f_rc, f_as, f_namespace, f_like_plain, f_matrix_loop]
)
def test_buffers_both_modes_match_finite_differences(f) -> None:
    check_both_modes(f, x0)


@pytest.mark.parametrize("f", [seed_loop, f_creators, f_lists, f_rc, f_matrix_loop])
def test_buffers_through_the_interface_prepared_and_not(f) -> None:
    ref = fd_jacobian(f, x0)
    for b in (ad.AutoEngine(mode="forward"), ad.AutoEngine(mode="reverse")):
        np.testing.assert_allclose(ad.jacobian(f, b, x0), ref, rtol=1e-6, atol=1e-7)
        prep = ad.prepare_jacobian(f, b, x0)
        x1 = x0 * 1.3
        np.testing.assert_allclose(ad.jacobian(f, b, x1, prep=prep), fd_jacobian(f, x1), rtol=1e-6, atol=1e-7)


def test_np_array_of_traced_input_copies() -> None:
    def f(x):
        z = np.array(x)
        z[0] = 0.0
        return x + z  # x itself unchanged: d/dx0 is 1, not 0... plus z's 0

    J = E.jacobian(f, x0, mode="reverse")
    expect = 2.0 * np.eye(5)
    expect[0, 0] = 1.0
    np.testing.assert_array_equal(J, expect)


@pytest.mark.parametrize("f", [seed_loop, f_creators, f_lists, f_rc, f_matrix_loop])
def test_tape_of_buffer_code_replays_at_new_points(f) -> None:
    g = lambda z: np.sum(f(z) ** 2)  # noqa: E731
    tape = E.record(g, x0)
    assert tape.replayable
    for k in range(3):
        x1 = x0 + 0.3 * (k + 1) * rng.standard_normal(5)
        v, gr = tape.value_and_grad(x1)
        v_fresh, g_fresh = E.value_and_grad(g, x1)
        assert v == pytest.approx(float(g(x1)), rel=1e-13)
        np.testing.assert_allclose(gr, g_fresh, rtol=1e-12)
        np.testing.assert_allclose(gr, fd_jacobian(g, x1), rtol=1e-6, atol=1e-7)


def test_second_order_forward_over_reverse_with_buffers() -> None:
    g = lambda z: np.sum(f_matrix_loop(z) ** 2)  # noqa: E731
    H = E.hessian(g, x0)
    H_fd = fd_jacobian(lambda z: E.grad(g, z), x0)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)


def test_numpy_is_untouched_after_a_trace_and_after_an_exception() -> None:
    E.jacobian(seed_loop, x0)
    for name, orig in _intercept.ORIGINAL.items():
        assert getattr(np, name) is orig, name
    assert type(np.zeros(3)) is np.ndarray and type(np.array([1.0])) is np.ndarray

    def bad(x):
        y = np.zeros(2)
        y[0] = x[0]
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        E.grad(bad, x0)
    for name, orig in _intercept.ORIGINAL.items():
        assert getattr(np, name) is orig, name
    assert not _intercept.tracing_here()


def test_other_threads_get_plain_ndarrays_during_a_trace() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[type] = []

    def f(x):
        inside.set()  # the wrappers are installed now
        release.wait(10)
        y = np.zeros(len(x))
        y[0] = x[0]
        return y

    def other() -> None:
        inside.wait(10)
        assert np.zeros is not _intercept.ORIGINAL["zeros"]  # really during the trace
        seen.extend(type(a) for a in (np.zeros(3), np.ones(2), np.array([1.0]), np.asarray([2.0])))
        seen.append(type(np.r_[1.0, 2.0]))
        release.set()

    t = threading.Thread(target=other)
    t.start()
    J = E.jacobian(f, x0)
    t.join()
    assert seen == [np.ndarray] * 5
    assert J[0, 0] == 1.0


def test_concurrent_traces_in_threads() -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(20):
                x = x0 + k
                J = E.jacobian(seed_loop, x, mode="reverse")
                np.testing.assert_array_equal(J, np.diag(np.arange(5.0)))
                assert type(np.zeros(1)) is np.ndarray  # this thread is not tracing here
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert np.zeros is _intercept.ORIGINAL["zeros"]


_PRE = np.zeros(5)


def test_preexisting_array_still_refuses_traced_values() -> None:
    def f(x):
        _PRE[1:3] = x[1:3]
        return np.sum(x)

    def g(x):
        y = _PRE.copy()  # a method of a plain ndarray: not intercepted, a plain array
        y[0] = x[0]
        return np.sum(y)

    for fn in (f, g):
        with pytest.raises(E.EngineError, match="plain NumPy array"):
            E.grad(fn, x0)
        with pytest.raises(E.EngineError, match="plain NumPy array"):
            E.jacobian(fn, x0)
    assert not _PRE.any()


def test_library_internals_keep_ndarrays() -> None:
    # numpy's and scipy's own np.zeros calls inside f stay ndarrays (they feed compiled code)
    import scipy.linalg

    A = np.array([[4.0, 1.0], [1.0, 3.0]])

    def f(x):
        c = scipy.linalg.cho_factor(A)  # constant data through scipy: works as before
        return np.sum(x[:2] * scipy.linalg.cho_solve(c, np.ones(2)))

    np.testing.assert_allclose(E.grad(f, x0)[:2], np.linalg.solve(A, np.ones(2)), rtol=1e-14)


def test_compiled_code_inside_f_keeps_getting_ndarrays() -> None:
    # Cython (np.random) looks np.asarray/np.array up itself, from no Python frame of its own:
    # it must get NumPy's result, not a buffer (else "Cannot convert Traced to numpy.ndarray")
    def f(x):
        rng = np.random.default_rng(0)
        w = rng.standard_normal(len(x))
        y = np.zeros(len(x))
        y[:] = x * w
        return np.sum(y)

    w = np.random.default_rng(0).standard_normal(5)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(E.jacobian(f, x0, mode=mode), w, rtol=1e-15)


def test_creator_under_another_name_is_not_intercepted_but_fails_loudly() -> None:
    make = np.zeros  # bound outside the trace: NumPy's own function

    def f(x):
        y = make(2)
        y[0] = x[0]
        return np.sum(y)

    with pytest.raises(E.EngineError, match="plain NumPy array at `y\\[0\\]`"):
        E.grad(f, x0)


def test_constant_buffer_metadata_and_pickled_scipy_wrappers() -> None:
    import pickle

    import scipy.special as sp

    def f(x):
        y = np.zeros((2, 3))
        assert y.itemsize == 8 and y.nbytes == 48 and y.strides == (24, 8)
        y[0] = x[:3]
        return np.sum(y) + sp.logsumexp(x)

    g = E.grad(f, x0)
    np.testing.assert_allclose(g, np.r_[1.0, 1.0, 1.0, 0.0, 0.0] + np.exp(x0) / np.exp(x0).sum(), rtol=1e-14)
    assert pickle.loads(pickle.dumps(sp.logsumexp)) is sp.logsumexp  # a swapped SciPy function pickles


def test_constant_buffers_work_with_functions_that_have_no_rule() -> None:
    # np.array of constants inside f is a buffer; functions without a rule still run on it
    def f(x):
        A = np.array([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])
        c = np.linalg.lstsq(A, np.ones(3), rcond=None)[0]  # no engine rule, constants only
        s = np.spacing(A).sum() * 0.0 + A.cumprod().sum()  # ufunc / method without a rule
        return np.sum(x[:2] * c) + s

    ref = np.linalg.lstsq(np.array([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]]), np.ones(3), rcond=None)[0]
    np.testing.assert_allclose(E.grad(f, x0)[:2], ref, rtol=1e-13)
    with pytest.raises(E.EngineError, match="histogram2d"):  # with a traced operand: a clear error
        E.grad(lambda x: np.sum(np.histogram2d(x, x, weights=x)[0]), x0)
