"""Signatures of a prepared operator's arguments: what strict checking compares.

A signature records structure, shapes, dtypes and array kinds of an argument without keeping
the array alive. :class:`anydiff._prep.Prep` compares the signatures of each call with those
of preparation (:func:`check_arguments`, which lists every mismatch at once);
:func:`fast_key` is the cheap exact key of plain-array calls, and :func:`check_tangent_dtypes`
the rule that no tangent or cotangent loses an imaginary part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._arrays import to_numpy
from ._contexts import Batch, Context, as_context
from ._errors import AnydiffTypeError, PreparationMismatchError
from ._layout import Layout
from ._pytree import tree_flatten
from ._registry import resolve

if TYPE_CHECKING:
    from ._operators import OpSpec
    from ._prep import Prep



@dataclass(frozen=True)
class ContextSig:
    role: str
    layout: Layout | None  # None for non-array values
    type_name: str

    @classmethod
    def of(cls, c: Context) -> ContextSig:
        leaves, td = tree_flatten(c.value)
        if leaves and all(hasattr(a, "shape") or isinstance(a, (float, complex)) for a in leaves):
            return cls(c.role, Layout.of_leaves(td, leaves), type(c.value).__name__)
        return cls(c.role, None, type(c.value).__name__)

    def describe(self) -> str:
        inner = self.layout.describe() if self.layout is not None else self.type_name
        return f"{self.role.capitalize()}({inner})"

    def same_shapes(self, other: ContextSig) -> bool:
        if (self.layout is None) != (other.layout is None) or self.role != other.role:
            return False
        return self.layout is None or self.layout.same_shapes(other.layout)


@dataclass(frozen=True)
class TangentSig:
    batch: bool
    layouts: tuple[Layout, ...]

    @classmethod
    def of(cls, t: Any) -> TangentSig:
        items = tuple(t) if isinstance(t, Batch) else (t,)
        return cls(isinstance(t, Batch), tuple(Layout.of(i) for i in items))

    def describe(self) -> str:
        if not self.batch:
            return self.layouts[0].describe()
        return f"Batch of {len(self.layouts)}: " + "; ".join(lay.describe() for lay in self.layouts)

    def same_shapes(self, other: TangentSig) -> bool:
        return (
            self.batch == other.batch
            and len(self.layouts) == len(other.layouts)
            and all(a.same_shapes(b) for a, b in zip(self.layouts, other.layouts))
        )


def same_function(f: Any, g: Any) -> bool:
    """``f`` and ``g`` are the same callable, or the same code with the same captured objects
    (so an inline ``lambda`` re-created at the same place in a loop still matches)."""
    if f is g:
        return True
    try:
        if f == g:
            return True
    except Exception:
        return False
    cf, cg = getattr(f, "__code__", None), getattr(g, "__code__", None)
    if cf is None or cf is not cg:
        return False
    if getattr(f, "__defaults__", None) != getattr(g, "__defaults__", None):
        return False
    clf, clg = f.__closure__ or (), g.__closure__ or ()
    try:
        return len(clf) == len(clg) and all(
            a.cell_contents is b.cell_contents for a, b in zip(clf, clg)
        )
    except ValueError:  # empty cell
        return False


def split_args(op: OpSpec, args: tuple) -> tuple[Any, tuple[Context, ...]]:
    """The arguments after x: ``(tangent or None, contexts)``; bare contexts become Constant."""
    if op.tangent is None:
        return None, tuple(as_context(a) for a in args) if args else ()
    if not args:
        raise AnydiffTypeError(
            f"{op.name} needs a {'tangent' if op.tangent == 'x' else 'cotangent'} argument after x."
        )
    return args[0], tuple(as_context(a) for a in args[1:])


@dataclass(frozen=True)
class _Proto:
    """Type, shape and dtype of a prepared argument (without keeping the array alive)."""

    type: type
    shape: tuple
    dtype: Any

    @classmethod
    def of(cls, a: Any) -> _Proto | None:
        if isinstance(a, (Batch, dict, list, tuple)) or not hasattr(a, "dtype"):
            return None
        return cls(type(a), tuple(a.shape), a.dtype)


def _describe(obj: Any) -> str:
    return obj if isinstance(obj, str) else obj.describe()


def _leaf_key(a: Any) -> Any:
    """(type, shape, dtype) of a plain array or number; None for containers."""
    if isinstance(a, (dict, list, tuple)):
        return None
    return (type(a), getattr(a, "shape", None), getattr(a, "dtype", None))


def _func_name(f: Any) -> str:
    return getattr(f, "__qualname__", None) or type(f).__name__


def fast_key(x: Any, tangent: Any, ctx: tuple[Context, ...], y: Any) -> Any:
    """A cheap exact signature of the arguments when they are plain arrays (no pytrees),
    or None. Equal keys imply that the full strict check passes."""
    kx = _leaf_key(x)
    if kx is None:
        return None
    kt = None
    if tangent is not None:
        if isinstance(tangent, Batch):
            kt = tuple(_leaf_key(t) for t in tangent)
            if None in kt:
                return None
            kt = ("batch", kt)
        else:
            kt = _leaf_key(tangent)
            if kt is None:
                return None
    kc = []
    for c in ctx:
        k = _leaf_key(c.value)
        if k is None:
            return None
        kc.append((type(c), k))
    ky = None if y is None else _leaf_key(y)
    if y is not None and ky is None:
        return None
    return (kx, kt, tuple(kc), ky)


def check_tangent_dtypes(op: OpSpec, sig: TangentSig, target: Layout) -> None:
    """A tangent (cotangent) must not carry more than x (y) can take: a complex tangent for a
    real x leaf, or a complex cotangent for a real y leaf, would silently lose its imaginary
    part; a real cotangent for a complex y leaf is refused too, so that the
    realness of w always matches y's. Raises AnydiffTypeError naming the leaf and dtypes."""
    tangent = op.tangent == "x"
    what, like = ("tangent", "x") if tangent else ("cotangent", "y = f(x)")
    for lay in sig.layouts:
        for i, (given, want) in enumerate(zip(lay.dtypes, target.dtypes)):
            lost = given.kind == "c" and want.kind != "c"
            if not lost and (tangent or given.kind == want.kind or want.kind != "c"):
                continue
            where = "" if target.single else f" (leaf {i})"
            if lost and tangent:
                fix = (
                    "its imaginary part would be lost. Pass a real tangent (for both parts: "
                    "ad.Batch(t.real, t.imag), then combine the results), or make x complex"
                )
            elif lost:
                fix = "its imaginary part would be lost. Pass a real cotangent (w.real)"
            else:
                fix = f"pass a complex {what} (e.g. w.astype(complex)) for a complex y"
            raise AnydiffTypeError(
                f"The {what}{where} of {op.name} has dtype {given}, but {like} has dtype {want}: "
                f"{fix}."
            )


