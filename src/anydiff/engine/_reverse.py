"""Reverse mode: record a tape of array operations, then pull cotangents back through it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rules import SETITEM, Lazy, dispatch_operands, dtype_of, fit, shape_of
from ._rules_shape import SETITEM_STEAL
from ._slices import Partition, dest_specs
from ._tracer import Prim, Trace, Traced, as_output, bind, new_level, owned


class Node:
    """One recorded primitive call: ``slots[out] = prim(*slots[ins], **p)``.

    ``fn`` is the primitive bound to its static parameters, ready for replay; ``need`` says
    which inputs depend on ``x`` (``None`` when the output does not, so backward skips it).
    """

    __slots__ = ("prim", "p", "ins", "out", "need", "fn", "meta", "bwd")

    def __init__(self, prim: Prim, p: dict, ins: tuple, out: int, need: tuple | None, xs: list):
        self.prim, self.p, self.ins, self.out, self.need = prim, p, ins, out, need
        impl = prim.impl
        fn = prim.compile(p, xs) if prim.compile is not None else None
        self.fn = fn if fn is not None else (lambda *a: impl(*a, **p)) if p else impl
        # input shapes/dtypes: static for a tape, so cotangents are checked without calls
        self.meta = tuple((shape_of(x), dtype_of(x)) for x in xs) if need is not None else ()
        self.bwd = None
        if need is not None and prim.fast is not None and not any(type(x) is Traced for x in xs):
            self.bwd = prim.fast(p, xs, need, ins, out)

    def set_output(self, y: Any) -> None:
        if self.bwd is not None and type(y) is Traced:
            self.bwd = None  # nested transformation: the general (dispatching) rule is needed


class ReverseTrace(Trace):
    """A reverse-mode transformation: every operation on its traced arrays is recorded.

    ``vals[s]`` is the value in slot ``s`` (inputs, constants, results); ``needs[s]`` whether
    it depends on the differentiated input.  ``replayable`` turns false (with ``reason``) as
    soon as a traced value leaves the engine as a Python value.
    """

    def __init__(self) -> None:
        self.level = new_level()
        self.vals: list[Any] = []
        self.needs: list[bool] = []
        self.nodes: list[Node] = []
        self.replayable = True
        self.reason: str | None = None

    def slot(self, v: Any, need: bool) -> int:
        self.vals.append(v)
        self.needs.append(need)
        return len(self.vals) - 1

    def process(self, prim: Prim, args: list, params: dict) -> Any:
        args, rebind = dispatch_operands(prim, args, self.level)
        if rebind:
            return bind(prim, args, params)
        ins = []
        xs = []
        any_need = False
        needs = self.needs
        for a in args:
            if type(a) is Traced and a._trace is self:
                s = a._aux
                xs.append(a._value)
                any_need = any_need or needs[s]
            else:
                s = self.slot(a, False)
                xs.append(a)
            ins.append(s)
        y = bind(prim, xs, params)
        need = any_need and prim.diff and dtype_of(y).kind in "fc"
        out = self.slot(y, need)
        node = Node(prim, params, tuple(ins), out, tuple(needs[s] for s in ins) if need else None, xs)
        node.set_output(y)
        self.nodes.append(node)
        return Traced(self, y, out)

    def lift(self, value: Any) -> Traced:
        return Traced(self, value, self.slot(value, False))

    def carries(self, t: Traced) -> bool:
        return self.needs[t._aux]

    def note_escape(self, reason: str) -> None:
        if self.replayable:
            self.replayable = False
            self.reason = reason


def backward_plan(nodes: list[Node], part: Partition | None = None) -> list[tuple]:
    """The nodes that take part in the backward pass, reversed, as flat tuples.

    Each is ``(out, ins, targets, bwd, vjp, params, need, accum, lazy_ok, steal, dest)`` where
    ``targets`` lists ``(k, slot, shape, dtype)`` for the inputs that need a cotangent and
    ``lazy_ok`` says the fast closure ``bwd`` accepts a :class:`Lazy` cotangent; ``steal``
    (buffer writes) computes the rule inside the output's cotangent array when the backward
    pass owns it; ``dest`` (with a :class:`Partition` of the input, see :func:`dest_specs`)
    says which cotangents ``bwd.into`` writes straight into the input's gradient.
    """
    dests = dest_specs(nodes, part) if part is not None else {}
    plan = []
    for nd in reversed(nodes):
        if nd.need is None:
            continue
        targets = tuple(
            (k, i, shp, dt) for k, (i, m, (shp, dt)) in enumerate(zip(nd.ins, nd.need, nd.meta)) if m
        )
        lazy_ok = nd.bwd is not None and getattr(nd.bwd, "lazy", False)
        steal = None
        if nd.prim is SETITEM and nd.need[0] and targets[0][0] == 0:
            steal = SETITEM_STEAL
        acc, dest = nd.prim.accum, dests.get(nd.out)
        plan.append((nd.out, nd.ins, targets, nd.bwd, nd.prim.vjp, nd.p, nd.need, acc, lazy_ok, steal, dest))
    return plan


def backward(
    plan: list[tuple], vals: list[Any], out_slot: int, seed: Any, in_slot: int, part: Partition | None = None
) -> Any:
    """Cotangent of slot ``in_slot`` given cotangent ``seed`` on slot ``out_slot``.

    Walks the plan (from :func:`backward_plan`) once; cotangents of broadcast operands are
    summed back to the operand's shape and cast to its dtype (``fit``).  Returns ``None``
    when ``in_slot`` does not influence ``out_slot``; a result that may alias internal
    buffers comes wrapped (pass it through :func:`finish_grad`).  ``part`` (from
    :func:`slice_partition`, for ``in_slot``) lets slice cotangents be assigned, not added.
    """
    n = len(vals)
    grads: list[Any] = [None] * n
    owned = [False] * n  # grads[i] is a fresh array of ours: safe to accumulate into in place
    grads[out_slot] = seed
    if part is not None and part.slot != in_slot:
        part = None
    assigned: list[int] = []  # slices of the partitioned input done
    made: list[np.ndarray] = []  # the partitioned input's gradient, once allocated here
    written: dict[int, np.ndarray] = {}  # slice slot -> the view of the gradient written into
    ndarray = np.ndarray
    add = np.add
    for o, ins, targets, bwd, vjp, p, need, acc, lazy_ok, steal, dest in plan:
        g = grads[o]
        if g is None:
            continue
        grads[o] = None  # every consumer of slot o came later: its cotangent is complete
        tg = type(g)
        if steal is not None and (tg is ndarray or tg is Lazy) and grads[ins[0]] is None:
            # a buffer write: the buffer's cotangent is g with the written entries zeroed, done
            # in g itself (O(written entries), not a copy of the buffer per write)
            _, i0, shp, dt = targets[0]
            if tg is Lazy:
                g = g.value()
            if type(g) is ndarray and g.shape == shp and g.dtype == dt:
                if tg is Lazy or not owned[o] or not g.flags.writeable:
                    g = g.copy()  # once per chain of writes: then the pass owns it
                gv = steal(g, [vals[j] for j in ins], p)
                grads[i0] = g
                owned[i0] = True
                if len(targets) > 1 and targets[1][0] == 1:
                    _, i1, shp1, dt1 = targets[1]
                    c = gv if gv.shape == shp1 and gv.dtype == dt1 else fit(gv, shp1, dt1)
                    prev = grads[i1]
                    if prev is None:
                        grads[i1] = c
                        owned[i1] = False
                    else:
                        if type(prev) is Lazy:
                            prev = prev.value()
                        grads[i1] = prev + c
                        owned[i1] = type(grads[i1]) is ndarray
                continue
            tg = type(g)
        if tg is Lazy and not (lazy_ok or acc is not None):
            g = g.value()
            tg = type(g)
        if part is not None and o in part.idx and _own_grad(part, grads, owned, made):
            # a disjoint slice of the input (see Partition): assign, no zeros + add; skipped
            # when a product already wrote exactly this cotangent into the gradient
            dv = written.pop(o, None)
            if dv is None or not _is_view(g, dv):
                grads[part.slot][part.idx[o]] = (g.s if g.g is None else g.value()) if tg is Lazy else g
            assigned.append(o)
            continue
        if acc is not None and (tg is ndarray or tg is Lazy) and type(grads[targets[0][1]]) is not Traced:
            # scatter into the input's buffer, no zeros + add (a traced partial sum, under
            # forward-over-reverse, takes the general route below)
            _, i, shp, dt = targets[0]
            buf = grads[i]
            if buf is None or not owned[i] or type(buf) is not ndarray:
                fresh = np.zeros(shp, dtype=dt)
                if buf is not None:
                    fresh += buf.value() if type(buf) is Lazy else buf
                grads[i] = buf = fresh
                owned[i] = True
            acc(buf, g, [vals[j] for j in ins], p)
            continue
        if bwd is not None and (tg is ndarray or tg is Lazy):
            if (
                dest is not None
                and part is not None
                and tg is ndarray
                and _own_grad(part, grads, owned, made)
            ):
                cs = _into(bwd, g, vals, dest, made[0], written)
            else:
                cs = bwd(g, vals)
        else:
            if tg is Lazy:
                g = g.value()
            cs = vjp(g, [vals[j] for j in ins], vals[o], need, p)
        for k, i, shp, dt in targets:
            c = cs[k]
            if c is None:
                continue
            prev = grads[i]
            tc = type(c)
            if tc is ndarray:
                pass
            elif tc is complex or tc is float or tc is int or isinstance(c, np.generic):
                # a rule's scalar arithmetic can yield a Python number (``1j * np.float64``
                # is a Python complex) or a NumPy scalar (``g / 2`` of a 0-d array): make it
                # an array once here, so the next rule's fast closure takes it
                c = np.asarray(c)
            elif tc is Lazy:
                if c.shape == shp and c.dtype == dt:
                    if prev is None:
                        grads[i] = c  # stays lazy until something needs the array
                        continue
                    if owned[i] and type(prev) is ndarray:
                        if c.g is None:
                            add(prev, c.s, out=prev)
                        elif c.s == -1:
                            np.subtract(prev, c.g, out=prev)
                        else:
                            add(prev, c.value(), out=prev)
                        continue
                c = c.value()
            if c.shape != shp or c.dtype != dt:
                c = fit(c, shp, dt)
            if prev is None:
                grads[i] = c
            elif owned[i] and type(c) is ndarray and type(prev) is ndarray:
                add(prev, c, out=prev)
            else:
                if type(prev) is Lazy:
                    prev = prev.value()
                grads[i] = prev + c
                owned[i] = type(grads[i]) is ndarray
    g = grads[in_slot]
    if made and part is not None and part.cover and g is made[0] and len(assigned) < len(part.idx):
        for o in part.idx.keys() - set(assigned):
            g[part.idx[o]] = 0  # a slice no cotangent reached (the buffer was not zeroed)
    if type(g) is Lazy:
        g = g.value()
    return g if owned[in_slot] else _Borrowed(g)


def _own_grad(part: Partition, grads: list, owned: list, made: list) -> bool:
    """Make sure the partitioned input's gradient is a buffer of this pass (allocated once,
    and kept in ``made``); false if another cotangent got there first."""
    i = part.slot
    if grads[i] is None:
        grads[i] = part.alloc()
        owned[i] = True
        made.append(grads[i])
    return owned[i] and bool(made) and grads[i] is made[0]


def _into(bwd: Any, g: np.ndarray, vals: list, dest: tuple, buf: np.ndarray, written: dict) -> tuple:
    """``bwd(g, vals)``, writing the cotangents ``dest`` names into their slices of ``buf``."""
    if g.dtype != buf.dtype:
        return bwd(g, vals)
    outs = tuple(None if d is None else buf[d[1]].reshape(d[2]) for d in dest)
    cs = bwd.into(g, vals, outs)
    for d, ov in zip(dest, outs):
        if d is not None:
            written[d[0]] = ov
    return cs


def _is_view(g: Any, dv: np.ndarray) -> bool:
    """``g`` is ``dv`` reshaped (the same contiguous memory)."""
    return (
        type(g) is np.ndarray
        and g.base is dv.base
        and g.size == dv.size
        and g.flags.c_contiguous
        and g.__array_interface__["data"][0] == dv.__array_interface__["data"][0]
    )


class _Borrowed:
    """Marks a result that may alias internal memory (a cotangent stored as is)."""

    __slots__ = ("g",)

    def __init__(self, g: Any):
        self.g = g


def finish_grad(g: Any, x: Any) -> Any:
    """A gradient the caller may keep and modify: never a view or a reused buffer."""
    if type(g) is _Borrowed:
        g = g.g
        if type(g) is np.ndarray:
            return g.copy()
    if g is None:
        return np.zeros_like(x)
    if isinstance(g, np.ndarray) and (g.base is not None or not g.flags.writeable):
        return g.copy()  # a view (of a seed, a broadcast, ...) must not alias anything
    if not isinstance(g, (np.ndarray, Traced)):
        return np.asarray(g)
    return g


def trace_reverse(f: Any, x: Any, args: tuple) -> tuple[ReverseTrace, int, Any, int | None]:
    """Run ``f(x, *args)`` under a fresh reverse trace.

    Returns ``(trace, x_slot, y, y_slot)`` where ``y`` is the plain (or lower-level) output
    value and ``y_slot`` its tape slot (``None`` if the output does not depend on the tape).
    """
    trace = ReverseTrace()
    xs = trace.slot(x, dtype_of(x).kind in "fc")
    y = as_output(f(Traced(trace, x, xs), *args))
    trace.check_dropped()
    y, y_slot = _unwrap_output(y, trace)
    return trace, xs, owned(y, x), y_slot


def _unwrap_output(y: Any, trace: ReverseTrace) -> tuple[Any, int | None]:
    if type(y) is Traced:
        if y._trace is trace:
            return y._value, y._aux
        if y._trace is None:
            return y._value, None
        if not y._trace.level < trace.level:
            from ._errors import EngineError

            raise EngineError("a traced array from another transformation escaped into the output")
    return y, None
