"""Errors a user can rely on: classes, built-in bases, and the hints."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff import _registry

X = np.array([1.0, 2.0, 3.0])


def test_error_hierarchy():
    assert issubclass(ad.PreparationMismatchError, ad.AnydiffError)
    assert issubclass(ad.PreparationMismatchError, ValueError)
    assert issubclass(ad.BackendUnavailableError, ImportError)
    assert issubclass(ad.UnsupportedError, NotImplementedError)
    for cls in (ad.BackendUnavailableError, ad.UnsupportedError, ad.AnydiffValueError):
        assert issubclass(cls, ad.AnydiffError)


@pytest.mark.parametrize("op", ["gradient", "hessian", "value_and_gradient"])
def test_non_scalar_output(op):
    with pytest.raises(ValueError, match=r"shape \(3,\).*jacobian") as info:
        getattr(ad, op)(np.sin, "finitediff", X)
    assert isinstance(info.value, ad.AnydiffError)


def test_non_scalar_output_hvp():
    with pytest.raises(ad.AnydiffValueError, match="scalar"):
        ad.hvp(np.sin, "finitediff", X, X)


@pytest.mark.parametrize(
    "x", [np.arange(3), np.array([True, False]), 3, np.array(["a"], dtype=object)]
)
def test_non_floating_x(x):
    with pytest.raises(TypeError, match="floating-point x"):
        ad.gradient(lambda x: x.sum(), "finitediff", x)


def test_non_floating_pytree_leaf():
    with pytest.raises(TypeError, match="floating-point"):
        ad.gradient(lambda d: d["a"].sum(), "finitediff", {"a": X, "n": np.arange(2)})


def test_tangent_mismatch():
    with pytest.raises(ValueError, match="tangent must have the structure and shapes of x"):
        ad.pushforward(np.sin, "finitediff", X, np.ones(2))
    with pytest.raises(ValueError, match="tangent"):
        ad.hvp(lambda x: np.sum(x**2), "finitediff", X, [X])
    with pytest.raises(ValueError, match=r"cotangent .* y = f\(x\)"):
        ad.pullback(np.sin, "finitediff", X, np.ones(4))
    with pytest.raises(ValueError, match="cotangent"):
        ad.pullback(lambda x: {"a": x}, "finitediff", X, {"b": X})
    with pytest.raises(TypeError, match="tangent"):
        ad.pushforward(np.sin, "finitediff", X)


def test_scalar_x_required():
    with pytest.raises(ValueError, match="scalar x"):
        ad.derivative(np.sin, "finitediff", X)


def test_unknown_backend():
    with pytest.raises(TypeError, match="Unknown backend 'jaks'"):
        ad.gradient(np.sum, "jaks", X)


def test_unavailable_backend_names_the_extra(monkeypatch):
    monkeypatch.setitem(_registry._FRAMEWORK, "jax", "anydiff_no_such_module")
    monkeypatch.setattr(_registry, "_adapters", {})
    assert not ad.check_available("jax")
    assert "jax" not in ad.available_backends()
    with pytest.raises(ad.BackendUnavailableError, match=r'pip install "anydiff\[jax\]"'):
        ad.gradient(np.sum, "jax", X)
    with pytest.raises(ImportError):
        ad.gradient(np.sum, ad.SecondOrder("finitediff", "jax"), X)


def test_inplace_on_backend_without_it():
    def g(y, x):
        y[:] = x

    with pytest.raises(ad.UnsupportedError, match="in-place form.*finitediff") as info:
        ad.jacobian(g, ad.AutoAutograd(), X, y=np.zeros(3))
    assert "torch" in str(info.value) and "engine" in str(info.value)
    with pytest.raises(TypeError, match="not by gradient"):
        ad.gradient(g, "finitediff", X, y=np.zeros(3))


def test_out_with_wrong_shape_or_immutable():
    with pytest.raises(ValueError, match="shape"):
        ad.gradient(lambda x: np.sum(x**2), "finitediff", X, out=np.zeros(4))
    with pytest.raises(ValueError, match="2 buffer"):
        ad.value_gradient_and_hessian(lambda x: np.sum(x**2), "finitediff", X, out=np.zeros(3))
    with pytest.raises(ValueError, match="structure"):
        ad.gradient(lambda x: np.sum(x**2), "finitediff", X, out=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="mutable"):
        ad.derivative(lambda x: x**2, "finitediff", 1.0, out=0.0)


def test_out_with_jax_array_is_a_type_error():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(TypeError, match="immutable"):
        ad.gradient(lambda x: np.sum(x**2), "finitediff", X, out=jnp.zeros(3))


def test_f_not_callable():
    with pytest.raises(TypeError, match="callable"):
        ad.gradient(3.0, "finitediff", X)


def test_complex_step_on_complex_x():
    with pytest.raises(ad.UnsupportedError, match="real x") as info:
        ad.gradient(lambda z: np.sum(np.abs(z) ** 2), ad.AutoFiniteDiff("complex"), X + 1j)
    assert "Backends that can" in str(info.value)
