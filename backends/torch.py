"""PyTorch: ``AutoTorch(mode=None)``, on ``torch.func`` with a ``torch.autograd`` fallback.

Every kernel first runs a ``torch.func`` transform (``grad_and_value``, ``jvp``, ``vjp``, ``vmap``
over stacked tangents, ``jvp`` of ``grad`` for second order). ``torch.func`` refuses a few
patterns that plain ``torch.autograd`` records fine, most importantly in-place writes of
x-dependent values into a tensor created outside the transform. When a ``torch.func`` kernel
fails with such an error, the kernel switches (once, and remembers it) to a ``torch.autograd``
implementation: reverse mode through ``torch.autograd.grad``, forward mode through the
double-backward trick (``J t`` is the vector-Jacobian product of ``u -> J^H u``), second order
with ``create_graph=True``. Both paths give the same results, complex numbers included.

Conventions (checked against finite differences in the tests): ``torch.func.jvp`` gives ``J t``,
``torch.func.vjp`` gives ``J^H w``, and ``torch.func.grad`` of a real ``f`` of complex ``x`` gives
``df/dRe x + i df/dIm x``: exactly anydiff's conventions, so no conjugation is needed except for
Jacobian rows built from pullbacks (``J^H e_i = conj(J[i])``).

Only ``torch.func``'s own refusals fall back (``_torch_checks.is_func_refusal``); any other
exception is ``f``'s and propagates unchanged after one evaluation of ``f``. ``float()``,
``.item()``, ``.tolist()`` and ``complex()`` of a tensor that depends on x raise
``UnsupportedError`` on both paths (``_torch_checks``), and no result aliases the kernel's inputs
or a same-point preparation's stored values.

The fallback decision is made by the first call that needs it (preparation builds kernels
without evaluating ``f`` twice) and kept by the kernel. Inside an outer ``torch.func`` transform
(``f`` nested in the user's own ``grad`` / ``vmap``) no fallback is possible; the error is
translated into an :class:`~anydiff.UnsupportedError` with a hint. Forward-mode kernels hold a
process-wide lock because torch's forward-AD levels are not per thread.

Arrays: NumPy inputs become tensors sharing their memory (``torch.from_numpy``); tensors keep
their device and dtype. ``Cache`` contexts are cloned inside the transform on every call so that
``f`` may overwrite them (a tensor created inside a ``torch.func`` transform may be mutated).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import grad, grad_and_value, jvp, vjp, vmap

from anydiff._errors import AnydiffError
from anydiff._generic import chunk_size
from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Spec
from anydiff._pytree import tree_flatten, tree_unflatten
from anydiff.backends._torch_checks import (
    NUMPY_CONVERSION,
    install,
    is_func_refusal,
    owned,
    tracing,
    translate_error,
)
from anydiff.backends._torch_fallback import _jvps, _leaf, _out, _vjp

# ---- errors -----------------------------------------------------------------------------------


# torch's forward-mode AD levels are process-wide state, not per thread: two threads running
# torch.func.jvp at once corrupt each other's tangents. Forward-mode kernels therefore run one
# at a time (re-entrant for nested jvp in one thread); reverse mode runs concurrently.
_FORWARD_LOCK = threading.RLock()


def _nested() -> bool:
    """Inside an outer ``torch.func`` transform (e.g. our gradient differentiated by an outer
    ``jvp``): ``torch.autograd`` cannot stand in there, so no fallback is tried."""
    return torch._C._functorch.maybe_current_level() is not None


def _switching(func_impl: Kernel, autograd_impl: Kernel, func_one: Kernel | None = None) -> Kernel:
    """A kernel that runs ``func_impl`` and moves for good to ``autograd_impl`` the first time
    ``torch.func`` refuses ``f``. Only ``torch.func``'s own refusals fall back: any other error
    is ``f``'s (or a limit both paths share) and propagates unchanged after one evaluation.

    With ``func_one`` the kernel also gets a single-tangent entry ``kernel.one(x, t, ctx)``:
    ``t`` is one flat tangent (no batch axis) and the result has no batch axis either. It is the
    prepared hot path's entry (``Prep.make_hot``): torch operations cost microseconds each, and
    the batch axis would add two (a row view of T, an ``unsqueeze`` of the result) to calls
    that do little else. Both entries share the fallback decision."""
    use_autograd = False

    def fallback(exc: BaseException, run: Callable[[], tuple]) -> tuple:
        """After ``torch.func`` failed with ``exc``: ``run()`` on ``torch.autograd`` if the
        failure is a refusal (then kept for later calls), else ``exc`` unchanged."""
        nonlocal use_autograd
        if _nested() or not is_func_refusal(exc) or NUMPY_CONVERSION[0] in str(exc):
            raise exc
        try:
            out = run()
        except AnydiffError:
            raise
        except Exception as exc2:
            raise exc2 from exc
        use_autograd = True
        return out

    def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
        if use_autograd:
            return owned(autograd_impl(x, T, ctx), x, T, ctx)
        try:
            return owned(func_impl(x, T, ctx), x, T, ctx)
        except AnydiffError:
            raise
        except (RuntimeError, NotImplementedError) as exc:
            return owned(fallback(exc, lambda: autograd_impl(x, T, ctx)), x, T, ctx)

    kernel.uses_autograd = lambda: use_autograd  # type: ignore[attr-defined]
    if func_one is None:
        return kernel

    def autograd_one(x: Any, t: Any, ctx: tuple) -> tuple:
        *head, R = autograd_impl(x, t.unsqueeze(0), ctx)
        return (*head, R[0])

    def one(x: Any, t: Any, ctx: tuple) -> tuple:
        if use_autograd:
            return owned(autograd_one(x, t, ctx), x, t, ctx)
        try:
            return owned(func_one(x, t, ctx), x, t, ctx)
        except AnydiffError:
            raise
        except (RuntimeError, NotImplementedError) as exc:
            return owned(fallback(exc, lambda: autograd_one(x, t, ctx)), x, t, ctx)

    kernel.one = one  # type: ignore[attr-defined]
    return kernel


def _forward_serialised(fn: Kernel) -> Kernel:
    @functools.wraps(fn)
    def locked(x: Any, T: Any, ctx: tuple) -> tuple:
        with _FORWARD_LOCK:
            return fn(x, T, ctx)

    return locked


# ---- arrays -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def _eye(k: int, dtype: np.dtype, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(k, dtype=_torch_dtype(np.dtype(dtype)), device=like.device)


def _basis(k: int, dtype: np.dtype, like: torch.Tensor, width: int) -> list[torch.Tensor]:
    """Rows of ``eye(k)`` in chunks of at most ``SEED_BUDGET / width`` rows: one vmapped call
    per chunk bounds the memory of Jacobians and Hessians with large n."""
    c = chunk_size(k, width)
    if c >= k:
        return [_eye(k, dtype, like)]
    td, chunks = _torch_dtype(np.dtype(dtype)), []
    for s in range(0, k, c):
        r = min(c, k - s)
        B = torch.zeros(r, k, dtype=td, device=like.device)
        i = torch.arange(r, device=like.device)
        B[i, s + i] = 1
        chunks.append(B)
    return chunks


def _stacked(kern: Kernel, x: Any, chunks: list[torch.Tensor], ctx: tuple) -> tuple:
    """Run a batched kernel chunk by chunk: (first output of the first chunk, stacked rows)."""
    y, parts = None, []
    for i, B in enumerate(chunks):
        yi, P = kern(x, B, ctx)
        y = yi if i == 0 else y
        parts.append(P)
    return y, parts[0] if len(parts) == 1 else torch.cat(parts)


def _to(T: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A private copy of tangents on x's device (those converted from NumPy live on the CPU),
    for tangents that ``f`` runs with (``jvp`` seeds). A copy even on the same device: under
    ``jvp`` an ``f`` that mutates its input writes into the dual's tangent, which would be the
    caller's tangent or a kernel's reused seed."""
    return T.clone() if T.device == x.device else T.to(x.device)


