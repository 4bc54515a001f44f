"""The new harness checks catch their defect classes (each with a test double whose one defect
it must report) and pass correct backends; strict tolerances, partial support and the new
scenario families."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import anydiff as ad
from anydiff._registry import _adapters
from anydiff.backends.finitediff import Adapter as FiniteDiffAdapter
from anydiff.testing import (
    CATALOGUES,
    TOLERANCES,
    FailingFunction,
    FunctionError,
    Scenario,
    accuracy_class,
    closure_scenarios,
    compare,
    default_scenarios,
    default_tolerances,
    edge_scenarios,
    error_scenarios,
    mutation_scenarios,
    raising_scenarios,
    run_differentiation,
)

# ---------------------------------------------------------------------------------------------
# Test doubles: finite differences with one defect each


@dataclasses.dataclass(frozen=True)
class SmallEntryWrong(ad.AutoFiniteDiff):
    """The smallest gradient entry 1 % wrong (normwise error ~1e-4, far below 1e-5 x max?)."""


@dataclasses.dataclass(frozen=True)
class FirstTangentOnly(ad.AutoFiniteDiff):
    """Pushforward of a Batch answers the first tangent's result for every element."""


@dataclasses.dataclass(frozen=True)
class SharesBuffer(ad.AutoFiniteDiff):
    """Gradient kernels that hand out the same internal array on every call."""


@dataclasses.dataclass(frozen=True)
class NoValueForm(ad.AutoFiniteDiff):
    """The value form of the gradient raises UnsupportedError; the plain form works."""


@dataclasses.dataclass(frozen=True)
class CachesByIdentity(ad.AutoFiniteDiff):
    """Unprepared gradients cached by the identity of f (stale after a closure change)."""


@dataclasses.dataclass(frozen=True)
class Retries(ad.AutoFiniteDiff):
    """Kernels that call the general path again when f raises (f runs twice)."""


class _SmallEntryWrong(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)

        def wrong(x, T, ctx):
            y, g = kernel(x, T, ctx)
            g = np.array(g, copy=True)
            k = int(np.argmin(np.abs(g)))
            g[k] *= 1.01
            return y, g

        return wrong


class _FirstTangentOnly(FiniteDiffAdapter):
    def make_pushforward(self, F, spec, need_value):
        kernel = super().make_pushforward(F, spec, need_value)

        def first_only(x, T, ctx):
            y, rows = kernel(x, T, ctx)
            return y, np.stack([rows[0]] * len(rows))

        return first_only


class _SharesBuffer(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)
        memo = {}

        def shared(x, T, ctx):
            # results remembered per point and handed out as they are: a caller who writes
            # into one corrupts every later call at that point
            key = x.tobytes()
            if key not in memo:
                memo[key] = kernel(x, T, ctx)
            return memo[key]

        return shared


class _NoValueForm(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        if need_value:
            raise ad.UnsupportedError("no value form in this test double")
        return super().make_gradient(F, spec, need_value)


class _CachesByIdentity(FiniteDiffAdapter):
    cache: dict = {}

    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)
        cache = _CachesByIdentity.cache

        def cached(x, T, ctx):
            key = (need_value, x.tobytes())  # f's data is not part of the key: stale
            if key not in cache:
                cache[key] = kernel(x, T, ctx)
            return cache[key]

        return cached


class _Retries(FiniteDiffAdapter):
    def make_gradient(self, F, spec, need_value):
        kernel = super().make_gradient(F, spec, need_value)

        def retrying(x, T, ctx):
            try:
                return kernel(x, T, ctx)
            except Exception:
                return kernel(x, T, ctx)

        return retrying


@pytest.fixture
def doubles():
    pairs = {
        SmallEntryWrong(): _SmallEntryWrong, FirstTangentOnly(): _FirstTangentOnly,
        SharesBuffer(): _SharesBuffer, NoValueForm(): _NoValueForm,
        CachesByIdentity(): _CachesByIdentity, Retries(): _Retries,
    }
    for b, cls in pairs.items():
        _adapters[b] = cls(b)
    yield {type(b).__name__: b for b in pairs}
    for b in pairs:
        _adapters.pop(b, None)
    _CachesByIdentity.cache.clear()


