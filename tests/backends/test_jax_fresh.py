"""Unprepared JAX calls compute with f as it is now  and reuse
compiled code only for an equal traced program; preps may freeze closures. Also the clear error
for JAX code that writes into a NumPy buffer (issue 8, item 11)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import anydiff as ad
from anydiff import _unprepared

jax = pytest.importorskip("jax")
jnp = jax.numpy

JAX = ad.AutoJax()
X = np.array([0.3, -1.2, 2.0])


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@contextlib.contextmanager
def compiles() -> Iterator[list]:
    """Collects one entry per XLA backend compile while active (JAX's monitoring events)."""
    seen: list = []

    def listener(event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


# ---- f as it is now: each case fails when the compiled kernel is keyed by f ----------------


class Model:
    def __init__(self, w: float) -> None:
        self.w = w

    def loss(self, x):
        return self.w * jnp.sum(x**2)


def test_method_with_changed_attribute():
    m = Model(2.0)
    close(ad.gradient(m.loss, JAX, X), 4.0 * X)
    m.w = 3.0
    close(ad.gradient(m.loss, JAX, X), 6.0 * X)
    close(ad.value_and_gradient(m.loss, JAX, X)[0], 3.0 * np.sum(X**2))


def test_mutated_closure_dict():
    params = {"a": 1.0}

    def f(x):
        return params["a"] * jnp.sum(jnp.sin(x))

    close(ad.gradient(f, JAX, X), np.cos(X))
    params["a"] = -2.5
    close(ad.gradient(f, JAX, X), -2.5 * np.cos(X))


SCALE = 1.0


def _global_loss(x):
    return SCALE * jnp.sum(x**3)


def test_rebound_global():
    global SCALE
    try:
        close(ad.gradient(_global_loss, JAX, X), 3 * X**2)
        SCALE = 4.0
        close(ad.gradient(_global_loss, JAX, X), 12 * X**2)
        close(ad.hessian(_global_loss, JAX, X), np.diag(24 * X))
    finally:
        SCALE = 1.0


def test_captured_numpy_array_changed_in_place():
    a = np.array([1.0, 2.0, 3.0])

    def f(x):
        return jnp.sum(a * x**2)

    close(ad.gradient(f, JAX, X), 2 * a * X)
    a[:] = [-1.0, 0.5, 7.0]
    close(ad.gradient(f, JAX, X), 2 * np.array([-1.0, 0.5, 7.0]) * X)
    # and back: the program equal to the first one must give the first result again
    a[:] = [1.0, 2.0, 3.0]
    close(ad.gradient(f, JAX, X), 2 * a * X)


def test_captured_0d_array_changed_in_place():
    # A 0-d NumPy array becomes a jaxpr *literal* that is a view of the caller's array.
    s = np.array(2.0)

    def f(x):
        return jnp.sum(s * x**2)

    close(ad.gradient(f, JAX, X), 4 * X)
    s[...] = 5.0
    close(ad.gradient(f, JAX, X), 10 * X)
    s[...] = 2.0
    close(ad.gradient(f, JAX, X), 4 * X)


def test_captured_python_float_rebound():
    c = 0.5

    def f(x):
        return c * jnp.sum(x**2)

    close(ad.gradient(f, JAX, X), 2 * 0.5 * X)
    c = 1.75
    close(ad.gradient(f, JAX, X), 2 * 1.75 * X)


def test_captured_jax_array_rebound():
    w = jnp.asarray([1.0, 2.0, 3.0])

    def f(x):
        return jnp.sum(w * jnp.sin(x))

    close(ad.gradient(f, JAX, X), np.array([1.0, 2.0, 3.0]) * np.cos(X), tol=1e-6)
    w = jnp.asarray([3.0, 2.0, 1.0])
    close(ad.gradient(f, JAX, X), np.array([3.0, 2.0, 1.0]) * np.cos(X), tol=1e-6)


def test_static_control_flow_on_captured_value():
    cfg = {"square": True}

    def f(x):
        return jnp.sum(x**2) if cfg["square"] else jnp.sum(x**3)

    close(ad.gradient(f, JAX, X), 2 * X)
    cfg["square"] = False
    close(ad.gradient(f, JAX, X), 3 * X**2)


def test_every_operator_sees_the_change():
    p = {"a": 1.0}
    t = np.array([1.0, -2.0, 0.5])

    def f(x):
        return p["a"] * jnp.sum(x**3)

    def g(x):
        return p["a"] * jnp.sin(x)

    for a in (1.0, 3.0):
        p["a"] = a
        close(ad.gradient(f, JAX, X), a * 3 * X**2)
        close(ad.hessian(f, JAX, X), np.diag(a * 6 * X))
        close(ad.hvp(f, JAX, X, t), a * 6 * X * t)
        close(ad.jacobian(g, JAX, X), np.diag(a * np.cos(X)))
        close(ad.pushforward(g, JAX, X, t), a * np.cos(X) * t)
        close(ad.pullback(g, JAX, X, t), a * np.cos(X) * t)
        close(ad.derivative(lambda s: p["a"] * jnp.sin(s), JAX, 0.4), a * np.cos(0.4))
        close(ad.second_derivative(lambda s: p["a"] * jnp.sin(s), JAX, 0.4), -a * np.sin(0.4))


def test_cached_prep_never_reruns_an_old_function():
    # m1.loss and m2.loss trace to the same program, so the second call reuses the first's
    # compiled prep. Its kernel for the value form is built only now: it must compute the
    # program that was compared (w = 1), not m1.loss with m1's current w.
    m1, m2 = Model(1.0), Model(1.0)
    ad.gradient(m1.loss, JAX, X)
    m1.w = 5.0
    value, grad = ad.value_and_gradient(m2.loss, JAX, X)
    close(value, np.sum(X**2))
    close(grad, 2 * X)


def test_reused_program_keeps_a_snapshot_of_numpy_data():
    # The jaxpr holds *views* of captured NumPy arrays (constants and 0-d literals). A reused
    # program must keep the values it was compared with, whatever happens to the old arrays.
    s1, a1 = np.array(2.0), np.array([1.0, 2.0, 3.0])
    ad.gradient(lambda x: s1 * jnp.sum(a1 * x**2), JAX, X)  # the program is stored
    s1[...] = 5.0
    a1[:] = -1.0
    s2, a2 = np.array(2.0), np.array([1.0, 2.0, 3.0])  # equal program, other arrays
    value, grad = ad.value_and_gradient(lambda x: s2 * jnp.sum(a2 * x**2), JAX, X)
    close(value, 2.0 * np.sum(a2 * X**2))
    close(grad, 4.0 * a2 * X)


# ---- compiled code is reused only for an equal program ---------------------------------


def test_inline_lambda_in_a_loop_compiles_once():
    ad.gradient(lambda v: jnp.sum(jnp.sin(v) * v), JAX, X)  # the one compile
    hits = _unprepared.stats["hits"]
    with compiles() as seen:
        for i in range(10):
            x = X + i
            close(ad.gradient(lambda v: jnp.sum(jnp.sin(v) * v), JAX, x), np.sin(x) + x * np.cos(x))
    assert seen == []
    assert _unprepared.stats["hits"] == hits + 10


def test_different_literal_constants_give_different_results():
    for c in (1.0, 2.0, 0.1, 0.1 + 2**-50, -0.0, 0.0):
        # the lambda runs within its iteration: capturing the loop variable is the point
        close(ad.gradient(lambda v: c * jnp.sum(v**2), JAX, X), 2 * c * X, tol=0)  # noqa: B023


def test_constants_are_arguments_not_program_constants():
    def f(x, c):
        return jnp.sum(c * x**2)

    close(ad.gradient(f, JAX, X, ad.Constant(np.array([1.0, 2.0, 3.0]))), 2 * np.array([1, 2, 3]) * X)
    with compiles() as seen:
        for k in range(5):
            c = np.array([1.0, 2.0, 3.0]) * (k + 2)
            close(ad.gradient(f, JAX, X, ad.Constant(c)), 2 * c * X)
    assert seen == []


def test_static_context_steering_control_flow():
    def f(x, kind):
        return jnp.sum(x**2) if kind == "square" else jnp.sum(x**3)

    close(ad.gradient(f, JAX, X, ad.Constant("square")), 2 * X)
    close(ad.gradient(f, JAX, X, ad.Constant("cube")), 3 * X**2)
    close(ad.gradient(f, JAX, X, ad.Constant("square")), 2 * X)


def test_output_structure_is_part_of_the_key():
    # Same jaxpr, different output pytree: results must keep each call's structure.
    t = np.array([1.0, -2.0, 0.5])
    ja = ad.pushforward(lambda v: {"a": jnp.sin(v)}, JAX, X, t)
    jt = ad.pushforward(lambda v: (jnp.sin(v),), JAX, X, t)
    assert isinstance(ja, dict) and isinstance(jt, tuple)
    close(ja["a"], np.cos(X) * t)
    close(jt[0], np.cos(X) * t)


def test_float32_and_float64_are_separate_programs():
    x32 = X.astype(np.float32)
    g32 = ad.gradient(lambda v: jnp.sum(v**2), JAX, x32)
    g64 = ad.gradient(lambda v: jnp.sum(v**2), JAX, X)
    assert g32.dtype == np.float32 and g64.dtype == np.float64
    close(g64, 2 * X)
    close(g32, 2 * x32, tol=1e-6)


def test_custom_rules_and_stop_gradient_survive_reuse():
    # relu's custom JVP gives 0 at 0; stop_gradient blocks one factor; both through a reused prep.
    x = np.array([0.0, -1.0, 2.0])
    for _ in range(3):
        close(ad.gradient(lambda v: jnp.sum(jax.nn.relu(v)), JAX, x), [0.0, 0.0, 1.0])
        close(ad.gradient(lambda v: jnp.sum(jax.lax.stop_gradient(v) * v), JAX, x), x)

    @jax.custom_vjp
    def clip_grad(v):
        return v

    clip_grad.defvjp(lambda v: (v, None), lambda _, g: (jnp.clip(g, -0.5, 0.5),))
    for _ in range(2):
        close(ad.gradient(lambda v: jnp.sum(clip_grad(v) * 3.0), JAX, x), [0.5, 0.5, 0.5])


def test_jax_own_rules_keep_programs_reusable():
    x = np.array([0.0, -1.0, 2.0])
    ad.gradient(lambda v: jnp.sum(jax.nn.relu(v) + jax.nn.softplus(v)), JAX, x)
    hits = _unprepared.stats["hits"]
    with compiles() as seen:
        for _ in range(3):
            g = ad.gradient(lambda v: jnp.sum(jax.nn.relu(v) + jax.nn.softplus(v)), JAX, x)
            close(g, (x > 0) + 1 / (1 + np.exp(-x)))
    assert _unprepared.stats["hits"] == hits + 3 and seen == []


def test_user_rule_reading_changing_data_is_never_stale():
    # The primal program is unchanged; only the user's JVP rule reads the changed value.
    scale = {"s": 2.0}

    @jax.custom_jvp
    def g(v):
        return jnp.sin(v)

    @g.defjvp
    def g_jvp(primals, tangents):
        return jnp.sin(primals[0]), scale["s"] * tangents[0]

    close(ad.gradient(lambda v: jnp.sum(g(v)), JAX, X), 2.0 * np.ones(3))
    scale["s"] = 5.0
    close(ad.gradient(lambda v: jnp.sum(g(v)), JAX, X), 5.0 * np.ones(3))


def test_control_flow_primitives_with_captured_arrays():
    a = np.array([1.0, 2.0, 3.0])

    def f(v):
        y = jax.lax.cond(v[0] > 0, lambda u: jnp.sum(a * u**2), lambda u: jnp.sum(u), v)
        z, _ = jax.lax.scan(lambda c, ai: (c + ai * jnp.sum(v), None), 0.0, a)
        w = jax.lax.fori_loop(0, 3, lambda i, s: s + jnp.asarray(a)[i] * v[i], 0.0)
        return y + z + w

    def expected(a):
        return 2 * a * X + np.sum(a) + a

    close(ad.gradient(f, JAX, X), expected(a))
    a[:] = [5.0, -1.0, 0.5]
    close(ad.gradient(f, JAX, X), expected(a))
    hits = _unprepared.stats["hits"]
    a[:] = [1.0, 2.0, 3.0]
    close(ad.gradient(f, JAX, X), expected(a))
    assert _unprepared.stats["hits"] == hits + 1  # the first program again


def test_jit_false_is_always_fresh():
    p = {"a": 1.0}
    eager = ad.AutoJax(jit=False)
    close(ad.gradient(lambda v: p["a"] * jnp.sum(v**2), eager, X), 2 * X)
    p["a"] = 2.0
    close(ad.gradient(lambda v: p["a"] * jnp.sum(v**2), eager, X), 4 * X)


def test_f_raising_propagates_after_one_evaluation():
    calls = []

    def f(x):
        calls.append(1)
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        ad.gradient(f, JAX, X)
    assert len(calls) == 1


def test_threads_each_see_their_own_closure():
    errors: list = []

    def worker(a: float) -> None:
        try:
            for _ in range(5):
                g = ad.gradient(lambda v: a * jnp.sum(v**2), JAX, X)
                close(g, 2 * a * X)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(float(k),)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_cache_is_bounded(monkeypatch):
    _unprepared.clear()
    monkeypatch.setattr(_unprepared, "MAX_ENTRIES", 3)
    for k in range(6):
        g = ad.gradient(lambda v: (k + 1.0) * jnp.sum(v**2), JAX, X)  # noqa: B023 (runs now)
        close(g, 2 * (k + 1.0) * X)
    assert len(_unprepared._cache) == 3
    _unprepared.clear()
    monkeypatch.setattr(_unprepared, "MAX_BYTES", 100)
    big = np.ones(1000)  # 8000 bytes of constants: more than the whole cache may hold
    close(ad.gradient(lambda v: jnp.sum(v**2) + jnp.sum(big), JAX, X), 2 * X)
    assert len(_unprepared._cache) == 0
    for k in range(20):  # 8-byte literals each: older programs make room for newer ones
        g = ad.gradient(lambda v: (k + 1.0) * jnp.sum(v**2), JAX, X)  # noqa: B023 (runs now)
        close(g, 2 * (k + 1.0) * X)
    assert 0 < len(_unprepared._cache) < 20 and _unprepared._bytes <= 100


def test_large_jax_arrays_compare_by_identity():
    w = jnp.arange(20000.0) / 20000.0  # above the by-value limit
    x = np.linspace(0.0, 1.0, 20000)

    def f(v):
        return jnp.sum(w * v**2)

    close(ad.gradient(f, JAX, x), 2 * np.asarray(w) * x, tol=1e-6)
    hits = _unprepared.stats["hits"]
    close(ad.gradient(f, JAX, x), 2 * np.asarray(w) * x, tol=1e-6)
    assert _unprepared.stats["hits"] == hits + 1  # the same array: reused
    w = w * 3.0  # a new array: a new program
    close(ad.gradient(f, JAX, x), 2 * np.asarray(w) * x, tol=1e-6)


# ---- preps may freeze closures (documented) ---------------------------------------------


def test_prepared_calls_freeze_closures_as_documented():
    params = {"a": 1.0}

    def f(x):
        return params["a"] * jnp.sum(x**2)

    prep = ad.prepare_gradient(f, JAX, X)
    params["a"] = 3.0
    close(prep(X), 2 * X)  # JAX preps compile f once: closure data is fixed at preparation
    close(ad.gradient(f, JAX, X), 6 * X)  # unprepared: f as it is now
    # changing data belongs in a Constant, which a prep reads on every call
    prep_c = ad.prepare_gradient(lambda x, a: a * jnp.sum(x**2), JAX, X, ad.Constant(1.0))
    close(prep_c(X, ad.Constant(3.0)), 6 * X)


# ---- item 11: writing into a NumPy buffer under JAX --------------------------------------


def test_numpy_buffer_assignment_is_a_clear_error():
    def f(x):
        b = np.zeros(3)
        b[0] = x[0]
        return (b * x).sum()

    for call in (
        lambda: ad.gradient(f, JAX, X),
        lambda: ad.prepare_gradient(f, JAX, X),
        lambda: ad.jacobian(lambda x: f(x) * x, JAX, X),
    ):
        with pytest.raises(ad.UnsupportedError) as info:
            call()
        msg = str(info.value)
        assert "NumPy array" in msg and ".at[i].set(" in msg
        for name in ("engine", "finitediff", "torch"):
            assert name in msg
        assert isinstance(info.value.__cause__, ValueError)  # the original, chained
    # a backend it names runs it
    close(ad.gradient(f, "finitediff", X), [2 * X[0], 0.0, 0.0], tol=1e-6)


def test_f_own_exception_raised_from_a_jax_error_is_unchanged():
    class Mine(RuntimeError):
        pass

    def f(x):
        try:
            float(x[0])
        except jax.errors.ConcretizationTypeError as exc:
            raise Mine("my message") from exc
        return jnp.sum(x)

    with pytest.raises(Mine, match="my message"):
        ad.gradient(f, JAX, X)
