"""The harness itself: it must catch broken backends, report skips as skips, and explain."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from typing import ClassVar

import numpy as np
import pytest

import anydiff as ad
from anydiff._registry import _adapters
from anydiff.backends.finitediff import Adapter as FiniteDiffAdapter
from anydiff.testing import (
    ALL_VARIANTS,
    OPERATORS,
    BenchmarkTable,
    Scenario,
    all_scenarios,
    benchmark_differentiation,
    cases,
    compare,
    complex_scenarios,
    default_scenarios,
    default_tolerances,
    installed_backends,
    parametrize,
    pytree_scenarios,
    run_differentiation,
    sparse_scenarios,
    test_differentiation,
)

# ---------------------------------------------------------------------------------------------
# Test doubles: finite differences with one deliberate defect each.


@dataclasses.dataclass(frozen=True)
class WrongGradient(ad.AutoFiniteDiff):
    """Gradients 1% too large."""


@dataclasses.dataclass(frozen=True)
class RemembersPoint(ad.AutoFiniteDiff):
    """Gradient kernels that keep answering for the first x they saw (the preparation point)."""


@dataclasses.dataclass(frozen=True)
class MutatesInput(ad.AutoFiniteDiff):
    """Gradient kernels that overwrite x."""


@dataclasses.dataclass(frozen=True)
class RefusesGradient(ad.AutoFiniteDiff):
    """Raises UnsupportedError for gradients."""


@dataclasses.dataclass(frozen=True)
class SharedState(ad.AutoFiniteDiff):
    """Gradient kernels that park x in shared state: wrong answers under concurrent calls."""


@dataclasses.dataclass(frozen=True)
class NoInplace(ad.AutoFiniteDiff):
    """Declares that it cannot do the in-place form f(y, x)."""

    inplace_function: ClassVar[bool] = False


class _WrongGradient(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)
        return lambda x, T, ctx: (lambda y, g: (y, 1.01 * g))(*kernel(x, T, ctx))


class _RemembersPoint(FiniteDiffAdapter):
    compile_on_prepare = True  # the interface runs the kernel once at the preparation point

    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)
        memo = {}

        def remembering(x, T, ctx):
            if "out" not in memo:
                memo["out"] = kernel(x, T, ctx)
            return memo["out"]

        return remembering


class _MutatesInput(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)

        def mutating(x, T, ctx):
            out = kernel(x, T, ctx)
            x[...] = 0.0  # x is a view of the caller's array for NumPy backends
            return out

        return mutating


class _SharedState(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)
        shared = {}

        def racy(x, T, ctx):
            shared["x"] = x.copy()
            time.sleep(0.002)  # another thread overwrites shared["x"] meanwhile
            return kernel(shared["x"], T, ctx)

        return racy


class _RefusesGradient(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        raise ad.UnsupportedError("gradients are switched off in this test double")


@pytest.fixture
def doubles():
    """Register the test doubles' adapters in the registry, and remove them afterwards."""
    pairs = {
        WrongGradient(): _WrongGradient, RemembersPoint(): _RemembersPoint,
        MutatesInput(): _MutatesInput, RefusesGradient(): _RefusesGradient,
        SharedState(): _SharedState,
        NoInplace(): FiniteDiffAdapter,
    }
    for b, cls in pairs.items():
        _adapters[b] = cls(b)
    yield {type(b).__name__: b for b in pairs}
    for b in pairs:
        _adapters.pop(b, None)


#: Every variant but torch_input, whose 0-d results hit issue 8 item 5 (shape (1,)) on every
#: non-torch backend: tests of other harness logic leave it out.
VARIANTS = tuple(v for v in ALL_VARIANTS if v != "torch_input")


def _by_op(op, catalogue=default_scenarios):
    return [s for s in catalogue() if s.op == op and not s.requires]


# ---------------------------------------------------------------------------------------------


def test_not_collected_by_pytest():
    assert test_differentiation.__test__ is False


