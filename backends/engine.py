"""``AutoEngine(mode)``: anydiff's own AD engine (``anydiff.engine``) on plain NumPy code.

Reverse mode records a tape on the first call of a kernel (inside ``prepare_*``) and replays it
at new points without re-running ``f``'s Python; the engine itself falls back to re-tracing when
the recorded run's control flow depended on x. Forward mode pushes all tangents of a batch
through ``f`` in one pass. Second order is forward-over-reverse.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from anydiff import engine
from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Spec


def _nested(x: Any, ctx: tuple) -> bool:
    """Whether a call runs inside another engine transformation: x or a context is traced, or
    f may read a traced value of the outer function from its closure (``grad`` of
    ``lambda y: x * y`` inside ``f(x)``).  A tape cannot record there; the nestable path can."""
    from anydiff.engine._intercept import tracing_here

    return engine.is_traced(x) or any(engine.is_traced(c) for c in ctx) or tracing_here()


class _TapeKernel:
    """Holds the tape of one prepared function; replays are serialised because a tape reuses
    its buffers between calls."""

    def __init__(self, F: FlatFunction) -> None:
        self.F = F
        self.tape: engine.Tape | None = None
        self.lock = threading.Lock()

    def vjp(self, x: np.ndarray, ws: list, ctx: tuple) -> tuple[Any, list]:
        if _nested(x, ctx):
            # Called inside another engine transformation (second order): no tape.
            y, pull = engine.vjp(self.F, x, *ctx)
            return y, [pull(w) for w in ws]
        with self.lock:
            if self.tape is None:
                self.tape = engine.record(self.F, x, *ctx)
            return self.tape.vjp(x, ws, *ctx)

    def value_and_grad(self, x: np.ndarray, ctx: tuple) -> tuple[Any, Any]:
        if _nested(x, ctx):
            return engine.value_and_grad(self.F, x, *ctx)
        with self.lock:
            if self.tape is None:
                self.tape = engine.record(self.F, x, *ctx)
            return self.tape.value_and_grad(x, *ctx)

    def __repr__(self) -> str:
        return repr(self.tape) if self.tape is not None else "Tape(not recorded yet)"


class Adapter(_Base):
    native_kind = "numpy"
    accepts = frozenset({"engine"})
    compile_on_prepare = True  # records the tape inside prepare_*

    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        if engine.is_traced(a):
            return a
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> Any:
        # a traced result (a derivative computed inside an enclosing engine trace) stays traced
        return a if engine.is_traced(a) else np.asarray(a)

    def output_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return engine.empty_buffer(shape, dtype)

    def context(self, role: str, value: Any) -> Any:
        if role == "cache" and isinstance(value, np.ndarray):
            # f may write traced values into its scratch space: give it an engine buffer.
            buf = engine.empty_buffer(value.shape, value.dtype)
            buf[...] = value
            return buf
        return value

    @property
    def _reverse(self) -> bool:
        return self.backend.mode == "reverse"

    # ---- primitives ---------------------------------------------------------------------------
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            y, JT = engine.jvp(F, x, list(T), *ctx)
            return y, np.stack(JT) if not any(engine.is_traced(r) for r in JT) else _stack(JT)

        return kernel

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        tk = _TapeKernel(F)

        def kernel(x: Any, W: Any, ctx: tuple) -> tuple:
            y, rows = tk.vjp(x, list(W), ctx)
            return y, np.stack(rows) if not any(engine.is_traced(r) for r in rows) else _stack(rows)

        kernel.tape = tk  # type: ignore[attr-defined]
        return kernel

    # ---- native operators -------------------------------------------------------------------
    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        if not self._reverse:
            return super().make_gradient(F, spec, need_value)
        tk = _TapeKernel(F)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            return tk.value_and_grad(x, ctx)

        kernel.tape = tk  # type: ignore[attr-defined]
        return kernel

    def _grad_fn(self, F: FlatFunction):
        def g(z: Any, *ctx: Any) -> Any:
            return engine.grad(F, z, *ctx)

        return g

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        g = self._grad_fn(F)

        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            gx, HT = engine.jvp(g, x, list(T), *ctx)
            return gx, np.stack(HT)

        return kernel

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        g = self._grad_fn(F)
        eye = np.eye(spec.n, dtype=spec.dtype)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            gx, cols = engine.jvp(g, x, list(eye), *ctx)
            y = F(x, *ctx) if need_value else None
            return y, gx, np.stack(cols, axis=-1)

        return kernel

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        one = [np.ones(1, dtype=spec.dtype)]

        def d(z: Any, *ctx: Any) -> Any:
            return engine.jvp(F, z, one, *ctx)[1][0]

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            dy, (d2,) = engine.jvp(d, x, one, *ctx)
            y = F(x, *ctx) if need_value else None
            return y, dy, d2

        return kernel


def _stack(rows: list) -> Any:
    return np.stack(rows)
