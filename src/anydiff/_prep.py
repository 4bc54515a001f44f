"""Preparation: the one-time work behind every operator, and the strict checks on reuse.

A :class:`Prep` owns the flat view of ``f``, the adapter's kernels (built once, lazily for the
variant not yet used), and the layouts that turn caller arrays into native flat vectors and
results back. Operators are thin: ``prepare`` then :meth:`Prep.run`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _unprepared
from ._arrays import cast_native, from_numpy, require_floating, to_numpy
from ._contexts import Batch, Context, as_context
from ._errors import (
    AnydiffTypeError,
    AnydiffValueError,
    PreparationMismatchError,
    UnsupportedError,
)
from ._layout import Layout
from ._protocol import Adapter, FlatFunction, Spec
from ._pytree import tree_flatten, tree_unflatten
from ._registry import BACKEND_CLASSES, get_adapter, resolve

if TYPE_CHECKING:
    from ._operators import OpSpec


# ---------------------------------------------------------------------------------------------
# Signatures of arguments (what strict checking compares)


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


_MISS = object()  # a hot call that does not apply


def split_args(op: OpSpec, args: tuple) -> tuple[Any, tuple[Context, ...]]:
    """The arguments after x: ``(tangent or None, contexts)``; bare contexts become Constant."""
    if op.tangent is None:
        return None, tuple(as_context(a) for a in args) if args else ()
    if not args:
        raise AnydiffTypeError(
            f"{op.name} needs a {'tangent' if op.tangent == 'x' else 'cotangent'} argument after x."
        )
    return args[0], tuple(as_context(a) for a in args[1:])


def _hot_class(hot: Any) -> type:
    """A subclass of Prep whose ``__call__`` enters the hot call first: Python looks ``__call__``
    up on the type, so this saves a layer of calls on every prepared call."""
    general = Prep.__call__

    def __call__(self: Prep, x: Any, *args: Any, out: Any = None, y: Any = None) -> Any:
        if out is None and y is None:
            r = hot(x, *args)
            if r is not _MISS:
                return r
        return general(self, x, *args, out=out, y=y)

    return type("Prep", (Prep,), {"__call__": __call__, "__module__": Prep.__module__})


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


# ---------------------------------------------------------------------------------------------
# Conversions between caller arrays and native flat vectors


def leaf_to_native(adapter: Adapter, a: Any, kind: str, dtype: np.dtype, flat: bool = False) -> Any:
    """One caller leaf as a native array of ``dtype`` (raveled when ``flat``). Reshaping
    happens on the NumPy side when a conversion is needed anyway, where it is free."""
    if kind == adapter.native_kind or kind in adapter.accepts:
        arr = adapter.asarray(a, dtype)
        return arr.reshape(-1) if flat and len(arr.shape) != 1 else arr
    arr = to_numpy(a, kind)
    if flat and arr.ndim != 1:
        arr = arr.reshape(-1)
    return adapter.asarray(arr, dtype)


def ravel_native(adapter: Adapter, layout: Layout, leaves: list[Any], dtype: np.dtype) -> Any:
    natives = [
        leaf_to_native(adapter, a, k, dtype, flat=True) for a, k in zip(leaves, layout.kinds)
    ]
    return natives[0] if len(natives) == 1 else adapter.concat(natives)


def native_to_caller(
    adapter: Adapter,
    a: Any,
    kind: str,
    dtype: np.dtype,
    template: Any,
    shape: tuple[int, ...] | None = None,
) -> Any:
    """A native result as the caller's kind and dtype, reshaped to ``shape`` if given (on the
    NumPy side when converting anyway)."""
    if kind == adapter.native_kind or (kind in adapter.accepts and kind != "python"):
        a = cast_native(a, dtype)
        return a if shape is None or tuple(a.shape) == shape else a.reshape(shape)
    arr = adapter.to_numpy(a)
    if arr.dtype != dtype:
        arr = arr.astype(dtype) if dtype.kind == "c" or arr.dtype.kind != "c" else arr.real.astype(
            dtype
        )
    if shape is not None and arr.shape != shape:
        arr = arr.reshape(shape)
    return from_numpy(arr, kind if kind != "other" else "numpy", template)


# ---------------------------------------------------------------------------------------------


class Prep:
    """The result of ``prepare_<op>``: call it like the operator, without ``f`` and backend.

    ``prep(x, ...)`` runs the operator, ``prep.value_and_<op>(x, ...)`` its value form.
    Attributes ``operator``, ``backend``, ``same_point`` and ``strict`` describe it.
    """

    def __init__(
        self,
        op: OpSpec,
        f: Any,
        backend: Any,
        adapter: Adapter,
        x_layout: Layout,
        tangent_sig: TangentSig | None,
        y_layout: Layout | None,
        ctx_sigs: tuple[ContextSig, ...],
        *,
        strict: bool,
        same_point: bool,
    ) -> None:
        self.op, self.f, self.backend, self.adapter = op, f, backend, adapter
        self.x_layout, self.tangent_sig, self.y_layout = x_layout, tangent_sig, y_layout
        self.ctx_sigs = ctx_sigs
        self.strict, self.same_point = strict, same_point
        self.F = FlatFunction(
            f, x_layout, adapter, scalar_output=op.scalar_output, y_layout=y_layout,
            op_name=op.name,
        )
        batch = len(tangent_sig.layouts) if tangent_sig is not None else 0
        self.spec = Spec(x_layout.size, x_layout.dtype, batch, tuple(s.role for s in ctx_sigs))
        self._kernels: dict[bool, Any] = {}
        self._lock = threading.RLock()  # re-entrant: building a hot call builds its kernel
        self._point: tuple[Any, Any] | None = None  # same-point: (x leaves, ctx values) as NumPy
        self._native_point: tuple[Any, tuple] | None = None
        self._fast: Any = None  # fast_key of the prepared arguments (set by prepare)
        self._hot: dict[bool, Any] = {}  # with_value -> hot call (see make_hot)
        self._hot_proto: tuple | None = None

    # -- description ------------------------------------------------------------------------
    @property
    def operator(self) -> str:
        return self.op.name

    @property
    def error_estimate(self) -> Any:
        """Finite differences (``AutoFiniteDiff(method="richardson")`` or ``error=True``):
        elementwise error estimate of this thread's last result, shaped like it (NumPy).
        See ``anydiff.backends._fd_errors.error_estimate`` and docs/finite_differences.md."""
        from .backends._fd_errors import error_estimate

        return error_estimate(self)

    def __repr__(self) -> str:
        extra = ", same_point=True" if self.same_point else ""
        tape = getattr(self._kernels.get(False), "tape", None)
        if tape is not None:  # backends that record (the engine) say whether they replay
            extra += f", {tape!r}"
        return (
            f"Prep({self.op.name}, f={_func_name(self.f)}, backend={self.backend!r}, "
            f"x={self.x_layout.describe()}{extra})"
        )

    # -- calls ------------------------------------------------------------------------------
    def __call__(self, x: Any, *args: Any, out: Any = None, y: Any = None) -> Any:
        # Preps with a hot call get a subclass whose __call__ tries it first (_hot_class).
        return self.run(False, x, args, out=out, y=y)

    def __getattr__(self, item: str) -> Any:
        op = self.__dict__.get("op")
        if op is not None and item in (op.name, op.value_name):
            with_value = item == op.value_name
            hot = self._hot.get(with_value)
            if hot is None and with_value and self._hot_proto is not None:
                with self._lock:
                    hot = self._hot[True] = self.make_hot(True, *self._hot_proto)

            def call(x: Any, *args: Any, out: Any = None, y: Any = None) -> Any:
                if hot is not None and out is None and y is None:
                    r = hot(x, *args)
                    if r is not _MISS:
                        return r
                return self.run(with_value, x, args, out=out, y=y)

            call.__name__ = item
            return call
        raise AttributeError(item)

    # -- kernels ----------------------------------------------------------------------------
    def kernel(self, with_value: bool) -> Any:
        k = self._kernels.get(with_value)
        if k is None:
            with self._lock:
                k = self._kernels.get(with_value)
                if k is None:
                    k = self._build(with_value)
                    self._kernels[with_value] = k
        return k

    def _build(self, with_value: bool) -> Any:
        adapter, name = self.adapter, self.op.name
        if self.same_point and self.op.has_same_point:
            x, ctx = self._native_point
            build = getattr(adapter, f"make_{name}_same_point")
            return build(self.F, self.spec, with_value, x, ctx)
        return getattr(adapter, f"make_{name}")(self.F, self.spec, with_value)

    # -- hot path ---------------------------------------------------------------------------
    def make_hot(self, with_value: bool, x0: Any, t0: Any) -> Any:
        """A specialised call for the common case: one plain array x (and tangent) of the
        prepared type, shape and dtype, no contexts, no ``out=``/``y=``. It skips the general
        checks and conversions (identical arguments pass them by construction) and returns
        ``_MISS`` for anything else, which then takes the general path."""
        lay, adapter, op = self.x_layout, self.adapter, self.op
        yl = self.F.out_layout
        kind = lay.kinds[0]
        if (
            not lay.single or self.ctx_sigs or self.y_layout is not None or self.same_point
            or kind not in ("numpy", adapter.native_kind)
            or (yl is None and not op.scalar_output)
            or (yl is not None and not yl.single)
            or x0 is None
            or (self.op.tangent is not None and t0 is None)
        ):
            return None
        xtype, xshape, xdtype = x0.type, lay.shapes[0], x0.dtype
        yshape = yl.shapes[0] if yl is not None else ()
        ydtype = yl.dtypes[0] if yl is not None else lay.dtype
        dydtype = np.result_type(ydtype, lay.dtype)
        targets = {
            "y": (yshape, ydtype), "dy": (yshape, dydtype), "ybatch": (yshape, dydtype),
            "x": (xshape, lay.dtypes[0]), "xbatch": (xshape, lay.dtypes[0]),
            "jac": (yshape + xshape, dydtype), "hess": (xshape + xshape, lay.dtypes[0]),
        }
        kinds = op.outputs if with_value else op.outputs[-1:]
        native = kind == adapter.native_kind
        numpy_ok = native or adapter.kernels_accept_numpy

        def converter(out_kind: str) -> Any:
            shape, dtype = targets[out_kind]
            batch = out_kind in ("xbatch", "ybatch")
            if native:
                def conv(r: Any) -> Any:
                    r = r[0] if batch else r
                    r = cast_native(r, dtype)
                    return r if tuple(r.shape) == shape else r.reshape(shape)
            else:
                to_numpy_ = adapter.to_numpy

                def conv(r: Any) -> Any:
                    a = to_numpy_(r)  # index on the NumPy side: eager JAX indexing is slow
                    a = a[0] if batch else a
                    if a.dtype != dtype:
                        a = a.astype(dtype)
                    return a if a.shape == shape else a.reshape(shape)
            return conv

        convs = tuple(converter(k) for k in kinds)
        kernel = self.kernel(with_value)
        flat_x = len(xshape) != 1
        as_native = adapter.asarray
        n = lay.size
        if t0 is not None:
            ttype, tshape, tdtype = t0.type, t0.shape, t0.dtype
            tflat = (1, int(np.prod(tshape, dtype=np.int64)))
            tnative = (yl.dtype if op.tangent == "y" else lay.dtype)

        # Exceptions fall through to the general path, which translates them with hints.
        if t0 is None:
            def hot(x: Any, *args: Any) -> Any:
                if args or type(x) is not xtype or x.shape != xshape or x.dtype != xdtype:
                    return _MISS
                xv = x.reshape(n) if flat_x else x
                try:
                    outs = kernel(xv if numpy_ok else as_native(xv, lay.dtype), None, ())
                except Exception:
                    return _MISS
                if with_value:
                    return tuple(c(o) for c, o in zip(convs, outs))
                return convs[0](outs[-1])
        else:
            def hot(x: Any, *args: Any) -> Any:
                if len(args) != 1 or type(x) is not xtype or x.shape != xshape or (
                    x.dtype != xdtype
                ):
                    return _MISS
                t = args[0]
                if type(t) is not ttype or t.shape != tshape or t.dtype != tdtype:
                    return _MISS
                xv = x.reshape(n) if flat_x else x
                T = t.reshape(tflat)
                if not numpy_ok:
                    xv, T = as_native(xv, lay.dtype), as_native(T, tnative)
                try:
                    outs = kernel(xv, T, ())
                except Exception:
                    return _MISS
                if with_value:
                    return tuple(c(o) for c, o in zip(convs, outs))
                return convs[0](outs[-1])

        return hot

    # -- argument handling ------------------------------------------------------------------
    def split_args(self, args: tuple) -> tuple[Any, tuple[Context, ...]]:
        return split_args(self.op, args)

    def native_x(self, x: Any) -> Any:
        leaves, td = tree_flatten(x)
        return ravel_native(self.adapter, self.x_layout, leaves, self.x_layout.dtype)

    def native_tangent(self, t: Any) -> tuple[Any, bool]:
        items = list(t) if isinstance(t, Batch) else [t]
        target = self.x_layout if self.op.tangent == "x" else self.F.out_layout
        rows = []
        for item in items:
            leaves, td = tree_flatten(item)
            lay = Layout.of_leaves(td, leaves)
            rows.append(ravel_native(self.adapter, lay, leaves, target.dtype))
        return self.adapter.stack(rows), isinstance(t, Batch)

    def native_contexts(self, ctx: tuple[Context, ...]) -> tuple:
        out = []
        for c, sig in zip(ctx, self.ctx_sigs):
            if sig.layout is None:
                out.append(self.adapter.context(c.role, c.value))
                continue
            leaves, td = tree_flatten(c.value)
            natives = [
                leaf_to_native(self.adapter, a, k, dt)
                for a, k, dt in zip(leaves, sig.layout.kinds, sig.layout.dtypes)
            ]
            natives = [self.adapter.context(c.role, a) for a in natives]
            out.append(tree_unflatten(td, natives))
        return tuple(out)

    # -- checks -----------------------------------------------------------------------------
    def fast_key(self, x: Any, tangent: Any, ctx: tuple[Context, ...], y: Any) -> Any:
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

    def check(
        self,
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
        if op.name != self.op.name:
            raise PreparationMismatchError(
                f"This preparation was made by prepare_{self.op.name}; {op.name} needs one made "
                f"by prepare_{op.name}(f, backend, x, ...)."
            )
        if (
            self._fast is not None
            and (f is self.f and (backend is self.backend or backend == self.backend))
            and not self.same_point
            and self.fast_key(x, tangent, ctx, y) == self._fast
        ):
            return self.x_layout
        # Rows hold (name, prepared, given, ok); descriptions are rendered only on failure.
        rows: list[tuple[str, Any, Any, bool]] = []
        if strict:
            rows.append(("f", _func_name(self.f), _func_name(f), same_function(f, self.f)))
            b = resolve(backend)
            rows.append(("backend", repr(self.backend), repr(b), b == self.backend))
        given_x = Layout.of(x)
        ok = given_x == self.x_layout if strict else given_x.same_shapes(self.x_layout)
        rows.append(("x", self.x_layout, given_x, ok))
        if op.tangent is not None:
            name = "tangent" if op.tangent == "x" else "cotangent"
            given = TangentSig.of(tangent)
            prepared = self.tangent_sig
            ok = prepared.same_shapes(given) and (not strict or prepared == given)
            rows.append((name, prepared, given, ok))
        if y is not None or self.y_layout is not None:
            given_y = Layout.of(y) if y is not None else None
            ok = given_y is not None and self.y_layout is not None and (
                given_y == self.y_layout if strict else given_y.same_shapes(self.y_layout)
            )
            rows.append(("y", self.y_layout or "none", given_y or "none", ok))
        if len(ctx) != len(self.ctx_sigs):
            rows.append(("contexts", f"{len(self.ctx_sigs)} arguments", f"{len(ctx)}", False))
        else:
            for i, (c, sig) in enumerate(zip(ctx, self.ctx_sigs)):
                g = ContextSig.of(c)
                ok = sig.same_shapes(g) and (not strict or sig == g)
                rows.append((f"contexts[{i}]", sig, g, ok))
        if all(ok for *_, ok in rows):
            if self.same_point:
                self._check_point(x, ctx)
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
            f"Arguments differ from those prepare_{self.op.name} was called with:\n"
            + "\n".join(lines) + "\n" + hint
        )

    def _check_point(self, x: Any, ctx: tuple[Context, ...]) -> None:
        px, pctx = self._point
        leaves, _ = tree_flatten(x)
        same = all(np.array_equal(to_numpy(a), b) for a, b in zip(leaves, px))
        for c, p in zip(ctx, pctx):
            if p is not None:
                cl, _ = tree_flatten(c.value)
                same = same and all(np.array_equal(to_numpy(a), b) for a, b in zip(cl, p))
        if not same:
            raise PreparationMismatchError(
                f"This prepare_{self.op.name}_same_point preparation is valid only at the x (and "
                "Constant values) it was made with; use prepare_" + self.op.name
                + " for a preparation valid at any x."
            )

    # -- running ----------------------------------------------------------------------------
    def run(
        self,
        with_value: bool,
        x: Any,
        args: tuple,
        *,
        out: Any = None,
        y: Any = None,
        f: Any = None,
        backend: Any = None,
        strict: bool | None = None,
        checked: bool = False,
    ) -> Any:
        tangent, ctx = self.split_args(args)
        xl = self.x_layout
        if not checked:
            strict = self.strict if strict is None else strict
            xl = self.check(
                self.op, self.f if f is None else f, self.backend if backend is None else backend,
                x, tangent, ctx, y, strict,
            )
            if f is not None and not same_function(f, self.f) or (
                backend is not None and resolve(backend) != self.backend
            ):
                # strict=False with another function or backend: never reuse kernels built
                # for the prepared ones, which would give the prepared function's derivative.
                fresh = prepare(
                    self.op, f if f is not None else self.f,
                    backend if backend is not None else self.backend, x, args, y=y, strict=False,
                )
                return fresh.run(with_value, x, args, out=out, y=y, checked=True)
        adapter = self.adapter
        xv = self.native_x(x)
        T, is_batch = (None, False)
        if tangent is not None:
            T, is_batch = self.native_tangent(tangent)
        ctxv = self.native_contexts(ctx)
        kernel = self.kernel(with_value)
        outputs = adapter.guarded(self.F, lambda: kernel(xv, T, ctxv))
        results = self.op.convert(self, outputs, x, xl, is_batch, with_value)
        if with_value and y is not None and outputs[0] is not None:
            _write(y, results[0], "y")
        if out is not None:
            parts = results[1:] if with_value else (results,)
            bufs = out if len(parts) > 1 else (out,)
            if not isinstance(bufs, tuple) or len(bufs) != len(parts):
                raise AnydiffValueError(
                    f"out= for {self.op.value_name if with_value else self.op.name} must hold "
                    f"{len(parts)} buffer(s) for the derivative part(s)."
                )
            for buf, part in zip(bufs, parts):
                _write(buf, part, "out")
            if with_value:
                return (results[0], *bufs) if len(parts) > 1 else (results[0], out)
            return out
        return results

    # -- output conversion --------------------------------------------------------------------
    def like_x(self, flat: Any, x: Any, lay: Layout) -> Any:
        """Native ``(n,)`` -> caller pytree like ``x`` (leaf kinds and dtypes of ``x``)."""
        if lay.single:
            return native_to_caller(
                self.adapter, flat, lay.kinds[0], lay.dtypes[0], x, lay.shapes[0]
            )
        leaves, _ = tree_flatten(x)
        conv = [
            native_to_caller(self.adapter, flat[..., o : o + n], k, dt, tpl, sh)
            for o, n, sh, k, dt, tpl in zip(
                lay.offsets, lay.sizes, lay.shapes, lay.kinds, lay.dtypes, leaves
            )
        ]
        return tree_unflatten(lay.treedef, conv)

    def like_y(self, flat: Any, x: Any, xl: Layout, derivative: bool) -> Any:
        """Native ``(m,)`` -> caller pytree like ``y`` in the caller's (x's) array kind."""
        lay = self.F.out_layout
        leaves, _ = tree_flatten(x)
        kind = xl.kind
        if kind == "python" and not (lay.single and lay.shapes[0] == ()):
            kind = "numpy"
        conv = []
        for o, n, sh, dt in zip(lay.offsets, lay.sizes, lay.shapes, lay.dtypes):
            if derivative:
                dt = np.result_type(dt, xl.dtype)
            piece = flat if lay.single else flat[..., o : o + n]
            conv.append(native_to_caller(self.adapter, piece, kind, dt, leaves[0], sh))
        return conv[0] if lay.single else tree_unflatten(lay.treedef, conv)

    def matrix(
        self, M: Any, x: Any, xl: Layout, rows: Layout, cols: Layout, dtype: np.dtype
    ) -> Any:
        """Native ``(r, c)`` -> caller array, shaped ``rows.shape + cols.shape`` when both are
        single arrays, else 2-D."""
        leaves, _ = tree_flatten(x)
        kind = xl.kind
        if kind == "python":
            kind = "numpy"
        shape = None
        if rows.single and cols.single:
            shape = tuple(rows.shapes[0]) + tuple(cols.shapes[0])
        return native_to_caller(self.adapter, M, kind, dtype, leaves[0], shape)


def _write(buf: Any, value: Any, what: str) -> None:
    """Copy a result into a caller's buffer (NumPy arrays and torch tensors, leaf by leaf)."""
    bl, btd = tree_flatten(buf)
    vl, vtd = tree_flatten(value)
    if btd != vtd or len(bl) != len(vl):
        raise AnydiffValueError(f"{what}= has structure {btd}, but the result has structure {vtd}.")
    from ._arrays import kind_of

    for b, v in zip(bl, vl):
        kind = kind_of(b)
        shape = tuple(getattr(v, "shape", ()))
        if tuple(getattr(b, "shape", ())) != shape:
            raise AnydiffValueError(
                f"{what}= buffer has shape {tuple(getattr(b, 'shape', ()))}, but the result has "
                f"shape {shape}."
            )
        if kind == "numpy" and isinstance(b, np.ndarray):
            np.copyto(b, to_numpy(v), casting="same_kind")
        elif kind == "torch":
            import torch

            b.copy_(v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v)))
        elif kind == "jax":
            raise AnydiffTypeError(
                f"JAX arrays are immutable, so {what}= cannot be filled in place. Drop {what}= and "
                "use the returned value (or pass a NumPy / torch buffer)."
            )
        else:
            raise AnydiffTypeError(
                f"{what}= needs mutable arrays (NumPy arrays or torch tensors), got {type(b).__name__}."
            )


