"""The backend protocol every adapter in ``anydiff.backends`` implements.

An adapter sees ``f`` only as a :class:`FlatFunction`: a map from a flat vector ``x`` of shape
``(n,)`` to a flat vector ``y`` of shape ``(m,)`` (or to a 0-d scalar for gradient, hessian and hvp).
The interface flattens pytrees, converts arrays and checks shapes before an adapter runs.

Operators are *kernels* built once (at preparation) and called many times::

    kernel(x, T, ctx) -> outputs

with ``x`` native of shape ``(n,)``, ``T`` a stack of tangents ``(k, n)`` (pushforward, hvp) or of
cotangents ``(k, m)`` (pullback), or ``None``, and ``ctx`` the native context values. Outputs:

=====================  ==========================================
operator               outputs
=====================  ==========================================
pushforward            ``(y or None, J T^T as (k, m))``
pullback               ``(y or None, J^H W^T as (k, n))``
derivative             ``(y or None, dy (m,))``  (``n == 1``)
gradient               ``(y or None, g (n,))``
jacobian               ``(y or None, J (m, n))``
second_derivative      ``(y or None, dy (m,), d2y (m,))``
hessian                ``(y or None, g (n,) or None, H (n, n))``
hvp                    ``(g or None, H T^T as (k, n))``
=====================  ==========================================

``need_value`` tells a builder whether the first output is wanted (finite differences save
evaluations when it is not). Only the two primitives, :meth:`Adapter.make_pushforward` and
:meth:`Adapter.make_pullback`, must be written; every other ``make_*`` has a generic default in
:mod:`anydiff._generic` that an adapter overrides with its framework's native transform.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import numpy as np

from . import _generic as generic
from . import _second_order as second_order
from ._arrays import dtype_of
from ._backend_types import AbstractBackend
from ._errors import AnydiffError, AnydiffTypeError, AnydiffValueError, UnsupportedError
from ._layout import Layout
from ._pytree import tree_flatten

Kernel = Callable[[Any, Any, tuple], tuple]


@dataclass(frozen=True)
class Spec:
    """Static facts a builder may specialise on.

    Attributes:
        n: size of the flat input.
        dtype: NumPy dtype of the flat input.
        batch: number of stacked tangents ``k`` the kernel will mostly see (0 if none).
        ctx_roles: ``"constant"`` or ``"cache"`` for each context argument.
    """

    n: int
    dtype: np.dtype
    batch: int = 0
    ctx_roles: tuple[str, ...] = ()

    def with_batch(self, k: int) -> Spec:
        return replace(self, batch=k)


class FlatFunction:
    """``f`` as a map between flat vectors, written once for every array type.

    ``F(v, *ctx)`` unravels ``v`` into the caller's structure (views of the backend's arrays;
    of a private copy when ``v`` is a plain NumPy array, so that an ``f`` mutating its argument
    never writes into the caller's ``x`` or a kernel's base point), calls ``f`` (or the
    in-place ``f(y, x)`` on a fresh output buffer), checks the output, and returns it raveled to
    shape ``(m,)``, or as a 0-d scalar when ``scalar_output``. The output layout is recorded, and
    checked, on the first evaluation (by any backend, traced or not): gradient-type operators
    need a real floating-point scalar there.
    """

    def __init__(
        self,
        f: Callable,
        x_layout: Layout,
        adapter: Adapter,
        *,
        scalar_output: bool = False,
        y_layout: Layout | None = None,
        op_name: str = "",
    ) -> None:
        self.f = f
        self.x_layout = x_layout
        self.adapter = adapter
        self.scalar_output = scalar_output
        self.inplace_layout = y_layout
        self.op_name = op_name
        self.out_layout: Layout | None = y_layout
        self._lock = threading.Lock()

    @property
    def n(self) -> int:
        return self.x_layout.size

    @property
    def m(self) -> int:
        if self.scalar_output:
            return 1
        if self.out_layout is None:
            raise RuntimeError("output layout unknown before f was evaluated")
        return self.out_layout.size

    def flat(self) -> FlatFunction | Raveled:
        """The same function with a scalar output raveled to shape ``(1,)``."""
        return Raveled(self) if self.scalar_output else self

    def __call__(self, v: Any, *ctx: Any) -> Any:
        if type(v) is np.ndarray:
            # A plain array is the caller's x (or a kernel's base point, reused for the next
            # evaluation): f gets a private copy it may mutate. Traced arrays (engine, autograd,
            # JAX) are fresh per trace, and torch kernels clone, so they skip this copy.
            v = v.copy()
        x = self.x_layout.unravel(v)
        if self.inplace_layout is not None:
            buffers = [
                self.adapter.output_buffer(shape, dt)
                for shape, dt in zip(self.inplace_layout.shapes, self.inplace_layout.dtypes)
            ]
            from ._pytree import tree_unflatten

            y_tree = tree_unflatten(self.inplace_layout.treedef, buffers)
            ret = self.f(y_tree, x, *ctx)
            y = ret if ret is not None else y_tree
        else:
            y = self.f(x, *ctx)
        out = self.out_layout
        if out is not None and out.single and hasattr(y, "shape"):
            # The common case once the layout is known: one array out, no pytree to walk.
            if self.scalar_output:
                if y.shape != ():
                    self._not_scalar(y, out.treedef)
                return y
            return y if len(y.shape) == 1 else y.reshape(-1)
        leaves, td = tree_flatten(y)
        if self.out_layout is None:
            with self._lock:
                if self.out_layout is None:
                    self._check_output_leaves(leaves)
                    if self.scalar_output and td.is_leaf:
                        self._check_scalar_dtype(dtype_of(y), dtype_of(v))
                    self.out_layout = Layout.of_leaves(td, leaves)
        if self.scalar_output:
            if not td.is_leaf or getattr(y, "shape", ()) != ():
                self._not_scalar(y, td)
            return y if hasattr(y, "shape") else self.adapter.scalar(y, v)
        if td.is_leaf:
            if not hasattr(y, "reshape"):
                y = self.adapter.scalar(y, v)
            return y if len(y.shape) == 1 else y.reshape(-1)
        flat = [
            (leaf if hasattr(leaf, "reshape") else self.adapter.scalar(leaf, v)).reshape(-1)
            for leaf in leaves
        ]
        return flat[0] if len(flat) == 1 else self.adapter.concat(flat)

    def _not_scalar(self, y: Any, td: Any) -> None:
        raise AnydiffValueError(
            f"{self.op_name or 'this operator'} needs f to return a scalar, but f returned "
            f"{self._describe(y, td)}. Use jacobian (or pullback) for non-scalar outputs."
        )

    def _check_output_leaves(self, leaves: list[Any]) -> None:
        for leaf in leaves:
            dt = dtype_of(leaf)
            if dt.kind in "biu" and not self.scalar_output:  # (gradients: _check_scalar_dtype)
                # As for gradients: an integer or boolean output is piecewise constant. Its
                # "Jacobian" was 0 on some backends, the identity (autograd's astype) or
                # difference quotients of rounded values (finite differences) on others.
                raise AnydiffTypeError(
                    f"f returned an output of dtype {dt}: an integer or boolean output is "
                    "piecewise constant and has no useful derivative. Return floating-point "
                    "values (e.g. xp.astype(y, xp.float64)), or leave that part out of what is "
                    "differentiated."
                )
            if not np.issubdtype(dt, np.number) and dt != np.bool_:
                raise AnydiffValueError(f"f returned a non-numeric leaf of type {type(leaf)}.")

    def _check_scalar_dtype(self, dt: np.dtype, v_dtype: np.dtype) -> None:
        """gradient / hessian / hvp differentiate a real floating-point scalar: a complex one
        would silently lose its imaginary part, an integer or boolean one has no derivative.
        ``v_dtype`` is the dtype f was evaluated at: a complex v for a real x is a complex-step
        evaluation, whose complex output says nothing about f's output at real points."""
        if dt.kind == "f" or (
            dt.kind == "c" and v_dtype.kind == "c" and self.x_layout.dtype.kind != "c"
        ):
            return
        op = self.op_name or "this operator"
        if dt.kind == "c":
            hint = (
                "For a complex-valued f use jacobian (or pullback with a complex cotangent); if "
                "f is real-valued but computed in complex arithmetic, return its real part "
                "(xp.real(...))."
            )
        else:
            hint = (
                "An integer or boolean output is piecewise constant and has no useful derivative; "
                "return a floating-point value (no comparisons, casts to int or rounding on the "
                "way), or use jacobian / pullback for non-scalar or non-real outputs."
            )
        raise AnydiffTypeError(
            f"{op} needs f to return a real floating-point scalar, but f returned a scalar of "
            f"dtype {dt}. {hint}"
        )

    @staticmethod
    def _describe(y: Any, td: Any) -> str:
        if td.is_leaf:
            return f"an array of shape {tuple(getattr(y, 'shape', ()))}"
        return f"a pytree {td}"