def test_wrong_gradient_is_caught_and_named(doubles):
    with pytest.raises(AssertionError) as info:
        test_differentiation([doubles["WrongGradient"]], _by_op("gradient"))
    text = str(info.value)
    for column in ("backend", "scenario", "operator", "variant", "max abs err", "max rel err"):
        assert column in text
    assert "WrongGradient" in text and "gradient-v2s" in text
    report = run_differentiation([doubles["WrongGradient"]], _by_op("gradient"), variants=VARIANTS)
    failed_variants = {r.variant for r in report.failed}
    # every variant that computes a gradient fails; the 1% error is the reported relative error
    assert {"plain", "value", "out", "prepared", "prepared_call", "prepared_nonstrict"} <= (
        failed_variants
    )
    # ("threads" reports its first disagreement in the message instead)
    # (torch_input runs into issue 8 item 5 on 0-d x, a separate defect: left out here)
    assert all(abs(r.rel_err - 0.01) < 1e-3 for r in report.failed
               if r.variant not in ("threads", "torch_input"))
    # operators that do not use the broken kernel still pass
    test_differentiation([doubles["WrongGradient"]], _by_op("jacobian"), variants=VARIANTS)


def test_preparation_that_remembers_x_is_caught(doubles):
    report = run_differentiation([doubles["RemembersPoint"]], _by_op("gradient"),
                                 variants=VARIANTS)
    failed = {r.variant for r in report.failed}
    # prepared at x + perturbation, evaluated at x: every prepared call answers for the wrong x
    assert {"prepared", "prepared_call", "prepared_nonstrict"} <= failed
    assert "plain" not in failed and "value" not in failed
    with pytest.raises(AssertionError, match="prepared"):
        test_differentiation([doubles["RemembersPoint"]], _by_op("gradient")[:1])


def test_prepared_at_the_same_point_would_not_catch_it(doubles):
    # Why the harness prepares elsewhere: with prep_args equal to x the defect goes unseen.
    s = _by_op("gradient")[0]
    same = Scenario("gradient", s.f, s.x, reference=s.reference,
                    prep_args={"x": s.x.copy()}, name="same-point")
    report = run_differentiation([doubles["RemembersPoint"]], [same],
                                 variants=("prepared", "prepared_call"))
    assert not report.failed


def test_mutated_input_is_caught(doubles):
    report = run_differentiation([doubles["MutatesInput"]], _by_op("gradient")[:2],
                                 correctness=False)
    assert report.failed
    # the threads variant repeats calls on the same arguments: there the zeroed x shows up as
    # answers that change from call to call
    assert all("mutated its inputs" in r.message for r in report.failed if r.variant != "threads")
    assert {r.variant for r in report.failed} >= {"plain", "value", "prepared", "threads"}
    single_calls = [v for v in ALL_VARIANTS if v != "threads"]
    report = run_differentiation([doubles["MutatesInput"]], _by_op("gradient")[:2],
                                 correctness=False, intact=False, variants=single_calls)
    assert not report.failed


def test_thread_unsafe_preparation_is_caught(doubles):
    report = run_differentiation([doubles["SharedState"]], _by_op("gradient")[:2],
                                 variants=VARIANTS)
    assert {r.variant for r in report.failed} == {"threads"}
    assert all("concurrent call" in r.message for r in report.failed)


def test_unsupported_at_run_time_is_skipped_not_passed(doubles):
    report = run_differentiation([doubles["RefusesGradient"]], _by_op("gradient")[:2])
    assert not report.failed
    grad_rows = [r for r in report if r.variant != "mismatch"]
    assert grad_rows and all(r.status == "skipped" for r in grad_rows)
    assert all("UnsupportedError" in r.message for r in grad_rows)


def test_declared_traits_skip_with_reason(doubles):
    inplace = [s for s in default_scenarios() if s.y is not None]
    assert inplace
    report = run_differentiation([doubles["NoInplace"]], inplace)
    assert len(report) == len(inplace)
    assert all(r.status == "skipped" for r in report)
    assert all("inplace_function=False" in r.message for r in report)
    # the same scenarios pass on the real finite differences
    test_differentiation(["finitediff"], inplace, variants=VARIANTS)


