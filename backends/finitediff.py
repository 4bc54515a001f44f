"""Finite differences on NumPy: ``AutoFiniteDiff(method, rel_step, abs_step)``.

Steps follow careful finite-difference codes (e.g. SciPy's ``approx_derivative``): per
coordinate ``h_i = c * max(1, |x_i|)`` with ``c = eps^(1/2)`` for one-sided differences,
``eps^(1/3)`` for central ones and ``eps^(1/4)`` for second-order stencils, ``eps`` being the
machine epsilon of x's dtype; each step is then rounded so that ``x_i + h_i`` is exact.

Costs (evaluations of ``f``): Jacobian / gradient ``n + 1`` (forward, backward; the value comes
free), ``2n`` (central; ``+1`` with the value), ``n`` (complex step; value free). Complex ``x``
doubles them (real and imaginary directions). Pullbacks build the Jacobian. Hessians use the
four-point stencil ``(f(x+a+b) - f(x+a-b) - f(x-a+b) + f(x-a-b)) / 4ab``: 2 n(n+1) evaluations.
Second-order operators always use central stencils, whatever ``method``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Spec, unsupported

_COMPLEX_STEP = 1e-20


class Adapter(_Base):
    native_kind = "numpy"
    jacobian_needs_output = False

    # ---- steps ------------------------------------------------------------------------------
    def _base(self, dtype: np.dtype, order: int) -> float:
        b = self.backend
        eps = float(np.finfo(dtype).eps)
        if order == 2:
            return b.rel_step if b.rel_step is not None else eps ** 0.25
        if b.method == "complex":
            return _COMPLEX_STEP
        if b.rel_step is not None:
            return b.rel_step
        return eps ** (1 / 3) if b.method == "central" else eps ** 0.5

    def _coord_steps(self, x: np.ndarray, order: int) -> np.ndarray:
        """One step per coordinate, exact in x's dtype."""
        real = x.real.dtype
        if self.backend.abs_step is not None and order == 1:
            h = np.full(x.shape, self.backend.abs_step, dtype=real)
        else:
            h = (self._base(real, order) * np.maximum(1.0, np.abs(x))).astype(real)
        if self.backend.method != "complex" or order == 2:
            xr = x.real
            h = ((xr + h) - xr).astype(real)
            h[h == 0] = np.finfo(real).tiny  # x so large that the step vanished
        return h

    def _dir_step(self, x: np.ndarray, t: np.ndarray, order: int) -> float:
        """One step along direction t, scaled to the sizes of x and t."""
        tn = float(np.max(np.abs(t))) if t.size else 0.0
        if self.backend.abs_step is not None and order == 1:
            return self.backend.abs_step / max(tn, 1e-300)
        xn = float(np.max(np.abs(x))) if x.size else 0.0
        return self._base(x.real.dtype, order) * max(1.0, xn) / max(tn, 1e-300)

    # ---- evaluation -------------------------------------------------------------------------
    @staticmethod
    def _call(F: FlatFunction, v: np.ndarray, ctx: tuple) -> np.ndarray:
        # F gives f a private copy of a NumPy v (FlatFunction), so f may mutate its input.
        return np.asarray(F(v, *ctx))

    def _directional(
        self, F: FlatFunction, x: np.ndarray, d: np.ndarray, h: float, ctx: tuple, f0: Any
    ) -> np.ndarray:
        """Derivative of F at x along d with step h; f0 is F(x) when already known."""
        method = self.backend.method
        if method == "complex":
            if np.iscomplexobj(x) or np.iscomplexobj(d):
                raise unsupported(
                    "AutoFiniteDiff(method='complex') needs real x and real tangents (the "
                    "complex step perturbs the imaginary part).",
                    ["AutoFiniteDiff(method='central')", "jax", "torch", "engine"],
                )
            fy = self._call(F, x + 1j * h * d, ctx)
            if not np.iscomplexobj(fy):
                raise unsupported(
                    "The complex step found a real result: f dropped the imaginary part "
                    "(e.g. np.real, np.abs, float() or a real-dtype buffer), so its derivative "
                    "cannot be read from it.",
                    ["AutoFiniteDiff(method='central')", "jax", "torch", "engine"],
                )
            return fy.imag / h
        if method == "central":
            return (self._call(F, x + h * d, ctx) - self._call(F, x - h * d, ctx)) / (2 * h)
        if method == "forward":
            return (self._call(F, x + h * d, ctx) - f0) / h
        return (f0 - self._call(F, x - h * d, ctx)) / h

    def _value_first(self, F: FlatFunction, x: np.ndarray, ctx: tuple, need_value: bool) -> Any:
        if need_value or self.backend.method in ("forward", "backward"):
            return self._call(F, x, ctx)
        return None

    def _columns(
        self, F: FlatFunction, x: np.ndarray, ctx: tuple, f0: Any, imaginary: bool = False
    ) -> np.ndarray:
        """All partial derivatives, as columns of an (m, n) matrix (imaginary directions if
        asked)."""
        h = self._coord_steps(x, 1)
        n = x.shape[0]
        cols = []
        for j in range(n):
            d = np.zeros(n, dtype=x.dtype)
            d[j] = 1j if imaginary else 1
            cols.append(self._directional(F, x, d, float(h[j]), ctx, f0))
        return np.stack(cols, axis=-1)

    def _jacobians(self, F: FlatFunction, x: np.ndarray, ctx: tuple, need_value: bool):
        f0 = self._value_first(F, x, ctx, need_value)
        J = self._columns(F, x, ctx, f0)
        if self.backend.method == "complex" and need_value and f0 is None:
            f0 = self._call(F, x, ctx)
        J_im = self._columns(F, x, ctx, f0, imaginary=True) if np.iscomplexobj(x) else None
        return f0, J, J_im

    @staticmethod
    def _adjoint(W: np.ndarray, J: np.ndarray, J_im: np.ndarray | None) -> np.ndarray:
        """Rows J^H w: the adjoint of the real-linear map, repacked as complex for complex x."""
        if J_im is None:
            r = W @ np.conj(J)
            return r.real if not np.iscomplexobj(W) and not np.iscomplexobj(J) else r
        return (W @ np.conj(J)).real + 1j * (W @ np.conj(J_im)).real

    # ---- primitives ---------------------------------------------------------------------------
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def kernel(x: np.ndarray, T: np.ndarray, ctx: tuple) -> tuple:
            f0 = self._value_first(F, x, ctx, need_value)
            rows = []
            for t in T:
                if not np.any(t):
                    rows.append(None)
                    continue
                rows.append(self._directional(F, x, t, self._dir_step(x, t, 1), ctx, f0))
            shape = next((r for r in rows if r is not None), None)
            if shape is None:
                shape = f0 if f0 is not None else self._call(F, x, ctx)
            rows = [np.zeros_like(shape, dtype=np.result_type(shape, T)) if r is None else r
                    for r in rows]
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return f0, np.stack(rows)

        return kernel

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def kernel(x: np.ndarray, W: np.ndarray, ctx: tuple) -> tuple:
            f0, J, J_im = self._jacobians(F, x, ctx, need_value)
            return f0, self._adjoint(W, J, J_im)

        return kernel

    # ---- native first-order operators -------------------------------------------------------
    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            f0 = self._value_first(F, x, ctx, need_value)
            J = self._columns(F, x, ctx, f0)
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return f0, J

        return kernel

    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Ff = F.flat()

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            f0, J, J_im = self._jacobians(Ff, x, ctx, need_value)
            g = self._adjoint(np.ones((1, 1), dtype=J.real.dtype), J, J_im)[0]
            return (None if f0 is None else f0.reshape(())), g

        return kernel

    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        jac = self.make_jacobian(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            y, J = jac(x, None, ctx)
            return y, J[:, 0]

        return kernel

    # ---- native second-order operators ------------------------------------------------------
    def _real_only(self, x: np.ndarray, what: str) -> None:
        if np.iscomplexobj(x):
            raise unsupported(
                f"AutoFiniteDiff does not compute {what} for complex x.", ["jax", "torch"]
            )

    def _stencil(
        self, F: FlatFunction, x: np.ndarray, a: np.ndarray, b: np.ndarray, ctx: tuple
    ) -> np.ndarray:
        """Mixed second derivative along step vectors a and b (four-point stencil)."""
        c = self._call
        num = c(F, x + a + b, ctx) - c(F, x + a - b, ctx) - c(F, x - a + b, ctx) + c(F, x - a - b, ctx)
        return num / 4

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        grad = self.make_gradient(F, spec, False)

        def kernel(x: np.ndarray, T: np.ndarray, ctx: tuple) -> tuple:
            self._real_only(x, "Hessian-vector products")
            h = self._coord_steps(x, 2)
            rows = []
            for t in T:
                b = self._dir_step(x, t, 2)
                row = np.empty(x.shape[0], dtype=np.result_type(x, t))
                for i in range(x.shape[0]):
                    a = np.zeros_like(x)
                    a[i] = h[i]
                    row[i] = self._stencil(F, x, a, b * t, ctx) / (h[i] * b)
                rows.append(row)
            g = grad(x, None, ctx)[1] if need_value else None
            return g, np.stack(rows)

        return kernel

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        grad = self.make_gradient(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            self._real_only(x, "Hessians")
            n = x.shape[0]
            h = self._coord_steps(x, 2)
            H = np.empty((n, n), dtype=x.dtype)
            for i in range(n):
                a = np.zeros_like(x)
                a[i] = h[i]
                for j in range(i, n):
                    b = np.zeros_like(x)
                    b[j] = h[j]
                    H[i, j] = H[j, i] = self._stencil(F, x, a, b, ctx) / (h[i] * h[j])
            y, g = grad(x, None, ctx) if need_value else (None, None)
            return y, g, H

        return kernel

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        deriv = self.make_derivative(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            self._real_only(x, "second derivatives")
            h = self._coord_steps(x, 2)
            f0 = self._call(F, x, ctx)
            d2 = (self._call(F, x + h, ctx) - 2 * f0 + self._call(F, x - h, ctx)) / (h[0] * h[0])
            y, dy = deriv(x, None, ctx) if need_value else (None, None)
            return (f0 if need_value else None), dy, d2

        return kernel
