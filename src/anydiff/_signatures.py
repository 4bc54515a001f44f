"""Signatures of a prepared operator's arguments: what strict checking compares.

A signature records structure, shapes, dtypes and array kinds of an argument without keeping
the array alive. :class:`anydiff._prep.Prep` compares the signatures of each call with those
of preparation; :func:`fast_key` is the cheap exact key of plain-array calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._contexts import Batch, Context, as_context
from ._errors import AnydiffTypeError
from ._layout import Layout
from ._pytree import tree_flatten

if TYPE_CHECKING:
    from ._operators import OpSpec



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
    part; a real cotangent for a complex y leaf is refused too (API.md section 2), so that the
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
