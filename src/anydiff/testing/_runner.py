"""``test_differentiation``: run every operator variant of every scenario on every backend.

Variants (each on fresh copies of the arguments):

=====================  =================================================================
plain                  ``ad.<op>(f, b, x, ...)``
value                  ``ad.<value form>(f, b, x, ...)``
out                    ``ad.<op>(..., out=buffer)`` (the buffer is filled and returned)
value_out              ``ad.<value form>(..., out=buffers)``
native                 x, tangents and contexts as the backend's own arrays (JAX arrays,
                       torch tensors): results must come back as that array type
torch_input            x, tangents and contexts as torch tensors on a backend that is not
                       torch: results must be torch tensors of the right shapes (0-d stays 0-d)
aliasing_plain         an unprepared call, NaN written into every array it returned, then a
                       second call: the second answer must still be right
prepared               prepared at a different point, then ``ad.<op>(..., prep=prep)``
prepared_call          a second call ``prep(x, ...)`` (state left by the first call)
prepared_value         ``ad.<value form>(..., prep=prep)``
prepared_nonstrict     ``prepare_<op>(..., strict=False)`` then ``prep.<op>(x, ...)``
threads                one prep called from several threads at once, at x and at another
                       point alternately: every answer must match the sequential one
mismatch               wrongly shaped x with strict and non-strict preps must raise
                       ``PreparationMismatchError``
mismatch_dtype         x in the other precision (float64 <-> float32) with a strict prep must
                       raise ``PreparationMismatchError``
mismatch_kind          x as another array kind (torch tensor / JAX array) with a strict
                       prep must raise ``PreparationMismatchError``
aliasing               a prep's plain and value results overwritten with NaN, then called
                       again: results are fresh or read-only, never the prep's own buffers
same_point             ``prepare_<op>_same_point`` at x, called at x
same_point_aliasing    the same for a same-point prep (value form, then plain form)
same_point_mismatch    the same prep called at another x must raise
=====================  =================================================================

Scenarios with a protocol of their own run further variants (:mod:`._protocols`): ``raises``
(every call must raise the declared error), closure changes (``closure``, ``closure_value``,
``closure_prepared``) and functions that raise (``f_raises``, ``f_raises_value``,
``f_raises_prepared``, ``f_raises_same_point``).

A variant that raises ``UnsupportedError`` is skipped, never passed; when another variant of the
same backend x scenario passed, the skip is *partial support* and fails unless the scenario
declares it (``Scenario(partial=...)``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .._errors import BackendUnavailableError, UnsupportedError
from .._registry import get_adapter, resolve
from . import _protocols
from ._checks import (
    Case,
    Skip,
    add_mismatch_variants,
    add_prepared_variants,
    buffers,
    constant_values,
    expect_mismatch,
    from_native,
    leaves_of,
    native_args,
    other_kind,
    scribble,
    snapshot,
    threaded_calls,
    unchanged,
)
from ._compare import PART_NAMES, compare, compare_parts
from ._reference import (
    REFERENCE_ORDER,
    compute_reference,
    default_tolerances,
    expected_value,
    frameworks_of,
    installed,
    label,
    single_precision,
)
from ._report import CaseResult, DifferentiationReport
from ._scenario import SAME_POINT_OPS, Scenario

UNPREPARED_VARIANTS = ("plain", "value", "out", "value_out", "native", "torch_input",
                       "aliasing_plain")
PREPARED_VARIANTS = (
    "prepared", "prepared_call", "prepared_value", "prepared_nonstrict", "threads", "mismatch",
    "mismatch_dtype", "mismatch_kind", "aliasing", "same_point", "same_point_aliasing",
    "same_point_mismatch",
)
ALL_VARIANTS = UNPREPARED_VARIANTS + PREPARED_VARIANTS + _protocols.PROTOCOL_VARIANTS
#: Variants that reach the derivative code; the others check errors only. Partial support is
#: judged among these.
_COMPUTING = frozenset(ALL_VARIANTS) - {"mismatch", "mismatch_dtype", "mismatch_kind",
                                        "same_point_mismatch"}

# Kept for code that imported the old private names.
_Skip = Skip


def run_variant(
    case: Case,
    variant: str,
    call: Callable[[tuple, dict], Any],
    expected: Any,
    check: Callable[[Any, Any], tuple[bool, float, float, str]] | None,
    intact: bool,
    where: str = "eval",
) -> CaseResult:
    """Run one variant on fresh arguments and judge it: a result checked by ``check``, inputs
    left intact, ``UnsupportedError`` reported as skipped."""
    s = case.s
    base = dict(backend=label(case.backend), scenario=s.name, operator=s.op, variant=variant)
    args, kw = case.args(where)
    watched = constant_values(args)
    before = [snapshot(a) for a in watched]
    t0 = time.perf_counter()
    try:
        result = call(args, kw)
    except (UnsupportedError, BackendUnavailableError, Skip) as exc:
        return CaseResult(**base, status="skipped", message=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        return CaseResult(**base, status="failed", message=f"raised {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - t0
    ok, a, r, msg = check(result, expected) if check is not None else (True, None, None, "")
    if intact and not all(unchanged(b, w) for b, w in zip(before, watched)):
        ok, msg = False, (msg + "; " if msg else "") + "mutated its inputs (x, tangent or Constant)"
    return CaseResult(
        **base, status="passed" if ok else "failed", abs_err=a, rel_err=r, message=msg,
        time=elapsed,
    )


def _judge_partial(s: Scenario, results: list[CaseResult]) -> None:
    """Undeclared partial support fails: ``UnsupportedError`` in one variant while another
    variant of the same backend x scenario computed a result."""
    computed = [r for r in results if r.variant in _COMPUTING and r.status == "passed"]
    if not computed:
        return
    for r in results:
        if (r.status == "skipped" and r.message.startswith("UnsupportedError")
                and not s.allows_partial(r.variant)):
            r.status = "failed"
            r.message = (
                f"partial support: {computed[0].variant} passed but {r.variant} raised "
                f"{r.message}; declare Scenario(partial=({r.variant!r},)) if this is intended"
            )


def run_case(
    backend: Any,
    scenario: Scenario,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    correctness: bool = True,
    prep: bool = True,
    intact: bool = True,
    variants: Iterable[str] | None = None,
) -> list[CaseResult]:
    """Every variant of one scenario on one backend (see the module docstring)."""
    s = scenario
    base = dict(backend=label(backend), scenario=s.name, operator=s.op, variant="-")
    ok, why = installed(backend)
    if not ok:
        return [CaseResult(**base, status="skipped", message=why)]
    b = resolve(backend)
    if getattr(b, "name", None) == "sparse":  # AutoSparse: scipy.sparse results (._sparse_runner)
        from ._sparse_runner import run_sparse_case

        return run_sparse_case(backend, s, rtol=rtol, atol=atol, correctness=correctness,
                               prep=prep, intact=intact, variants=variants)
    for req in s.requires:
        if not getattr(b, req, True):
            return [CaseResult(
                **base, status="skipped", message=f"{type(b).__name__} declares {req}=False"
            )]
    wanted = [v for v in (variants or ALL_VARIANTS)
              if prep or v in UNPREPARED_VARIANTS or v in _protocols.UNPREPARED_PROTOCOL]
    if s.op not in SAME_POINT_OPS:
        wanted = [v for v in wanted if "same_point" not in v]
    case = Case(backend, s)
    if s.raises is not None:
        results = _protocols.run_raises(case, wanted)
        _judge_partial(s, results)
        return results

    single = single_precision(s.dtype)
    d_rtol, d_scaled = default_tolerances(b, s.dtype, s.order)
    # A user's atol is absolute; the default one scales with each result leaf's largest entry.
    scaled = d_scaled if atol is None else 0.0
    rtol = d_rtol if rtol is None else rtol
    atol = 0.0 if atol is None else atol

    expected = expected_parts = None
    if correctness:
        try:
            own = tuple(n for n in frameworks_of(b) if n in REFERENCE_ORDER)
            if s.reference is not None:
                ref, first = s.reference, s.reference_first
                if first is None and s.op in ("second_derivative", "hessian", "hvp"):
                    first = compute_reference(s, own)[1]
            else:
                ref, first, _ = compute_reference(s, own)
            value = expected_value(s)
        except Exception as exc:
            return [CaseResult(**base, status="failed", message=f"no reference: {exc}")]
        expected = ref
        expected_parts = {
            "hvp": (first, ref),
            "hessian": (value, first, ref),
            "second_derivative": (value, first, ref),
        }.get(s.op, (value, ref))

    kwc = dict(rtol=rtol, atol=atol, single=single, scaled_atol=scaled)
    names = PART_NAMES[s.op]
    check_plain = (lambda r, e: compare(r, e, **kwc)) if correctness else None
    check_value = (lambda r, e: compare_parts(r, e, names, **kwc)) if correctness else None
    f = s.f
    results: list[CaseResult] = []

    def add(variant: str, call: Callable, exp: Any, check: Any, where: str = "eval") -> None:
        if variant in wanted:
            results.append(run_variant(case, variant, call, exp, check, intact, where))

    add("plain", lambda a, kw: case.op(f, backend, *a, **kw), expected, check_plain)

    def value_form(a: tuple, kw: dict) -> Any:
        res = case.vop(f, backend, *a, **kw)
        if "y" in kw and isinstance(res, tuple) and expected_parts is not None:
            ok, *_, msg = compare(kw["y"], expected_parts[0], **kwc)
            if not ok:
                raise AssertionError(f"the y= buffer does not hold the value f(x): {msg}")
        return res

    add("value", value_form, expected_parts, check_value)

    def with_out(a: tuple, kw: dict) -> Any:
        if expected is None:
            raise Skip("out= needs the reference's shapes (correctness=False)")
        buf = buffers(expected, single)
        res = case.op(f, backend, *a, out=buf, **kw)
        if res is not buf:
            raise AssertionError("out= did not return the buffer it filled")
        return buf

    def with_value_out(a: tuple, kw: dict) -> Any:
        if expected_parts is None:
            raise Skip("out= needs the reference's shapes (correctness=False)")
        bufs = tuple(buffers(e, single) for e in expected_parts[1:])
        out = bufs[0] if len(bufs) == 1 else bufs
        res = case.vop(f, backend, *a, out=out, **kw)
        if any(r is not bb for r, bb in zip(res[1:], bufs)):
            raise AssertionError("out= did not return the buffers it filled")
        return res

    add("out", with_out, expected, check_plain)
    add("value_out", with_value_out, expected_parts, check_value)

    native = getattr(get_adapter(b), "native_kind", "numpy")
    has_arrays = any(isinstance(a, np.ndarray) for a in leaves_of(s.x))

    def in_kind(kind: str) -> Callable[[tuple, dict], Any]:
        def call(a: tuple, kw: dict) -> Any:
            conv, ckw = native_args(a, kw, kind)
            return from_native(case.op(f, backend, *conv, **ckw), kind)

        return call

    # Python-float x gives NumPy results whatever the backend: nothing native to check then.
    if native in ("jax", "torch") and has_arrays:
        add("native", in_kind(native), expected, check_plain)
    if native != "torch" and has_arrays and other_kind("") == "torch":
        add("torch_input", in_kind("torch"), expected, check_plain)

    def aliasing_plain(a: tuple, kw: dict) -> Any:
        scribble(case.op(f, backend, *a, **kw))
        scribble(case.vop(f, backend, *case.args()[0], **case.args()[1]))
        a2, kw2 = case.args()
        return case.op(f, backend, *a2, **kw2)

    add("aliasing_plain", aliasing_plain, expected, check_plain)

    if not any(v in PREPARED_VARIANTS or v in _protocols.PROTOCOL_VARIANTS for v in wanted):
        _judge_partial(s, results)
        return results

    # Preparations happen at another point than the calls, so remembered values show up.
    preps: dict[str, Any] = {}

    def get_prep(kind: str) -> Any:
        if kind not in preps:
            try:
                if kind == "same_point":
                    a, kw = case.args("eval")
                    preps[kind] = case.prepare_same(f, backend, *a, **kw)
                else:
                    a, kw = case.args("prep")
                    preps[kind] = case.prepare(f, backend, *a, strict=(kind == "strict"), **kw)
            except (UnsupportedError, BackendUnavailableError) as exc:
                preps[kind] = exc
            except Exception as exc:
                preps[kind] = AssertionError(
                    f"prepare_{s.op} raised {type(exc).__name__}: {exc}"
                )
        p = preps[kind]
        if isinstance(p, AssertionError):
            raise p
        if isinstance(p, UnsupportedError):
            raise UnsupportedError(f"at preparation: {p}")
        if isinstance(p, Exception):
            raise Skip(f"preparation: {type(p).__name__}: {p}")
        return p

    add_prepared_variants(add, case, s.op, f, backend, get_prep, expected, expected_parts,
                          check_plain, check_value)

    def threaded(a: tuple, kw: dict) -> Any:
        p = get_prep("strict")
        a2, kw2 = case.args("prep")
        elsewhere = p(*a2, **kw2)  # the sequential answer at the other point
        return threaded_calls(case, p, elsewhere, lambda r: check_plain(r, expected)
                              if check_plain else (True, 0.0, 0.0, ""))

    add("threads", threaded, expected, check_plain)

    add_mismatch_variants(add, case.op, f, backend, get_prep, native, has_arrays)

    def aliasing(a: tuple, kw: dict) -> Any:
        p = get_prep("strict")
        scribble(p(*a, **kw))
        a2, kw2 = case.args()
        scribble(case.vop(f, backend, *a2, prep=p, **kw2))
        a3, kw3 = case.args()
        return p(*a3, **kw3)

    add("aliasing", aliasing, expected, check_plain)
    if case.prepare_same is not None:
        add("same_point", lambda a, kw: get_prep("same_point")(*a, **kw), expected, check_plain)

        def same_point_aliasing(a: tuple, kw: dict) -> Any:
            p = get_prep("same_point")
            scribble(case.vop(f, backend, *a, prep=p, **kw))
            a2, kw2 = case.args()
            scribble(p(*a2, **kw2))
            a3, kw3 = case.args()
            return case.vop(f, backend, *a3, prep=p, **kw3)

        add("same_point_aliasing", same_point_aliasing, expected_parts, check_value)

        def same_point_elsewhere(a: tuple, kw: dict) -> None:
            if all(np.size(leaf) == 0 for leaf in leaves_of(s.x)):
                raise Skip("x has no entries: every other point is the same point")
            p = get_prep("same_point")
            expect_mismatch([lambda: p(*a, **kw)], "same-point prep called at another x")

        add("same_point_mismatch", same_point_elsewhere, None, None, where="prep")

    results += _protocols.run_protocols(
        case, wanted, expected, expected_parts, check_plain, check_value, intact
    )
    _judge_partial(s, results)
    return results


# ---------------------------------------------------------------------------------------------


def run_differentiation(
    backends: Sequence[Any],
    scenarios: Sequence[Scenario],
    *,
    progress: bool | None = False,
    **kw: Any,
) -> DifferentiationReport:
    """Like :func:`test_differentiation` but returns the report without raising."""
    from tqdm.auto import tqdm

    pairs = [(b, s) for b in backends for s in scenarios]
    report = DifferentiationReport()
    bar = tqdm(pairs, disable=(not progress) if progress is not None else None,
               file=sys.stderr, leave=False, desc="anydiff", unit="case")
    for b, s in bar:
        report.extend(run_case(b, s, **kw))
    return report


def test_differentiation(
    backends: Sequence[Any],
    scenarios: Sequence[Scenario],
    *,
    rtol: float | None = None,
    atol: float | None = None,
    correctness: bool = True,
    prep: bool = True,
    intact: bool = True,
    logging: bool = False,
    variants: Iterable[str] | None = None,
) -> DifferentiationReport:
    """Run every operator variant of every scenario on every backend and check the results.

    Args:
        backends: backend names or objects (``["jax", ad.AutoTorch()]``).
        scenarios: :class:`Scenario` objects, e.g. ``default_scenarios()``.
        rtol / atol: every entry must satisfy ``|r - e| <= rtol * |e| + atol`` (elementwise).
            By default ``default_tolerances(backend, dtype, order)``: exact AD 1e-12 in float64
            and 1e-5 in float32, finite differences per method and order; the default atol is
            scaled by each result leaf's largest entry, a given one is absolute.
        correctness: compare results with the references (False: only run the calls).
        prep: also run the prepared variants (and check preparation mismatches).
        intact: check that x, tangents and Constant contexts are left unchanged.
        logging: print the full report (passed and skipped cases too) to stderr.
        variants: restrict to some variants (names in ``anydiff.testing.ALL_VARIANTS``).

    Returns:
        The :class:`DifferentiationReport` (one row per backend x scenario x variant).

    Raises:
        AssertionError: when any case failed, with a table of backend, scenario, operator,
            variant, max abs / rel error and message. Inside pytest, a call whose cases were
            all skipped is reported as skipped.

    Example:
        >>> from anydiff.testing import test_differentiation, default_scenarios
        >>> scenarios = [s for s in default_scenarios() if s.name in ("gradient-v2s", "jacobian-v2v")]
        >>> report = test_differentiation(["finitediff"], scenarios)
        >>> len(report.failed)
        0
    """
    report = run_differentiation(
        backends, scenarios, rtol=rtol, atol=atol, correctness=correctness, prep=prep,
        intact=intact, variants=variants,
    )
    if logging:
        print(report, file=sys.stderr)
    if report.failed:
        raise AssertionError(report.failure_text())
    if report and not report.passed and "PYTEST_CURRENT_TEST" in os.environ:
        import pytest

        reasons = sorted({r.message for r in report.skipped})
        pytest.skip("; ".join(reasons)[:500])
    return report


test_differentiation.__test__ = False  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# pytest integration


def cases(backends: Sequence[Any], scenarios: Sequence[Scenario]) -> list[Any]:
    """``pytest.param(backend, scenario)`` for every pair, with ids ``backend-scenario``;
    backends that are not installed give skipped params."""
    import pytest

    params = []
    seen: dict[str, int] = {}
    for b in backends:
        ok, why = installed(b)
        marks = () if ok else (pytest.mark.skip(reason=why),)
        for s in scenarios:
            ident = f"{label(b)}-{s.name}"
            n = seen.get(ident, 0)
            seen[ident] = n + 1
            params.append(pytest.param(b, s, id=ident if n == 0 else f"{ident}#{n}", marks=marks))
    return params


def parametrize(backends: Sequence[Any], scenarios: Sequence[Scenario]) -> Any:
    """A ``pytest.mark.parametrize("backend, scenario", ...)`` decorator: one test item per
    backend x scenario.

    Example::

        @parametrize(["jax", "torch"], default_scenarios())
        def test_backends(backend, scenario):
            test_differentiation([backend], [scenario])
    """
    import pytest

    return pytest.mark.parametrize(("backend", "scenario"), cases(backends, scenarios))
