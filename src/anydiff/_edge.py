"""Kernels for an ``x`` of size 0 (and Jacobians of a ``y`` of size 0), the same on every
backend.

With no input coordinates every derivative is an empty array (a gradient of shape ``(0,)``, a
Jacobian ``(m, 0)``, a Hessian ``(0, 0)``, ...), while the value ``y = f(x)`` still has to be
computed, and checked (a gradient still needs a real scalar output). Backends' own builders
stack one block per seed and fail on zero seeds, so these kernels replace them: ``f`` is
evaluated once through the backend's pushforward along the single empty tangent (which every
backend handles, and which returns native arrays), and the empty results are reshaped from it.
Kernel signatures and outputs are those of :mod:`anydiff._protocol`. A Jacobian of an empty
``y`` is likewise an empty ``(0, n)`` array, built the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._protocol import Adapter, FlatFunction, Kernel, Spec


def empty_x_kernel(
    adapter: Adapter, F: FlatFunction, spec: Spec, op_name: str, need_value: bool
) -> Kernel:
    """The kernel of ``op_name`` (pullback, gradient, jacobian, hessian or hvp) for ``n == 0``,
    or of jacobian for ``m == 0``."""
    pf = adapter.make_pushforward(F.flat(), spec.with_batch(1), True)
    seed = adapter.asarray(np.zeros((1, spec.n), dtype=spec.dtype), spec.dtype)
    n = spec.n

    def evaluate(x: Any, ctx: tuple) -> tuple[Any, Any]:
        """``(y as (m,), a native empty array)``: the value, and a zero-size block of J t (native
        type, result dtype) that every empty result is reshaped from (n == 0 or m == 0)."""
        y, JT = pf(x, seed, ctx)
        return y, JT.reshape(-1)[:0]

    if op_name == "pullback":
        def kernel(x: Any, W: Any, ctx: tuple) -> tuple:
            y, e = evaluate(x, ctx)
            return (y if need_value else None), e.reshape((W.shape[0], 0))
    elif op_name == "gradient":
        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, e = evaluate(x, ctx)
            return (y.reshape(()) if need_value else None), e
    elif op_name == "jacobian":
        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, e = evaluate(x, ctx)
            return (y if need_value else None), e.reshape((y.shape[0], n))
    elif op_name == "hessian":
        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, e = evaluate(x, ctx)
            return (y.reshape(()) if need_value else None), e, e.reshape((0, 0))
    elif op_name == "hvp":
        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            _, e = evaluate(x, ctx)  # evaluated all the same: f must return a real scalar
            return (e if need_value else None), e.reshape((T.shape[0], 0))
    else:  # pushforward works natively; derivative and second_derivative have n == 1
        raise AssertionError(op_name)
    return kernel
