"""JAX: ``AutoJax(mode=None, jit=True)`` on JAX's own transforms.

Every operator is one JAX transform of the flat function ``F`` (see :mod:`anydiff._protocol`),
compiled once per preparation with ``jax.jit`` when ``backend.jit`` is True:

=====================  ===================================================================
operator               transform
=====================  ===================================================================
pushforward            ``jax.jvp``, ``jax.vmap`` over the ``(k, n)`` stack of tangents
pullback               ``jax.vjp``, ``jax.vmap`` over the ``(k, m)`` stack of cotangents
gradient               ``jax.vjp`` with cotangent 1 (what ``jax.value_and_grad`` does)
jacobian               ``jax.jacfwd`` (``n <= m`` or ``mode="forward"``) / ``jax.jacrev``
derivative             ``jax.jvp`` along 1
second_derivative      ``jax.jvp`` of ``jax.jvp``
hvp                    forward over reverse: ``jax.jvp`` of the gradient
hessian                ``jax.hessian`` (``jacfwd(jacrev)``)
same-point variants    ``jax.linearize`` / ``jax.vjp`` once at preparation, then only the
                       linear map (a pytree argument of the compiled kernel)
=====================  ===================================================================

Arrays: a NumPy array from the caller goes to the compiled kernel as it is (``jax.jit`` takes
NumPy arrays on its fast C++ path, several times cheaper than ``jnp.asarray`` first); ``f`` sees
JAX arrays (tracers) because it only ever runs under a transform. A float64 (complex128) ``x``
runs under ``jax.enable_x64(True)``, so it is differentiated in float64 whatever JAX's global
setting; float32 stays float32.

Contexts: array leaves are traced arguments of the compiled kernel; every other leaf (Python
ints, strings, objects) is a *static* argument, compared by value when hashable and by identity
otherwise, so a changed value recompiles instead of reusing a stale trace. A mutable leaf (an
object whose attributes ``f`` reads: anything but numbers, strings, None, dtypes, functions and
tuples of them) may change in place while it stays the same object, which no comparison sees:
a call with one traces ``f`` afresh and reuses compiled code only for an equal jaxpr with
equal constants, as unprepared calls do (see ``_jax_program``).

Complex numbers: JAX's ``vjp`` is the transpose ``w -> w^T J``; anydiff's pullback is
the adjoint ``J^H w = conj(vjp(conj(w)))`` and the gradient of a real ``f`` of complex ``x`` is
``df/dRe x + i df/dIm x = conj(jax.grad(f))``. Jacobians of complex ``x`` are pushforwards of
the real basis (columns ``J e_j``), as on every other backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Spec, unsupported
from anydiff._unprepared import Program

from . import _jax_program
from ._jax_contexts import _fresh_for_mutable, _is_complex, _merge_ctx, _split_ctx, _wide, _x64

# ---- transforms of F (traced; x of shape (n,)) ----------------------------------------------


def _value_and_grad(Fc: Callable, complex_x: bool) -> Callable:
    """``v -> (f(v), gradient)`` for scalar ``f``: ``jax.value_and_grad``'s construction (a vjp
    of 1), which also serves complex outputs; conjugated for complex ``x``."""

    def vg(v: Any) -> tuple:
        y, pb = jax.vjp(Fc, v)
        (g,) = pb(jnp.ones_like(y))
        return y, (jnp.conj(g) if complex_x else g)

    return vg


def _pushforwards(fn: Callable, x: Any, T: Any, has_aux: bool = False) -> tuple:
    """``(fn(x), rows J t_i)`` for a ``(k, n)`` stack; vmap only when k > 1."""
    T = T.astype(x.dtype)
    if T.shape[0] == 1:
        out = jax.jvp(fn, (x,), (T[0],), has_aux=has_aux)
        return (out[0], out[1][None], *out[2:])
    axes = (None, 0, None) if has_aux else (None, 0)
    return jax.vmap(lambda t: jax.jvp(fn, (x,), (t,), has_aux=has_aux), out_axes=axes)(T)


def _adjoint_rows(pb: Callable, W: Any, y_dtype: Any, complex_any: bool) -> Any:
    """Rows ``J^H w_i`` from JAX's transpose ``pb(w) = w^T J``: ``conj(pb(conj(w)))``."""
    W = W.astype(y_dtype)
    if complex_any:
        W = jnp.conj(W)
    rows = pb(W[0])[0][None] if W.shape[0] == 1 else jax.vmap(lambda w: pb(w)[0])(W)
    return jnp.conj(rows) if complex_any else rows


