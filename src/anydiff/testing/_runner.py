"""``test_differentiation``: run every operator variant of every scenario on every backend.

Variants (each on fresh copies of the arguments):

=====================  =================================================================
plain                  ``ad.<op>(f, b, x, ...)``
value                  ``ad.<value form>(f, b, x, ...)``
out                    ``ad.<op>(..., out=buffer)`` (the buffer is filled and returned)
value_out              ``ad.<value form>(..., out=buffers)``
native                 x, tangents and contexts as the backend's own arrays (JAX arrays,
                       torch tensors): results must come back as that array type
prepared               prepared at a different point, then ``ad.<op>(..., prep=prep)``
prepared_call          a second call ``prep(x, ...)`` (state left by the first call)
prepared_value         ``ad.<value form>(..., prep=prep)``
prepared_nonstrict     ``prepare_<op>(..., strict=False)`` then ``prep.<op>(x, ...)``
threads                one prep called from several threads at once, at x and at another
                       point alternately: every answer must match the sequential one
mismatch               wrongly shaped x with strict and non-strict preps must raise
                       ``PreparationMismatchError``
same_point             ``prepare_<op>_same_point`` at x, called at x
same_point_mismatch    the same prep called at another x must raise
=====================  =================================================================
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import anydiff as ad

from .._contexts import Batch, Cache
from .._errors import BackendUnavailableError, PreparationMismatchError, UnsupportedError
from .._pytree import tree_flatten, tree_unflatten
from .._registry import get_adapter, resolve
from ._reference import (
    REFERENCE_ORDER,
    compute_reference,
    default_tolerances,
    expected_value,
    installed,
    label,
    single_precision,
)
from ._report import CaseResult, DifferentiationReport
from ._scenario import (
    SAME_POINT_OPS,
    TANGENT_OPS,
    VALUE_FORMS,
    Scenario,
    map_tree,
)

UNPREPARED_VARIANTS = ("plain", "value", "out", "value_out", "native")
PREPARED_VARIANTS = (
    "prepared", "prepared_call", "prepared_value", "prepared_nonstrict", "threads", "mismatch",
    "same_point", "same_point_mismatch",
)
ALL_VARIANTS = UNPREPARED_VARIANTS + PREPARED_VARIANTS


class _Skip(Exception):
    """A variant that cannot run on this backend (reported as skipped)."""


# ---------------------------------------------------------------------------------------------
# Comparison


def _expected_dtype(ref_leaf: Any, single: bool) -> np.dtype:
    if np.iscomplexobj(np.asarray(ref_leaf)):
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def _is_result_array(a: Any) -> bool:
    return isinstance(a, (np.ndarray, np.generic, float, complex))


def compare(
    result: Any, expected: Any, *, rtol: float, atol: float, single: bool, check_dtype: bool = True
) -> tuple[bool, float, float, str]:
    """Compare a result pytree (or Batch) with the reference.

    Returns ``(ok, max_abs_err, max_rel_err, message)``; the relative error is normwise (largest
    error over largest reference entry), which stays meaningful when entries are zero.
    """
    if isinstance(expected, Batch) and not isinstance(result, Batch):
        return False, np.nan, np.nan, f"expected an ad.Batch, got {type(result).__name__}"
    rl, rtd = tree_flatten(result)
    el, etd = tree_flatten(expected)
    if rtd != etd:
        return False, np.nan, np.nan, f"structure {rtd} differs from the reference's {etd}"
    abs_err, scale = 0.0, 0.0
    for r, e in zip(rl, el):
        if not _is_result_array(r):
            return False, np.nan, np.nan, f"returned a {type(r).__name__}, expected NumPy arrays"
        ra, ea = np.asarray(r), np.asarray(e)
        if ra.shape != ea.shape:
            return False, np.nan, np.nan, f"shape {ra.shape}, expected {ea.shape}"
        want = _expected_dtype(e, single)
        if check_dtype and ra.dtype != want:
            return False, np.nan, np.nan, f"dtype {ra.dtype}, expected {want}"
        if ra.size:
            diff = np.abs(ra.astype(np.complex128) - ea.astype(np.complex128))
            err = float(np.max(diff)) if not np.isnan(diff).any() else np.nan
            abs_err = np.nan if np.isnan(err) else max(abs_err, err)
            scale = max(scale, float(np.max(np.abs(ea))))
    rel = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else np.inf)
    ok = bool(abs_err <= atol + rtol * scale)  # NaN compares False: NaNs never pass
    msg = "" if ok else f"error {abs_err:.2e} > tolerance {atol + rtol * scale:.2e}"
    return ok, float(abs_err), float(rel), msg


def _compare_parts(
    result: Any, expected: tuple, names: Sequence[str], **kw: Any
) -> tuple[bool, float, float, str]:
    if not isinstance(result, tuple) or isinstance(result, Batch) or len(result) != len(expected):
        return False, np.nan, np.nan, (
            f"value form returned {type(result).__name__}, expected a tuple of {len(expected)}"
        )
    worst_abs, worst_rel, msgs = 0.0, 0.0, []
    for part, exp, name in zip(result, expected, names):
        ok, a, r, m = compare(part, exp, **kw)
        worst_abs = a if np.isnan(a) else max(worst_abs, a)
        worst_rel = r if np.isnan(r) else max(worst_rel, r)
        if not ok:
            msgs.append(f"{name}: {m}")
    return not msgs, worst_abs, worst_rel, "; ".join(msgs)


_PART_NAMES = {
    "derivative": ("y", "dy"),
    "gradient": ("y", "grad"),
    "jacobian": ("y", "jac"),
    "pushforward": ("y", "Jt"),
    "pullback": ("y", "JTw"),
    "second_derivative": ("y", "dy", "d2y"),
    "hessian": ("y", "grad", "hess"),
    "hvp": ("grad", "Ht"),
}


# ---------------------------------------------------------------------------------------------
# Inputs left intact


def _snapshot(tree: Any) -> list[np.ndarray]:
    if tree is None:
        return []
    items = list(tree) if isinstance(tree, Batch) else [tree]
    return [np.array(a, copy=True) for item in items for a in tree_flatten(item)[0]]


def _unchanged(before: list[np.ndarray], tree: Any) -> bool:
    after = _snapshot(tree)
    return len(before) == len(after) and all(
        b.shape == a.shape and np.array_equal(b, a, equal_nan=True) for b, a in zip(before, after)
    )


def _wrong_shape(x: Any) -> Any:
    """x with its first leaf one element longer (preparations must reject it)."""
    leaves, td = tree_flatten(x)
    first = np.asarray(leaves[0])
    leaves = [np.zeros(first.size + 1, dtype=first.dtype), *leaves[1:]]
    return tree_unflatten(td, leaves)


def _buffers(expected: Any, single: bool) -> Any:
    return map_tree(lambda e: np.full(np.shape(e), np.nan, _expected_dtype(e, single)), expected)


def _leaves_of(tree: Any) -> list[Any]:
    return tree_flatten(tree)[0]


def _to_native(tree: Any, kind: str) -> Any:
    """NumPy leaves -> the backend's own arrays (Python scalars stay as they are)."""
    if kind == "torch":
        import torch

        conv = lambda a: torch.from_numpy(np.array(a))  # noqa: E731
    else:
        import jax

        def conv(a: Any) -> Any:
            with jax.enable_x64(np.asarray(a).dtype.itemsize >= 8):
                return jax.numpy.asarray(a)

    def leaf(a: Any) -> Any:
        return conv(a) if isinstance(a, np.ndarray) else a

    return map_tree(leaf, tree)


