"""Edge shapes: an x of size 0 gives empty results of the right shape, with
the right value of f, on every backend and for every operator (prepared too)."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff._operators import OPERATORS

ALL = [
    pytest.param(ad.AutoEngine(mode="reverse"), id="engine-reverse"),
    pytest.param(ad.AutoEngine(mode="forward"), id="engine-forward"),
    pytest.param(ad.AutoFiniteDiff(method="central"), id="fd-central"),
    pytest.param(ad.AutoFiniteDiff(method="forward"), id="fd-forward"),
    pytest.param("autograd", id="autograd"),
    pytest.param("jax", id="jax"),
    pytest.param(ad.AutoJax(mode="reverse"), id="jax-reverse"),
    pytest.param("torch", id="torch"),
    pytest.param(ad.SecondOrder("finitediff", "engine"), id="fd-over-engine"),
]


def scalar_f(v):
    return ad.array_namespace(v).sum(v**2) + 1.0


def pair_f(v):  # y of shape (2,) whatever the size of x
    xp = ad.array_namespace(v)
    return xp.stack([xp.sum(v), xp.sum(v**2) + 2.0])


def _shapes(op: str, xshape: tuple, k_batch: int = 0) -> tuple:
    """(f, tangent maker, expected value, expected shapes of the value form's parts)."""
    y2 = (2,)
    return {
        "gradient": (scalar_f, None, 1.0, [(), xshape]),
        "hessian": (scalar_f, None, 1.0, [(), xshape, xshape + xshape]),
        "hvp": (scalar_f, "x", None, [xshape, xshape]),
        "jacobian": (pair_f, None, [0.0, 2.0], [y2, y2 + xshape]),
        "pushforward": (pair_f, "x", [0.0, 2.0], [y2, y2]),
        "pullback": (pair_f, "y", [0.0, 2.0], [y2, xshape]),
    }[op]


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("op", ["gradient", "hessian", "hvp", "jacobian", "pushforward", "pullback"])
@pytest.mark.parametrize("xshape", [(0,), (0, 3)], ids=["0", "0x3"])
def test_size_zero_x(backend, op, xshape):
    spec = OPERATORS[op]
    f, tan, value, shapes = _shapes(op, xshape)
    for dtype in (np.float64, np.float32):
        x = np.zeros(xshape, dtype=dtype)
        args = ()
        if tan == "x":
            args = (np.zeros(xshape, dtype=dtype),)
        elif tan == "y":
            args = (np.array([1.0, -2.0], dtype=dtype),)
        prep = getattr(ad, f"prepare_{op}")(f, backend, x, *args)
        for parts in (
            (getattr(ad, op)(f, backend, x, *args),),
            getattr(ad, spec.value_name)(f, backend, x, *args),
            (prep(x, *args),),
            getattr(prep, spec.value_name)(x, *args),
        ):
            want = shapes[-len(parts):]
            assert [np.shape(p) for p in parts] == want, (dtype, [np.shape(p) for p in parts])
            for p in parts:
                assert np.asarray(p).dtype == dtype
            last = np.asarray(parts[-1])
            assert np.all(last == 0)  # J t of an empty t: zeros; everything else is empty
            if len(parts) > 1 and value is not None:
                np.testing.assert_allclose(np.asarray(parts[0]), value, rtol=1e-7)


@pytest.mark.parametrize("backend", ALL)
def test_size_zero_batch_and_pytree(backend):
    x = {"a": np.zeros(0), "b": np.zeros((2, 0))}
    g = ad.gradient(lambda d: ad.array_namespace(d["a"]).sum(d["a"]) + 3.0, backend, x)
    assert g["a"].shape == (0,) and g["b"].shape == (2, 0)
    H = ad.hessian(lambda d: ad.array_namespace(d["a"]).sum(d["a"]) + 3.0, backend, x)
    assert np.shape(H) == (0, 0)  # 2-D for pytrees
    r = ad.pullback(pair_f, backend, np.zeros(0), ad.Batch(np.ones(2), np.zeros(2)))
    assert isinstance(r, ad.Batch) and [np.shape(p) for p in r] == [(0,), (0,)]


def test_size_zero_torch_and_jax_arrays_keep_their_type():
    torch = pytest.importorskip("torch")
    x = torch.zeros(0, dtype=torch.float64)
    for backend in ("torch", "engine", "jax"):
        g = ad.gradient(scalar_f, backend, x)
        assert isinstance(g, torch.Tensor) and g.shape == (0,) and g.dtype == torch.float64
        J = ad.jacobian(pair_f, backend, x)
        assert isinstance(J, torch.Tensor) and tuple(J.shape) == (2, 0)
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        x = jnp.zeros(0)
        H = ad.hessian(scalar_f, "jax", x)
        assert isinstance(H, jax.Array) and H.shape == (0, 0)


@pytest.mark.parametrize("backend", ["engine", "finitediff", "torch", "jax"])
def test_size_zero_still_checks_the_output(backend):
    with pytest.raises(ad.AnydiffValueError, match="scalar"):
        ad.gradient(lambda v: v**2, backend, np.zeros(0))
    with pytest.raises(ad.AnydiffTypeError, match="real floating-point scalar"):
        ad.hvp(lambda v: ad.array_namespace(v).sum(v) + 1j, backend, np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("backend", ALL)
def test_jacobian_of_an_empty_y(backend):
    x = np.array([1.0, 2.0, 3.0])
    y, J = ad.value_and_jacobian(lambda v: v[:0] * 2.0, backend, x)
    assert np.shape(y) == (0,) and np.shape(J) == (0, 3)
    assert np.shape(ad.prepare_jacobian(lambda v: v[:0] * 2.0, backend, x)(x)) == (0, 3)
    assert np.shape(ad.pullback(lambda v: v[:0] * 2.0, backend, x, np.zeros(0))) == (3,)
