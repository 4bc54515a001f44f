"""Rule coverage, detector objects (Dense, Known), and the errors users rely on."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special  # noqa: F401  (the engine builds its scipy.special rules once scipy is in use)
from sparse_helpers import engine_prims as _engine_prims

import anydiff as ad
from anydiff.engine._tracer import Prim, bind
from anydiff.sparse._rules import RULES


def test_every_differentiable_engine_prim_has_a_dependency_rule():
    prims = _engine_prims()
    assert len(prims) > 40  # the walk really sees the engine's table
    missing = sorted(n for n, p in prims.items() if p.diff and n.split("[", 1)[0] not in RULES)
    assert not missing, f"engine primitives without a sparsity rule in anydiff/sparse: {missing}"


def test_the_coverage_walk_would_catch_a_new_rule(monkeypatch):
    from anydiff.engine import _rules_elementwise

    monkeypatch.setattr(_rules_elementwise, "BRAND_NEW", Prim("brand_new", np.sin), raising=False)
    prims = _engine_prims()
    assert "brand_new" in prims and "brand_new" not in RULES


def test_a_prim_without_rule_raises_naming_it():
    p = Prim("mystery_op", np.sin, lambda ts, xs, y, pr: ts[0], lambda g, xs, y, need, pr: (g,))
    with pytest.raises(ad.UnsupportedError, match="mystery_op.*DenseSparsityDetector"):
        ad.jacobian_sparsity(lambda x: bind(p, [x], {}), np.ones(2))


def test_an_engine_unsupported_function_suggests_the_dense_detector():
    with pytest.raises(ad.UnsupportedError, match="DenseSparsityDetector") as e:
        ad.jacobian_sparsity(lambda x: np.linalg.qr(x.reshape(2, 2))[0], np.ones(4))
    assert "qr" in str(e.value)


def test_float_of_a_traced_value_is_an_error():
    with pytest.raises(ad.UnsupportedError, match="float"):
        ad.jacobian_sparsity(lambda x: x * float(x[0]), np.ones(2), ad.TracerSparsityDetector(local=True))


def test_f_own_exceptions_propagate():
    def f(x):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        ad.jacobian_sparsity(f, np.ones(2))


def test_integer_x_is_a_type_error():
    with pytest.raises(TypeError, match="floating"):
        ad.jacobian_sparsity(lambda x: x, np.arange(3))


def test_detectors_are_frozen_hashable_settings():
    assert ad.TracerSparsityDetector() == ad.TracerSparsityDetector(local=False)
    assert hash(ad.TracerSparsityDetector(local=True)) == hash(ad.TracerSparsityDetector(local=True))
    assert ad.DenseSparsityDetector("jax") == ad.DenseSparsityDetector("jax", 0.0)
    assert ad.DenseSparsityDetector("jax") != ad.DenseSparsityDetector("jax", atol=1e-8)
    k1, k2 = ad.KnownSparsity(np.eye(3, dtype=bool)), ad.KnownSparsity(sp.eye_array(3))
    assert k1 == k2 and hash(k1) == hash(k2) and k1 != ad.KnownSparsity(np.ones((3, 3)))
    with pytest.raises(AttributeError):
        ad.TracerSparsityDetector().local = True  # type: ignore[misc]


@pytest.mark.parametrize("backend", ["engine", "finitediff"])
def test_dense_detector(backend):
    f = lambda x: np.concatenate([x[:2] * x[1:3], [np.sum(x)]])  # noqa: E731
    x = np.array([1.0, 2.0, 0.5])
    P = ad.jacobian_sparsity(f, x, ad.DenseSparsityDetector(backend, atol=1e-7))
    assert isinstance(P, sp.csr_array) and P.dtype == bool
    np.testing.assert_array_equal(P.toarray(), [[1, 1, 0], [0, 1, 1], [1, 1, 1]])
    H = ad.hessian_sparsity(lambda x: x[0] * x[1] + x[2] ** 2, x, ad.DenseSparsityDetector(backend, 1e-4))
    np.testing.assert_array_equal(H.toarray(), [[0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_dense_detector_misses_what_is_zero_at_x():
    # the reason it is local: x[0] * x[1] at x[0] = 0 has a structural zero there
    dense = ad.DenseSparsityDetector("engine")
    P = ad.jacobian_sparsity(lambda x: x[:1] * x[1:], np.array([0.0, 1.0]), dense)
    np.testing.assert_array_equal(P.toarray(), [[1, 0]])


def test_known_sparsity_checks_shapes():
    k = ad.KnownSparsity(np.array([[1, 0, 1], [0, 1, 0]]))
    P = ad.jacobian_sparsity(lambda x: x[:2] + x[1:] ** 2, np.ones(3), k)
    assert P.shape == (2, 3) and P.dtype == bool and P.nnz == 3
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 3\)"):
        ad.jacobian_sparsity(lambda x: x * 2, np.ones(3), k)
    with pytest.raises(ValueError, match="Hessian"):
        ad.hessian_sparsity(lambda x: np.sum(x), np.ones(3), k)
    H = ad.hessian_sparsity(lambda x: np.sum(x**3), np.ones(3), ad.KnownSparsity(sp.eye_array(3)))
    assert H.nnz == 3
    with pytest.raises(ValueError, match="2-D"):
        ad.KnownSparsity(np.ones(3))


def test_results_are_csr_bool_and_canonical():
    P = ad.jacobian_sparsity(lambda x: x[np.array([1, 1, 0])] * x[np.array([1, 0, 0])], np.ones(2))
    assert isinstance(P, sp.csr_array) and P.dtype == bool and P.has_canonical_format
    np.testing.assert_array_equal(P.toarray(), [[0, 1], [1, 1], [1, 0]])


def test_import_anydiff_imports_no_ad_framework():
    import subprocess

    # ... and the tracer (engine, scipy.sparse) loads only when a pattern is first detected
    mods = "('jax', 'torch', 'autograd', 'anydiff.sparse._trace', 'anydiff.sparse._tracing')"
    code = f"import sys, anydiff; print([m for m in {mods} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dense_detector_pytrees_and_contexts_with_jax():
    pytest.importorskip("jax")
    f = lambda t, c: {"y": t["a"] * c + t["b"][:2] ** 2}  # noqa: E731
    x = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0, 5.0])}
    c = ad.Constant(np.array([1.0, 0.0]))
    P = ad.jacobian_sparsity(f, x, ad.DenseSparsityDetector("jax"), c).toarray()
    np.testing.assert_array_equal(P, [[1, 0, 1, 0, 0], [0, 0, 0, 1, 0]])  # c[1] = 0 is zero at this c
    G = ad.jacobian_sparsity(f, x, ad.TracerSparsityDetector(), c).toarray()
    np.testing.assert_array_equal(G, [[1, 0, 1, 0, 0], [0, 1, 0, 1, 0]])  # a Constant's zeros may change
    H = ad.hessian_sparsity(lambda t: np.sum(t["a"] * t["b"][1:]), x, ad.DenseSparsityDetector("jax"))
    np.testing.assert_array_equal(
        H.toarray(), ad.hessian_sparsity(lambda t: np.sum(t["a"] * t["b"][1:]), x).toarray()
    )