def _from_native(tree: Any, kind: str) -> Any:
    """Results in the backend's arrays -> NumPy; anything else is an error (arrays in, same
    arrays out)."""
    from .._arrays import kind_of, to_numpy

    def leaf(a: Any) -> Any:
        k = kind_of(a)
        if k == "python":
            return a
        if k != kind:
            raise AssertionError(f"given {kind} arrays, returned a {type(a).__name__}")
        return to_numpy(a)

    return map_tree(leaf, tree)


# ---------------------------------------------------------------------------------------------


class _Case:
    """One backend x scenario: builds the calls of every variant."""

    def __init__(self, backend: Any, scenario: Scenario) -> None:
        self.backend, self.s = backend, scenario
        op = scenario.op
        self.op = getattr(ad, op)
        self.vop = getattr(ad, VALUE_FORMS[op])
        self.prepare = getattr(ad, f"prepare_{op}")
        self.prepare_same = getattr(ad, f"prepare_{op}_same_point", None)

    def args(self, where: str = "eval") -> tuple[tuple, dict]:
        x, t, ctx = self.s.point(where)
        args = (x, t, *ctx) if self.s.op in TANGENT_OPS else (x, *ctx)
        kw = {"y": self.s.fresh_y()} if self.s.y is not None else {}
        return args, kw