# ---------------------------------------------------------------------------------------------

def prepare(
    op: OpSpec,
    f: Any,
    backend: Any,
    x: Any,
    args: tuple,
    *,
    y: Any = None,
    strict: bool = True,
    same_point: bool = False,
    cached: bool = False,
) -> Prep:
    """Build a Prep for ``op`` at ``x`` (the shared body of every ``prepare_*`` function)."""
    if not callable(f):
        raise AnydiffTypeError(f"f must be callable, got {type(f).__name__}.")
    b = resolve(backend)
    x_leaves, x_td = tree_flatten(x)
    if not x_leaves:
        raise AnydiffValueError("x has no array leaves to differentiate with respect to.")
    x_layout = Layout.of_leaves(x_td, x_leaves)
    for dt in x_layout.dtypes:
        require_floating(dt)
    if op.scalar_x and not (x_layout.single and x_layout.shapes[0] == ()):
        raise AnydiffValueError(
            f"{op.name} needs a scalar x (a float or 0-d array), got {x_layout.describe()}. "
            "Use jacobian or pushforward for array inputs."
        )
    if x_layout.dtype.kind == "c" and not b.complex_numbers:
        raise UnsupportedError(
            f"{type(b).__name__} does not support complex x. Backends that can: "
            + ", ".join(n for n, c in BACKEND_CLASSES.items() if c.complex_numbers)
        )
    y_layout = None
    if y is not None:
        if not op.inplace:
            raise AnydiffTypeError(
                f"y= (in-place f(y, x)) is accepted by pushforward, pullback, derivative and "
                f"jacobian, not by {op.name}."
            )
        if not b.inplace_function:
            capable = [n for n, c in BACKEND_CLASSES.items() if c.inplace_function]
            raise UnsupportedError(
                f"{type(b).__name__} cannot differentiate the in-place form f(y, x). Backends "
                f"that can: {', '.join(capable)}."
            )
        y_layout = Layout.of(y)
        for dt in y_layout.dtypes:
            require_floating(dt, "y")

    adapter = get_adapter(b)
    tangent, ctx = split_args(op, args)
    ctx_sigs = tuple(ContextSig.of(c) for c in ctx)
    tangent_sig = TangentSig.of(tangent) if tangent is not None else None

    prep = Prep(
        op, f, b, adapter, x_layout, tangent_sig, y_layout, ctx_sigs,
        strict=strict, same_point=same_point,
    )
    xv = prep.native_x(x)
    ctxv = prep.native_contexts(ctx)
    pending = None
    if cached and adapter.cache_unprepared and not same_point:
        # Unprepared call: f is traced as it is now; compiled code is reused only for an equal
        # program (API §3 "Fresh unprepared calls"; see _unprepared).
        signature = (op.name, b, x_layout, tangent_sig, y_layout, ctx_sigs)
        pending = _unprepared.lookup(signature, prep, xv, ctxv)
        if isinstance(pending, Prep):
            return pending
    prep._fast = prep.fast_key(x, tangent, ctx, y)
    if same_point:
        prep._point = (
            [to_numpy(a).copy() for a in x_leaves],
            [
                [to_numpy(a).copy() for a in tree_flatten(c.value)[0]]
                if s.layout is not None and c.role == "constant" else None
                for c, s in zip(ctx, ctx_sigs)
            ],
        )
        prep._native_point = (xv, ctxv)
    needs_output = (
        op.tangent == "y"
        or (op.name == "jacobian" and adapter.jacobian_needs_output)
        or op.name == "second_derivative"  # the generic builder sizes the derivative function
    )
    if not op.scalar_output and prep.F.out_layout is None and needs_output:
        adapter.guarded(prep.F, lambda: adapter.evaluate(prep.F, xv, ctxv))
    if tangent is not None:
        _check_tangent(prep, tangent)
    # Build the plain kernel now: the one-time work belongs to preparation.
    prep.kernel(False)
    if adapter.compile_on_prepare:
        T = prep.native_tangent(tangent)[0] if tangent is not None else None
        adapter.guarded(prep.F, lambda: prep.kernel(False)(xv, T, ctxv))
    if prep._fast is not None and not cached:
        prep._hot_proto = (_Proto.of(x), None if tangent is None else _Proto.of(tangent))
        prep._hot[False] = prep.make_hot(False, *prep._hot_proto)
        if prep._hot[False] is not None:
            prep.__class__ = _hot_class(prep._hot[False])
    if pending is not None:
        _unprepared.store(pending, prep)
    return prep


def _check_tangent(prep: Prep, tangent: Any) -> None:
    sig = prep.tangent_sig
    target = prep.x_layout if prep.op.tangent == "x" else prep.F.out_layout
    what = "tangent" if prep.op.tangent == "x" else "cotangent"
    like = "x" if prep.op.tangent == "x" else "y = f(x)"
    for lay in sig.layouts:
        if lay.treedef != target.treedef or lay.shapes != target.shapes:
            raise AnydiffValueError(
                f"The {what} must have the structure and shapes of {like}: expected "
                f"{target.describe()}, got {lay.describe()}."
            )
        for dt in lay.dtypes:
            require_floating(dt, what)
