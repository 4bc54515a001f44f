"""An exception raised by a bridged ``f`` or rule keeps its type on every host (inside
``jax.jit``: through ``original_exceptions()`` / anydiff's operators, and its type and message
are in JAX's error text); float64 results survive a callback thread that does not see the
caller's ``jax.enable_x64()`` context."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import anydiff as ad
from anydiff.bridge import BridgedRuleError, original_exceptions

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

logging.getLogger("jax._src.callback").setLevel(logging.CRITICAL)  # JAX logs every failed callback


class Boom(Exception):
    """A user's own exception class."""


EXCEPTIONS = [ValueError("x too big"), ZeroDivisionError("divided by zero"), Boom("custom boom")]


def failing_f(exc):
    """sin(x), raising ``exc`` where x[0] > 1.5 (the probe point, ones, passes: the error is
    raised when the compiled program runs, not when it is traced)."""

    def f(x):
        if float(np.asarray(x).reshape(-1)[0]) > 1.5:
            raise exc
        return np.sin(x)

    return f


def failing_pullback(exc):
    def pb(x, w):
        raise exc

    return pb


BAD = 2.0 * np.ones(3)


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_jax_host_exception_of_f_keeps_type(exc):
    g = ad.custom_derivative(failing_f(exc), pullback=lambda x, w: np.cos(x) * w)
    L = lambda x: jnp.sum(g(x) ** 2)  # noqa: E731  (the value is needed: not dead code)
    x = jnp.asarray(BAD)
    kind, msg = type(exc), str(exc)
    # eager transforms call the rule directly (vmap too: no compiled lax.map on concrete arrays)
    for run in (lambda: g(x), lambda: jax.grad(L)(x), lambda: jax.vmap(g)(jnp.stack([x, x]))):
        with pytest.raises(kind, match=msg):
            run()
    # inside jit: JAX's own error, whose text names the original type and message ...
    with pytest.raises(jax.errors.JaxRuntimeError, match=rf"{kind.__name__}: {msg} \[in the function"):
        jax.block_until_ready(jax.jit(jax.grad(L))(x))
    # ... and the original itself inside original_exceptions() (jit of grad and of vmap)
    for run, arg in ((jax.jit(jax.grad(L)), x), (jax.jit(jax.vmap(g)), jnp.stack([x, x]))):
        with pytest.raises(kind, match=msg) as info, original_exceptions():
            jax.block_until_ready(run(arg))
        assert isinstance(info.value.__cause__, jax.errors.JaxRuntimeError)
    # anydiff's operators on the JAX backend (jitted kernels) raise the original directly
    with pytest.raises(kind, match=msg):
        ad.gradient(L, "jax", BAD)


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_jax_host_exception_of_rule_keeps_type(exc):
    g = ad.custom_derivative(np.sin, pullback=failing_pullback(exc))
    L = lambda x: jnp.sum(g(x))  # noqa: E731
    x = jnp.ones(3)
    kind = type(exc)
    with pytest.raises(kind, match=str(exc)):
        jax.grad(L)(x)
    with pytest.raises(kind, match=str(exc)), original_exceptions():
        jax.block_until_ready(jax.jit(jax.vmap(jax.grad(L)))(jnp.stack([x, x])))
    with pytest.raises(kind, match=str(exc)):
        ad.gradient(L, "jax", np.ones(3))


def test_original_exceptions_leaves_other_errors_alone():
    with pytest.raises(KeyError), original_exceptions():
        raise KeyError("not from a bridge")
    e = BridgedRuleError("ValueError: v [in the function f, bridged by anydiff; "
                         "anydiff-bridge-exception #999999]")
    with pytest.raises(BridgedRuleError), original_exceptions():  # no cause, key unknown
        raise e


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_torch_host_exceptions_keep_type(exc):
    torch = pytest.importorskip("torch")
    kind, msg = type(exc), str(exc)
    g = ad.custom_derivative(failing_f(exc), pullback=lambda x, w: np.cos(x) * w)
    x = torch.tensor(BAD, requires_grad=True)
    with pytest.raises(kind, match=msg):
        g(x).sum().backward()
    with pytest.raises(kind, match=msg):
        torch.func.vmap(g)(torch.stack([x, x]))
    gb = ad.custom_derivative(np.sin, pullback=failing_pullback(exc))
    xs = torch.ones(3, dtype=torch.float64)
    for run in (lambda: torch.func.grad(lambda v: gb(v).sum())(xs),
                lambda: torch.func.vmap(torch.func.grad(lambda v: gb(v).sum()))(torch.stack([xs, xs])),
                lambda: torch.autograd.grad(gb(xs.requires_grad_()).sum(), xs)):
        with pytest.raises(kind, match=msg):
            run()


