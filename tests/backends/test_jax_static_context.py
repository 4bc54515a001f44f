"""A prep whose context holds a mutable Python object (an instance whose attributes ``f`` reads)
must see the object's changes in place between calls on every backend: the JAX prep used to
compare such a static leaf by identity and reuse the program traced with the old attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import anydiff as ad

pytest.importorskip("jax")

X = np.array([0.3, -1.2, 2.0])
T = np.array([1.0, 0.5, -2.0])


class Params:
    def __init__(self, a: float) -> None:
        self.a = a


def f_scalar(x: Any, p: Params) -> Any:
    xp = ad.array_namespace(x)
    return xp.sum(p.a * x**2)


def f_vector(x: Any, p: Params) -> Any:
    return p.a * x**2


def _backends() -> list:
    out: list = [
        pytest.param(ad.AutoJax(), id="jax-jit"),
        pytest.param(ad.AutoJax(jit=False), id="jax-eager"),
        pytest.param("finitediff", id="finitediff"),
        pytest.param("engine", id="engine"),
    ]
    for name in ("torch", "autograd"):
        try:
            __import__(name)
        except ImportError:  # pragma: no cover - optional framework missing
            continue
        out.append(pytest.param(name, id=name))
    return out


# (name, prepare(backend, p) -> prep, call(prep, p) -> result, expected(a) -> array)
CASES: list[tuple[str, Callable, Callable, Callable]] = [
    ("gradient",
     lambda b, p: ad.prepare_gradient(f_scalar, b, X, ad.Constant(p)),
     lambda prep, p: prep(X, ad.Constant(p)),
     lambda a: 2 * a * X),
    ("jacobian",
     lambda b, p: ad.prepare_jacobian(f_vector, b, X, ad.Constant(p)),
     lambda prep, p: prep(X, ad.Constant(p)),
     lambda a: np.diag(2 * a * X)),
    ("pushforward",
     lambda b, p: ad.prepare_pushforward(f_vector, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * X * T),
    ("pullback",
     lambda b, p: ad.prepare_pullback(f_vector, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * X * T),
    ("hvp",
     lambda b, p: ad.prepare_hvp(f_scalar, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * T),
    ("hessian",
     lambda b, p: ad.prepare_hessian(f_scalar, b, X, ad.Constant(p)),
     lambda prep, p: prep(X, ad.Constant(p)),
     lambda a: 2 * a * np.eye(3)),
    ("derivative",
     lambda b, p: ad.prepare_derivative(f_vector, b, 0.7, ad.Constant(p)),
     lambda prep, p: prep(0.7, ad.Constant(p)),
     lambda a: np.asarray(2 * a * 0.7)),
    ("second_derivative",
     lambda b, p: ad.prepare_second_derivative(f_vector, b, 0.7, ad.Constant(p)),
     lambda prep, p: prep(0.7, ad.Constant(p)),
     lambda a: np.asarray(2 * a)),
    ("pushforward_same_point",
     lambda b, p: ad.prepare_pushforward_same_point(f_vector, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * X * T),
    ("pullback_same_point",
     lambda b, p: ad.prepare_pullback_same_point(f_vector, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * X * T),
    ("hvp_same_point",
     lambda b, p: ad.prepare_hvp_same_point(f_scalar, b, X, T, ad.Constant(p)),
     lambda prep, p: prep(X, T, ad.Constant(p)),
     lambda a: 2 * a * T),
]


def _close(got: Any, want: np.ndarray, backend: Any) -> None:
    tol = 1e-5 if backend == "finitediff" else 1e-10
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("name,prepare,call,expected", CASES, ids=[c[0] for c in CASES])
def test_mutated_object_context_is_seen(
    backend: Any, name: str, prepare: Callable, call: Callable, expected: Callable
) -> None:
    p = Params(2.0)
    prep = prepare(backend, p)
    _close(call(prep, p), expected(2.0), backend)
    p.a = 3.0  # the same object, changed in place
    _close(call(prep, p), expected(3.0), backend)
    p.a = 2.0  # back to a value seen before (a reused program must be the right one)
    _close(call(prep, p), expected(2.0), backend)


@pytest.mark.parametrize("backend", _backends())
def test_mutated_dict_and_list_contexts_are_seen(backend: Any) -> None:
    def f(x: Any, d: dict, lst: list) -> Any:
        xp = ad.array_namespace(x)
        return xp.sum(d["a"] * lst[0] * x**2)

    d, lst = {"a": 2.0}, [1.0]
    prep = ad.prepare_gradient(f, backend, X, ad.Constant(d), ad.Constant(lst))
    _close(prep(X, ad.Constant(d), ad.Constant(lst)), 4 * X, backend)
    d["a"], lst[0] = 3.0, 2.0
    _close(prep(X, ad.Constant(d), ad.Constant(lst)), 12 * X, backend)


def test_jax_immutable_static_context_keeps_the_compiled_program() -> None:
    """Strings (numbers, None, tuples of them) are compared by value: no trace of f after the
    prep while they are unchanged (the fast path), a fresh one when they change."""
    traces: list = []

    def f(x: Any, c: float, mode: str) -> Any:
        traces.append(mode)
        return (c * x**2).sum() if mode == "sq" else (c * x**3).sum()

    prep = ad.prepare_gradient(f, ad.AutoJax(), X, ad.Constant(2.0), ad.Constant("sq"))
    prep(X, ad.Constant(2.0), ad.Constant("sq"))
    n = len(traces)
    for _ in range(3):
        _close(prep(X, ad.Constant(2.0), ad.Constant("sq")), 4 * X, "jax")
    assert len(traces) == n
    _close(prep(X, ad.Constant(3.0), ad.Constant("sq")), 6 * X, "jax")  # an array: traced
    assert len(traces) == n
    _close(prep(X, ad.Constant(2.0), ad.Constant("cube")), 6 * X**2, "jax")
    assert len(traces) > n


def test_jax_unchanged_object_context_reuses_compiled_code() -> None:
    """A mutable leaf re-traces f on every call, but an equal program reuses the kernel
    compiled for it (no new XLA compile)."""
    import jax

    seen: list = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(event)

    p = Params(2.0)
    prep = ad.prepare_gradient(f_scalar, ad.AutoJax(), X, ad.Constant(p))
    prep(X, ad.Constant(p))
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        prep(X, ad.Constant(p))  # first call with a fresh trace: compiles its program once
        n = len(seen)
        for _ in range(3):
            _close(prep(X, ad.Constant(p)), 4 * X, "jax")
        assert len(seen) == n
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def test_jax_object_context_from_threads() -> None:
    """Calls with different objects from several threads each get their own derivative."""
    import threading

    prep = ad.prepare_gradient(f_scalar, ad.AutoJax(), X, ad.Constant(Params(1.0)))
    errors: list = []

    def work(a: float) -> None:
        try:
            p = Params(a)
            for _ in range(5):
                np.testing.assert_allclose(np.asarray(prep(X, ad.Constant(p))), 2 * a * X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(float(a),)) for a in range(1, 13)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
