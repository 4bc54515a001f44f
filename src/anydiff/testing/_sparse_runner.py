"""The harness for ``AutoSparse`` backends: sparse results against dense references.

``run_case`` hands every ``AutoSparse(dense)`` backend to :func:`run_sparse_case`, which runs
the variants that apply to sparse results (see ``_runner``'s table) with these differences:

- a ``jacobian`` / ``hessian`` result must be a ``scipy.sparse`` CSR array of shape
  ``(y.size, x.size)`` / ``(x.size, x.size)``; it is compared densely with the reference
  (reshaped to the reference's shape), value parts as usual;
- ``native`` / ``torch_input``: the value parts come back as the caller's arrays, the sparse
  part as a SciPy array (what the docs promise);
- ``out`` / ``value_out``: ``out=`` must raise a clear anydiff error (results are new sparse
  arrays; there is no dense buffer to fill);
- ``sparsity``: at the prepared point, the pattern must cover every non-zero of the dense
  derivative (computed by a reference backend that is not under test): a pattern that misses
  one is a failure, never tolerated; the colouring must be valid for its kind
  (structurally orthogonal groups, star or acyclic) and decompress a matrix with that pattern
  exactly; a result's structure must be the pattern; and the result at x must agree with the
  dense backend's own ``jacobian`` / ``hessian`` (to that backend's tolerance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import AnydiffError, BackendUnavailableError, UnsupportedError
from .._registry import get_adapter, resolve
from ._checks import (
    Case,
    Skip,
    add_mismatch_variants,
    add_prepared_variants,
    buffers,
    from_native,
    leaves_of,
    native_args,
    other_kind,
    scribble,
    threaded_calls,
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
from ._report import CaseResult
from ._scenario import Scenario

#: Variants that run for sparse backends (``sparsity`` is theirs only).
SPARSE_VARIANTS = (
    "plain", "value", "out", "value_out", "native", "torch_input", "aliasing_plain", "prepared",
    "prepared_call", "prepared_value", "prepared_nonstrict", "threads", "mismatch",
    "mismatch_dtype", "mismatch_kind", "aliasing", "sparsity",
)
_PREPARED = frozenset(SPARSE_VARIANTS[7:])


def is_sparse_backend(backend: Any) -> bool:
    """Whether ``backend`` (a name or object) is an ``AutoSparse``."""
    return getattr(backend, "name", None) == "sparse"


def sparse_label(backend: Any) -> str:
    """``AutoSparse(<dense label>)`` for default options, else the full repr (labels must tell
    backends apart in reports)."""
    from ..sparse._autosparse import AutoSparse

    if backend == AutoSparse(backend.dense):
        return f"AutoSparse({label(backend.dense)})"
    return repr(backend)


def _sizes(s: Scenario) -> tuple[int, int]:
    """``(rows, columns)`` of the sparse result of a scenario."""
    n = int(sum(np.size(a) for a in leaves_of(s.x)))
    if s.op == "hessian":
        return n, n
    m = int(sum(np.size(a) for a in leaves_of(expected_value(s))))
    return m, n


def _is_scipy_sparse(a: Any) -> bool:
    return type(a).__module__.startswith("scipy.sparse")


def _is_format(result: Any, output: str) -> bool:
    """Whether ``result`` is a sparse matrix of ``AutoSparse(output=...)``'s format."""
    if output == "scipy":
        import scipy.sparse as sp

        return isinstance(result, sp.sparray) and result.format == "csr"
    if output == "torch":
        return type(result).__module__.startswith("torch") and str(result.layout) == "torch.sparse_coo"
    return type(result).__name__ == "BCOO"


_FORMAT_NAMES = {"scipy": "scipy.sparse csr_array", "jax": "JAX BCOO array",
                 "torch": "torch sparse COO tensor"}


def dense_of(result: Any, shape: tuple[int, int], like: Any, output: str = "scipy") -> np.ndarray:
    """The dense array of a sparse result, reshaped like the reference ``like``; raises
    ``AssertionError`` when the result is not a matrix of ``shape`` in the ``output`` format."""
    from ..sparse._formats import to_dense

    if not _is_format(result, output):
        raise AssertionError(f"returned a {type(result).__name__}, expected a "
                             f"{_FORMAT_NAMES[output]} of shape {shape}")
    if tuple(result.shape) != shape:
        raise AssertionError(f"sparse result of shape {tuple(result.shape)}, expected {shape}")
    return to_dense(result).reshape(np.shape(like))