def test_all_skipped_is_a_pytest_skip(doubles):
    inplace = [s for s in default_scenarios() if s.y is not None][:1]
    with pytest.raises(pytest.skip.Exception, match="inplace_function=False"):
        test_differentiation([doubles["NoInplace"]], inplace)


def test_wrong_reference_fails():
    s = _by_op("gradient")[0]
    bad = Scenario("gradient", s.f, s.x, reference=s.reference + 1e-3, name="bad-reference")
    with pytest.raises(AssertionError, match="bad-reference"):
        test_differentiation(["finitediff"], [bad])


def test_reference_computed_when_missing():
    # No analytic reference: the harness computes one with the most accurate backend.
    s = _by_op("hessian")[2]
    plain = Scenario("hessian", s.f, s.x, name="no-reference")
    report = test_differentiation(["finitediff"], [plain], variants=("plain", "value"))
    assert len(report.passed) == 2


def test_every_operator_and_variant_is_exercised():
    report = test_differentiation(["finitediff"], default_scenarios(), variants=VARIANTS)
    assert {r.operator for r in report.passed} == set(OPERATORS)
    # "native" runs only on backends with their own array type (JAX, torch); the protocol
    # variants only on scenarios with their protocol (closure changes, failing functions)
    from anydiff.testing._protocols import PROTOCOL_VARIANTS

    assert {r.variant for r in report.passed} == set(VARIANTS) - {"native", *PROTOCOL_VARIANTS}
    assert not report.skipped


def test_catalogues_agree_with_finite_differences():
    # The analytic references are independent of every backend: finite differences confirm them.
    scenarios = pytree_scenarios() + complex_scenarios() + sparse_scenarios()
    test_differentiation(["finitediff"], scenarios, variants=("plain",))


def test_catalogue_names_are_unique_and_small():
    names = [s.name for s in all_scenarios()]
    assert len(names) == len(set(names))
    for s in all_scenarios():
        n = sum(np.asarray(a).size for a in _leaves(s.x))
        # sparse scenarios need a few more entries than colours (the Brusselator has 18)
        assert n <= (18 if "sparse" in s.tags else 6), s.name


def _leaves(tree):
    from anydiff._pytree import tree_flatten

    return tree_flatten(tree)[0]


def test_catalogues_cover_the_issue():
    d = default_scenarios()
    assert {s.op for s in d} == set(OPERATORS)
    assert any(s.y is not None for s in d)
    assert any(isinstance(c, ad.Constant) for s in d for c in s.contexts)
    assert any(isinstance(c, ad.Cache) for s in d for c in s.contexts)
    assert any(isinstance(s.tangent, ad.Batch) for s in d)
    assert any(np.asarray(_leaves(s.x)[0]).dtype == np.float32 for s in d)
    kinds = {type(s.x).__name__ for s in pytree_scenarios()}
    assert {"dict", "list", "tuple", "Params"} <= kinds
    c = complex_scenarios()
    assert {"jacobian", "pushforward", "pullback", "derivative", "gradient"} <= {s.op for s in c}


def test_scenario_validation_and_prep_point():
    x = np.array([1.0, 2.0])
    # anydiff's own errors (section 4), which are also ValueError / TypeError
    with pytest.raises(ad.AnydiffValueError, match="unknown operator"):
        Scenario("grad", np.sin, x)
    with pytest.raises(ad.AnydiffValueError, match="tangent"):
        Scenario("pushforward", np.sin, x)
    with pytest.raises(ad.AnydiffValueError, match="in-place"):
        Scenario("gradient", np.sin, x, y=np.zeros(2))
    with pytest.raises(ad.AnydiffTypeError, match="exception class"):
        Scenario("gradient", np.sin, x, raises="TypeError")
    s = Scenario("pushforward", np.sin, x, tangent=np.ones(2), contexts=(ad.Constant(x),))
    px, pt, pctx = s.point("prep")
    assert px.dtype == x.dtype and px.shape == x.shape and not np.array_equal(px, x)
    assert not np.array_equal(pt, np.ones(2))
    assert not np.array_equal(pctx[0].value, x)
    ex, _, _ = s.point("eval")
    ex[0] = 99.0  # fresh copies: the scenario's own x stays intact
    assert s.x[0] == 1.0
    x32 = Scenario("gradient", np.sum, x.astype(np.float32)).point("prep")[0]
    assert x32.dtype == np.float32


