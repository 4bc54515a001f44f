"""Variants of scenarios with a protocol of their own.

``raises``
    ``Scenario(raises=E)``: ``plain``, ``value``, ``prepared`` and ``same_point`` calls must all
    raise ``E`` (at preparation or at the call). A built-in ``E`` (``TypeError``, ...) means an
    anydiff error: the exception must also be an ``ad.AnydiffError``.
closure changes
    ``Scenario(change=..., reference_changed=...)``:

    ``closure``           call, ``change()``, call again: the second answer is
                          ``reference_changed`` (unprepared calls use f as it is now)
    ``closure_value``     the same with the value form
    ``closure_prepared``  a prep made before ``change()`` may freeze the old data (either
                          reference is right); a prep made after it gives ``reference_changed``
functions that raise
    ``Scenario(FailingFunction(f), ...)``: once armed, f raises ``FunctionError``:

    ``f_raises``             an unprepared call evaluates f once and lets ``FunctionError``
                             out unchanged (same class, same message)
    ``f_raises_value``       the same with the value form
    ``f_raises_prepared``    a prep made (and called once) before arming: one evaluation and
                             the error, or (compiled replay) no evaluation and a right result
    ``f_raises_same_point``  the same for a same-point prep
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import AnydiffError
from ._checks import Case, Skip
from ._report import CaseResult
from ._scenario import FailingFunction, FunctionError

CLOSURE_VARIANTS = ("closure", "closure_value", "closure_prepared")
FAILING_VARIANTS = ("f_raises", "f_raises_value", "f_raises_prepared", "f_raises_same_point")
PROTOCOL_VARIANTS = CLOSURE_VARIANTS + FAILING_VARIANTS
UNPREPARED_PROTOCOL = frozenset({"closure", "closure_value", "f_raises", "f_raises_value"})
_RAISES_VARIANTS = ("plain", "value", "prepared", "same_point")


def _expected_error(exc: BaseException, want: type[BaseException]) -> str:
    """Empty when ``exc`` is the error the scenario declares, else what is wrong with it."""
    if want.__module__ == "builtins":
        if isinstance(exc, want) and isinstance(exc, AnydiffError):
            return ""
        return (f"expected an anydiff {want.__name__} (ad.AnydiffError), got "
                f"{type(exc).__name__}: {exc}")
    if type(exc) is want:
        return ""
    return f"expected {want.__name__} unchanged, got {type(exc).__name__}: {exc}"


def run_raises(case: Case, wanted: list[str]) -> list[CaseResult]:
    """Every call of a ``Scenario(raises=E)`` must raise ``E``."""
    from ._reference import label

    s = case.s
    want = s.raises
    assert want is not None
    calls: dict[str, Callable[[tuple, dict], Any]] = {
        "plain": lambda a, kw: case.op(s.f, case.backend, *a, **kw),
        "value": lambda a, kw: case.vop(s.f, case.backend, *a, **kw),
        "prepared": lambda a, kw: case.prepare(s.f, case.backend, *a, **kw)(*a, **kw),
    }
    if case.prepare_same is not None:
        calls["same_point"] = lambda a, kw: case.prepare_same(s.f, case.backend, *a, **kw)(
            *a, **kw)
    out = []
    for variant in _RAISES_VARIANTS:
        if variant not in wanted or variant not in calls:
            continue
        base = dict(backend=label(case.backend), scenario=s.name, operator=s.op, variant=variant)
        a, kw = case.args()
        try:
            calls[variant](a, kw)
        except BaseException as exc:  # judged below
            problem = _expected_error(exc, want)
            out.append(CaseResult(**base, status="failed" if problem else "passed",
                                  message=problem))
            continue
        out.append(CaseResult(**base, status="failed",
                              message=f"expected {want.__name__}, the call returned a result"))
    return out


def _check_failure(f: FailingFunction, exc: BaseException) -> None:
    if type(exc) is not FunctionError or str(exc) != FailingFunction.message:
        raise AssertionError(
            f"f's own FunctionError must propagate unchanged, got {type(exc).__name__}: {exc}"
        ) from exc
    if f.calls != 1:
        raise AssertionError(f"f raised, yet it was evaluated {f.calls} times (expected once)")


def run_protocols(
    case: Case,
    wanted: list[str],
    expected: Any,
    expected_parts: Any,
    check_plain: Callable | None,
    check_value: Callable | None,
    intact: bool,
) -> list[CaseResult]:
    """The closure-change and failing-function variants that apply to ``case.s``."""
    from ._runner import run_variant

    s, b = case.s, case.backend
    results: list[CaseResult] = []

    def add(variant: str, call: Callable, exp: Any = None, check: Any = None) -> None:
        if variant in wanted:
            results.append(run_variant(case, variant, call, exp, check, intact))

    def judge(r: Any, exp: Any, what: str, check: Callable | None = check_plain) -> None:
        if check is None:
            return
        ok, _, _, msg = check(r, exp)
        if not ok:
            raise AssertionError(f"{what}: {msg}")

    if s.change is not None:
        changed = s.reference_changed

        def around(first: Callable[[], Any], after: Callable[[], Any], how: str,
                   check: Callable | None = check_plain, exp: Any = expected,
                   exp_changed: Any = changed) -> None:
            judge(first(), exp, f"{how} before the change", check)
            undo = s.change()
            try:
                judge(after(), exp_changed, f"{how} after the closure changed (stale result?)",
                      check)
            finally:
                undo()

        def fresh(op: Callable) -> Callable[[], Any]:
            def go() -> Any:
                a, kw = case.args()
                return op(s.f, b, *a, **kw)

            return go

        add("closure", lambda a, kw: around(fresh(case.op), fresh(case.op), "unprepared call"))

        def closure_value(a: tuple, kw: dict) -> None:
            last = lambda r, e: check_plain(r[-1], e) if check_plain else (True, 0, 0, "")  # noqa: E731
            around(fresh(case.vop), fresh(case.vop), "unprepared value form", last,
                   expected_parts[-1] if expected_parts else None, changed)

        add("closure_value", closure_value)

        def closure_prepared(a: tuple, kw: dict) -> None:
            pa, pkw = case.args("prep")
            p = case.prepare(s.f, b, *pa, **pkw)
            judge(p(*a, **kw), expected, "prep before the change")
            undo = s.change()
            try:
                a2, kw2 = case.args()
                r = p(*a2, **kw2)
                if check_plain is not None:
                    ok_old = check_plain(r, expected)[0]
                    ok_new, _, _, msg = check_plain(r, changed)
                    if not (ok_old or ok_new):
                        raise AssertionError(
                            "a prep made before the change gave neither the frozen nor the new "
                            f"result: {msg}")
                pa, pkw = case.args("prep")
                p2 = case.prepare(s.f, b, *pa, **pkw)
                a3, kw3 = case.args()
                judge(p2(*a3, **kw3), changed, "prep made after the change")
            finally:
                undo()

        add("closure_prepared", closure_prepared)

    if isinstance(s.f, FailingFunction):
        f = s.f

        def armed(call: Callable[[], Any]) -> None:
            f.arm()
            try:
                call()
            except BaseException as exc:  # judged: must be f's own error, after one call
                f.disarm()
                _check_failure(f, exc)
                return
            finally:
                f.disarm()
            raise AssertionError(f"f raised, yet the call returned a result ({f.calls} calls)")

        add("f_raises", lambda a, kw: armed(lambda: case.op(f, b, *a, **kw)))
        add("f_raises_value", lambda a, kw: armed(lambda: case.vop(f, b, *a, **kw)))

        def prepared(same_point: bool) -> Callable[[tuple, dict], None]:
            def run(a: tuple, kw: dict) -> None:
                if same_point:
                    p = case.prepare_same(f, b, *a, **kw)
                else:
                    pa, pkw = case.args("prep")
                    p = case.prepare(f, b, *pa, **pkw)
                a1, kw1 = case.args()
                p(*a1, **kw1)  # a first call warms any hot path
                a2, kw2 = case.args()
                f.arm()
                try:
                    r = p(*a2, **kw2)
                except BaseException as exc:  # judged: f's own error, after one call
                    f.disarm()
                    _check_failure(f, exc)
                    return
                finally:
                    f.disarm()
                if f.calls != 0:
                    raise AssertionError(
                        f"f raised {f.calls} time(s), yet the prepared call returned a result")
                judge(r, expected, "compiled replay (f not evaluated)")

            return run

        add("f_raises_prepared", prepared(False))
        if case.prepare_same is not None:
            add("f_raises_same_point", prepared(True))
    return results


__all__ = ["PROTOCOL_VARIANTS", "Skip", "run_protocols", "run_raises"]