def _checks(s: Scenario, shape: tuple[int, int], kwc: dict, output: str) -> tuple[Callable, Callable]:
    """``(check_plain, check_value)``: the sparse part densified, then compared."""

    def plain(r: Any, e: Any) -> tuple:
        try:
            d = dense_of(r, shape, e, output)
        except AssertionError as exc:
            return False, np.nan, np.nan, str(exc)
        return compare(d, e, **kwc)

    def value(r: Any, e: tuple) -> tuple:
        if not isinstance(r, tuple) or len(r) != len(e):
            return False, np.nan, np.nan, f"value form returned {type(r).__name__}"
        try:
            r = (*r[:-1], dense_of(r[-1], shape, e[-1], output))
        except AssertionError as exc:
            return False, np.nan, np.nan, f"{PART_NAMES[s.op][-1]}: {exc}"
        return compare_parts(r, e, PART_NAMES[s.op], **kwc)

    return plain, value


def _scribble(result: Any) -> None:
    """NaN into every writable array of a result, the sparse matrices' values included."""
    parts = result if isinstance(result, tuple) else (result,)
    for p in parts:
        if _is_scipy_sparse(p):
            if p.data.flags.writeable and p.data.size:
                p.data[...] = np.nan
        elif _is_torch_sparse(p):
            import torch

            with torch.no_grad():
                p.values().fill_(np.nan)
        elif type(p).__name__ != "BCOO":  # JAX arrays are immutable
            scribble(p)


def _is_torch_sparse(a: Any) -> bool:
    return type(a).__module__.startswith("torch") and str(getattr(a, "layout", "")) != "torch.strided"


def _from_native(result: Any, kind: str) -> Any:
    parts = result if isinstance(result, tuple) else (result,)
    conv = tuple(p if _is_scipy_sparse(p) or _is_torch_sparse(p) or type(p).__name__ == "BCOO"
                 else from_native(p, kind) for p in parts)
    return conv if isinstance(result, tuple) else conv[0]