def _moved(T: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Cotangents (and the double-backward trick's tangents) on x's device, not copied: they
    only feed backward passes, which never run ``f``, so nothing can write into them; a result
    that is the cotangent itself (``f`` linear and a view) is cloned by ``owned``."""
    if T.is_cpu and x.is_cpu:  # the common case, without building two device objects
        return T
    return T if T.device == x.device else T.to(x.device)


def _fresh(value: Any) -> Any:
    """A clone of every tensor in a (pytree) Cache value, made inside the transform."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    leaves, td = tree_flatten(value)
    return tree_unflatten(td, [a.clone() if isinstance(a, torch.Tensor) else a for a in leaves])


class Adapter(_Base):
    """``AutoTorch(mode)``: ``f`` receives torch tensors; ``mode`` picks Jacobian mode."""

    native_kind = "torch"
    jacobian_needs_output = True

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._local = threading.local()
        install()  # refuse float() / .item() / ... of traced tensors (see _torch_checks)

    # ---- arrays -------------------------------------------------------------------------------
    def asarray(self, a: Any, dtype: np.dtype | None = None) -> torch.Tensor:
        if isinstance(a, torch.Tensor):
            if dtype is not None:
                td = _torch_dtype(np.dtype(dtype))
                if a.dtype != td:
                    return a.to(td)
            return a
        arr = np.asarray(a, dtype=dtype)
        if arr.flags.writeable:
            try:
                return torch.from_numpy(arr)  # shares memory: no copy
            except (TypeError, ValueError):
                pass  # negative strides or a byte-swapped dtype
        # Read-only, byte-swapped or negatively strided arrays need one copy.
        return torch.from_numpy(np.array(arr, dtype=arr.dtype.newbyteorder("="), copy=True))

    def to_numpy(self, a: Any) -> np.ndarray:
        if isinstance(a, torch.Tensor):
            try:
                return a.numpy()  # the common case: CPU, no grad, no lazy conj/neg bit
            except (RuntimeError, TypeError):
                return a.detach().cpu().resolve_conj().resolve_neg().numpy()
        return np.asarray(a)

    def scalar(self, value: Any, like: Any) -> torch.Tensor:
        dt = like.dtype
        if isinstance(value, complex) and not dt.is_complex:
            dt = torch.complex64 if dt == torch.float32 else torch.complex128
        return torch.tensor(value, dtype=dt, device=like.device)

    def eye(self, n: int, dtype: np.dtype) -> torch.Tensor:
        return torch.eye(n, dtype=_torch_dtype(np.dtype(dtype)))

    def ones(self, shape: tuple[int, ...], dtype: np.dtype) -> torch.Tensor:
        return torch.ones(shape, dtype=_torch_dtype(np.dtype(dtype)))

    def concat(self, arrays: list[Any], axis: int = 0) -> torch.Tensor:
        return torch.cat(arrays, dim=axis)

    def stack(self, arrays: list[Any]) -> torch.Tensor:
        return torch.stack(arrays)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> torch.Tensor:
        # Created inside the transform (F calls this), so torch.func lets f write x-dependent
        # values into it; torch.autograd records such writes too.
        device = getattr(self._local, "device", None)
        return torch.zeros(shape, dtype=_torch_dtype(np.dtype(dtype)), device=device)

    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        # x may share memory with the caller's array, and f may write into its input.
        with torch.no_grad():
            return F(x.clone(), *ctx)

    # ---- errors -------------------------------------------------------------------------------
    def translate_error(self, exc: BaseException, F: FlatFunction) -> AnydiffError | None:
        return translate_error(exc)

    # ---- shared pieces ------------------------------------------------------------------------
    def _callable(self, F: Any, spec: Spec) -> Callable:
        """``F(v, *ctx)`` with Cache contexts cloned inside the transform, the device of v
        known to :meth:`output_buffer` for in-place ``f(y, x)``, and conversions of
        x-dependent tensors (``float``, ``.item()``, ...) refused while ``f`` runs."""
        caches = [i for i, r in enumerate(spec.ctx_roles) if r == "cache"]
        inplace = getattr(F, "inplace_layout", None) is not None
        local = self._local

        def Fc(v: Any, *ctx: Any) -> Any:
            if caches:
                ctx = tuple(_fresh(c) if i in caches else c for i, c in enumerate(ctx))
            if inplace:
                local.device = v.device
            with tracing(v):
                return F(v, *ctx)

        return Fc

    # ---- primitives ---------------------------------------------------------------------------
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Fc = self._callable(F, spec)

        @_forward_serialised
        def func_impl(x: Any, T: Any, ctx: tuple) -> tuple:
            # jvp would write f's in-place changes of x through to the caller's array.
            x, T = x.clone(), _to(T, x)

            def fx(v: Any) -> Any:
                return Fc(v, *ctx)

            if T.shape[0] == 1:
                y, jt = jvp(fx, (x,), (T[0],))
                return (y if need_value else None), jt.unsqueeze(0)
            y, JT = vmap(lambda t: jvp(fx, (x,), (t,)), out_dims=(None, 0))(T)
            return (y if need_value else None), JT

        @_forward_serialised
        def func_one(x: Any, t: Any, ctx: tuple) -> tuple:
            x, t = x.clone(), _to(t, x)
            y, jt = jvp(Fc, (x,), (t,)) if not ctx else jvp(lambda v: Fc(v, *ctx), (x,), (t,))
            return (y if need_value else None), jt

        def autograd_impl(x: Any, T: Any, ctx: tuple) -> tuple:
            T = _moved(T, x)
            with torch.enable_grad():
                xl, v, outer = _leaf(x)
                y = Fc(v, *ctx)
                JT = torch.stack(_jvps(y, xl, T, create_graph=outer))
            return (_out(y, outer) if need_value else None), JT

        return _switching(func_impl, autograd_impl, func_one)

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Fc = self._callable(F, spec)

        def func_impl(x: Any, W: Any, ctx: tuple) -> tuple:
            W = _moved(W, x)
            y, fn = vjp(Fc, x) if not ctx else vjp(lambda v: Fc(v, *ctx), x)
            if W.shape[0] == 1:
                return (y if need_value else None), fn(W[0])[0].unsqueeze(0)
            return (y if need_value else None), vmap(fn)(W)[0]

        def func_one(x: Any, w: Any, ctx: tuple) -> tuple:
            w = _moved(w, x)
            # No per-call closure without contexts (the common, hot case).
            y, fn = vjp(Fc, x) if not ctx else vjp(lambda v: Fc(v, *ctx), x)
            return (y if need_value else None), fn(w)[0]

        def autograd_impl(x: Any, W: Any, ctx: tuple) -> tuple:
            W = _moved(W, x)
            with torch.enable_grad():
                xl, v, outer = _leaf(x)
                y = Fc(v, *ctx)
                G = torch.stack([_vjp(y, xl, w, create_graph=outer) for w in W])
            return (_out(y, outer) if need_value else None), G

        return _switching(func_impl, autograd_impl, func_one)

    def make_pullback_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        """The VJP closure is recorded once at x; each call is one backward pass."""
        base = self.make_pullback(F, spec, need_value)
        Fc = self._callable(F, spec)
        try:
            # A private copy: the recorded graph must not see later writes to the caller's x.
            y, fn = vjp(lambda v: Fc(v, *ctx), x.clone())
        except AnydiffError:
            raise
        except (RuntimeError, NotImplementedError) as exc:
            if _nested() or not is_func_refusal(exc):
                raise  # f's own error: once, unchanged
            return base  # torch.func refused f: the general kernel falls back on its own.
        y = y if need_value else None

        def kernel(x_: Any, W: Any, ctx_: tuple) -> tuple:
            W = _moved(W, y if y is not None else x_)
            # The stored value is cloned for each caller; a cotangent passed through (f linear
            # and a view, e.g. a reshape) is cloned by owned().
            y_ = None if y is None else y.clone()
            if W.shape[0] == 1:
                return owned((y_, fn(W[0])[0].unsqueeze(0)), W, x_)
            return owned((y_, vmap(fn)(W)[0]), W, x_)

        return kernel

    # ---- first-order operators ------------------------------------------------------------------
    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Fc = self._callable(F, spec)
        # Built once: each call is one torch.func transform, nothing more (the hot path).
        gv = grad_and_value(Fc) if need_value else grad(Fc)

        if need_value:

            def func_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
                g, y = gv(x, *ctx)
                return y, g

        else:

            def func_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
                return None, gv(x, *ctx)

        def autograd_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
            with torch.enable_grad():
                xl, v, outer = _leaf(x)
                y = Fc(v, *ctx)
                g = _vjp(y, xl, create_graph=outer)
            return (_out(y, outer) if need_value else None), g

        return _switching(func_impl, autograd_impl)

    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        n, m = spec.n, F.m
        forward = self.prefers_forward(n, m)
        out_dtype = F.out_layout.dtype if F.out_layout is not None else spec.dtype
        width = max(n, m)
        if forward:
            pf = self.make_pushforward(F, spec.with_batch(n), need_value)

            def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
                y, JT = _stacked(pf, x, _basis(n, spec.dtype, x, width), ctx)
                return y, JT.T

            return kernel
        x_complex = spec.dtype.kind == "c"
        y_complex = np.dtype(out_dtype).kind == "c"
        pb = self.make_pullback(F, spec.with_batch(m), need_value)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            E = _basis(m, out_dtype, x, width)
            y, rows = _stacked(pb, x, E, ctx)
            if not (x_complex or y_complex):
                return y, rows
            # Reverse mode reads rows off pullbacks. Complex maps need care to give the same J
            # as forward mode (columns J e_j along real unit vectors, like finite differences):
            # a real-linear L(t) = A t + B conj(t) has L^H e_i = conj(A_i) + B_i and
            # L^H (i e_i) = i (conj(A_i) - B_i), so the row A_i + B_i needs both pullbacks.
            if not y_complex:  # real y: B = conj(A), L^H e_i = 2 conj(A_i), row 2 Re(A_i)
                return y, rows.real.to(rows.dtype)
            r1, r2 = rows, _stacked(pb, x, [1j * B for B in E], ctx)[1]
            c, b = (r1 - 1j * r2) / 2, (r1 + 1j * r2) / 2
            return y, c.conj() + b

        return kernel

    # ---- second-order operators -----------------------------------------------------------------
    def _gradient_fn(self, F: FlatFunction, spec: Spec) -> Callable:
        return grad(self._callable(F, spec))

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        """Forward over reverse: ``jvp`` of ``grad``, vmapped over stacked tangents."""
        gfun = self._gradient_fn(F, spec)
        Fc = self._callable(F, spec)

        @_forward_serialised
        def func_impl(x: Any, T: Any, ctx: tuple) -> tuple:
            x, T = x.clone(), _to(T, x)

            def g(v: Any) -> Any:
                return gfun(v, *ctx)

            if T.shape[0] == 1:
                gx, ht = jvp(g, (x,), (T[0],))
                return (gx if need_value else None), ht.unsqueeze(0)
            gx, HT = vmap(lambda t: jvp(g, (x,), (t,)), out_dims=(None, 0))(T)
            return (gx if need_value else None), HT

        @_forward_serialised
        def func_one(x: Any, t: Any, ctx: tuple) -> tuple:
            x, t = x.clone(), _to(t, x)
            gx, ht = (jvp(gfun, (x,), (t,)) if not ctx
                      else jvp(lambda v: gfun(v, *ctx), (x,), (t,)))
            return (gx if need_value else None), ht

        def autograd_impl(x: Any, T: Any, ctx: tuple) -> tuple:
            T = _moved(T, x)
            with torch.enable_grad():
                xl, v, outer = _leaf(x)
                y = Fc(v, *ctx)
                gx = _vjp(y, xl, create_graph=True)
                # H is self-adjoint (as a real-linear map), so its adjoint applied to t is H t.
                HT = torch.stack([_vjp(gx, xl, t, create_graph=outer) for t in T])
            return (_out(gx, outer) if need_value else None), HT

        return _switching(func_impl, autograd_impl, func_one)

    def make_hvp_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        """Reverse over reverse recorded once at x (real x: H is symmetric, so the VJP of the
        gradient is H t); each call is one backward pass of the recorded gradient graph."""
        base = self.make_hvp(F, spec, need_value)
        if spec.dtype.kind == "c":
            return base
        gfun = self._gradient_fn(F, spec)
        try:
            gx, fn = vjp(lambda v: gfun(v, *ctx), x.clone())
        except AnydiffError:
            raise
        except (RuntimeError, NotImplementedError) as exc:
            if _nested() or not is_func_refusal(exc):
                raise  # f's own error: once, unchanged
            return base
        gx = gx if need_value else None

        def kernel(x_: Any, T: Any, ctx_: tuple) -> tuple:
            T = _moved(T, x_)
            gx_ = None if gx is None else gx.clone()  # the stored gradient stays ours
            if T.shape[0] == 1:
                return owned((gx_, fn(T[0])[0].unsqueeze(0)), T, x_)
            return owned((gx_, vmap(fn)(T)[0]), T, x_)

        return kernel

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        """``jvp`` of ``grad_and_value`` along the basis (``torch.func.hessian`` is the same
        jacfwd-of-jacrev but refuses complex x)."""
        n = spec.n
        Fc = self._callable(F, spec)
        gv = grad_and_value(Fc)

        @_forward_serialised
        def func_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
            x = x.clone()

            def g(v: Any) -> Any:
                return gv(v, *ctx)

            batched = vmap(lambda t: jvp(g, (x,), (t,), has_aux=True), out_dims=(None, 0, None))
            parts = [batched(B) for B in _basis(n, spec.dtype, x, n)]
            gx, _, y = parts[0]
            HT = parts[0][1] if len(parts) == 1 else torch.cat([p[1] for p in parts])
            return (y if need_value else None), (gx if need_value else None), HT.T

        hvp_ag = self.make_hvp(F, spec.with_batch(n), True)

        def autograd_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
            # The hvp kernel switches to torch.autograd itself when torch.func refuses f.
            gx, HT = _stacked(hvp_ag, x, _basis(n, spec.dtype, x, n), ctx)
            y = self.evaluate(F, x, ctx) if need_value else None
            return y, (gx if need_value else None), HT.T

        return _switching(func_impl, autograd_impl)

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Fc = self._callable(F, spec)
        one = self.ones((spec.n,), spec.dtype)

        @_forward_serialised
        def func_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
            x, o, o_inner = x.clone(), _to(one, x), _to(one, x)  # one seed per jvp level

            def d1(v: Any) -> tuple:
                y, dy = jvp(lambda u: Fc(u, *ctx), (v,), (o_inner,))
                return dy, y

            dy, d2y, y = jvp(d1, (x,), (o,), has_aux=True)
            if d2y._is_zerotensor():  # f affine in x: torch.func's symbolic zero, not an array
                d2y = torch.zeros(d2y.shape, dtype=d2y.dtype, device=d2y.device)
            return (y if need_value else None), dy, d2y

        def autograd_impl(x: Any, _T: Any, ctx: tuple) -> tuple:
            o = _moved(one, x)
            with torch.enable_grad():
                xl, v, outer = _leaf(x)
                y = Fc(v, *ctx)
                (dy,) = _jvps(y, xl, [o], create_graph=True)
                (d2y,) = _jvps(dy, xl, [o], create_graph=outer)
            return (_out(y, outer) if need_value else None), _out(dy, outer), d2y

        return _switching(func_impl, autograd_impl)