def test_compare():
    kw = dict(rtol=1e-5, atol=0.0, single=False)
    ok, a, r, _ = compare(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), **kw)
    assert ok and a == pytest.approx(1e-9) and r == pytest.approx(5e-10)
    assert not compare(np.array([np.nan, 2.0]), np.array([1.0, 2.0]), **kw)[0]
    ok, *_, msg = compare(np.array([1.0, 2.0], np.float32), np.array([1.0, 2.0]), **kw)
    assert not ok and "dtype" in msg
    ok, *_, msg = compare(np.ones(3), np.ones(2), **kw)
    assert not ok and "shape" in msg
    ok, *_, msg = compare([np.ones(2)], (np.ones(2),), **kw)
    assert not ok and "structure" in msg
    ok, *_, msg = compare(np.ones(2), ad.Batch(np.ones(2)), **kw)
    assert not ok and "Batch" in msg
    # elementwise: a tiny entry's error fails unless an absolute floor covers it ...
    assert not compare(np.array([1.0, 1e-12]), np.array([1.0, 0.0]), **kw)[0]
    # ... such as the default one, scaled by the leaf's largest entry
    assert compare(np.array([1.0, 1e-12]), np.array([1.0, 0.0]), scaled_atol=1e-11, **kw)[0]


def test_compare_infinite_reference_entries():
    # Before: an inf entry made the default tolerance of its whole leaf infinite, so any
    # number passed next to it, while an exact inf (inf propagates) failed as "NaN pattern".
    kw = dict(rtol=1e-12, atol=0.0, single=False, scaled_atol=1e-13)
    inf = np.inf
    assert compare(np.array([inf, 0.5]), np.array([inf, 0.5]), **kw)[0]
    assert not compare(np.array([inf, 100.0]), np.array([inf, 0.5]), **kw)[0]
    assert not compare(np.array([1e300, 0.5]), np.array([inf, 0.5]), **kw)[0]
    assert not compare(np.array([-inf, 0.5]), np.array([inf, 0.5]), **kw)[0]
    assert not compare(np.array([inf, 0.5]), np.array([1.0, 0.5]), **kw)[0]
    assert not compare(np.array([np.nan, 0.5]), np.array([inf, 0.5]), **kw)[0]


def test_a_scenario_with_an_infinite_derivative(doubles):
    def f(x):
        return ad.array_namespace(x).sum(ad.array_namespace(x).sqrt(x))

    x = np.array([0.0, 1.0])  # d sqrt / dx = inf at 0
    s = Scenario("gradient", f, x, reference=np.array([np.inf, 0.5]), name="sqrt-at-0",
                 prep_args={"x": np.array([0.0, 2.0])})
    test_differentiation(["engine"], [s], variants=("plain", "value", "prepared"))
    with pytest.raises(AssertionError, match="sqrt-at-0"):
        test_differentiation([doubles["WrongGradient"]], [Scenario(
            "gradient", f, x, reference=np.array([np.inf, 0.5]), name="sqrt-at-0")],
            variants=("plain",))


def test_default_tolerances():
    # near what each backend achieves (issue 8): exact AD to ~1e-12 in float64
    assert default_tolerances("torch", np.float64, 1)[0] == 1e-12
    assert default_tolerances("torch", np.float32, 2)[0] == 1e-5
    assert default_tolerances("finitediff", np.float64, 1)[0] == 1e-7
    assert default_tolerances("finitediff", np.float64, 2)[0] == 1e-4
    assert default_tolerances(ad.AutoFiniteDiff(method="complex"), np.float64, 1)[0] == 1e-10
    second = ad.SecondOrder(ad.AutoFiniteDiff(), "torch")
    assert default_tolerances(second, np.float64, 1)[0] == 1e-12
    assert default_tolerances(second, np.float64, 2)[0] == 1e-7