def run_sparse_case(
    backend: Any, s: Scenario, *, rtol: float | None, atol: float | None, correctness: bool,
    prep: bool, intact: bool, variants: Any,
) -> list[CaseResult]:
    """Every sparse variant of one scenario on one ``AutoSparse`` backend (module docstring)."""
    from ._runner import _judge_partial, run_variant

    base = dict(backend=label(backend), scenario=s.name, operator=s.op, variant="-")
    ok, why = installed(backend)
    if not ok:
        return [CaseResult(**base, status="skipped", message=why)]
    b = resolve(backend)
    for req in s.requires:
        if not getattr(b, req, True):
            return [CaseResult(**base, status="skipped",
                               message=f"{type(b).__name__} declares {req}=False")]
    if s.raises is not None or s.change is not None or s.op not in ("jacobian", "hessian"):
        # AutoSparse computes jacobian / hessian only: every other operator must say so.
        wanted = [v for v in (variants or ("plain", "prepared")) if v in ("plain", "prepared")]
    else:
        wanted = [v for v in (variants or SPARSE_VARIANTS) if v in SPARSE_VARIANTS]
        if not prep:
            wanted = [v for v in wanted if v not in _PREPARED]
        if "prepared" in wanted and "sparsity" not in wanted:
            wanted.append("sparsity")  # a prepared sparse run always checks its pattern
    case = Case(backend, s)
    d_rtol, d_scaled = default_tolerances(b, s.dtype, s.order)
    kwc = dict(rtol=d_rtol if rtol is None else rtol, atol=0.0 if atol is None else atol,
               single=single_precision(s.dtype), scaled_atol=d_scaled if atol is None else 0.0)
    own = tuple(n for n in frameworks_of(b) if n in REFERENCE_ORDER)
    expected = parts = None
    if correctness and s.op in ("jacobian", "hessian"):
        try:
            if s.reference is not None:
                ref, first = s.reference, s.reference_first
                if first is None and s.op == "hessian":
                    first = compute_reference(s, own)[1]
            else:
                ref, first, _ = compute_reference(s, own)
            value = expected_value(s)
        except Exception as exc:
            return [CaseResult(**base, status="failed", message=f"no reference: {exc}")]
        expected = ref
        parts = (value, first, ref) if s.op == "hessian" else (value, ref)
    shape = _sizes(s) if s.op in ("jacobian", "hessian") else (0, 0)
    output = getattr(b, "output", "scipy")
    check_plain, check_value = _checks(s, shape, kwc, output) if correctness else (None, None)
    f = s.f
    results: list[CaseResult] = []

    def add(variant: str, call: Callable, exp: Any, check: Any, where: str = "eval") -> None:
        if variant in wanted:
            results.append(run_variant(case, variant, call, exp, check, intact, where))

    add("plain", lambda a, kw: case.op(f, backend, *a, **kw), expected, check_plain)
    add("value", lambda a, kw: case.vop(f, backend, *a, **kw), parts, check_value)

    def out_refused(value_form: bool) -> Callable:
        def call(a: tuple, kw: dict) -> None:
            if expected is None:
                raise Skip("out= needs the reference's shapes (correctness=False)")
            single = kwc["single"]
            buf = buffers(expected, single)
            out = (buffers(parts[1], single), buf) if value_form and s.op == "hessian" else buf
            try:
                (case.vop if value_form else case.op)(f, backend, *a, out=out, **kw)
            except AnydiffError as exc:
                if "out=" in str(exc):
                    return None
                if isinstance(exc, UnsupportedError):
                    raise  # the operator itself is unsupported here: skipped like the others
                raise AssertionError(f"out= raised an error that does not name it: {exc}") from exc
            raise AssertionError("out= with sparse results: expected a clear anydiff error, "
                                 "the call returned")
        return call

    add("out", out_refused(False), None, None)
    add("value_out", out_refused(True), None, None)

    native = getattr(get_adapter(b), "native_kind", "numpy")

    def in_kind(kind: str) -> Callable:
        def call(a: tuple, kw: dict) -> Any:
            conv, ckw = native_args(a, kw, kind)
            return _from_native(case.op(f, backend, *conv, **ckw), kind)
        return call

    if native in ("jax", "torch"):
        add("native", in_kind(native), expected, check_plain)
    if native != "torch" and other_kind("") == "torch":
        add("torch_input", in_kind("torch"), expected, check_plain)

    def aliasing_plain(a: tuple, kw: dict) -> Any:
        _scribble(case.op(f, backend, *a, **kw))
        _scribble(case.vop(f, backend, *case.args()[0], **case.args()[1]))
        a2, kw2 = case.args()
        return case.op(f, backend, *a2, **kw2)

    add("aliasing_plain", aliasing_plain, expected, check_plain)

    preps: dict[str, Any] = {}

    def get_prep(kind: str) -> Any:
        if kind not in preps:
            a, kw = case.args("prep")
            try:
                preps[kind] = case.prepare(f, backend, *a, strict=(kind == "strict"), **kw)
            except AnydiffError as exc:  # UnsupportedError is reported as skipped by run_variant
                preps[kind] = exc
        p = preps[kind]
        if isinstance(p, Exception):
            raise p
        return p

    add_prepared_variants(add, case, s.op, f, backend, get_prep, expected, parts,
                          check_plain, check_value)

    def threaded(a: tuple, kw: dict) -> Any:
        # Concurrent calls of one prep, compared densely (threaded_calls compares arrays).
        p = get_prep("strict")

        def dense_p(*args: Any, **kws: Any) -> Any:
            return dense_of(p(*args, **kws), shape, expected, output)

        a2, kw2 = case.args("prep")
        elsewhere = dense_p(*a2, **kw2)
        return threaded_calls(case, dense_p, elsewhere,
                              lambda r: compare(r, expected, **kwc) if correctness
                              else (True, 0.0, 0.0, ""))

    add("threads", threaded, expected,
        (lambda r, e: compare(r, e, **kwc)) if correctness else None)

    add_mismatch_variants(add, case.op, f, backend, get_prep, native, has_arrays=True)

    def aliasing(a: tuple, kw: dict) -> Any:
        p = get_prep("strict")
        _scribble(p(*a, **kw))
        a2, kw2 = case.args()
        _scribble(case.vop(f, backend, *a2, prep=p, **kw2))
        a3, kw3 = case.args()
        return p(*a3, **kw3)

    add("aliasing", aliasing, expected, check_plain)
    if "sparsity" in wanted:
        results.append(sparsity_result(case, get_prep, shape, own, kwc))
    _judge_partial(s, results)
    return results


# ---------------------------------------------------------------------------------------------
# The pattern and the colouring at the prepared point


