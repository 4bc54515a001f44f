"""Building blocks of the harness's variants: fresh arguments, inputs left intact, array kinds,
wrong shapes / dtypes / array kinds, results written into (aliasing), concurrent calls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import anydiff as ad

from .._contexts import Batch, Cache
from .._errors import PreparationMismatchError
from .._pytree import tree_flatten, tree_unflatten
from ._compare import compare, expected_dtype
from ._scenario import TANGENT_OPS, VALUE_FORMS, Scenario, map_tree


class Skip(Exception):
    """A variant that cannot run here (reported as skipped, and not as partial support)."""


class Case:
    """One backend x scenario: the operator functions and fresh arguments."""

    def __init__(self, backend: Any, scenario: Scenario) -> None:
        self.backend, self.s = backend, scenario
        op = scenario.op
        self.op = getattr(ad, op)
        self.vop = getattr(ad, VALUE_FORMS[op])
        self.prepare = getattr(ad, f"prepare_{op}")
        self.prepare_same = getattr(ad, f"prepare_{op}_same_point", None)

    def args(self, where: str = "eval") -> tuple[tuple, dict]:
        """Fresh ``(positional args after f and backend, keywords)`` at x or the prep point."""
        x, t, ctx = self.s.point(where)
        args = (x, t, *ctx) if self.s.op in TANGENT_OPS else (x, *ctx)
        kw = {"y": self.s.fresh_y()} if self.s.y is not None else {}
        return args, kw


# ---------------------------------------------------------------------------------------------
# Inputs left intact


def snapshot(tree: Any) -> list[np.ndarray]:
    if tree is None:
        return []
    items = list(tree) if isinstance(tree, Batch) else [tree]
    return [np.array(_host(a), copy=True) for item in items for a in tree_flatten(item)[0]]


def _host(a: Any) -> Any:
    if type(a).__module__.startswith("torch"):
        return a.detach().cpu().numpy()
    return a


def unchanged(before: list[np.ndarray], tree: Any) -> bool:
    after = snapshot(tree)
    return len(before) == len(after) and all(
        b.shape == a.shape and np.array_equal(b, a, equal_nan=True) for b, a in zip(before, after)
    )


def constant_values(args: tuple) -> list[Any]:
    # Cache contents are scratch space f may overwrite: only x, tangents and Constants must stay.
    return [a.value if isinstance(a, ad.Constant) else a for a in args if not isinstance(a, Cache)]


# ---------------------------------------------------------------------------------------------
# Wrong shapes, dtypes and array kinds


def wrong_shape(x: Any) -> Any:
    """x with its first leaf one element longer (preparations must reject it)."""
    leaves, td = tree_flatten(x)
    first = np.asarray(leaves[0])
    leaves = [np.zeros(first.size + 1, dtype=first.dtype), *leaves[1:]]
    return tree_unflatten(td, leaves)


_OTHER_DTYPE = {
    np.dtype(np.float64): np.float32, np.dtype(np.float32): np.float64,
    np.dtype(np.complex128): np.complex64, np.dtype(np.complex64): np.complex128,
}


def wrong_dtype(x: Any) -> Any:
    """x with its first array leaf in the other precision (float64 <-> float32)."""
    leaves, td = tree_flatten(x)
    for k, a in enumerate(leaves):
        if isinstance(a, np.ndarray) and a.dtype in _OTHER_DTYPE:
            leaves = [*leaves[:k], a.astype(_OTHER_DTYPE[a.dtype]), *leaves[k + 1:]]
            return tree_unflatten(td, leaves)
    raise Skip("x has no NumPy floating leaf to give another dtype")


def other_kind(native: str) -> str | None:
    """An installed array kind other than the NumPy the scenario prepared with and other
    than the backend's own (so the check is about the prep, not the conversion)."""
    import importlib.util

    for kind in ("torch", "jax"):
        if kind != native and importlib.util.find_spec(kind) is not None:
            return kind
    return None


def wrong_kind(x: Any, kind: str) -> Any:
    """x with its first array leaf as a ``kind`` array (torch tensor or JAX array)."""
    leaves, td = tree_flatten(x)
    for k, a in enumerate(leaves):
        if isinstance(a, np.ndarray):
            leaves = [*leaves[:k], to_native(a, kind), *leaves[k + 1:]]
            return tree_unflatten(td, leaves)
    raise Skip("x has no NumPy leaf to give another array kind")


def expect_mismatch(calls: Sequence[Callable[[], Any]], what: str) -> None:
    """Every call must raise ``PreparationMismatchError``."""
    for c in calls:
        try:
            c()
        except PreparationMismatchError:
            continue
        except Exception as exc:
            raise AssertionError(
                f"{what}: expected PreparationMismatchError, got {type(exc).__name__}: {exc}"
            ) from exc
        raise AssertionError(f"{what}: expected PreparationMismatchError, the call succeeded")


