"""AutoSparse(dense) equals the dense backend's jacobian / hessian on every backend."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad

AD_BACKENDS = ["engine", ad.AutoEngine("forward"), "autograd", "jax", ad.AutoJax(mode="reverse"), "torch",
               ad.AutoTorch(mode="reverse")]
HESSIAN_BACKENDS = ["engine", "autograd", "jax", "torch", ad.SecondOrder("jax", "jax"),
                    ad.SecondOrder(ad.AutoFiniteDiff(), "finitediff")]


def _available(b):
    return ad.check_available(b)


def f_chain(x):
    """Banded Jacobian (2-D periodic stencil in 1-D), written against the Array API."""
    xp = ad.array_namespace(x)
    left = xp.concat([x[-1:], x[:-1]])
    right = xp.concat([x[1:], x[:1]])
    return xp.concat([x * left - xp.sin(right), xp.exp(x[:3])])


def rosenbrock(x):
    xp = ad.array_namespace(x)
    return xp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2) + xp.sum(x[:2] * x[-2:])


X0 = np.linspace(0.3, 1.7, 12)
X1 = np.cos(np.arange(12.0)) + 1.5


def _dense_engine_jac(f, x):
    return np.asarray(ad.jacobian(f, "engine", x)).reshape(-1, np.size(x))


@pytest.mark.parametrize("backend", AD_BACKENDS, ids=repr)
def test_jacobian_equals_dense(backend):
    if not _available(backend):
        pytest.skip("backend not installed")
    sb = ad.AutoSparse(backend)
    prep = ad.prepare_jacobian(f_chain, sb, X0)
    J = prep(X1)  # prepared at X0, called at X1
    assert isinstance(J, sp.csr_array) and J.shape == (15, 12)
    np.testing.assert_allclose(J.toarray(), _dense_engine_jac(f_chain, X1), rtol=1e-12, atol=1e-12)
    # One batched product over the colours: 3 colours for the cyclic tridiagonal part (columns)
    # or rows; the pattern is kept with explicit zeros.
    assert prep.ncolors == 3 if prep.coloring == "column" else prep.ncolors >= 3
    assert prep.sparsity.shape == (15, 12) and J.nnz == prep.sparsity.nnz
    assert prep.colors.shape == ((12,) if prep.coloring == "column" else (15,))
    assert prep.compressed.shape[0] == prep.ncolors
    y, J2 = ad.value_and_jacobian(f_chain, sb, X1, prep=prep)
    np.testing.assert_allclose(np.asarray(y), np.asarray(f_chain(X1)), rtol=1e-14)
    np.testing.assert_allclose(J2.toarray(), J.toarray(), rtol=0, atol=0)


def test_mode_choice_from_traits():
    p_fwd = ad.prepare_jacobian(f_chain, ad.AutoSparse(ad.AutoEngine("forward")), X0)
    p_rev = ad.prepare_jacobian(f_chain, ad.AutoSparse("engine"), X0)
    assert p_fwd.coloring == "column" and p_rev.coloring == "row"
    p = ad.prepare_jacobian(f_chain, ad.AutoSparse("engine", partition="column"), X0)
    assert p.coloring == "column"
    np.testing.assert_allclose(p(X1).toarray(), _dense_engine_jac(f_chain, X1), rtol=1e-12, atol=1e-12)


def test_finitediff_curtis_powell_reid():
    sb = ad.AutoSparse("finitediff")
    prep = ad.prepare_jacobian(f_chain, sb, X0)
    assert prep.coloring == "column" and prep.ncolors == 3
    J = prep(X1)
    np.testing.assert_allclose(J.toarray(), _dense_engine_jac(f_chain, X1), rtol=1e-7, atol=1e-7)
    # Equal to the dense finite-difference Jacobian up to FD rounding (other perturbation pattern).
    Jd = np.asarray(ad.jacobian(f_chain, "finitediff", X1))
    np.testing.assert_allclose(J.toarray(), Jd, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("backend", HESSIAN_BACKENDS, ids=repr)
@pytest.mark.parametrize("decompression", ["direct", "substitution"])
def test_hessian_equals_dense(backend, decompression):
    if not _available(backend):
        pytest.skip("backend not installed")
    sb = ad.AutoSparse(backend, coloring=ad.GreedyColoring(decompression=decompression))
    prep = ad.prepare_hessian(rosenbrock, sb, X0)
    H = prep(X1)
    Hd = np.asarray(ad.hessian(rosenbrock, "engine", X1))
    fd = isinstance(backend, ad.SecondOrder) and backend.outer == ad.AutoFiniteDiff()
    tol = 1e-4 if fd else 1e-12
    assert isinstance(H, sp.csr_array) and H.shape == (12, 12)
    np.testing.assert_allclose(H.toarray(), Hd, rtol=tol, atol=tol * 1e3 if fd else 1e-10)
    assert prep.coloring == ("star" if decompression == "direct" else "acyclic")
    y, g, H2 = ad.value_gradient_and_hessian(rosenbrock, sb, X1, prep=prep)
    np.testing.assert_allclose(float(np.asarray(y)), float(rosenbrock(X1)), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(g), np.asarray(ad.gradient(rosenbrock, "engine", X1)),
                               rtol=1e-6 if fd else 1e-12)
    np.testing.assert_allclose(H2.toarray(), H.toarray(), rtol=1e-12, atol=1e-12 if not fd else 1e-3)


def test_rosenbrock_hessian_uses_three_colours():
    x = np.linspace(-1, 1, 200)
    chain = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)  # noqa: E731
    prep = ad.prepare_hessian(chain, ad.AutoSparse("engine"), x)
    assert prep.coloring == "star" and prep.ncolors == 3
    np.testing.assert_allclose(prep(x).toarray(), np.asarray(ad.hessian(chain, "engine", x)), rtol=1e-12,
                               atol=1e-9)


def test_pytrees_and_known_sparsity():
    def f(d):
        return {"a": d["u"] * d["v"], "b": d["u"][:1] ** 2}

    x = {"u": np.array([1.0, 2.0, 3.0]), "v": np.array([4.0, 5.0, 6.0])}
    x1 = {"u": np.array([0.5, -1.0, 2.0]), "v": np.array([1.0, 3.0, -2.0])}
    dense = np.asarray(ad.jacobian(f, "engine", x1))
    for det in (ad.TracerSparsityDetector(), ad.KnownSparsity(dense != 0)):
        for b in ("engine", ad.AutoEngine("forward")):
            J = ad.prepare_jacobian(f, ad.AutoSparse(b, sparsity_detector=det), x)(x1)
            assert J.shape == (4, 6)
            np.testing.assert_allclose(J.toarray(), dense, rtol=1e-12)


def test_known_sparsity_of_wrong_shape_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        ad.jacobian(f_chain, ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(np.eye(12))), X0)
    with pytest.raises(ValueError, match="shape"):
        ad.hessian(rosenbrock, ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(np.eye(3))), X0)


def test_other_operators_raise_listing_jacobian_and_hessian():
    sb = ad.AutoSparse("engine")
    for call in (lambda: ad.gradient(rosenbrock, sb, X0), lambda: ad.pushforward(f_chain, sb, X0, X0),
                 lambda: ad.pullback(f_chain, sb, X0, np.ones(15)), lambda: ad.hvp(rosenbrock, sb, X0, X0),
                 lambda: ad.derivative(np.sin, sb, 1.0)):
        with pytest.raises(ad.UnsupportedError, match="jacobian.*hessian"):
            call()


def test_mixedmode_and_bad_arguments():
    with pytest.raises(ad.UnsupportedError, match="same array type"):
        ad.jacobian(f_chain, ad.AutoSparse(ad.MixedMode("jax", "engine")), X0)
    with pytest.raises(ad.UnsupportedError, match="Jacobians only"):
        ad.hessian(rosenbrock, ad.AutoSparse(ad.MixedMode(ad.AutoEngine("forward"), "engine")), X0)
    with pytest.raises(ValueError, match="partition"):
        ad.AutoSparse("engine", partition="diagonal")
    with pytest.raises(ValueError, match="GreedyColoring"):
        ad.AutoSparse("engine", coloring="greedy")
    assert ad.AutoSparse("engine") == ad.AutoSparse(ad.AutoEngine())
    assert ad.AutoSparse("jax").forward_fast is ad.AutoJax().forward_fast


def test_contexts_follow_x():
    def f(x, c):
        return x[1:] * x[:-1] * c

    prep = ad.prepare_jacobian(f, ad.AutoSparse("engine"), X0, ad.Constant(2.0))
    J = prep(X1, ad.Constant(3.0))
    np.testing.assert_allclose(J.toarray(), np.asarray(ad.jacobian(f, "engine", X1, ad.Constant(3.0))),
                               rtol=1e-12)


def test_docstring_examples_of_autosparse_and_coloring():
    import doctest

    import anydiff.sparse._autosparse as autosparse

    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(autosparse, autosparse.__name__, globs={"ad": ad, "np": np})
    assert sum(len(t.examples) for t in tests) >= 3
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0


def test_import_anydiff_does_not_load_colouring():
    import subprocess
    import sys

    mods = "('anydiff.sparse._coloring', 'anydiff.sparse._autosparse', 'anydiff.sparse._decompress')"
    code = (f"import sys, anydiff; print([m for m in {mods} if m in sys.modules]); "
            "anydiff.AutoSparse('engine')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("backend", ["engine", ad.AutoEngine("forward"), "jax", "torch"], ids=repr)
def test_complex_jacobian_rows_and_columns(backend):
    # Pullbacks give J^H w: row colouring must conjugate the compressed rows back.
    def f(x):
        return x[1:] * x[:-1] + 1j * x[1:] ** 2

    x = np.array([1.0 + 0.5j, 2.0 - 1j, 0.3 + 0.2j, -1.0 + 0.1j])
    dense = np.asarray(ad.jacobian(f, "engine", x))
    det = ad.KnownSparsity(dense != 0)
    J = ad.jacobian(f, ad.AutoSparse(backend, sparsity_detector=det), x)
    assert J.dtype == np.complex128
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14)


@pytest.mark.parametrize("backend", ["engine", "autograd", ad.AutoJax(mode="reverse"),
                                     ad.AutoTorch(mode="reverse")], ids=repr)
@pytest.mark.parametrize("partition", [None, "row"])
def test_complex_jacobian_of_a_real_x(backend, partition):
    # Before: reverse-mode dense backends coloured rows, and the pullbacks of a real x give
    # only Re(J^H w): the sparse Jacobian of x * (1 + 2j) came back as the real identity.
    def f(x):
        return x[1:] * x[:-1] * (1 + 2j) + x[1:] ** 2

    x = np.array([1.0, 2.0, 0.3, -1.0])
    dense = np.asarray(ad.jacobian(f, "jax", x))
    J = ad.jacobian(f, ad.AutoSparse(backend, partition=partition), x)
    assert J.dtype == np.complex128
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14)


def test_float32_pytree_hessian_and_nd_x():
    x32 = np.linspace(1, 2, 6).astype(np.float32)
    J = ad.jacobian(lambda x: x[1:] * x[:-1], ad.AutoSparse("jax"), x32)
    assert J.dtype == np.float32
    H = ad.hessian(lambda x: np.sum(x[1:] * x[:-1] ** 2), ad.AutoSparse("engine"), x32)
    assert H.dtype == np.float32

    def h(d):
        return np.sum(d["a"] ** 2 * d["b"][0])

    d = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([2.0])}
    H = ad.hessian(h, ad.AutoSparse("engine"), d)
    np.testing.assert_allclose(H.toarray(), np.asarray(ad.hessian(h, "engine", d)), rtol=1e-14)
    # x of shape (2, 3): the sparse Jacobian is 2-D (y.size, x.size), not y.shape + x.shape.
    J = ad.jacobian(lambda x: x ** 2, ad.AutoSparse("jax"), np.full((2, 3), 2.0))
    assert J.shape == (6, 6)
    np.testing.assert_allclose(J.toarray(), 4.0 * np.eye(6))


def _arrow(x):
    """Dense first row and first column plus a diagonal: column and row colouring need n colours."""
    xp = ad.array_namespace(x)
    return xp.concat([xp.sum(x ** 2, keepdims=True), x[1:] * x[0] + xp.sin(x[1:])])


@pytest.mark.parametrize("mixed", [ad.MixedMode(ad.AutoEngine("forward"), "engine"),
                                   ad.MixedMode(ad.AutoJax(mode="forward"), ad.AutoJax(mode="reverse")),
                                   ad.MixedMode(ad.AutoTorch(mode="forward"), ad.AutoTorch(mode="reverse"))],
                         ids=repr)
def test_mixedmode_bicolouring(mixed):
    if not ad.check_available(mixed):
        pytest.skip("backend not installed")
    x0 = np.linspace(0.5, 1.5, 30)
    x1 = x0 ** 2
    dense = np.asarray(ad.jacobian(_arrow, "engine", x1))
    prep = ad.prepare_jacobian(_arrow, ad.AutoSparse(mixed, coloring=ad.GreedyColoring(order="best")), x0)
    J = prep(x1)
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-12, atol=1e-12)
    assert prep.coloring == "bidirectional" and prep.ncolors <= 4  # vs 30 for columns or rows alone
    cc, rc = prep.colors
    assert cc.shape == (30,) and rc.shape == (30,)
    y, J2 = prep.value_and_jacobian(x1)
    np.testing.assert_allclose(np.asarray(y), _arrow(x1), rtol=1e-14)
    np.testing.assert_allclose(J2.toarray(), dense, rtol=1e-12, atol=1e-12)


def test_plot_sparsity_colours_by_group():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    prep = ad.prepare_jacobian(f_chain, ad.AutoSparse(ad.AutoEngine("forward")), X0)
    ax = ad.plot_sparsity(prep)
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == prep.sparsity.nnz
    colours = ax.collections[0].get_array()
    # Entry (i, j) carries column j's colour.
    np.testing.assert_array_equal(colours, prep.colors[prep.sparsity.indices])
    assert "3 colours (column)" in ax.get_title()
    with pytest.raises(TypeError, match="AutoSparse prep"):
        ad.plot_sparsity(ad.prepare_jacobian(f_chain, "engine", X0))


def test_check_catches_a_pattern_that_misses_a_non_zero():
    dense = _dense_engine_jac(f_chain, X0)
    wrong = dense != 0
    wrong[3, 4] = False
    for b in ("engine", "jax"):
        with pytest.raises(ValueError, match=r"misses 1 non-zero.*\(3, 4\)"):
            sb = ad.AutoSparse(b, sparsity_detector=ad.KnownSparsity(wrong), check=True)
            ad.prepare_jacobian(f_chain, sb, X0)
        # Without check the (documented) cost is not paid and the entry is dropped.
        J = ad.jacobian(f_chain, ad.AutoSparse(b, sparsity_detector=ad.KnownSparsity(wrong)), X0)
        assert J[3, 4] == 0 and dense[3, 4] != 0
    H = np.asarray(ad.hessian(rosenbrock, "engine", X0)) != 0
    H[0, 1] = H[1, 0] = False
    with pytest.raises(ValueError, match="Hessian"):
        ad.hessian(rosenbrock, ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(H), check=True), X0)
    right = ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(dense != 0), check=True)
    np.testing.assert_allclose(ad.jacobian(f_chain, right, X0).toarray(), dense, rtol=1e-14)


def test_compressed_is_read_only_and_results_are_fresh():
    prep = ad.prepare_jacobian(f_chain, ad.AutoSparse(ad.AutoEngine("forward")), X0)
    J1 = prep(X1)
    assert not prep.compressed.flags.writeable
    J1.data[:] = 0.0
    np.testing.assert_allclose(prep(X1).toarray(), _dense_engine_jac(f_chain, X1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["engine", "jax", "torch", "finitediff"])
def test_empty_x_or_y_gives_empty_sparse_results(backend):
    # Before: an x (or a Jacobian's y) of size 0 raised "AutoSparse computes ... not pushforward",
    # since the shared empty-input kernel asked the sparse adapter for a pushforward.
    def f(x):
        xp = ad.array_namespace(x)
        return xp.sum(x) * xp.ones(2, dtype=x.dtype) + 1.0

    S = ad.AutoSparse(backend)
    y, J = ad.value_and_jacobian(f, S, np.zeros(0))
    assert sp.issparse(J) and J.shape == (2, 0)
    np.testing.assert_allclose(y, [1.0, 1.0])
    J = ad.jacobian(lambda x: x[:0], S, np.ones(3))
    assert sp.issparse(J) and J.shape == (0, 3)
    v, g, H = ad.value_gradient_and_hessian(lambda x: ad.array_namespace(x).sum(x) + 2.0, S, np.zeros(0))
    assert sp.issparse(H) and H.shape == (0, 0) and np.shape(g) == (0,) and float(v) == 2.0
