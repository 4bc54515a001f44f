"""custom_derivative, caching of preparations, and the errors a user can rely on."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import anydiff as ad
from anydiff import _operators
from anydiff import engine as E


def f(x):
    return np.sin(x) * x[0]


def pf(x, t):
    return np.cos(x) * x[0] * t + np.sin(x) * t[0]


def pb(x, w):
    out = np.cos(x) * x[0] * w
    out[0] += np.sum(np.sin(x) * w)
    return out


X = np.linspace(0.2, 1.1, 4)
J = E.jacobian(f, X)


@pytest.mark.parametrize("rules",
                         [{"pushforward": pf, "pullback": pb}, {"pushforward": pf}, {"pullback": pb}],
                         ids=["both", "pushforward only", "pullback only"])
def test_custom_derivative_both_modes(rules):
    g = ad.custom_derivative(f, **rules)
    np.testing.assert_allclose(E.jacobian(g, X, mode="forward"), J, rtol=1e-13)
    np.testing.assert_allclose(E.jacobian(g, X, mode="reverse"), J, rtol=1e-13)
    np.testing.assert_allclose(ad.jacobian(lambda x: g(x), "jax", X), J, rtol=1e-13)


def test_one_rule_above_the_limit_is_unsupported():
    n = ad.bridge.MATERIALIZE_LIMIT + 1
    g = ad.custom_derivative(lambda x: 2 * x, pushforward=lambda x, t: 2 * t)
    x = np.ones(n)
    np.testing.assert_allclose(E.jvp(g, x, [np.ones(n)])[1][0], 2 * np.ones(n))
    with pytest.raises(ad.UnsupportedError, match="pullback= to custom_derivative"):
        E.grad(lambda x: np.sum(g(x)), x)


def test_plain_numpy_call_is_just_f():
    calls = []
    g = ad.custom_derivative(lambda x: (calls.append(1), np.sin(x))[1], pullback=lambda x, w: w)
    np.testing.assert_array_equal(g(X), np.sin(X))
    assert calls == [1]
    h = ad.differentiate_with(f, "engine")
    np.testing.assert_array_equal(h(X), f(X))
    assert float(ad.differentiate_with(lambda x: x * 2.0, "engine")(1.5)) == 3.0


def test_rule_of_wrong_shape_names_rule_and_expected_shape():
    def bad_pb(x, w):
        return w[:2]

    g = ad.custom_derivative(f, pullback=bad_pb)
    with pytest.raises(ad.AnydiffValueError, match=r"pullback rule of f.*expected shape \(4,\)"):
        E.grad(lambda x: np.sum(g(x)), X)


def test_rule_of_wrong_dtype_is_value_error():
    g = ad.custom_derivative(f, pushforward=lambda x, t: (1 + 1j) * t)
    with pytest.raises(ad.AnydiffValueError,
                       match=r"pushforward rule of f returned dtype complex128.*expected float64"):
        E.jvp(g, X, [np.ones(4)])


def test_exception_inside_rule_propagates_with_its_own_type():
    class Boom(Exception):
        pass

    def pb_fails(x, w):
        raise Boom("from the rule")

    g = ad.custom_derivative(f, pullback=pb_fails)
    with pytest.raises(Boom, match="from the rule"):
        E.grad(lambda x: np.sum(g(x)), X)
    torch = pytest.importorskip("torch")
    with pytest.raises(Boom):
        torch.func.grad(lambda x: g(x).sum())(torch.tensor(X))


def test_unknown_leaf_type_is_clear_error():
    g = ad.differentiate_with(f, "engine")
    with pytest.raises(ad.AnydiffTypeError, match="no supported framework"):
        g([object()])


def test_prepared_once_per_signature(monkeypatch):
    made = []
    orig = _operators.PUBLIC["prepare_pullback"]
    monkeypatch.setitem(_operators.PUBLIC, "prepare_pullback",
                        lambda *a, **k: (made.append(1), orig(*a, **k))[1])
    g = ad.differentiate_with(f, "engine")
    loss = lambda x: np.sum(g(x) ** 2)  # noqa: E731
    for s in (1.0, 2.0, 3.0):
        E.grad(loss, s * X)
    assert made == [1]
    E.grad(loss, np.linspace(0, 1, 7))  # a new shape prepares again
    E.grad(loss, X.astype(np.float32))  # so does a new dtype
    assert made == [1, 1, 1]
    E.grad(loss, 4 * X)
    assert made == [1, 1, 1]


def test_thread_safe_cache():
    made = []
    g = ad.differentiate_with(f, "engine")
    orig = g.rule.cached

    def counting(sig, key, build):
        return orig(sig, key, lambda: (made.append(key), build())[1])

    g.rule.cached = counting
    results, errors = [], []

    def work(i):
        try:
            results.append((i, E.grad(lambda x: np.sum(g(x) ** 2), (1 + i) * X)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert made.count(("pullback", 1)) == 1
    for i, r in results:
        x = (1 + i) * X
        np.testing.assert_allclose(r, E.grad(lambda x: np.sum(f(x) ** 2), x), rtol=1e-13)


def test_import_anydiff_imports_no_framework():
    code = ("import sys, anydiff as ad; ad.differentiate_with(abs, 'jax'); "
            "print([m for m in ('jax', 'torch', 'autograd') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", ["custom_derivative", "differentiate_with"])
def test_complex_holomorphic_pushforward_and_pullback(kind):
    # J t for pushforwards, Jᴴ w for pullbacks, in each host's own convention
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    if kind == "custom_derivative":
        g = ad.custom_derivative(lambda z: z**2, pushforward=lambda z, t: 2 * z * t,
                                 pullback=lambda z, w: np.conj(2 * z) * w)
    else:
        g = ad.differentiate_with(lambda z: z**2, "engine")
    z = np.array([1 + 2j, 0.5 - 1j])
    t = np.array([1 + 0j, 1j])
    with jax.enable_x64(True):
        zj, tj = jax.numpy.asarray(z), jax.numpy.asarray(t)
        np.testing.assert_allclose(jax.jvp(g, (zj,), (tj,))[1], 2 * z * t, rtol=1e-15)
        # jax.vjp is the transpose: Jᵀ w = 2 z w
        np.testing.assert_allclose(jax.vjp(g, zj)[1](tj)[0], 2 * z * t, rtol=1e-15)
    zt = torch.tensor(z, requires_grad=True)
    g(zt).backward(torch.tensor(t))  # torch's backward is the adjoint: Jᴴ w
    np.testing.assert_allclose(zt.grad.numpy(), np.conj(2 * z) * t, rtol=1e-15)
    _, vjp = E.vjp(g, z)
    np.testing.assert_allclose(vjp(t), np.conj(2 * z) * t, rtol=1e-15)


@pytest.mark.parametrize("host", ["jax", "torch"])
def test_rule_of_wrong_shape_is_an_anydiff_error_on_framework_hosts(host):
    """The rule-result checks raise anydiff's own ValueError subclass on every host (it was a
    plain ValueError, without anydiff's error type to catch)."""
    g = ad.custom_derivative(f, pullback=lambda x, w: w[:2])
    if host == "jax":
        jax = pytest.importorskip("jax")
        with pytest.raises(ad.AnydiffValueError, match=r"pullback rule of f.*expected shape \(4,\)"):
            jax.grad(lambda x: g(x).sum())(jax.numpy.asarray(X))
    else:
        torch = pytest.importorskip("torch")
        xt = torch.tensor(X, requires_grad=True)
        with pytest.raises(ad.AnydiffValueError, match=r"pullback rule of f.*expected shape \(4,\)"):
            g(xt).sum().backward()
