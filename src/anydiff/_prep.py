"""Preparation: the one-time work behind every operator, and the strict checks on reuse.

A :class:`Prep` owns the flat view of ``f``, the adapter's kernels (built once, lazily for the
variant not yet used), and the layouts that turn caller arrays into native flat vectors and
results back. Operators are thin: ``prepare`` then :meth:`Prep.run`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _hot, _unprepared
from ._arrays import kind_of, require_floating, to_numpy
from ._contexts import Batch, Context, by_value
from ._convert import (
    leaf_to_native,
    mixed_context_to_native,
    native_to_caller,
    ravel_native,
    write_out,
)
from ._edge import empty_x_kernel
from ._errors import (
    AnydiffTypeError,
    AnydiffValueError,
    UnsupportedError,
)
from ._layout import Layout
from ._protocol import Adapter, FlatFunction, Spec
from ._pytree import tree_flatten, tree_unflatten
from ._registry import BACKEND_CLASSES, get_adapter, resolve
from ._signatures import (
    ContextSig,
    TangentSig,
    _func_name,
    _Proto,
    check_arguments,
    check_tangent_dtypes,
    fast_key,
    same_function,
    split_args,
)

if TYPE_CHECKING:
    from ._operators import OpSpec



def _mutable(ctx: tuple) -> bool:
    """Whether a context holds a mutable object (not an array, not an immutable value): a
    same-point kernel would keep what ``f`` read from it at preparation, and a change in place
    is invisible to the point check, so such preps use the operator's general kernel."""
    return any(
        kind_of(leaf) == "other" and not by_value(leaf) for c in ctx for leaf in tree_flatten(c)[0]
    )

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
        self._variants: dict[Any, Prep] = {}  # strict=False calls in other dtypes

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
                    if r is not _hot.MISS:
                        return r
                return self.run(with_value, x, args, out=out, y=y)

            call.__name__ = item
            return call
        kernel = self.__dict__.get("_kernels", {}).get(False)
        if item in getattr(kernel, "prep_attributes", ()):  # e.g. AutoSparse: sparsity, colors, ...
            return getattr(kernel, item)
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
        out = self.F.out_layout
        empty = (self.spec.n == 0 and name != "pushforward") or (
            name == "jacobian" and out is not None and out.size == 0
        )
        if empty and not getattr(adapter, "sparse_results", False):  # AutoSparse: its own
            # x (or a Jacobian's y) of size 0: empty derivatives, built alike for every backend.
            return empty_x_kernel(adapter, self.F, self.spec, name, with_value)
        if self.same_point and self.op.has_same_point and not _mutable(self._native_point[1]):
            x, ctx = self._native_point
            build = getattr(adapter, f"make_{name}_same_point")
            return build(self.F, self.spec, with_value, x, ctx)
        return getattr(adapter, f"make_{name}")(self.F, self.spec, with_value)

    # -- hot path ---------------------------------------------------------------------------
    def make_hot(self, with_value: bool, x0: Any, t0: Any) -> Any:
        """The specialised call for one plain array x of the prepared kind (see
        :func:`anydiff._hot.make_hot`), or None where it does not apply."""
        return _hot.make_hot(self, with_value, x0, t0)

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
                out.append(mixed_context_to_native(self.adapter, c.role, c.value))
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
        layout of the given x (see :func:`anydiff._signatures.check_arguments`)."""
        return check_arguments(self, op, f, backend, x, tangent, ctx, y, strict)

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
        if checked and out is None and y is None and self._hot_proto is not None:
            # An unprepared call on a stored prep (arguments of its signature, checked by
            # the lookup): the hot call when it applies, as for prep(x, ...).
            hot = self._hot.get(with_value, _hot.MISS)
            if hot is _hot.MISS:
                with self._lock:
                    hot = self._hot.get(with_value, _hot.MISS)
                    if hot is _hot.MISS:
                        hot = self._hot[with_value] = self.make_hot(with_value, *self._hot_proto)
            if hot is not None:
                r = hot(x, *args)
                if r is not _hot.MISS:
                    return r
        tangent, ctx = self.split_args(args)
        xl = self.x_layout
        if not checked:
            strict = self.strict if strict is None else strict
            xl = self.check(
                self.op, self.f if f is None else f, self.backend if backend is None else backend,
                x, tangent, ctx, y, strict,
            )
            if f is not None and not same_function(f, self.f) or (
                backend is not None and backend is not self.backend
                and resolve(backend) != self.backend
            ):
                # strict=False with another function or backend: never reuse kernels built
                # for the prepared ones, which would give the prepared function's derivative.
                fresh = prepare(
                    self.op, f if f is not None else self.f,
                    backend if backend is not None else self.backend, x, args, y=y, strict=False,
                )
                return fresh.run(with_value, x, args, out=out, y=y, checked=True)
            if not strict and xl is not self.x_layout:
                variant = self._dtype_variant(x, args, tangent, xl, y)
                if variant is not None:
                    return variant.run(with_value, x, args, out=out, y=y, checked=True)
        adapter = self.adapter
        if out is not None and getattr(adapter, "sparse_results", False):
            raise UnsupportedError(
                "AutoSparse returns a new scipy.sparse array on every call, so out= (a dense "
                "buffer to fill) is not supported; drop out= and use the returned value."
            )
        xv = self.native_x(x)
        T, is_batch = (None, False)
        if tangent is not None:
            T, is_batch = self.native_tangent(tangent)
        ctxv = self.native_contexts(ctx)
        kernel = self.kernel(with_value)
        outputs = adapter.guarded(self.F, lambda: kernel(xv, T, ctxv))
        results = self.op.convert(self, outputs, x, xl, is_batch, with_value)
        if with_value and y is not None and outputs[0] is not None:
            write_out(y, results[0], "y")
        if out is not None:
            parts = results[1:] if with_value else (results,)
            bufs = out if len(parts) > 1 else (out,)
            if not isinstance(bufs, tuple) or len(bufs) != len(parts):
                raise AnydiffValueError(
                    f"out= for {self.op.value_name if with_value else self.op.name} must hold "
                    f"{len(parts)} buffer(s) for the derivative part(s)."
                )
            for i, (buf, part) in enumerate(zip(bufs, parts)):
                write_out(buf, part, "out" if len(parts) == 1 else f"out[{i}]")
            if with_value:
                return (results[0], *bufs) if len(parts) > 1 else (results[0], out)
            return out
        return results

    def _dtype_variant(
        self, x: Any, args: tuple, tangent: Any, xl: Layout, y: Any
    ) -> Prep | None:
        """For a ``strict=False`` call whose x, tangent or y dtypes differ from the prepared
        ones: a preparation for the given dtypes (made once, then kept), so that results come
        in the given dtypes at their full precision (float64 in, float64 accuracy out), with
        y's dtype as f returns it. None when the dtypes are the prepared ones."""
        tsig = TangentSig.of(tangent) if tangent is not None else None
        ylay = Layout.of(y) if y is not None else None
        if (
            xl.dtypes == self.x_layout.dtypes
            and (tsig is None or [t.dtypes for t in tsig.layouts]
                 == [t.dtypes for t in self.tangent_sig.layouts])
            and (ylay is None or ylay.dtypes == self.y_layout.dtypes)
        ):
            return None
        key = (xl, tsig, ylay)
        variant = self._variants.get(key)
        if variant is None:
            with self._lock:
                variant = self._variants.get(key)
                if variant is None:
                    variant = prepare(
                        self.op, self.f, self.backend, x, args, y=y, strict=False,
                        same_point=self.same_point,
                    )
                    if len(self._variants) >= 8:  # bounded: a few dtypes at most in practice
                        self._variants.pop(next(iter(self._variants)))
                    self._variants[key] = variant
        return variant

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
    value: bool = False,
) -> Prep:
    """Build a Prep for ``op`` at ``x`` (the shared body of every ``prepare_*`` function).
    ``value``: build (and compile) the value form's kernel now instead of the plain one, for
    callers that only use ``prep.value_and_<op>`` (anydiff.optimize)."""
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
        # program (fresh unprepared calls; see _unprepared).
        signature = (op.name, b, x_layout, tangent_sig, y_layout, ctx_sigs)
        pending = _unprepared.lookup(signature, prep, xv, ctxv)
        if isinstance(pending, Prep):
            return pending
    prep._fast = fast_key(x, tangent, ctx, y)
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
    # Build the kernel now (the value form when asked): the one-time work belongs to preparation.
    prep.kernel(value)
    if adapter.compile_on_prepare:
        T = prep.native_tangent(tangent)[0] if tangent is not None else None
        adapter.guarded(prep.F, lambda: prep.kernel(value)(xv, T, ctxv))
    if prep._fast is not None and (not cached or pending is not None):
        # Unprepared calls reuse a stored prep (pending: stored below) through
        # run(checked=True), which enters the same hot call.
        prep._hot_proto = (_Proto.of(x), None if tangent is None else _Proto.of(tangent))
        prep._hot[False] = prep.make_hot(False, *prep._hot_proto)
        if prep._hot[False] is not None and not cached:
            prep.__class__ = _hot.hot_class(prep._hot[False], Prep)
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
    check_tangent_dtypes(prep.op, sig, target)