def _named(name, catalogue=default_scenarios):
    return [s for s in catalogue() if s.name == name]


# ---------------------------------------------------------------------------------------------
# Strictness


def _half_squares(x):
    xp = ad.array_namespace(x)
    return 0.5 * xp.sum(x * x)


def test_elementwise_check_catches_a_small_wrong_entry(doubles):
    x = np.array([1.0, 1e-4, 2.0])
    scen = [Scenario("gradient", _half_squares, x, reference=x.copy(), name="small-entry")]
    report = run_differentiation([doubles["SmallEntryWrong"]], scen, variants=("plain",))
    assert [r.status for r in report] == ["failed"]
    assert "entry (1,)" in report[0].message
    # normwise at the old rtol=1e-5 of the largest entry the same result passed
    g = ad.gradient(_half_squares, doubles["SmallEntryWrong"], x)
    assert np.max(np.abs(g - x)) <= 1e-5 * np.max(np.abs(x))
    assert not np.allclose(g, x, rtol=1e-3, atol=0)


def test_every_batch_element_is_checked(doubles):
    scen = _named("pushforward-v2v-batch2")
    report = run_differentiation([doubles["FirstTangentOnly"]], scen,
                                 variants=("plain", "prepared", "same_point"))
    assert {r.variant for r in report.failed} == {"plain", "prepared", "same_point"}


def test_compare_is_elementwise_and_normwise():
    kw = dict(rtol=1e-12, atol=0.0, single=False)
    ok, *_, msg = compare(np.array([1.0, 1e-3]), np.array([1.0, 1.01e-3]), **kw)
    assert not ok and "entry (1,)" in msg
    assert compare(np.array([1.0, 1e-20]), np.array([1.0, 0.0]), scaled_atol=1e-13, **kw)[0]
    batch = ad.Batch(np.ones(2), np.ones(2))
    assert not compare(ad.Batch(np.ones(2), np.zeros(2)), batch, **kw)[0]
    assert not compare(ad.Batch(np.ones(2)), batch, **kw)[0]
    # NaN propagates: NaN where the reference has NaN is right, masking it is wrong
    assert compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), **kw)[0]
    assert not compare(np.array([0.0, 1.0]), np.array([np.nan, 1.0]), **kw)[0]


def test_tolerances_follow_what_each_backend_achieves():
    assert default_tolerances("torch", np.float64, 1) == (1e-12, 1e-13)
    assert default_tolerances("engine", np.float32, 2)[0] == 1e-5
    central = default_tolerances("finitediff", np.float64, 1)[0]
    forward = default_tolerances(ad.AutoFiniteDiff(method="forward"), np.float64, 1)[0]
    assert central < forward < default_tolerances("finitediff", np.float64, 2)[0]
    assert accuracy_class(ad.AutoFiniteDiff(method="complex"), 1) == "fd1:complex"
    assert accuracy_class(ad.SecondOrder(ad.AutoFiniteDiff(), "torch"), 1) == "exact"
    assert accuracy_class(ad.SecondOrder(ad.AutoFiniteDiff(), "torch"), 2) == "fd1:central"
    assert accuracy_class(ad.SecondOrder("engine", "finitediff"), 2) == "fd2"
    assert all(r > 0 and a >= 0 for r, a in TOLERANCES.values())


def test_undeclared_partial_support_fails(doubles):
    scen = _named("gradient-v2s")
    report = run_differentiation([doubles["NoValueForm"]], scen,
                                 variants=("plain", "value", "prepared_value"))
    by = {r.variant: r for r in report}
    assert by["plain"].status == "passed"
    assert by["value"].status == "failed" and "partial support" in by["value"].message
    s = scen[0]
    declared = Scenario(s.op, s.f, s.x, reference=s.reference, partial=("value",
                        "prepared_value"), name="declared")
    report = run_differentiation([doubles["NoValueForm"]], [declared],
                                 variants=("plain", "value", "prepared_value"))
    assert not report.failed and len(report.skipped) == 2


