"""The harness runs ``sparse_scenarios()`` through ``AutoSparse``: sparse results against the
analytic dense references, and at the prepared point a pattern covering the dense derivative
and a valid colouring (a pattern that misses a non-zero is a failure)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad
from anydiff.sparse._coloring import ColoringProblem, GreedyColoring
from anydiff.sparse._decompress import ColoringResult
from anydiff.testing import Scenario, run_differentiation, sparse_scenarios, test_differentiation
from anydiff.testing._reference import label
from anydiff.testing._sparse_runner import coloring_problems

SCEN = {s.name: s for s in sparse_scenarios()}
FEW = ("plain", "value", "prepared", "prepared_call")


def test_catalogue_covers_the_shapes_of_the_issue():
    names = set(SCEN)
    assert {"jacobian-banded", "jacobian-brusselator", "jacobian-block-diagonal", "jacobian-tree",
            "hessian-arrowhead", "hessian-tridiagonal", "hessian-block-diagonal",
            "hessian-tree"} <= names
    assert {s.op for s in SCEN.values()} == {"jacobian", "hessian"}


def test_every_variant_on_the_engine():
    # Both operators, a 3-D x (Brusselator) and a dict x (Hessian), every sparse variant.
    scen = [SCEN["jacobian-brusselator"], SCEN["hessian-tree"]]
    report = test_differentiation([ad.AutoSparse("engine")], scen)
    variants = {r.variant for r in report.passed}
    assert {"plain", "value", "out", "value_out", "torch_input", "aliasing_plain", "prepared",
            "prepared_value", "threads", "mismatch", "mismatch_dtype", "aliasing",
            "sparsity"} <= variants
    assert not report.skipped and not report.failed


@pytest.mark.parametrize("backend", [ad.AutoEngine("forward"), "finitediff", "autograd", "torch"],
                         ids=lambda b: label(b))
def test_all_sparse_scenarios_on_eager_backends(backend):
    report = test_differentiation([ad.AutoSparse(backend)], list(SCEN.values()), variants=FEW)
    assert len([r for r in report.passed if r.variant == "sparsity"]) == len(SCEN)


def test_jax_native_arrays_and_other_dense_forms():
    test_differentiation([ad.AutoSparse("jax")], [SCEN["jacobian-banded"], SCEN["hessian-arrowhead"]],
                         variants=(*FEW, "native"))
    test_differentiation([ad.AutoSparse(ad.SecondOrder("torch", "torch"))], [SCEN["hessian-tree"]],
                         variants=FEW)
    mixed = ad.AutoSparse(ad.MixedMode(ad.AutoEngine("forward"), "engine"))
    report = test_differentiation([mixed], [SCEN["jacobian-banded"], SCEN["jacobian-tree"]],
                                  variants=FEW)
    assert {r.detail["coloring"] for r in report if r.variant == "sparsity"} == {"bidirectional"}


def _diag_square(x):
    return x * x


def test_a_pattern_missing_a_nonzero_at_the_prepared_point_fails():
    # J = diag(2x) with x[2] = 0 at the evaluation point: the sparse result there is right even
    # without entry (2, 2), but at the (perturbed) prepared point that entry is non-zero.
    x = np.array([0.5, -1.0, 0.0, 2.0])
    s = Scenario("jacobian", _diag_square, x, reference=np.diag(2 * x), name="jacobian-diag-square")
    wrong = np.eye(4, dtype=bool)
    wrong[2, 2] = False
    b = ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(wrong))
    report = run_differentiation([b], [s], variants=FEW)
    assert {r.variant for r in report.passed} >= {"plain", "prepared"}  # right at x
    (bad,) = report.failed
    assert bad.variant == "sparsity" and "misses 1 non-zero" in bad.message and "(2, 2)" in bad.message
    # with the full pattern the same scenario passes
    test_differentiation([ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(np.eye(4)))],
                         [s], variants=FEW)


def test_a_wrong_sparse_result_fails_the_value_checks():
    wrong = sp.csr_array(np.eye(6, 8, dtype=bool))  # misses two bands of the banded Jacobian
    b = ad.AutoSparse("engine", sparsity_detector=ad.KnownSparsity(wrong))
    report = run_differentiation([b], [SCEN["jacobian-banded"]], variants=FEW)
    assert {r.variant for r in report.failed} == {*FEW, "sparsity"}


def test_coloring_check_rejects_invalid_colourings():
    p = sp.csr_array(np.array([[1, 1, 0], [0, 1, 1]], dtype=bool))
    bad = ColoringResult(p, ColoringProblem("nonsymmetric", "column"), GreedyColoring(),
                         np.zeros(3, dtype=np.int64))
    problems = coloring_problems(bad)
    assert any("structurally orthogonal" in t for t in problems)
    assert any("decompress(compress(A))" in t for t in problems)
    good = ColoringResult(p, ColoringProblem("nonsymmetric", "column"), GreedyColoring(),
                          np.array([0, 1, 0]))
    assert coloring_problems(good) == []


def test_out_is_refused_with_a_clear_error():
    x = np.arange(1.0, 5.0)
    with pytest.raises(ad.UnsupportedError, match="out="):
        ad.jacobian(lambda x: x[1:] * x[:-1], ad.AutoSparse("engine"), x, out=np.zeros((3, 4)))


def test_labels_are_short_for_default_options():
    assert label(ad.AutoSparse("engine")) == f"AutoSparse({ad.AutoEngine()!r})"
    custom = ad.AutoSparse("engine", partition="column")
    assert label(custom) == repr(custom)


@pytest.mark.parametrize(("dense", "output"), [("jax", "jax"), ("torch", "torch"), ("engine", "torch")])
def test_other_output_formats_through_the_harness(dense, output):
    # BCOO / torch sparse COO results: same entries, same structure, checked like SciPy ones.
    b = ad.AutoSparse(dense, output=output)
    report = test_differentiation([b], [SCEN["jacobian-brusselator"], SCEN["hessian-tree"]],
                                  variants=(*FEW, "aliasing", "threads"))
    assert {r.variant for r in report.passed} >= {*FEW, "sparsity", "aliasing", "threads"}


def test_output_formats_are_what_they_say():
    import jax
    import torch

    x = np.arange(1.0, 6.0)
    f = lambda x: x[1:] * x[:-1]  # noqa: E731
    J = ad.jacobian(f, ad.AutoSparse("engine", output="jax"), x)
    assert type(J).__name__ == "BCOO" and J.dtype == np.float64 and J.shape == (4, 5)
    with jax.enable_x64(True):
        np.testing.assert_array_equal(np.asarray(J.todense()), ad.jacobian(f, "engine", x))
    T = ad.jacobian(f, ad.AutoSparse("engine", output="torch"), x)
    assert T.layout == torch.sparse_coo and T.is_coalesced() and T.dtype == torch.float64
    assert torch.equal(T.coalesce().indices(), T.indices())  # coalesced as declared
    # a wrong format is refused by the harness check
    from anydiff.testing._sparse_runner import dense_of

    with pytest.raises(AssertionError, match="expected a scipy.sparse csr_array"):
        dense_of(T, (4, 5), np.zeros((4, 5)), "scipy")
    with pytest.raises(ValueError, match="output"):
        ad.AutoSparse("engine", output="bcoo")


def test_sparse_result_is_compared_with_the_dense_backend():
    from anydiff.testing._checks import Case
    from anydiff.testing._sparse_runner import _against_dense_backend

    case = Case(ad.AutoSparse("engine"), SCEN["jacobian-banded"])
    kwc = dict(rtol=1e-12, atol=0.0, single=False, scaled_atol=1e-13)
    right = ad.prepare_jacobian(case.s.f, case.backend, case.s.x)
    assert _against_dense_backend(case, right, kwc) == []
    wrong = lambda *a: sp.csr_array(np.zeros((6, 8)))  # noqa: E731
    (msg,) = _against_dense_backend(case, wrong, kwc)
    assert "differs from the dense" in msg