def add_prepared_variants(
    add: Callable[..., None], case: Any, op_name: str, f: Any, backend: Any,
    get_prep: Callable[[str], Any], expected: Any, parts: Any,
    check_plain: Callable, check_value: Callable,
) -> None:
    """Register the four ``prepared*`` variants (prepared operator, a second call of the prep,
    its value form, a non-strict prep) through the runner's ``add``; ``case`` supplies
    ``op`` / ``vop`` (the operator and its value form), ``get_prep`` the strict / non-strict prep."""
    add("prepared", lambda a, kw: case.op(f, backend, *a, prep=get_prep("strict"), **kw),
        expected, check_plain)
    add("prepared_call", lambda a, kw: get_prep("strict")(*a, **kw), expected, check_plain)
    add("prepared_value", lambda a, kw: case.vop(f, backend, *a, prep=get_prep("strict"), **kw),
        parts, check_value)
    add("prepared_nonstrict", lambda a, kw: getattr(get_prep("nonstrict"), op_name)(*a, **kw),
        expected, check_plain)


def add_mismatch_variants(
    add: Callable[..., None], op: Callable, f: Any, backend: Any,
    get_prep: Callable[[str], Any], native: str, has_arrays: bool,
) -> None:
    """Register the ``mismatch`` variants (a prep called with x of another shape, dtype or array
    kind must raise ``PreparationMismatchError``) through the runner's ``add``; ``has_arrays``:
    whether x has an array leaf (a Python-float x has no dtype or array kind to change)."""

    def mismatch(a: tuple, kw: dict) -> None:
        bad = (wrong_shape(a[0]), *a[1:])
        strict_p, loose_p = get_prep("strict"), get_prep("nonstrict")
        expect_mismatch([
            lambda: op(f, backend, *bad, prep=strict_p, **kw),
            lambda: loose_p(*bad, **kw),
        ], "x of the wrong shape")

    def mismatch_dtype(a: tuple, kw: dict) -> None:
        bad = (wrong_dtype(a[0]), *a[1:])
        p = get_prep("strict")
        expect_mismatch([lambda: op(f, backend, *bad, prep=p, **kw)],
                        "x of another dtype, strict prep")

    def mismatch_kind(a: tuple, kw: dict) -> None:
        kind = other_kind(native)
        if kind is None:
            raise Skip("no other array kind installed (torch or jax)")
        bad = (wrong_kind(a[0], kind), *a[1:])
        p = get_prep("strict")
        expect_mismatch([lambda: op(f, backend, *bad, prep=p, **kw)],
                        f"x as a {kind} array, strict prep made with NumPy")

    add("mismatch", mismatch, None, None)
    if has_arrays:
        add("mismatch_dtype", mismatch_dtype, None, None)
        add("mismatch_kind", mismatch_kind, None, None)


# ---------------------------------------------------------------------------------------------
# Array kinds


def buffers(expected: Any, single: bool) -> Any:
    """NaN-filled ``out=`` buffers shaped like the expected result."""
    return map_tree(lambda e: np.full(np.shape(e), np.nan, expected_dtype(e, single)), expected)


def leaves_of(tree: Any) -> list[Any]:
    return tree_flatten(tree)[0]


def to_native(tree: Any, kind: str) -> Any:
    """NumPy leaves -> ``kind`` arrays (``"torch"`` or ``"jax"``); Python scalars stay."""
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


def from_native(tree: Any, kind: str) -> Any:
    """Results in ``kind`` arrays -> NumPy; any other array type is an error (arrays in, same
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


def native_args(args: tuple, kw: dict, kind: str) -> tuple[tuple, dict]:
    """Arguments (contexts included) converted to ``kind`` arrays."""
    conv = tuple(
        type(v)(to_native(v.value, kind)) if isinstance(v, ad.Constant | Cache)
        else to_native(v, kind)
        for v in args
    )
    return conv, {k: to_native(v, kind) for k, v in kw.items()}


# ---------------------------------------------------------------------------------------------
# Results belong to the caller


def scribble(result: Any) -> int:
    """Write NaN into every writable array of a result (tuples and Batches included); returns
    how many arrays were written. Read-only arrays (and immutable JAX arrays) are left alone:
    the contract allows them."""
    items: list[Any] = []

    def collect(t: Any) -> None:
        if isinstance(t, tuple | list) and not hasattr(t, "_fields"):
            for u in t:
                collect(u)
        elif isinstance(t, dict):
            for u in t.values():
                collect(u)
        elif hasattr(t, "_fields"):
            for u in t:
                collect(u)
        else:
            items.append(t)

    collect(result)
    n = 0
    for a in items:
        if isinstance(a, np.ndarray) and a.flags.writeable and a.size:
            a[...] = np.nan
            n += 1
        elif type(a).__module__.startswith("torch"):
            import torch

            with torch.no_grad():
                a.detach().fill_(np.nan)
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Concurrent calls


def threaded_calls(
    case: Case, p: Any, elsewhere: Any, check: Callable[[Any], tuple], n_threads: int = 6
) -> Any:
    """Call ``p`` from ``n_threads`` threads at once, alternating x and the preparation point
    (fresh arguments each); raise if any answer differs from the sequential ones."""
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