# ---------------------------------------------------------------------------------------------
# The checks of a prepared call


def check_arguments(
    prep: Prep,
    op: OpSpec,
    f: Any,
    backend: Any,
    x: Any,
    tangent: Any,
    ctx: tuple[Context, ...],
    y: Any,
    strict: bool,
) -> Layout:
    """Raise PreparationMismatchError listing every argument if any differs; return the
    layout of the given x (its kinds and dtypes decide the results' types)."""
    if op.name != prep.op.name:
        raise PreparationMismatchError(
            f"This preparation was made by prepare_{prep.op.name}; {op.name} needs one made "
            f"by prepare_{op.name}(f, backend, x, ...)."
        )
    if (
        prep._fast is not None
        and (f is prep.f and (backend is prep.backend or backend == prep.backend))
        and not prep.same_point
        and fast_key(x, tangent, ctx, y) == prep._fast
    ):
        return prep.x_layout
    # Rows hold (name, prepared, given, ok); descriptions are rendered only on failure.
    rows: list[tuple[str, Any, Any, bool]] = []
    if strict:
        rows.append(("f", _func_name(prep.f), _func_name(f), same_function(f, prep.f)))
        b = resolve(backend)
        rows.append(("backend", repr(prep.backend), repr(b), b == prep.backend))
    given_x = Layout.of(x)
    ok = given_x == prep.x_layout if strict else given_x.same_shapes(prep.x_layout)
    rows.append(("x", prep.x_layout, given_x, ok))
    if op.tangent is not None:
        name = "tangent" if op.tangent == "x" else "cotangent"
        given = TangentSig.of(tangent)
        prepared = prep.tangent_sig
        ok = prepared.same_shapes(given) and (not strict or prepared == given)
        rows.append((name, prepared, given, ok))
        if ok and not strict:  # strict: equal to the prepared tangent, checked then
            target = prep.x_layout if op.tangent == "x" else prep.F.out_layout
            check_tangent_dtypes(op, given, target)
    if y is not None or prep.y_layout is not None:
        given_y = Layout.of(y) if y is not None else None
        ok = given_y is not None and prep.y_layout is not None and (
            given_y == prep.y_layout if strict else given_y.same_shapes(prep.y_layout)
        )
        rows.append(("y", prep.y_layout or "none", given_y or "none", ok))
    if len(ctx) != len(prep.ctx_sigs):
        rows.append(("contexts", f"{len(prep.ctx_sigs)} arguments", f"{len(ctx)}", False))
    else:
        for i, (c, sig) in enumerate(zip(ctx, prep.ctx_sigs)):
            g = ContextSig.of(c)
            ok = sig.same_shapes(g) and (not strict or sig == g)
            rows.append((f"contexts[{i}]", sig, g, ok))
    if all(ok for *_, ok in rows):
        if prep.same_point:
            check_point(prep, x, ctx)
        return given_x
    lines = [
        f"  {'✗' if not ok else '✓'} {name}: prepared {_describe(p)}, given {_describe(g)}"
        for name, p, g, ok in rows
    ]
    hint = (
        "Prepare again for the new arguments"
        + (", or pass strict=False to skip the function, backend, type and dtype checks "
           "(shapes must still match)." if strict else ".")
    )
    raise PreparationMismatchError(
        f"Arguments differ from those prepare_{prep.op.name} was called with:\n"
        + "\n".join(lines) + "\n" + hint
    )

def check_point(prep: Prep, x: Any, ctx: tuple[Context, ...]) -> None:
    px, pctx = prep._point
    leaves, _ = tree_flatten(x)
    same = all(np.array_equal(to_numpy(a), b) for a, b in zip(leaves, px))
    for c, p in zip(ctx, pctx):
        if p is not None:
            cl, _ = tree_flatten(c.value)
            same = same and all(np.array_equal(to_numpy(a), b) for a, b in zip(cl, p))
    if not same:
        raise PreparationMismatchError(
            f"This prepare_{prep.op.name}_same_point preparation is valid only at the x (and "
            "Constant values) it was made with; use prepare_" + prep.op.name
            + " for a preparation valid at any x."
        )
