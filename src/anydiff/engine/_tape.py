"""Prepared reverse mode: a recorded tape replayed at new inputs without re-running Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from anydiff._contexts import by_value

from ._errors import EngineError
from ._intercept import traced_call
from ._reverse import ReverseTrace, backward, backward_plan, finish_grad
from ._rules import ADD, MATMUL, POWER, SUBTRACT, dtype_of, shape_of
from ._slices import slice_partition
from ._tracer import Traced, as_output, primal

_DYNAMIC = object()  # marks a context argument that is a tape input (replaced on replay)


def _is_dynamic(a: Any) -> bool:
    # float/complex arrays are tape inputs; integer/boolean arrays and Python objects are
    # compared on replay instead, because they may decide shapes or indices
    return isinstance(a, np.ndarray) and a.dtype.kind in "fc"


_VOLATILE = object()  # marks a mutable argument: a replay cannot see its changes, so re-trace


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return (
                isinstance(a, np.ndarray)
                and isinstance(b, np.ndarray)
                and a.dtype == b.dtype
                and a.shape == b.shape
                and bool(np.array_equal(a, b))
            )
        return type(a) is type(b) and bool(a == b)
    except Exception:  # ambiguous or failing comparisons: treat as changed, re-trace
        return False


def _buffered(nd: Any, vals: list, y_slot: int) -> Callable:
    """The replay function of a node, writing into a buffer reused across replays.

    Reusing output memory keeps replays from churning the allocator (freeing and re-faulting
    pages every call), which otherwise dominates large elementwise workloads.  Only for
    elementwise ufuncs and matmul with a fixed output shape and dtype (guaranteed on replay,
    which requires equal input shapes and dtypes), and never for the returned output.
    """
    y = vals[nd.out]
    impl = nd.prim.impl
    if nd.out == y_slot or type(y) is not np.ndarray or y.ndim == 0:
        return nd.fn
    if nd.prim is POWER:
        c = vals[nd.ins[1]]
        if type(c) in (int, float) and c == 2 and dtype_of(vals[nd.ins[0]]) == y.dtype:
            buf = np.empty_like(y)
            return lambda a, b: np.square(a, out=buf)
        return nd.fn
    if not (isinstance(impl, np.ufunc) and impl.nout == 1):
        return nd.fn
    buf = np.empty_like(y)
    return lambda *a: impl(*a, out=buf)


def _in_place_adds(nodes: list, vals: list, y_slot: int) -> dict[int, Callable]:
    """Replay functions adding into the product they read (``h @ W + c``), by output slot.

    The product's result is then written once and updated while still in cache, instead of
    read again to fill a second buffer.  Only where nothing else reads the product's slot:
    its one reader is the add (or subtract), the product's reverse rule reads its operands,
    not its result, and the add's reads neither operand.
    """
    uses = Counter(i for nd in nodes for i in nd.ins)
    made = {nd.out: nd for nd in nodes}
    fns: dict[int, Callable] = {}
    for nd in nodes:
        if (nd.prim is not ADD and nd.prim is not SUBTRACT) or nd.p:
            continue
        s0, y = nd.ins[0], vals[nd.out]
        src, a = made.get(s0), vals[s0]
        if (
            src is None
            or src.prim is not MATMUL
            or uses[s0] != 1
            or y_slot in (s0, nd.out)
            or type(a) is not np.ndarray
            or type(y) is not np.ndarray
            or a.shape != y.shape
            or a.dtype != y.dtype
            or a.ndim == 0
        ):
            continue
        impl = nd.prim.impl
        fns[nd.out] = lambda a, b, impl=impl: impl(a, b, out=a)
    return fns


class Tape:
    """The reverse-mode tape of ``f(x, *args)`` recorded at one point.

    ``replayable`` is true when no traced value left the engine as a Python value while
    recording (no value-dependent control flow); then :meth:`value_and_grad`, :meth:`vjp` and
    :meth:`value` re-evaluate the recorded primitive operations at the new ``x`` and ``args``
    as a flat loop (no Python from ``f`` runs).  Otherwise each call re-traces ``f``.  Float
    and complex array arguments in ``args`` are tape inputs; other arrays and immutable values
    must be equal to the recorded ones for a replay (if not, the call re-traces), and a
    mutable object (an instance whose attributes ``f`` reads, a list) re-traces every call.

    Contract (as for any tracing JIT): arrays that ``f`` reads from globals or closures, and
    random numbers drawn inside ``f``, are constants of the tape; pass anything that changes
    between calls through ``args``.  A tape reuses its internal buffers between calls, so
    one tape must not be replayed from two threads at once (record one per thread).

    Example::

        tape = record(lambda x, A: np.sum(np.tanh(A @ x) ** 2), x0, A)
        y, g = tape.value_and_grad(x1, A)    # g has the shape of x1
    """

    def __init__(self, f: Callable, x: np.ndarray, args: tuple):
        self.f = f
        self._record(x, args)

    # ------------------------------------------------------------------ recording
    def _record(self, x: Any, args: tuple) -> None:
        x = np.asarray(x)
        if x.dtype.kind not in "fc":
            raise TypeError(f"x must be a float or complex array, got dtype {x.dtype}")
        trace = ReverseTrace()
        x_slot = trace.slot(x, True)
        wrapped = []
        sig: list[Any] = []
        arg_slots: list[int | None] = []
        for a in args:
            if _is_dynamic(a):
                s = trace.slot(a, False)
                wrapped.append(Traced(trace, a, s))
                arg_slots.append(s)
                sig.append((_DYNAMIC, a.shape, a.dtype))
            elif type(a) is Traced:
                # a scratch buffer (an ``ad.Cache`` turned into an engine buffer): f writes it
                # before reading it, so it is compared by identity; one still holding values of
                # an earlier recording's trace is handed over as a plain buffer of its values
                stale = isinstance(a._trace, ReverseTrace)
                wrapped.append(Traced(None, np.array(primal(a))) if stale else a)
                arg_slots.append(None)
                sig.append(a)
            else:
                wrapped.append(a)
                arg_slots.append(None)
                if isinstance(a, np.ndarray):
                    sig.append(a.copy())
                else:
                    sig.append(a if by_value(a) else _VOLATILE)
        y = as_output(traced_call(self.f, Traced(trace, x, x_slot), tuple(wrapped)))
        trace.check_dropped()
        from ._reverse import _unwrap_output

        y_val, y_slot = _unwrap_output(y, trace)
        if isinstance(y_val, Traced):
            raise EngineError("record() does not nest inside other transformations; use vjp()")
        self._trace = trace
        self._x_slot = x_slot
        self._x_sig = (x.shape, x.dtype)
        self._arg_slots = arg_slots
        self._sig = sig
        self._y = y_val
        self._y_slot = y_slot
        self.replayable = trace.replayable
        self.reason = trace.reason
        self._plan = self._make_plan(trace, y_slot)
        self._made = {out for _, _, out in self._plan}
        # decided once per tape; a tape that re-traces on every call would pay it every call
        self._part = slice_partition(trace.nodes, x_slot, x) if trace.replayable else None
        self._bplan = backward_plan(trace.nodes, self._part)

    @staticmethod
    def _make_plan(trace: ReverseTrace, y_slot: int | None) -> list:
        """Only the nodes the output depends on, in order, as ``(fn, ins, out)`` triples."""
        if y_slot is None:
            return []
        live = [False] * len(trace.vals)
        live[y_slot] = True
        keep = []
        for nd in reversed(trace.nodes):
            if live[nd.out]:
                keep.append(nd)
                for i in nd.ins:
                    live[i] = True
        keep.reverse()
        trace.nodes = keep
        in_place = _in_place_adds(keep, trace.vals, y_slot)
        return [(in_place.get(nd.out) or _buffered(nd, trace.vals, y_slot), nd.ins, nd.out) for nd in keep]

    @property
    def ops(self) -> int:
        """Number of recorded primitive operations the output depends on."""
        return len(self._plan)

    def __repr__(self) -> str:
        if self.replayable:
            return f"Tape(ops={self.ops}, replay=True)"
        return f"Tape(ops={self.ops}, replay=False: control flow depended on x at {self.reason!r})"

    # ------------------------------------------------------------------ evaluation
    def _matches(self, x: np.ndarray, args: tuple) -> bool:
        if (x.shape, x.dtype) != self._x_sig or len(args) != len(self._sig):
            return False
        for a, s in zip(args, self._sig):
            if isinstance(s, tuple) and len(s) == 3 and s[0] is _DYNAMIC:
                if not (isinstance(a, np.ndarray) and a.shape == s[1] and a.dtype == s[2]):
                    return False
            elif s is _VOLATILE or not _same(a, s):
                return False
        return True

    def _values_at(self, x: Any, args: tuple) -> list[Any]:
        """Slot values at ``(x, args)``: replayed when possible, else re-recorded."""
        x = np.asarray(x)
        if self.replayable and self._matches(x, args):
            vals = list(self._trace.vals)
            vals[self._x_slot] = x
            for s, a in zip(self._arg_slots, args):
                if s is not None:
                    vals[s] = a
            for fn, ins, out in self._plan:
                vals[out] = fn(*[vals[i] for i in ins])
            return vals
        self._record(x, args)  # re-trace: control flow may differ at this point
        return self._trace.vals

    def _y_of(self, vals: list[Any]) -> Any:
        y = self._y if self._y_slot is None else vals[self._y_slot]
        if type(y) is np.ndarray and (y.base is not None or self._y_slot not in self._made):
            # a view may alias a buffer the next replay overwrites; an output no replayed
            # operation makes (a constant, x itself, an argument) is the tape's or the caller's
            y = y.copy()
        return y

    def value(self, x: np.ndarray, *args: Any) -> Any:
        """``f(x, *args)`` (shape of ``f``'s output)."""
        return self._y_of(self._values_at(x, args))

    def value_and_grad(self, x: np.ndarray, *args: Any) -> tuple[Any, np.ndarray]:
        """``(f(x, *args), ∇f(x))`` for scalar ``f``; the gradient has the shape of ``x``.

        For complex ``x`` the gradient is ``df/dRe x + i df/dIm x`` (real-valued ``f``).
        """
        vals = self._values_at(x, args)
        ys = self._y_slot
        if ys is None:
            y = self._y
            if np.size(y) != 1:
                raise ValueError(f"value_and_grad needs a scalar output, got shape {np.shape(y)}")
            return self._y_of(vals), np.zeros_like(vals[self._x_slot])
        y = self._y_of(vals)
        shp = shape_of(y)
        if shp and int(np.prod(shp)) != 1:
            raise ValueError(f"value_and_grad needs a scalar output, got shape {shp}")
        g = backward(self._bplan, vals, ys, np.ones(shp, dtype=dtype_of(y)), self._x_slot, self._part)
        return y, finish_grad(g, vals[self._x_slot])

    def grad(self, x: np.ndarray, *args: Any) -> np.ndarray:
        """``∇f(x)`` for scalar ``f`` (shape of ``x``)."""
        return self.value_and_grad(x, *args)[1]

    def vjp(self, x: np.ndarray, ws: list, *args: Any) -> tuple[Any, list]:
        """``(f(x, *args), [Jᴴ w for w in ws])``; each ``w`` has the shape of ``f``'s output."""
        vals = self._values_at(x, args)
        return self._y_of(vals), [self._pullback(vals, w) for w in ws]

    def _pullback(self, vals: list[Any], w: Any) -> np.ndarray:
        x = vals[self._x_slot]
        if self._y_slot is None:
            return np.zeros_like(x)
        w = np.asarray(w)
        y = vals[self._y_slot]
        if np.shape(w) != np.shape(y):
            raise ValueError(f"cotangent shape {np.shape(w)} != output shape {np.shape(y)}")
        if dtype_of(y).kind != "c" and w.dtype.kind != "c" and w.dtype != dtype_of(y):
            w = w.astype(dtype_of(y))
        g = backward(self._bplan, vals, self._y_slot, w.reshape(shape_of(y)), self._x_slot, self._part)
        return finish_grad(g, x)


def record(f: Callable, x: np.ndarray, *args: Any) -> Tape:
    """Record the reverse tape of ``f(x, *args)`` at ``x`` (any shape, float or complex).

    ``args`` are non-differentiated contexts (arrays or Python objects).  Returns a
    :class:`Tape`; ``repr(tape)`` says whether it can be replayed.

    Example::

        tape = record(lambda x: np.sum(x ** 2), np.ones(3))
        tape.value_and_grad(np.arange(3.0))   # (5.0, array([0., 2., 4.]))
    """
    return Tape(f, x, args)