def dense_at_prep_point(s: Scenario, shape: tuple[int, int], exclude: tuple[str, ...]
                        ) -> tuple[np.ndarray, str]:
    """The dense Jacobian / Hessian ``(m, n)`` at the scenario's preparation point, from the
    most accurate installed backend outside ``exclude``, and that backend's name."""
    x, _, ctx = s.point("prep")
    at_prep = Scenario(s.op, s.f, x, contexts=ctx, name=f"{s.name}@prep", tags=s.tags)
    ref, _, source = compute_reference(at_prep, exclude)
    return np.asarray(ref).reshape(shape), source


def pattern_misses(pattern: Any, dense: np.ndarray, source: str) -> np.ndarray:
    """``(k, 2)`` positions of non-zeros of ``dense`` that ``pattern`` does not hold (exact
    zeros for AD references; below 1e-8 of the largest entry for finite differences)."""
    mag = np.abs(dense)
    cut = 1e-8 * float(mag.max(initial=0.0)) if source == "finitediff" else 0.0
    return np.argwhere((mag > cut) & ~pattern.toarray())


def coloring_problems(result: Any) -> list[str]:
    """What is wrong with a colouring result (empty when it is valid): colours per kind
    (structurally orthogonal groups, star, acyclic; a bicolouring's decompression rule), and
    an exact round trip ``decompress(compress(A)) == A`` for a random A with the pattern."""
    from ..sparse._coloring import acyclic_valid, star_valid, structurally_orthogonal

    kind, pattern = result.kind, result.pattern
    problems = []
    # The colouring as coloured (postprocessing then only takes vertices out of the seeds).
    full = getattr(result, "full_colors", None)
    if kind in ("column", "row"):
        if not structurally_orthogonal(pattern, result.colors, kind):
            problems.append(f"{kind} colouring is not structurally orthogonal")
    elif kind == "star" and not star_valid(pattern, full):
        problems.append("star colouring is not a valid star colouring")
    elif kind == "acyclic" and not acyclic_valid(pattern, full):
        problems.append("acyclic colouring has a two-coloured cycle")
    if kind != "bidirectional":
        used = np.unique(result.colors[result.colors >= 0])
        if len(used) != result.ncolors or (full is not None and result.ncolors > len(np.unique(full))):
            problems.append(f"ncolors is {result.ncolors} but {len(used)} colours are used")
    rng = np.random.default_rng(0)
    A = pattern.astype(np.float64)
    A.data = rng.uniform(0.5, 1.5, A.nnz)
    if kind in ("star", "acyclic"):
        A = (A + A.T) / 2  # a symmetric matrix with the (symmetrised) pattern
    comp = result.compress(A)
    back = result.decompress(*comp) if kind == "bidirectional" else result.decompress(comp)
    err = np.abs(back.toarray() - A.toarray()).max(initial=0.0)
    if err > (1e-12 if kind == "acyclic" else 0.0):
        problems.append(f"decompress(compress(A)) differs from A by {err:.1e}")
    if (back.indptr.tolist(), back.indices.tolist()) != (pattern.indptr.tolist(),
                                                          pattern.indices.tolist()):
        problems.append("the decompressed structure is not the pattern")
    return problems