def test_dtype_and_array_kind_mismatch_variants():
    scen = _named("gradient-v2s") + _named("jacobian-v2v-f32")
    report = run_differentiation(["finitediff"], scen, variants=("mismatch_dtype",
                                                                 "mismatch_kind"))
    assert {r.variant for r in report} >= {"mismatch_dtype"}
    from anydiff.testing._checks import wrong_dtype

    assert wrong_dtype(np.ones(2)).dtype == np.float32
    assert wrong_dtype(np.ones(2, np.float32)).dtype == np.float64


# ---------------------------------------------------------------------------------------------
# Results belong to the caller


def test_shared_result_buffer_is_caught(doubles):
    scen = _named("gradient-v2s")
    report = run_differentiation([doubles["SharesBuffer"]], scen,
                                 variants=("aliasing", "aliasing_plain", "prepared"))
    assert {r.variant for r in report.failed} == {"aliasing"}
    report = run_differentiation(["finitediff"], scen, variants=("aliasing", "aliasing_plain"))
    assert len(report.passed) == 2


# ---------------------------------------------------------------------------------------------
# Families


def test_families_are_catalogues_with_analytic_references():
    for name in ("mutation", "closure", "errors", "edge", "raising"):
        assert name in CATALOGUES
    for s in mutation_scenarios() + closure_scenarios() + edge_scenarios() + raising_scenarios():
        assert s.reference is not None, s.name
    assert all(s.raises is TypeError and s.reference is None for s in error_scenarios())


def test_closure_change_is_caught(doubles):
    scen = [s for s in closure_scenarios() if s.op == "gradient"]
    report = run_differentiation(["finitediff"], scen, variants=("closure", "closure_prepared"))
    assert len(report.passed) == 2 * len(scen)
    report = run_differentiation([doubles["CachesByIdentity"]], scen[:1], variants=("closure",))
    assert report.failed and "after the closure changed" in report.failed[0].message
    # the change is undone: the scenario still holds its first reference
    s = scen[0]
    np.testing.assert_allclose(ad.gradient(s.f, "finitediff", s.x), s.reference, rtol=1e-7)


def test_function_raising_is_counted(doubles):
    scen = [s for s in raising_scenarios() if s.op == "gradient"]
    report = run_differentiation([doubles["Retries"]], scen, variants=("f_raises",))
    assert report.failed and "evaluated 2 times" in report.failed[0].message
    f = scen[0].f
    assert isinstance(f, FailingFunction) and not f.armed
    f.arm()
    with pytest.raises(FunctionError):
        f(np.ones(3))
    f.disarm()


def test_expected_errors_are_checked():
    vec = Scenario("gradient", np.sin, np.ones(3), raises=ValueError, name="vector-gradient")
    report = run_differentiation(["finitediff"], [vec])
    assert report and all(r.status == "passed" for r in report)
    wrong = Scenario("gradient", np.sin, np.ones(3), raises=KeyError, name="wrong-error")
    report = run_differentiation(["finitediff"], [wrong], variants=("plain",))
    assert report.failed and "KeyError" in report.failed[0].message
    ok = Scenario("gradient", np.sum, np.ones(3), raises=ValueError, name="no-error")
    report = run_differentiation(["finitediff"], [ok], variants=("plain",))
    assert report.failed and "returned a result" in report.failed[0].message
    with pytest.raises(ValueError, match="no reference"):
        Scenario("gradient", np.sum, np.ones(3), raises=ValueError, reference=np.ones(3))


def test_edge_shapes_and_torch_inputs():
    # (size-0 x on finitediff is issue 8 item 11; test_cross_backend covers it)
    scen = [s for s in edge_scenarios() if s.name in ("jacobian-0d-to-vec", "hessian-0d-f32")]
    assert len(scen) == 2 and any(s.x.size == 0 for s in edge_scenarios())
    report = run_differentiation(["finitediff"], scen, variants=("plain", "value", "prepared"))
    assert not report.failed, report.failure_text()
    pytest.importorskip("torch")
    report = run_differentiation(["finitediff"], _named("gradient-v2s"), variants=("torch_input",))
    assert [r.status for r in report] == ["passed"]
