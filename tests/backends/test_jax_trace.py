"""The JAX unprepared call's trace and its reuse of a stored preparation.

* ``_jax_program._trace`` (JAX's tracer entry point, cheaper than ``jax.make_jaxpr``) gives the
  jaxpr and constants ``jax.make_jaxpr`` gives, constants captured from the closure included:
  the program fingerprint compares them, so a difference would be a stale or a missed reuse.
* An unprepared call that reuses a stored prep (same program) goes through its hot call and
  gives the same results as the general path (plain and value forms, ``out=``), with fresh data
  as soon as the closure changes.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import anydiff as ad  # noqa: E402
from anydiff import _unprepared  # noqa: E402
from anydiff.backends import _jax_program  # noqa: E402

X = np.array([0.5, -1.0, 2.0])


def test_trace_equals_make_jaxpr():
    A = np.array([1.0, 2.0, 3.0])  # a NumPy constant, a JAX constant, a Python float literal
    B = jnp.array([0.5, 0.25, 0.125])

    def fn(v, d):
        return jnp.sum(A * jnp.sin(v) + B * v**2) * 1.5 + d[0] @ v

    with jax.enable_x64(True):
        dyn = (jnp.ones(3),)
        ours = _jax_program._trace(fn, X, dyn)
        ref = jax.make_jaxpr(fn)(X, dyn)
    assert str(ours.jaxpr) == str(ref.jaxpr)
    assert len(ours.consts) == len(ref.consts)
    for a, b in zip(ours.consts, ref.consts):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert _jax_program._Walker().closed(ours) == _jax_program._Walker().closed(ref)


def test_unprepared_hits_give_the_general_paths_results():
    data = {"w": np.array([1.0, 2.0, 3.0])}

    def f(v):
        return jnp.sum(data["w"] * v**3)

    def grad(w):
        return 3 * w * X**2

    _unprepared.clear()
    for _ in range(2):
        np.testing.assert_allclose(ad.gradient(f, "jax", X), grad(data["w"]), rtol=1e-14)
        y, g = ad.value_and_gradient(f, "jax", X)
        np.testing.assert_allclose(y, np.sum(data["w"] * X**3), rtol=1e-14)
        np.testing.assert_allclose(g, grad(data["w"]), rtol=1e-14)
        buf = np.zeros(3)
        assert ad.gradient(f, "jax", X, out=buf) is buf
        np.testing.assert_allclose(buf, grad(data["w"]), rtol=1e-14)
    assert _unprepared.stats["hits"] >= 4
    data["w"] = np.array([-1.0, 0.0, 4.0])  # changed closure data: a new program, fresh results
    np.testing.assert_allclose(ad.gradient(f, "jax", X), grad(data["w"]), rtol=1e-14)
    y, g = ad.value_and_gradient(f, "jax", X)
    np.testing.assert_allclose(g, grad(data["w"]), rtol=1e-14)
    data["w"][0] = 7.0  # changed in place
    np.testing.assert_allclose(ad.gradient(f, "jax", X), grad(data["w"]), rtol=1e-14)


def test_unprepared_hits_with_a_tangent():
    def f(v):
        return jnp.sin(v) * v

    t = np.array([1.0, -2.0, 0.5])
    expected = (np.cos(X) * X + np.sin(X)) * t
    for _ in range(3):
        np.testing.assert_allclose(ad.pushforward(f, "jax", X, t), expected, rtol=1e-14)
        np.testing.assert_allclose(ad.pullback(f, "jax", X, t), expected, rtol=1e-14)
    (r,) = ad.pullback(f, "jax", X, ad.Batch(t))  # another signature: the general path
    np.testing.assert_allclose(r, expected, rtol=1e-14)


@pytest.mark.parametrize("backend", ["finitediff", "engine", "jax"])
def test_prepared_value_form_keeps_fs_real_dtype_for_complex_x(backend):
    # The value form's hot call was built before f's output dtype was known and cast y to x's
    # dtype: a real f of complex x gave a complex128 y.
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j])

    def f(v):
        xp = ad.array_namespace(v)
        return xp.sum(xp.real(v) ** 2 + xp.imag(v) ** 2)

    prep = ad.prepare_gradient(f, backend, z)
    for _ in range(2):
        y, g = prep.value_and_gradient(z)
        assert np.asarray(y).dtype == np.float64
        np.testing.assert_allclose(y, np.sum(np.abs(z) ** 2), rtol=1e-14)
        np.testing.assert_allclose(g, 2 * z, rtol=1e-7 if backend == "finitediff" else 1e-14)
