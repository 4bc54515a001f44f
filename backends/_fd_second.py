"""Finite-difference second-order operators (Hessian-vector products, Hessians, second
derivatives) from the four-point stencil ``(f(x+a+b) - f(x+a-b) - f(x-a+b) + f(x-a-b)) / 4ab``,
always central whatever the backend's ``method`` and ``order``: a mixin of the finite-difference
adapter, which supplies the steps (``_coord_steps``, ``_dir_step``), the evaluation (``_call``)
and the first-order kernels these reuse for the value forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anydiff._protocol import FlatFunction, Kernel, Spec, unsupported
from anydiff.backends import _fd_stencils as st


class SecondOrderStencils:
    """``make_hvp`` / ``make_hessian`` / ``make_second_derivative`` of ``AutoFiniteDiff``."""

    # provided by the adapter
    _call: Any
    _coord_steps: Any
    _dir_step: Any
    make_gradient: Any
    make_derivative: Any

    def _real_only(self, spec: Spec, what: str) -> None:
        if spec.dtype.kind == "c":
            raise unsupported(
                f"AutoFiniteDiff does not compute {what} for complex x.", ["jax", "torch"]
            )

    def _stencil(self, F: FlatFunction, x: Any, a: Any, b: Any, ctx: tuple) -> Any:
        """Mixed second derivative along step vectors a and b (four-point stencil)."""
        c = self._call
        num = c(F, x + a + b, ctx) - c(F, x + a - b, ctx) - c(F, x - a + b, ctx) + c(F, x - a - b, ctx)
        return num / 4

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "Hessian-vector products")
        grad = self.make_gradient(F, spec, False)

        def products(x: np.ndarray, T: np.ndarray, ctx: tuple) -> list:
            h = self._coord_steps(x, 2, False, F)
            rows = []
            for t in T:
                b = self._dir_step(x, t, 2, F=F)
                row = np.empty(x.shape[0], dtype=np.result_type(x, t))
                for i in range(x.shape[0]):
                    a = np.zeros_like(x)
                    a[i] = h[i]
                    row[i] = self._stencil(F, x, a, b * t, ctx) / (h[i] * b)
                rows.append(row)
            return rows

        def kernel(x: np.ndarray, T: np.ndarray, ctx: tuple) -> tuple:
            rows = st.sized(F, x, lambda: products(x, T, ctx))
            g = grad(x, None, ctx)[1] if need_value else None
            return g, np.stack(rows)

        return kernel

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "Hessians")
        grad = self.make_gradient(F, spec, need_value)

        def matrix(x: np.ndarray, ctx: tuple) -> np.ndarray:
            n = x.shape[0]
            h = self._coord_steps(x, 2, False, F)
            H = np.empty((n, n), dtype=x.dtype)
            for i in range(n):
                a = np.zeros_like(x)
                a[i] = h[i]
                for j in range(i, n):
                    b = np.zeros_like(x)
                    b[j] = h[j]
                    H[i, j] = H[j, i] = self._stencil(F, x, a, b, ctx) / (h[i] * h[j])
            return H

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            H = st.sized(F, x, lambda: matrix(x, ctx))
            y, g = grad(x, None, ctx) if need_value else (None, None)
            return y, g, H

        return kernel

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "second derivatives")
        deriv = self.make_derivative(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            f0 = self._call(F, x, ctx)
            h = self._coord_steps(x, 2, False, F)
            d2 = (self._call(F, x + h, ctx) - 2 * f0 + self._call(F, x - h, ctx)) / (h[0] * h[0])
            y, dy = deriv(x, None, ctx) if need_value else (None, None)
            return (f0 if need_value else None), dy, d2

        return kernel