def test_cases_have_readable_ids():
    params = cases(["finitediff"], default_scenarios()[:2])
    assert [p.id for p in params] == [
        "finitediff-" + s.name for s in default_scenarios()[:2]
    ]

def test_cases_for_missing_backends_are_skipped(monkeypatch):
    from anydiff.testing import _runner

    monkeypatch.setattr(_runner, "installed", lambda b: (False, "jax: AD system not installed"))
    params = cases(["jax"], default_scenarios()[:2])
    assert len(params) == 2
    for p in params:
        (mark,) = p.marks
        assert mark.name == "skip" and "not installed" in mark.kwargs["reason"]


@parametrize(["finitediff"], default_scenarios()[:3])
def test_parametrize_gives_one_item_per_case(backend, scenario):
    report = test_differentiation([backend], [scenario], variants=VARIANTS)
    assert {r.scenario for r in report} == {scenario.name}


def test_benchmark_table():
    scen = [s for s in default_scenarios() if s.name in ("gradient-v2s", "jacobian-v2v-inplace")]
    table = benchmark_differentiation(["finitediff"], scen, samples=3)
    assert isinstance(table, BenchmarkTable) and len(table) == 4
    grad = [r for r in table if r.operator == "gradient"]
    # central differences: 2 evaluations per coordinate of the 4-vector
    assert all(r.calls == 8 for r in grad)
    assert all(r.samples == 3 and r.time > 0 for r in table)
    prepared = [r for r in table if r.prepared]
    assert all(r.prep_time >= 0 for r in prepared)
    md = table.to_markdown()
    assert md.count("\n") == 5 and "| finitediff | gradient-v2s | gradient | True |" in md
    pd = pytest.importorskip("pandas")
    df = table.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert {"backend", "scenario", "operator", "prepared", "calls", "time", "samples"} <= set(
        df.columns
    )


def test_benchmark_skips_unsupported(doubles):
    scen = [s for s in default_scenarios() if s.y is not None][:1]
    table = benchmark_differentiation([doubles["NoInplace"]], scen, prepared=(True,), samples=2)
    assert table[0].status == "skipped" and "inplace_function" in table[0].message


def test_native_arrays_in_native_arrays_out():
    torch = pytest.importorskip("torch")
    if "torch" not in installed_backends():
        pytest.skip("torch adapter not available")
    scen = [s for s in default_scenarios() if s.name in ("gradient-v2s", "pullback-v2v-batch2")]
    report = test_differentiation(["torch"], scen, variants=("native",))
    assert len(report.passed) == 2
    # and the check is real: a backend answering NumPy for tensors would fail it
    from anydiff.testing._checks import from_native as _from_native

    with pytest.raises(AssertionError, match="returned a ndarray"):
        _from_native(np.ones(2), "torch")
    assert isinstance(_from_native(torch.ones(2), "torch"), np.ndarray)


def test_cli_info(capsys):
    from anydiff.__main__ import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in ("jax", "torch", "autograd", "finitediff", "engine", "inplace_function",
                 "complex_numbers"):
        assert name in out


def test_cli_compare_quick(capsys):
    from anydiff.__main__ import main

    assert main(["compare", "--backends", "finitediff", "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("finitediff "))
    assert row.count("✓") == len(OPERATORS) and "✗" not in row
    for op in OPERATORS:
        assert op in out


def test_cli_compare_exits_nonzero_on_disagreement(capsys, monkeypatch, doubles):
    # Point the "finitediff" name at the broken double for the duration of this test.
    from anydiff import _registry
    from anydiff.__main__ import main

    monkeypatch.setitem(_registry._adapters, ad.AutoFiniteDiff(),
                        _WrongGradient(ad.AutoFiniteDiff()))
    code = main(["compare", "--backends", "finitediff", "--quick", "--no-progress"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("finitediff "))
    assert code == 1 and "✗" in row and "failures" in out


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "anydiff", "info"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "finitediff" in proc.stdout