def test_float64_second_order_compiled_in_x64_context_runs_outside_it():
    # the callback then runs on a thread with x64 off, as an XLA worker thread can: JAX used to
    # round the float64 arguments to float32 and reject the float64 results ("Incorrect output
    # dtype"); analytic references (sum of squares of f(x)_i = sin(x_i) x_0)
    from anydiff.testing._bridge_family import _f_xp, _sq_grad, _sq_hess

    g = ad.differentiate_with(_f_xp, "engine")
    L = lambda x: jnp.sum(g(x) ** 2)  # noqa: E731
    with jax.enable_x64(True):
        x = jnp.linspace(0.2, 1.1, 4)
        grad_c, hess_c = (jax.jit(t(L)).lower(x).compile() for t in (jax.grad, jax.hessian))
    xn = np.asarray(x)
    gr, H = np.asarray(grad_c(x)), np.asarray(hess_c(x))  # x: a float64 array made in the context
    assert gr.dtype == H.dtype == np.float64
    np.testing.assert_allclose(gr, _sq_grad(xn)[0], rtol=1e-13)
    np.testing.assert_allclose(H, _sq_hess(xn), rtol=1e-12, atol=1e-13)


def test_complex128_result_through_the_wire():
    g = ad.custom_derivative(lambda z: z ** 2, pushforward=lambda z, t: 2 * z * t)
    with jax.enable_x64(True):
        z = jnp.asarray([1.0 + 2.0j, -0.5 + 0.25j])
        c = jax.jit(lambda z: jax.jvp(g, (z,), (jnp.ones_like(z),))).lower(z).compile()
    y, ty = c(z)
    assert y.dtype == np.complex128
    np.testing.assert_allclose(np.asarray(y), np.asarray(z) ** 2, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(ty), 2 * np.asarray(z), rtol=1e-15)


def test_autograd_and_engine_hosts_exceptions_keep_type():
    autograd = pytest.importorskip("autograd")
    from anydiff import engine as E

    exc = Boom("custom boom")
    g = ad.custom_derivative(failing_f(exc), pullback=lambda x, w: np.cos(x) * w)
    gb = ad.custom_derivative(np.sin, pullback=failing_pullback(exc))
    for run in (lambda: autograd.grad(lambda v: g(v).sum())(BAD),
                lambda: autograd.grad(lambda v: gb(v).sum())(np.ones(3)),
                lambda: E.grad(lambda v: np.sum(g(v)), BAD),
                lambda: E.jacobian(gb, np.ones(3), mode="reverse")):
        with pytest.raises(Boom, match="custom boom"):
            run()


def test_float64_arguments_reach_the_callback_unencoded():
    # the JAX host's callbacks take XLA's arguments as they are (anydiff.bridge._host_call): a
    # float64 operand of the Python callback stays f64 (it used to travel as ui32 words, and be
    # copied once more by pure_callback's device_put); only results still travel as words
    from anydiff.bridge._host_call import host_call

    assert host_call is not None, "JAX's callback lowering helper is not available"
    g = ad.custom_derivative(np.sin, pullback=lambda x, w: np.cos(x) * w)
    with jax.enable_x64(True):
        x = jnp.linspace(0.1, 0.9, 3)
        text = jax.jit(jax.grad(lambda v: jnp.sum(g(v)))).lower(x).as_text()
        calls = [ln for ln in text.splitlines() if "python_cpu_callback" in ln]
        assert calls and all("(tensor<3xf64>" in ln for ln in calls), calls
        np.testing.assert_allclose(jax.jit(jax.grad(lambda v: jnp.sum(g(v))))(x),
                                   np.cos(np.asarray(x)), rtol=1e-15)


def test_error_type_on_jax_fast_path_after_a_successful_call():
    # once a jitted function has run, JAX raises a callback's failure from its C++ fast path as
    # a plain ValueError (before: JaxRuntimeError); the text, and so original_exceptions(), are
    # the same either way
    g = ad.custom_derivative(failing_f(Boom("late boom")), pullback=lambda x, w: np.cos(x) * w)
    run = jax.jit(lambda x: jnp.sum(g(x) ** 2))
    jax.block_until_ready(run(jnp.ones(3)))
    with pytest.raises((jax.errors.JaxRuntimeError, ValueError),
                       match=r"Boom: late boom \[in the function") as info:
        jax.block_until_ready(run(jnp.asarray(BAD)))
    assert not isinstance(info.value, Boom) and info.value.__cause__ is None
    with pytest.raises(Boom, match="late boom"), original_exceptions():
        jax.block_until_ready(run(jnp.asarray(BAD)))


def test_pure_callback_fallback_keeps_float64(monkeypatch):
    # without JAX's lowering helper (other JAX releases) the host uses jax.pure_callback, whose
    # float64 arguments travel as uint32 words: compiled in an x64 context, run outside it
    import anydiff.bridge.jax as jax_host

    monkeypatch.setattr(jax_host, "host_call", None)
    g = ad.custom_derivative(lambda x: np.sin(x) * x[0], pullback=lambda x, w: np.cos(x) * x[0] * w
                             + np.eye(len(x))[0] * np.dot(np.sin(x), w))
    with jax.enable_x64(True):
        x = jnp.linspace(0.2, 1.1, 4)
        grad = jax.jit(jax.grad(lambda v: jnp.sum(g(v)))).lower(x)
        assert "python_cpu_callback" in grad.as_text() and "xui32>" in grad.as_text()
        grad = grad.compile()
    xn = np.asarray(x)
    want = np.cos(xn) * xn[0] + np.eye(4)[0] * np.sum(np.sin(xn))
    gr = np.asarray(grad(x))
    assert gr.dtype == np.float64
    np.testing.assert_allclose(gr, want, rtol=1e-15)