def sparsity_result(case: Case, get_prep: Callable[[str], Any], shape: tuple[int, int],
                    exclude: tuple[str, ...], kwc: dict) -> CaseResult:
    """The ``sparsity`` variant (module docstring); ``detail`` holds the colouring."""
    s = case.s
    base = dict(backend=label(case.backend), scenario=s.name, operator=s.op, variant="sparsity")
    try:
        p = get_prep("strict")
        a, kw = case.args("prep")
        J = p(*a, **kw)
        r = p.coloring_result
        pattern = p.sparsity
        detail = {"coloring": p.coloring, "ncolors": int(p.ncolors), "nnz": int(pattern.nnz),
                  "shape": tuple(int(v) for v in pattern.shape)}
        problems = []
        if tuple(pattern.shape) != shape:
            problems.append(f"prep.sparsity has shape {tuple(pattern.shape)}, expected {shape}")
        else:
            dense, source = dense_at_prep_point(s, shape, exclude)
            missing = pattern_misses(pattern, dense, source)
            if len(missing):
                where = [tuple(int(v) for v in ij) for ij in missing[:5]]
                problems.append(
                    f"the pattern misses {len(missing)} non-zero(s) of the dense "
                    f"{'Hessian' if s.op == 'hessian' else 'Jacobian'} ({source}) at the "
                    f"prepared point, e.g. at {where}")
        problems += coloring_problems(r)
        from ..sparse._formats import structure

        indptr, indices = structure(J)
        if (indptr.tolist(), indices.tolist()) != (pattern.indptr.tolist(), pattern.indices.tolist()):
            problems.append("the result's structure is not prep.sparsity")
        problems += _against_dense_backend(case, p, kwc)
    except (UnsupportedError, BackendUnavailableError, Skip) as exc:
        return CaseResult(**base, status="skipped", message=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        return CaseResult(**base, status="failed", message=f"raised {type(exc).__name__}: {exc}")
    text = (f"{detail['coloring']} colouring, {detail['ncolors']} colours, nnz {detail['nnz']}, "
            f"shape {detail['shape'][0]}x{detail['shape'][1]}")
    if problems:
        return CaseResult(**base, status="failed", message="; ".join(problems), detail=detail)
    return CaseResult(**base, status="passed", message=text, detail=detail)


def _against_dense_backend(case: Case, p: Any, kwc: dict) -> list[str]:
    """The sparse result at x against the same derivative by the dense backend itself (its
    pushforward side for ``MixedMode``): they must agree to that backend's tolerance."""
    import anydiff as ad

    from ..sparse._formats import to_dense

    s, dense = case.s, resolve(case.backend).dense
    if isinstance(dense, ad.MixedMode):
        dense = dense.forward
    a, kw = case.args("eval")
    try:
        want = np.asarray(getattr(ad, s.op)(s.f, dense, *a, **kw))
    except UnsupportedError:
        return []  # e.g. a SecondOrder pair that computes hvps but not whole Hessians
    got = to_dense(p(*case.args("eval")[0])).reshape(want.shape)
    ok, _, _, msg = compare(got, want, **kwc)
    return [] if ok else [f"differs from the dense {label(dense)} result at x: {msg}"]


# ---------------------------------------------------------------------------------------------
# python -m anydiff compare


def sparse_runs(backends: list, scenarios: list, show: Callable[[Any], str]
                ) -> tuple[list[tuple[str, Any, list]], Callable[[Any], dict]]:
    """What ``compare`` runs: ``[(shown label, backend, scenarios)]`` with the sparse family's
    scenarios on ``AutoSparse(b)`` for every backend ``b`` and the others on ``b``, and a
    function of the report giving the colourings found (``records``, text ``lines`` and
    ``cells`` keyed by ``(shown label, operator)``)."""
    from ..sparse._autosparse import AutoSparse

    dense = [s for s in scenarios if "sparse" not in s.tags]
    sparse = [s for s in scenarios if "sparse" in s.tags]
    runs: list[tuple[str, Any, list]] = []
    if dense:
        runs += [(show(b), b, dense) for b in backends]
    if sparse:
        runs += [(f"AutoSparse({show(b)})", AutoSparse(b), sparse) for b in backends]
    shown = {label(b): name for name, b, _ in runs}

    def notes(report: Any) -> dict:
        recs = [{"backend": shown.get(r.backend, r.backend), "scenario": r.scenario,
                 "operator": r.operator, **r.detail}
                for r in report if r.variant == "sparsity" and r.detail]
        if not recs:
            return {"records": [], "lines": [], "cells": {}}
        cols = list(dict.fromkeys(r["backend"] for r in recs))
        scen = list(dict.fromkeys(r["scenario"] for r in recs))
        cell = {(r["backend"], r["scenario"]): f"{r['coloring']} {r['ncolors']}" for r in recs}
        size = {r["scenario"]: f"{r['shape'][0]}x{r['shape'][1]}, nnz {r['nnz']}" for r in recs}
        from ._report import render_table

        table = render_table(["scenario", "size", *cols],
                             [[sc, size[sc], *(cell.get((c, sc), "-") for c in cols)]
                              for sc in scen])
        lines = ["\ncolourings of the sparse scenarios (kind and number of colours):"]
        lines += ["    " + t for t in table.splitlines()]
        cells: dict[tuple[str, str], str] = {}
        for r in recs:
            key = (r["backend"], r["operator"])
            item = f"{r['scenario']}={r['coloring']}:{r['ncolors']}"
            cells[key] = f"{cells[key]} {item}" if key in cells else item
        return {"records": recs, "lines": lines, "cells": cells}

    return runs, notes