def _constant_values(args: tuple) -> list[Any]:
    # Cache contents are scratch space f may overwrite: only x, tangents and Constants must stay.
    return [a.value if isinstance(a, ad.Constant) else a for a in args if not isinstance(a, Cache)]


def _run_variant(
    case: _Case,
    variant: str,
    call: Callable[[tuple, dict], Any],
    expected: Any,
    check: Callable[[Any, Any], tuple[bool, float, float, str]] | None,
    intact: bool,
    where: str = "eval",
) -> CaseResult:
    s = case.s
    base = dict(backend=label(case.backend), scenario=s.name, operator=s.op, variant=variant)
    args, kw = case.args(where)
    watched = _constant_values(args)
    before = [_snapshot(a) for a in watched]
    t0 = time.perf_counter()
    try:
        result = call(args, kw)
    except (UnsupportedError, BackendUnavailableError, _Skip) as exc:
        return CaseResult(**base, status="skipped", message=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        return CaseResult(**base, status="failed", message=f"raised {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - t0
    ok, a, r, msg = check(result, expected) if check is not None else (True, None, None, "")
    if intact and not all(_unchanged(b, w) for b, w in zip(before, watched)):
        ok, msg = False, (msg + "; " if msg else "") + "mutated its inputs (x, tangent or Constant)"
    return CaseResult(
        **base, status="passed" if ok else "failed", abs_err=a, rel_err=r, message=msg,
        time=elapsed,
    )


def _expect_mismatch(calls: Sequence[Callable[[], Any]]) -> Callable[[tuple, dict], None]:
    def run(args: tuple, kw: dict) -> None:
        for c in calls:
            try:
                c()
            except PreparationMismatchError:
                continue
            except Exception as exc:
                raise AssertionError(
                    f"expected PreparationMismatchError, got {type(exc).__name__}: {exc}"
                ) from exc
            raise AssertionError("expected PreparationMismatchError, but the call succeeded")

    return run


def _threaded_calls(
    case: _Case, p: Any, elsewhere: Any, check: Callable[[Any], tuple], n_threads: int = 6
) -> Any:
    """Call ``p`` from ``n_threads`` threads at once, alternating x and the preparation point
    (fresh arguments each); raise if any answer differs from the sequential ones."""
    import threading

    barrier = threading.Barrier(n_threads)
    answers: list[tuple[int, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(k: int) -> None:
        a, kw = case.args("eval" if k % 2 == 0 else "prep")
        try:
            barrier.wait(timeout=30)
            for _ in range(3):
                r = p(*a, **kw)
                with lock:
                    answers.append((k % 2, r))
        except BaseException as exc:  # reported below, in the calling thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    first = None
    for where, r in answers:
        if where == 0:
            ok, _, _, msg = check(r)
            if not ok:
                raise AssertionError(f"concurrent call at x: {msg}")
            first = r if first is None else first
        else:
            ok, _, _, msg = compare(r, elsewhere, rtol=1e-12, atol=1e-300, single=False,
                                    check_dtype=False)
            if not ok:
                raise AssertionError(f"concurrent call at the other point: {msg}")
    return first


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
    for req in s.requires:
        if not getattr(b, req, True):
            return [CaseResult(
                **base, status="skipped", message=f"{type(b).__name__} declares {req}=False"
            )]
    wanted = [v for v in (variants or ALL_VARIANTS) if prep or v in UNPREPARED_VARIANTS]
    if s.op not in SAME_POINT_OPS:
        wanted = [v for v in wanted if not v.startswith("same_point")]

    single = single_precision(s.dtype)
    d_rtol, d_atol = default_tolerances(b, s.dtype, s.order)
    rtol = d_rtol if rtol is None else rtol
    atol = (d_atol if rtol == d_rtol else rtol * 1e-2) if atol is None else atol

    expected = expected_parts = None
    if correctness:
        try:
            own = (b.name,) if b.name in REFERENCE_ORDER else ()
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

    kwc = dict(rtol=rtol, atol=atol, single=single)
    names = _PART_NAMES[s.op]
    check_plain = (lambda r, e: compare(r, e, **kwc)) if correctness else None
    check_value = (lambda r, e: _compare_parts(r, e, names, **kwc)) if correctness else None
    case = _Case(backend, s)
    f = s.f
    results: list[CaseResult] = []

    def add(variant: str, call: Callable, exp: Any, check: Any, where: str = "eval") -> None:
        if variant in wanted:
            results.append(_run_variant(case, variant, call, exp, check, intact, where))

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
            raise _Skip("out= needs the reference's shapes (correctness=False)")
        buf = _buffers(expected, single)
        res = case.op(f, backend, *a, out=buf, **kw)
        if res is not buf:
            raise AssertionError("out= did not return the buffer it filled")
        return buf

    def with_value_out(a: tuple, kw: dict) -> Any:
        if expected_parts is None:
            raise _Skip("out= needs the reference's shapes (correctness=False)")
        bufs = tuple(_buffers(e, single) for e in expected_parts[1:])
        out = bufs[0] if len(bufs) == 1 else bufs
        res = case.vop(f, backend, *a, out=out, **kw)
        if any(r is not bb for r, bb in zip(res[1:], bufs)):
            raise AssertionError("out= did not return the buffers it filled")
        return res

    add("out", with_out, expected, check_plain)
    add("value_out", with_value_out, expected_parts, check_value)

    native = getattr(get_adapter(b), "native_kind", "numpy")

    def with_native(a: tuple, kw: dict) -> Any:
        conv = tuple(
            type(v)(_to_native(v.value, native)) if isinstance(v, ad.Constant | Cache)
            else _to_native(v, native)
            for v in a
        )
        kw = {k: _to_native(v, native) for k, v in kw.items()}
        return _from_native(case.op(f, backend, *conv, **kw), native)

    # Python-float x gives NumPy results whatever the backend: nothing native to check then.
    if native in ("jax", "torch") and any(isinstance(a, np.ndarray) for a in _leaves_of(s.x)):
        add("native", with_native, expected, check_plain)

    if not any(v in PREPARED_VARIANTS for v in wanted):
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
        if isinstance(p, Exception):
            raise _Skip(f"preparation: {type(p).__name__}: {p}")
        return p

    add("prepared", lambda a, kw: case.op(f, backend, *a, prep=get_prep("strict"), **kw),
        expected, check_plain)
    add("prepared_call", lambda a, kw: get_prep("strict")(*a, **kw), expected, check_plain)
    add("prepared_value", lambda a, kw: case.vop(f, backend, *a, prep=get_prep("strict"), **kw),
        expected_parts, check_value)
    add("prepared_nonstrict", lambda a, kw: getattr(get_prep("nonstrict"), s.op)(*a, **kw),
        expected, check_plain)

    def threaded(a: tuple, kw: dict) -> Any:
        p = get_prep("strict")
        a2, kw2 = case.args("prep")
        elsewhere = p(*a2, **kw2)  # the sequential answer at the other point
        return _threaded_calls(case, p, elsewhere, lambda r: check_plain(r, expected)
                               if check_plain else (True, 0.0, 0.0, ""))

    add("threads", threaded, expected, check_plain)

    def mismatch(a: tuple, kw: dict) -> None:
        bad = (_wrong_shape(a[0]), *a[1:])
        strict_p, loose_p = get_prep("strict"), get_prep("nonstrict")
        _expect_mismatch([
            lambda: case.op(f, backend, *bad, prep=strict_p, **kw),
            lambda: loose_p(*bad, **kw),
        ])(a, kw)

    add("mismatch", mismatch, None, None)
    if case.prepare_same is not None:
        add("same_point", lambda a, kw: get_prep("same_point")(*a, **kw), expected, check_plain)

        def same_point_elsewhere(a: tuple, kw: dict) -> None:
            p = get_prep("same_point")
            _expect_mismatch([lambda: p(*a, **kw)])(a, kw)

        add("same_point_mismatch", same_point_elsewhere, None, None, where="prep")
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
        rtol / atol: tolerances relative to the largest reference entry / absolute; by default
            1e-5 in float64 and 1e-3 in float32, looser for finite differences.
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
        >>> report = test_differentiation(["finitediff"], default_scenarios()[:2])
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