class Raveled:
    """A scalar-output FlatFunction seen with output shape ``(1,)`` (for generic pullbacks);
    checks and layout recording stay with the wrapped function."""

    scalar_output = False
    m = 1

    def __init__(self, F: FlatFunction) -> None:
        self.F = F

    def __getattr__(self, item: str) -> Any:
        return getattr(self.F, item)

    def flat(self) -> Raveled:
        return self

    def __call__(self, v: Any, *ctx: Any) -> Any:
        y = self.F(v, *ctx)
        return y if len(y.shape) == 1 else y.reshape(-1)


class Adapter:
    """Base class of backend adapters. Subclasses set ``native_kind`` and write the primitives.

    Attributes:
        backend: the backend descriptor (e.g. ``AutoJax(mode=None)``).
        native_kind: the array kind ``f`` receives (``"numpy"``, ``"jax"``, ``"torch"``).
        accepts: further kinds :meth:`asarray` takes without a NumPy round trip.
        cache_unprepared: unprepared calls ask :meth:`program_key` whether an earlier
            preparation computes the same program (for compiling backends), and reuse it.
    """

    native_kind: str = "numpy"
    accepts: frozenset[str] = frozenset()
    cache_unprepared: bool = False
    #: run the plain kernel once inside prepare_* (compiling backends compile there).
    compile_on_prepare: bool = False
    #: kernels take NumPy arrays for x and T as they are (e.g. jitted JAX functions).
    kernels_accept_numpy: bool = False
    #: the jacobian builder needs the output size before the first call.
    jacobian_needs_output: bool = True

    def __init__(self, backend: AbstractBackend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backend!r})"

    # ---- arrays ---------------------------------------------------------------------------
    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        """NumPy array (or native array) -> native array of ``dtype``."""
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def scalar(self, value: Any, like: Any) -> Any:
        """A Python number returned by ``f`` as a native 0-d array."""
        return self.asarray(np.asarray(value))

    def eye(self, n: int, dtype: np.dtype) -> Any:
        return self.asarray(np.eye(n, dtype=dtype))

    def ones(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.asarray(np.ones(shape, dtype=dtype))

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return np.concatenate(arrays, axis=axis)

    def stack(self, arrays: list[Any]) -> Any:
        return np.stack(arrays)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """A fresh buffer for the in-place form ``f(y, x)``."""
        return np.zeros(shape, dtype=dtype)

    def context(self, role: str, value: Any) -> Any:
        """A context value as ``f`` receives it (arrays converted, other objects as they are)."""
        return value

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        """Evaluate ``F`` once (used to learn the output layout at preparation)."""
        return F(x, *ctx)

    def translate_error(self, exc: BaseException, F: FlatFunction) -> AnydiffError | None:
        """Map a framework exception to an anydiff error with a hint, or None to re-raise it."""
        return None

    def program_key(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        """For an unprepared call: trace ``F`` (``f`` as it is now) at native ``x`` / ``ctx``
        and return an ``anydiff._unprepared.Program`` (a fingerprint equal only for traces that
        compute the same thing, constants compared by value, and a function computing the
        traced program), or None to prepare afresh on every call (the default).

        Contexts are arguments of the program, not constants: their values stay out of the
        key. See :mod:`anydiff._unprepared`."""
        return None

    def guarded(self, F: FlatFunction, thunk: Callable[[], Any]) -> Any:
        """Run ``thunk`` (a call of, or tracing through, ``F``) with ``translate_error`` applied."""
        try:
            return thunk()
        except Exception as exc:
            self.raise_translated(exc, F)

    def raise_translated(self, exc: Exception, F: FlatFunction) -> NoReturn:
        """Raise ``exc`` as the anydiff error :meth:`translate_error` makes of it (original
        chained), or unchanged: anydiff errors and f's own exceptions keep class and message."""
        if not isinstance(exc, AnydiffError):
            if "anydiff-bridge-exception" in str(exc):
                # a bridged function's own exception, reported by compiled code (jax.jit) as text
                from .bridge._exceptions import reraise_original

                reraise_original(exc)
            translated = self.translate_error(exc, F)
            if translated is not None:
                raise translated from exc
        raise exc

    # ---- primitives (required) ------------------------------------------------------------
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        raise NotImplementedError

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        raise NotImplementedError

    # ---- operators (generic defaults; override with native transforms) -----------------------
    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.derivative(self, F, spec, need_value)

    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.gradient(self, F, spec, need_value)

    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.jacobian(self, F, spec, need_value)

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.hvp(self, self, F, spec, need_value)

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.hessian(self, self, F, spec, need_value)

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return generic.second_derivative(self, self, F, spec, need_value)

    # Same-point variants may exploit a fixed x (linearisation, stored VJP closures). The
    # defaults ignore the point; the interface checks that calls use the prepared point.
    def make_pushforward_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        return self.make_pushforward(F, spec, need_value)

    def make_pullback_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        return self.make_pullback(F, spec, need_value)

    def make_hvp_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        return self.make_hvp(F, spec, need_value)

    # ---- helpers for jacobian mode choice -----------------------------------------------------
    def prefers_forward(self, n: int, m: int) -> bool:
        mode = getattr(self.backend, "mode", None)
        if mode in ("forward", "reverse"):
            return mode == "forward"
        fwd, rev = self.backend.forward_fast, self.backend.reverse_fast
        if fwd and rev:
            return n <= m
        return fwd or not rev


class SecondOrderAdapter(Adapter):
    """Runs ``SecondOrder(outer, inner)``: first-order operators on ``inner``; second-order ones
    differentiate ``inner``'s first derivative with ``outer`` (native path when both are equal).
    Pairs where ``outer`` cannot trace ``inner``'s derivative code raise ``UnsupportedError``
    when a second-order kernel is built (the rule: :mod:`anydiff._second_order`)."""

    def __init__(self, backend: AbstractBackend, outer: Adapter, inner: Adapter) -> None:
        super().__init__(backend)
        self.outer, self.inner = outer, inner
        for attr in (
            "native_kind", "accepts", "cache_unprepared", "compile_on_prepare",
            "kernels_accept_numpy", "jacobian_needs_output",
        ):
            setattr(self, attr, getattr(inner, attr))
        self.compile_on_prepare = second_order.needs_prepare_call(outer, inner)

    def __getattr__(self, item: str) -> Any:
        # Arrays, errors and first-order builders are the inner adapter's.
        return getattr(self.inner, item)

    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        return self.inner.asarray(a, dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        return self.inner.to_numpy(a)

    def scalar(self, value: Any, like: Any) -> Any:
        return self.inner.scalar(value, like)

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return self.inner.concat(arrays, axis)

    def stack(self, arrays: list[Any]) -> Any:
        return self.inner.stack(arrays)

    def eye(self, n: int, dtype: np.dtype) -> Any:
        return self.inner.eye(n, dtype)

    def ones(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.inner.ones(shape, dtype)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.inner.output_buffer(shape, dtype)

    def context(self, role: str, value: Any) -> Any:
        return self.inner.context(role, value)

    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        return self.inner.evaluate(F, x, ctx)

    def translate_error(self, exc: BaseException, F: FlatFunction) -> AnydiffError | None:
        return self.outer.translate_error(exc, F) or self.inner.translate_error(exc, F)

    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return self.inner.make_pushforward(F, spec, need_value)

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return self.inner.make_pullback(F, spec, need_value)

    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return self.inner.make_derivative(F, spec, need_value)

    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return self.inner.make_gradient(F, spec, need_value)

    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        return self.inner.make_jacobian(F, spec, need_value)

    def _same(self) -> bool:
        return self.outer.backend == self.inner.backend

    def _mixed(self, build: Callable, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        # The pair rule is checked when the kernel is built, i.e. inside prepare_*.
        second_order.require_supported(self.outer.backend, self.inner.backend)
        kernel = build(self.outer, self.inner, F, spec, need_value)
        return second_order.with_complex_step_check(kernel, self.outer, self.inner, F)

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        if self._same():
            return self.inner.make_hvp(F, spec, need_value)
        return self._mixed(generic.hvp, F, spec, need_value)

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        if self._same():
            return self.inner.make_hessian(F, spec, need_value)
        return self._mixed(generic.hessian, F, spec, need_value)

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        if self._same():
            return self.inner.make_second_derivative(F, spec, need_value)
        return self._mixed(generic.second_derivative, F, spec, need_value)

    def make_hvp_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        if self._same():
            return self.inner.make_hvp_same_point(F, spec, need_value, x, ctx)
        return self.make_hvp(F, spec, need_value)

    def make_pushforward_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        return self.inner.make_pushforward_same_point(F, spec, need_value, x, ctx)

    def make_pullback_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        return self.inner.make_pullback_same_point(F, spec, need_value, x, ctx)


def unsupported(cause: str, capable: list[str], exc: BaseException | None = None) -> UnsupportedError:
    """An UnsupportedError naming the cause and the backends that can do it."""
    err = UnsupportedError(f"{cause} Backends that can: {', '.join(capable)}.")
    if exc is not None:
        err.__cause__ = exc
    return err