class Adapter(_Base):
    """Kernels are ``jax.jit``-compiled JAX transforms of ``F`` (see the module docstring)."""

    native_kind = "jax"
    cache_unprepared = True
    compile_on_prepare = True
    kernels_accept_numpy = True  # jax.jit takes NumPy arrays on its fast path

    # ---- arrays ---------------------------------------------------------------------------
    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        """NumPy stays NumPy (``jax.jit`` converts it on its fast path; ``f`` only ever sees
        tracers); JAX arrays stay JAX arrays, cast under x64 when 64-bit."""
        if isinstance(a, np.ndarray):
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        if isinstance(a, jax.Array):
            if dtype is None or a.dtype == dtype:
                return a
            with _x64(_wide(dtype)):
                return a.astype(dtype)
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        # A zero-copy, read-only view of JAX's buffer, as np.asarray gives when JAX is called
        # directly: a copy would cost as much as the gradient itself for cheap f at large n.
        # Users who write into results copy them (documented in docs/backends.md).
        return np.asarray(a)

    def scalar(self, value: Any, like: Any) -> Any:
        return jnp.asarray(value)

    def _join(self, arrays: list[Any], fn_np: Callable, fn_jnp: Callable) -> Any:
        if all(isinstance(a, np.ndarray) for a in arrays):
            return fn_np(arrays)
        with _x64(any(_wide(a.dtype) for a in arrays)):
            return fn_jnp(arrays)

    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        return self._join(
            arrays, lambda a: np.concatenate(a, axis=axis), lambda a: jnp.concatenate(a, axis)
        )

    def stack(self, arrays: list[Any]) -> Any:
        return self._join(arrays, np.stack, jnp.stack)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        with _x64(_wide(dtype)):
            return jnp.zeros(shape, dtype=dtype)

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        """Learn the output layout: abstract evaluation under jit (no FLOPs); eagerly with
        JAX arrays when ``jit=False`` (value-dependent control flow is then allowed)."""
        dyn, st = _split_ctx(ctx)
        with _x64(_wide(x.dtype)):
            if self.backend.jit:
                return jax.eval_shape(lambda v, d: F(v, *_merge_ctx(d, st)), x, dyn)
            dyn = tuple(jnp.asarray(a) for a in dyn)
            return F(jnp.asarray(x), *_merge_ctx(dyn, st))

    def program_key(self, F: FlatFunction, x: Any, ctx: tuple) -> Program | None:
        """The jaxpr of ``F`` at this signature, constants by value (see ``_jax_program``).
        None without jit: eager calls compile nothing and always run ``f`` as it is."""
        if not self.backend.jit:
            return None
        dyn, st = _split_ctx(ctx)
        with _x64(_wide(x.dtype)):
            return _jax_program.program(
                F, x, dyn, lambda d: _merge_ctx(d, st), lambda c: _split_ctx(c)[0]
            )

    def translate_error(self, exc: BaseException, F: FlatFunction) -> Any:
        # A JAX error that a plain ValueError / TypeError was raised from (NumPy does so when a
        # tracer is written into a NumPy array): the hint must be on the raised error, not only
        # in its __cause__. Other exception classes raised from a JAX error are f's own.
        inner = _jax_cause(exc) if type(exc) in (ValueError, TypeError) else None
        if inner is not None:
            if "array element" in str(exc):
                return unsupported(
                    "f writes a traced value into a NumPy array (b = np.zeros(...); b[i] = ...); "
                    "NumPy arrays hold plain numbers, so JAX cannot trace through them. Build the "
                    "array with JAX instead: b = jnp.zeros(n).at[i].set(value) (or jnp.stack of "
                    "the entries), or use a backend that can fill buffers in place.",
                    ["engine", "finitediff",
                     "torch (with torch buffers: xp = ad.array_namespace(x); b = xp.zeros(n))"],
                    exc,
                )
            translated = self.translate_error(inner, F)
            if translated is not None:
                translated.__cause__ = exc
            return translated
        mutation = ["torch", "finitediff", "engine"]
        anything = ["finitediff", "engine", "torch", "autograd"]
        if isinstance(exc, jax.errors.TracerArrayConversionError):
            return unsupported(
                "f converts an array JAX is tracing to NumPy (np.asarray, np.array, a NumPy "
                "function, or .item()/float() on a traced array); JAX can only differentiate "
                "jax.numpy code. Write f with jax.numpy (or ad.array_namespace), or use a backend "
                "that runs plain NumPy code.",
                ["finitediff", "engine", "autograd"], exc,
            )
        if isinstance(exc, jax.errors.TracerBoolConversionError):
            return unsupported(
                "f uses Python control flow (if / while / bool()) on a value of x, which "
                "jax.jit cannot trace. Use jnp.where / jax.lax.cond / jax.lax.while_loop, or "
                "AutoJax(jit=False).",
                ["AutoJax(jit=False)", *anything], exc,
            )
        concrete = (jax.errors.ConcretizationTypeError, jax.errors.NonConcreteBooleanIndexError)
        if isinstance(exc, concrete):
            return unsupported(
                "f needs a concrete value of x (int()/float() of a traced array, value-dependent "
                "shapes or boolean-mask indexing), which jax.jit cannot trace. Use "
                "jnp.where / static shapes, or AutoJax(jit=False).",
                ["AutoJax(jit=False)", *anything], exc,
            )
        msg = str(exc)
        if isinstance(exc, TypeError) and "immutable" in msg and "assignment" in msg:
            return unsupported(
                "f assigns into a JAX array in place (x[i] = ...); JAX arrays are immutable. "
                "Write x = x.at[i].set(...) instead, or use a backend that supports mutation.",
                mutation, exc,
            )
        if isinstance(exc, TypeError) and "does not support item assignment" in msg:
            return unsupported(
                "f assigns into an array in place (x[i] = ...), which JAX arrays do not support; "
                "write x = x.at[i].set(...).",
                mutation, exc,
            )
        return None

    # ---- building kernels -------------------------------------------------------------------
    def _kernel(self, core: Callable, spec: Spec) -> Kernel:
        """``core(x, T, ctx) -> outputs`` (a traceable JAX function) as a kernel: compiled once
        when ``backend.jit``; a call then converts nothing and dispatches the compiled code."""
        wide = _wide(spec.dtype)
        if not self.backend.jit:

            def eager(x: Any, T: Any, ctx: tuple) -> tuple:
                dyn, st = _split_ctx(ctx)
                with _x64(wide):
                    # Without jit nothing converts contexts for f: do it here.
                    dyn = tuple(jnp.asarray(a) for a in dyn)
                    return core(x, T, _merge_ctx(dyn, st))

            return eager

        if not spec.ctx_roles:
            # No contexts: a two-argument signature keeps jit's dispatch as short as a direct
            # jax.jit call's.
            plain = jax.jit(lambda x, T: core(x, T, ()))
            if not wide:
                return lambda x, T, ctx: plain(x, T)

            def kernel64_plain(x: Any, T: Any, ctx: tuple) -> tuple:
                if jax.config.jax_enable_x64:  # already on (globally or by the caller)
                    return plain(x, T)
                with jax.enable_x64(True):
                    return plain(x, T)

            return kernel64_plain

        jitted = jax.jit(lambda x, T, d, st: core(x, T, _merge_ctx(d, st)), static_argnums=3)
        if wide:

            def kernel64(x: Any, T: Any, ctx: tuple) -> tuple:
                dyn, st = _split_ctx(ctx)
                with jax.enable_x64(True):
                    return jitted(x, T, dyn, st)

            return kernel64

        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            dyn, st = _split_ctx(ctx)
            return jitted(x, T, dyn, st)

        return kernel

    def _maybe_jit(self, fn: Callable) -> Callable:
        return jax.jit(fn) if self.backend.jit else fn

    # ---- primitives ---------------------------------------------------------------------------
    @_fresh_for_mutable
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def core(x: Any, T: Any, ctx: tuple) -> tuple:
            y, JT = _pushforwards(lambda v: F(v, *ctx), x, T)
            return (y if need_value else None), JT

        return self._kernel(core, spec)

    @_fresh_for_mutable
    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def core(x: Any, W: Any, ctx: tuple) -> tuple:
            y, pb = jax.vjp(lambda v: F(v, *ctx), x)
            complex_any = _is_complex(x.dtype) or _is_complex(y.dtype)
            return (y if need_value else None), _adjoint_rows(pb, W, y.dtype, complex_any)

        return self._kernel(core, spec)

    # ---- native first-order operators -------------------------------------------------------
    @_fresh_for_mutable
    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex(spec.dtype)

        def core(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, g = _value_and_grad(lambda v: F(v, *ctx), complex_x)(x)
            return (y if need_value else None), g

        return self._kernel(core, spec)

    @_fresh_for_mutable
    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def core(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, dy = jax.jvp(lambda v: F(v, *ctx), (x,), (jnp.ones_like(x),))
            return (y if need_value else None), dy

        return self._kernel(core, spec)

    @_fresh_for_mutable
    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        n = spec.n
        m = F.m if F.out_layout is not None else n
        y_complex = F.out_layout is not None and _is_complex(F.out_layout.dtype)
        x_complex = _is_complex(spec.dtype)
        # Reverse mode from real x to complex y would need two pullbacks per row, and for
        # complex x jacfwd/jacrev refuse non-holomorphic f: columns J e_j serve every case.
        forward = self.prefers_forward(n, m) or x_complex or y_complex

        def core(x: Any, _T: Any, ctx: tuple) -> tuple:
            def Fa(v: Any) -> tuple:
                y = F(v, *ctx)
                return y, y

            if x_complex:
                eye = jnp.eye(n, dtype=x.dtype)
                y, JT, _ = jax.vmap(
                    lambda e: jax.jvp(Fa, (x,), (e,), has_aux=True), out_axes=(None, 0, None)
                )(eye)
                J = JT.T
            else:
                J, y = (jax.jacfwd if forward else jax.jacrev)(Fa, has_aux=True)(x)
            return (y if need_value else None), J

        return self._kernel(core, spec)

    # ---- native second-order operators ------------------------------------------------------
    @_fresh_for_mutable
    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def core(x: Any, _T: Any, ctx: tuple) -> tuple:
            one = jnp.ones_like(x)

            def d1(v: Any) -> tuple:
                y, dy = jax.jvp(lambda u: F(u, *ctx), (v,), (one,))
                return dy, y

            dy, d2, y = jax.jvp(d1, (x,), (one,), has_aux=True)
            return (y if need_value else None), dy, d2

        return self._kernel(core, spec)

    @_fresh_for_mutable
    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex(spec.dtype)

        def core(x: Any, T: Any, ctx: tuple) -> tuple:
            vg = _value_and_grad(lambda v: F(v, *ctx), complex_x)
            g, HT = _pushforwards(lambda v: vg(v)[1], x, T)
            return (g if need_value else None), HT

        return self._kernel(core, spec)

    @_fresh_for_mutable
    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex(spec.dtype)

        def core(x: Any, _T: Any, ctx: tuple) -> tuple:
            Fc = lambda v: F(v, *ctx)  # noqa: E731
            if not need_value and not complex_x:
                return None, None, jax.hessian(Fc)(x)
            vg = _value_and_grad(Fc, complex_x)

            def g_aux(v: Any) -> tuple:
                y, g = vg(v)
                return g, (y, g)

            if complex_x:
                # jacfwd refuses complex inputs of non-holomorphic f: columns H e_j directly.
                eye = jnp.eye(x.shape[0], dtype=x.dtype)
                _, HT, aux = _pushforwards(g_aux, x, eye, has_aux=True)
                H = HT.T
            else:
                H, aux = jax.jacfwd(g_aux, has_aux=True)(x)
            y, g = aux
            return (y if need_value else None), (g if need_value else None), H

        return self._kernel(core, spec)

    # ---- same point: the linear map is computed once, at preparation ------------------------
    def _same_point(
        self,
        F: FlatFunction,
        spec: Spec,
        x: Any,
        ctx: tuple,
        at_point: Callable,
        apply: Callable,
        general: Callable[[], Kernel],
    ) -> Kernel:
        """``at_point(Fc, x) -> (value, linear map)`` once; kernel ``apply(map, T)``.

        The interface checks x and Constant arrays against the prepared point; it cannot compare
        non-array contexts, so a changed static context falls back to the general kernel, and
        so does every call when one is mutable (its changes in place are invisible)."""
        wide = _wide(spec.dtype)
        dyn0, st0 = _split_ctx(ctx)
        if st0.volatile:
            return general()
        with _x64(wide):
            if not self.backend.jit:
                dyn0 = tuple(jnp.asarray(a) for a in dyn0)
            value, lin = self._maybe_jit(
                lambda v, d: at_point(lambda u: F(u, *_merge_ctx(d, st0)), v)
            )(x, dyn0)
        applied = self._maybe_jit(apply)
        fallback: list[Kernel] = []

        def kernel(_x: Any, T: Any, ctx: tuple) -> tuple:
            if ctx and _split_ctx(ctx)[1] != st0:
                if not fallback:
                    fallback.append(general())
                return fallback[0](_x, T, ctx)
            with _x64(wide):
                return value, applied(lin, T)

        return kernel

    def make_pushforward_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        def apply(lin: Any, T: Any) -> Any:
            T = T.astype(spec.dtype)
            return lin(T[0])[None] if T.shape[0] == 1 else jax.vmap(lin)(T)

        kernel = self._same_point(
            F, spec, x, ctx, jax.linearize, apply,
            lambda: self.make_pushforward(F, spec, need_value),
        )
        return kernel if need_value else _drop_value(kernel)

    def make_pullback_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        def at_point(Fc: Callable, v: Any) -> tuple:
            return jax.vjp(Fc, v)

        def apply(pb: Any, W: Any) -> Any:
            y_dtype = F.out_layout.dtype if F.out_layout is not None else spec.dtype
            complex_any = _is_complex(spec.dtype) or _is_complex(y_dtype)
            return _adjoint_rows(pb, W, y_dtype, complex_any)

        kernel = self._same_point(
            F, spec, x, ctx, at_point, apply, lambda: self.make_pullback(F, spec, need_value)
        )
        return kernel if need_value else _drop_value(kernel)

    def make_hvp_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        complex_x = _is_complex(spec.dtype)

        def at_point(Fc: Callable, v: Any) -> tuple:
            return jax.linearize(lambda u: _value_and_grad(Fc, complex_x)(u)[1], v)

        def apply(lin: Any, T: Any) -> Any:
            T = T.astype(spec.dtype)
            return lin(T[0])[None] if T.shape[0] == 1 else jax.vmap(lin)(T)

        kernel = self._same_point(
            F, spec, x, ctx, at_point, apply, lambda: self.make_hvp(F, spec, need_value)
        )
        return kernel if need_value else _drop_value(kernel)


_JAX_ERRORS = (
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerBoolConversionError,
    jax.errors.ConcretizationTypeError,
    jax.errors.NonConcreteBooleanIndexError,
)


def _jax_cause(exc: BaseException) -> BaseException | None:
    """The JAX tracer error that a non-JAX ``exc`` was raised *from* (its ``__cause__`` chain,
    a few links deep), or None. Only explicit causes: an exception f raises while handling a
    JAX error (``__context__``) is f's own and propagates unchanged."""
    if isinstance(exc, _JAX_ERRORS):
        return None
    seen, e = 0, exc
    while seen < 5:
        e = e.__cause__
        if e is None:
            return None
        if isinstance(e, _JAX_ERRORS):
            return e
        seen += 1
    return None


def _drop_value(kernel: Kernel) -> Kernel:
    def dropped(x: Any, T: Any, ctx: tuple) -> tuple:
        return (None, *kernel(x, T, ctx)[1:])

    return dropped
