"""Public surface: backend objects, registry, contexts and batches, conversions, imports."""

from __future__ import annotations

import collections
import subprocess
import sys

import numpy as np
import pytest

import anydiff as ad


def test_import_loads_no_framework():
    code = (
        "import sys, anydiff, numpy as np\n"
        "anydiff.gradient(lambda x: (x**2).sum(), 'finitediff', np.ones(2))\n"
        "anydiff.available_backends()\n"
        "bad = [m for m in ('jax', 'torch', 'autograd') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_backends_are_frozen_hashable_and_compare_by_settings():
    assert ad.AutoJax() == ad.AutoJax(mode=None, jit=True)
    assert ad.AutoJax("forward") != ad.AutoJax()
    assert len({ad.AutoFiniteDiff(), ad.AutoFiniteDiff(), ad.AutoFiniteDiff("forward")}) == 2
    with pytest.raises(AttributeError):
        ad.AutoTorch().mode = "forward"
    assert ad.SecondOrder("finitediff", "torch") == ad.SecondOrder(
        ad.AutoFiniteDiff(), ad.AutoTorch()
    )
    with pytest.raises(ValueError):
        ad.AutoEngine(mode="sideways")


def test_traits_are_attributes():
    for b in (ad.AutoJax(), ad.AutoTorch(), ad.AutoAutograd(), ad.AutoFiniteDiff(), ad.AutoEngine()):
        traits = b.traits
        assert set(traits) >= {
            "forward_fast", "reverse_fast", "inplace_function", "mutation", "complex_numbers"
        }
        assert all(isinstance(v, bool) for v in traits.values())
    assert ad.AutoEngine("forward").forward_fast and not ad.AutoEngine("forward").reverse_fast
    assert ad.SecondOrder("finitediff", "torch").inplace_function is True


def test_available_backends():
    names = ad.available_backends()
    assert "finitediff" in names and "engine" in names
    assert all(ad.check_available(n) for n in names)


def test_batch_results_are_batches():
    t = ad.Batch(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    r = ad.pushforward(lambda x: x**2, "finitediff", np.array([3.0, 4.0]), t)
    assert isinstance(r, ad.Batch) and len(r) == 2
    np.testing.assert_allclose(r[1], [0.0, 8.0], atol=1e-8)
    w = ad.Batch(1.0, 2.0)
    r = ad.pullback(lambda x: np.sum(x**2), "finitediff", np.array([3.0, 4.0]), w)
    np.testing.assert_allclose(r[1], [12.0, 16.0], rtol=1e-8)
    with pytest.raises(ValueError):
        ad.Batch()


Point = collections.namedtuple("Point", ["u", "v"])


@pytest.mark.parametrize(
    "x",
    [
        {"b": np.array([1.0, 2.0]), "a": 0.5},
        [np.array([1.0, 2.0]), np.array([[0.5]])],
        (np.array([1.0, 2.0]), 3.0),
        Point(np.array([1.0, 2.0]), np.array(0.5)),
        {"nested": [np.array([1.0]), (np.array([2.0, 3.0]),)]},
    ],
)
def test_pytree_inputs(x):
    from anydiff._pytree import tree_flatten

    def f(x):
        leaves, _ = tree_flatten(x)
        return sum(np.sum(np.asarray(leaf) ** 3) for leaf in leaves)

    g = ad.gradient(f, "finitediff", x)
    gl, gtd = tree_flatten(g)
    xl, xtd = tree_flatten(x)
    assert gtd == xtd and type(g) is type(x)
    for gi, xi in zip(gl, xl):
        np.testing.assert_allclose(gi, 3 * np.asarray(xi) ** 2, rtol=1e-7)
        assert np.shape(gi) == np.shape(xi)
    n = sum(np.size(leaf) for leaf in xl)
    H = ad.hessian(f, "finitediff", x)
    assert H.shape == (n, n)
    np.testing.assert_allclose(
        H, np.diag(6 * np.concatenate([np.ravel(v) for v in xl])), atol=1e-4
    )


def test_python_float_in_float_out():
    d = ad.derivative(lambda x: x**2, "finitediff", 3.0)
    assert isinstance(d, float) and abs(d - 6.0) < 1e-8
    d = ad.derivative(lambda x: np.array([x, 2 * x]), "finitediff", 3.0)
    assert isinstance(d, np.ndarray)


def test_dtypes_follow_the_caller():
    x32 = np.array([1.0, 2.0], np.float32)
    assert ad.gradient(lambda x: (x**2).sum(), "finitediff", x32).dtype == np.float32
    assert ad.jacobian(lambda x: x**2, "finitediff", x32).dtype == np.float32
    assert ad.hessian(lambda x: (x**3).sum(), "finitediff", x32).dtype == np.float32


def test_torch_and_jax_inputs_come_back_as_their_type():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], dtype=torch.float64)
    g = ad.gradient(lambda x: np.sum(x**2), "finitediff", t)
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
    jnp = pytest.importorskip("jax.numpy")
    import jax

    with jax.enable_x64(True):
        xj = jnp.asarray([1.0, 2.0], dtype=jnp.float64)
    g = ad.gradient(lambda x: np.sum(x**2), "finitediff", xj)
    assert isinstance(g, jax.Array)
    np.testing.assert_allclose(np.asarray(g), [2.0, 4.0], rtol=1e-7)


def test_contexts_reach_f_and_bare_values_are_constants():
    seen = []

    def f(x, a, c):
        seen.append((type(a), type(c)))
        c[:] = x
        return np.sum(a * c**2)

    a = np.array([1.0, 2.0])
    g = ad.gradient(f, "finitediff", np.array([1.0, 1.0]), a, ad.Cache(np.zeros(2)))
    np.testing.assert_allclose(g, 2 * a, rtol=1e-7)
    assert all(t == (np.ndarray, np.ndarray) for t in seen)


def test_input_left_intact_when_f_mutates_its_argument():
    def f(x):
        x *= 2  # bad manners, but must not corrupt the point or the caller's array
        return np.sum(x**2)

    x = np.array([1.0, 2.0])
    g = ad.gradient(f, "finitediff", x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    np.testing.assert_allclose(g, 8 * x, rtol=1e-7)


def test_array_namespace_numpy():
    xp = ad.array_namespace(np.ones(2))
    assert xp.sin(np.zeros(1))[0] == 0.0


def test_public_functions_have_docs_and_examples():
    for name in ad.__all__:
        obj = getattr(ad, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Example" in obj.__doc__, name


@pytest.mark.parametrize("backend", ["jax", "torch", "engine", "finitediff"])
def test_ordered_dicts_keep_their_type_and_order(backend):
    # Before: an OrderedDict came back as a plain dict with sorted keys, so results zipped
    # with the caller's values (od.values()) were silently misaligned.
    xp = ad.array_namespace
    od = collections.OrderedDict([("b", np.array([1.0, 2.0])), ("a", np.array(3.0))])
    g = ad.gradient(lambda p: xp(p["a"]).sum(p["a"] ** 2) + xp(p["b"]).sum(p["b"] ** 2), backend, od)
    assert type(g) is collections.OrderedDict and list(g) == ["b", "a"]
    for v, gv in zip(od.values(), g.values()):
        np.testing.assert_allclose(gv, 2 * v, rtol=1e-6)
    J = ad.jacobian(lambda p: p["b"] * p["a"], backend, od)  # columns in the caller's order
    np.testing.assert_allclose(J, [[3.0, 0.0, 1.0], [0.0, 3.0, 2.0]], rtol=1e-6)
