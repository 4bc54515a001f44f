"""Forward mode: tangents travel with values, a batch of them as an extra leading axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rules import dispatch_operands, dtype_of, fit_tangent, shape_of
from ._tracer import Prim, Trace, Traced, as_output, bind, new_level, owned


class ForwardTrace(Trace):
    """A forward-mode transformation carrying ``batch`` tangent directions per array.

    A traced array of this trace holds its value and a tangent of shape ``(batch, *shape)``
    (or ``None`` for an exactly-zero tangent, which costs nothing downstream).
    """

    def __init__(self, batch: int):
        self.level = new_level()
        self.batch = batch

    def process(self, prim: Prim, args: list, params: dict) -> Any:
        args, rebind = dispatch_operands(prim, args, self.level)
        if rebind:
            return bind(prim, args, params)
        xs = []
        ts = []
        any_t = False
        for a in args:
            if type(a) is Traced and a._trace is self:
                xs.append(a._value)
                t = a._aux
                ts.append(t)
                any_t = any_t or t is not None
            else:
                xs.append(a)
                ts.append(None)
        y = bind(prim, xs, params)
        if not any_t or not prim.diff or dtype_of(y).kind not in "fc":
            return y
        t = prim.jvp(ts, xs, y, params)
        if t is None:
            return y
        return Traced(self, y, fit_tangent(t, shape_of(y), dtype_of(y)))

    def lift(self, value: Any) -> Traced:
        return Traced(self, value, None)

    def carries(self, t: Traced) -> bool:
        return t._aux is not None


def jvp_batched(f: Any, x: Any, T: Any, args: tuple) -> tuple[Any, Any]:
    """``f(x, *args)`` and its Jacobian applied to a batch ``T`` of shape ``(B, *x.shape)``.

    Returns ``(y, JT)`` with ``JT`` of shape ``(B, *y.shape)``: one forward pass for all B.
    """
    B = shape_of(T)[0]
    if dtype_of(T) != dtype_of(x):
        T = T.astype(dtype_of(x))
    trace = ForwardTrace(B)
    y = as_output(f(Traced(trace, x, T), *args))
    trace.check_dropped()
    if type(y) is Traced and y._trace is trace:
        if y._aux is not None:
            return owned(y._value, x), y._aux
        y = y._value
    elif type(y) is Traced and y._trace is None:
        y = y._value
    return owned(y, x), np.zeros((B,) + shape_of(y), dtype=dtype_of(y))
