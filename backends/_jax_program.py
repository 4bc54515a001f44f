"""The program fingerprint of JAX unprepared calls (see :mod:`anydiff._unprepared`).

``program(F, x, dyn, merge, split)`` traces the flat function once with ``jax.make_jaxpr`` at the call's
signature and returns

* a **key**: a canonical, hashable form of the closed jaxpr. Variables are numbered by first
  appearance; each equation contributes its primitive, its operands, its parameters (nested
  jaxprs recursively, with their constants), its output avals and its context. Everything that
  can carry data is compared **by value** (dtype, shape and bytes): the closed jaxpr's constants
  (captured JAX and NumPy arrays), literals (captured Python floats and 0-d arrays become
  literals), arrays in parameters. JAX arrays above 64 KiB are compared by identity instead:
  they are immutable, so that is sound, and it spares a copy to the host on every call.
  Python control flow on captured values needs no special care: it changes the traced jaxpr.
  Callables in parameters (custom JVP/VJP rules, callbacks) are compared by identity (the key
  holds them, so an identity is never recycled): JAX creates them afresh for every trace except
  where its own ``jax.jit`` trace cache hands back the same jaxpr, i.e. where JAX itself would
  reuse the rule. Anything else unhashable makes the program unprovable (no key: the call is
  prepared afresh).
* a **frozen function** that evaluates that jaxpr (``jax.core.eval_jaxpr``) with snapshots of
  its NumPy data: a captured NumPy array appears in the jaxpr as a *view* of the caller's array
  (so are 0-d arrays captured as literals), and an in-place change after the call must not reach
  a program that is reused later. JAX arrays are immutable and stay as they are.

Contexts are arguments of the traced program (invars), so their values are not in the key.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.extend import core as jcore

try:  # JAX's host array that carries a weak type (literals, constants); private, hence guarded
    from jax._src.literals import TypedNdArray
except ImportError:  # pragma: no cover - other JAX versions
    TypedNdArray = None

try:  # JAX's own tracer entry point (private, hence guarded; see _trace)
    from jax._src import core as _jcore_private
    from jax._src import linear_util as _lu
    from jax._src.interpreters import partial_eval as _pe

    _trace_to_jaxpr = _pe.trace_to_jaxpr_dynamic
    _DEBUG_INFO = _jcore_private.DebugInfo("anydiff unprepared call", "f", None, None)
    _abstractify = _jcore_private.shaped_abstractify
except (ImportError, AttributeError, TypeError):  # pragma: no cover - other JAX versions
    _trace_to_jaxpr = None

from anydiff._protocol import FlatFunction
from anydiff._unprepared import Program


class _NotProvable(Exception):
    """A part of the jaxpr this fingerprint cannot compare safely."""


class _Ident:
    """Compares by identity; holds the object so its id is not reused while the key lives."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ident) and other.obj is self.obj


_SCALARS = (bool, int, str, type(None))
_ATOMIC = frozenset(_SCALARS)
#: JAX arrays larger than this (bytes) are compared by identity (sound: they are immutable).
_BY_IDENTITY = 1 << 16


class _Walker:
    """One pass over a closed jaxpr: the canonical key, the bytes it holds, and (on demand) a
    copy of the jaxpr whose NumPy data are snapshots."""

    def __init__(self) -> None:
        self.nbytes = 0
        # id(NumPy array in the jaxpr) -> (the array, kept alive so the id stays its own; its
        # bytes when the key was made)
        self.snaps: dict[int, tuple[np.ndarray, bytes]] = {}

    # ---- values ---------------------------------------------------------------------------
    def value(self, v: Any) -> Any:
        if isinstance(v, float):  # also TypedFloat; hex keeps -0.0, every bit of the mantissa
            return (type(v), v.hex())
        if isinstance(v, complex):
            return (type(v), v.real.hex(), v.imag.hex())
        if isinstance(v, _SCALARS):
            return (type(v), v)
        if isinstance(v, np.ndarray):
            b = v.tobytes()  # the snapshot the key compares against
            self.nbytes += len(b)
            self.snaps[id(v)] = (v, b)  # the frozen copy is made from b (see snap)
            return ("nd", v.dtype.str, v.shape, getattr(v, "weak_type", False), b)
        if isinstance(v, np.generic):
            return ("np", v.dtype.str, v.tobytes())
        if isinstance(v, jax.Array):
            if isinstance(v, jax.core.Tracer):  # an unprepared call inside another trace
                raise _NotProvable
            self.nbytes += v.nbytes
            if v.nbytes > _BY_IDENTITY:
                # JAX arrays are immutable, so the same array is the same value; comparing a
                # large one by value would copy it to the host on every call.
                return ("jax-id", _Ident(v))
            h = np.asarray(v)
            return ("jax", h.dtype.str, h.shape, v.weak_type, v.sharding, h.tobytes())
        raise _NotProvable

    def param(self, p: Any) -> Any:
        t = type(p)
        if t in _ATOMIC:  # the common case (axes, sizes, flags, names): tagged by type
            return (t, p)
        if t is tuple and all(type(q) in _ATOMIC for q in p):
            return (t, tuple((type(q), q) for q in p))
        if isinstance(p, jcore.ClosedJaxpr):
            return ("closed", self.closed(p))
        if isinstance(p, jcore.Jaxpr):
            return ("jaxpr", self.jaxpr(p))
        if isinstance(p, (tuple, list)):
            return (t, tuple(self.param(q) for q in p))
        if isinstance(p, dict):
            return (dict, tuple((k, self.param(p[k])) for k in sorted(p)))
        if isinstance(p, (float, complex, np.ndarray, np.generic, jax.Array, *_ATOMIC)):
            return self.value(p)
        if hasattr(p, "call_wrapped"):  # a rule (lu.WrappedFun): see _rule
            try:
                return ("rule", _rule(p, 0))
            except _NotProvable:
                return _Ident(p)
        if callable(p):
            return _Ident(p)  # callbacks (run at run time), classes: see the module docstring
        try:
            hash(p)
        except TypeError:
            raise _NotProvable from None
        return p  # dtypes, shardings, meshes, enums, ...: compared by their own __eq__

    # ---- jaxprs ---------------------------------------------------------------------------
    def closed(self, cj: Any) -> tuple:
        return (self.jaxpr(cj.jaxpr), tuple(self.value(c) for c in cj.consts))

    def jaxpr(self, jx: Any) -> tuple:
        names: dict[Any, int] = {}
        Literal, DropVar, value, param = jcore.Literal, jcore.DropVar, self.value, self.param

        def bind(v: Any) -> Any:
            if type(v) is DropVar:
                return ("drop", v.aval)
            names[v] = len(names)
            return v.aval

        def atom(v: Any) -> Any:
            try:
                return names[v]
            except TypeError:  # Literals are unhashable
                if type(v) is Literal:
                    return ("lit", v.aval, value(v.val))
                raise
            except KeyError:  # a free variable: not a closed program
                raise _NotProvable from None

        parts: list[Any] = [
            tuple([bind(v) for v in jx.constvars]), tuple([bind(v) for v in jx.invars])
        ]
        append = parts.append
        for e in jx.eqns:
            ins = tuple([atom(v) for v in e.invars])
            # In the order JAX bound them: a different order can only make a (safe) miss.
            params = tuple([(k, param(p)) for k, p in e.params.items()])
            outs = tuple([bind(v) for v in e.outvars])
            # e.ctx (compute type, threefry mode, ...) is interned: compared by identity
            eff = e.effects
            append((e.primitive, ins, params, outs,
                    eff if type(eff) is frozenset else frozenset(eff), e.ctx))
        append(tuple([atom(v) for v in jx.outvars]))
        append(frozenset(jx.effects))
        return tuple(parts)

    # ---- the frozen copy --------------------------------------------------------------------
    def snap(self, v: Any) -> Any:
        """The NumPy array ``v`` of the jaxpr as the key saw it (read-only, on the key's bytes)."""
        hit = self.snaps.get(id(v)) if isinstance(v, np.ndarray) else None
        if hit is None:
            return v
        snap = np.frombuffer(hit[1], dtype=v.dtype).reshape(v.shape)
        if TypedNdArray is not None and isinstance(v, TypedNdArray):
            return TypedNdArray(snap, v.aval)  # keeps the weak type the jaxpr was traced with
        return snap

    def frozen_closed(self, cj: Any) -> Any:
        return jcore.ClosedJaxpr(self.frozen_jaxpr(cj.jaxpr), [self.snap(c) for c in cj.consts])

    def frozen_jaxpr(self, jx: Any) -> Any:
        eqns = []
        for e in jx.eqns:
            invars = [
                jcore.Literal(self.snap(v.val), v.aval) if isinstance(v, jcore.Literal) else v
                for v in e.invars
            ]
            params = {k: self.frozen_param(p) for k, p in e.params.items()}
            eqns.append(e.replace(invars=invars, params=params))
        outvars = [
            jcore.Literal(self.snap(v.val), v.aval) if isinstance(v, jcore.Literal) else v
            for v in jx.outvars
        ]
        return jx.replace(eqns=eqns, outvars=outvars)

    def frozen_param(self, p: Any) -> Any:
        if isinstance(p, jcore.ClosedJaxpr):
            return self.frozen_closed(p)
        if isinstance(p, jcore.Jaxpr):
            return self.frozen_jaxpr(p)
        if isinstance(p, (tuple, list)):
            items = [self.frozen_param(q) for q in p]
            if all(a is b for a, b in zip(items, p)):
                return p  # nothing inside to snapshot (the common case, e.g. dimension numbers)
            return p._make(items) if hasattr(p, "_make") else type(p)(items)
        return self.snap(p)


_RULE_DEPTH = 12


def _rule(o: Any, depth: int) -> Any:
    """A by-value fingerprint of a custom-derivative rule (``custom_jvp_call``'s
    ``jvp_jaxpr_fun``) when everything it runs is JAX's own code: then the rule is a pure
    function of what is fingerprinted here (code objects, the values its closures hold, avals,
    tree definitions), so e.g. ``jax.nn.relu`` keeps a program reusable. JAX creates the
    wrapper objects afresh on every trace, hence no identity. The per-trace plumbing (the trace
    object, output stores, memo caches) does not change what is computed and is left out. Any
    function outside JAX (a user's rule, which may read changing data when it is traced later)
    raises _NotProvable: the caller then compares the rule by identity, i.e. never reuses."""
    if depth > _RULE_DEPTH:
        raise _NotProvable
    d = depth + 1
    if hasattr(o, "call_wrapped"):
        return ("wf", _rule(o.f, d), tuple(_rule(t, d) for t in o.transforms), _rule(o.params, d))
    if isinstance(o, types.FunctionType):
        if not (o.__module__ or "").startswith("jax."):
            raise _NotProvable
        cells = []
        for c in o.__closure__ or ():
            try:
                v = c.cell_contents
            except ValueError:  # an empty cell
                v = None
            if isinstance(v, dict) and o.__qualname__.endswith("_memoize.<locals>.memoized"):
                continue  # the memo of a pure function
            cells.append(_rule(v, d))
        return ("fn", o.__code__, tuple(cells), _rule(o.__defaults__, d))
    if isinstance(o, functools.partial):
        return ("partial", _rule(o.func, d), _rule(o.args, d), _rule(o.keywords, d))
    if isinstance(o, (tuple, list)):
        return (type(o), tuple(_rule(q, d) for q in o))
    if isinstance(o, dict):
        return (dict, tuple((k, _rule(v, d)) for k, v in o.items()))
    t = type(o)
    if t is object or t.__name__ in _PLUMBING:
        return (t,)
    if t in _ATOMIC or isinstance(o, (jax.core.AbstractValue, jax.tree_util.PyTreeDef)):
        return (t, o)
    if t.__module__.startswith("jax.") and t.__name__ in ("custom_jvp", "custom_vjp"):
        return _Ident(o)  # JAX's own custom function objects (their rules were checked above)
    raise _NotProvable


# Per-trace objects a rule's closures hold that do not change what it computes.
_PLUMBING = frozenset({"DynamicJaxprTrace", "Store", "EqualStore"})


def _trace(fn: Callable, x: Any, dyn: tuple) -> Any:
    """The closed jaxpr of ``fn(x, dyn)`` (one array out), as ``jax.make_jaxpr(fn)(x, dyn)``.

    An unprepared call traces on every call, so the trace is the cost to beat: JAX's tracer
    entry point (``trace_to_jaxpr_dynamic``, what ``make_jaxpr`` ran before it went through
    ``jax.jit(...).trace``) gives the same jaxpr for about two thirds of the time, skipping the
    creation of a ``jit`` wrapper, its argument parsing and its trace caches (which would only
    miss: ``fn`` is new on every call). Other JAX versions use ``jax.make_jaxpr``."""
    if _trace_to_jaxpr is None:  # pragma: no cover - other JAX versions
        return jax.make_jaxpr(fn)(x, dyn)
    leaves, tree = jax.tree_util.tree_flatten((x, dyn))
    avals = [_abstractify(a) for a in leaves]
    unflatten = jax.tree_util.tree_unflatten

    def flat(*vals: Any) -> list:
        return [fn(*unflatten(tree, vals))]

    jaxpr, _, consts = _trace_to_jaxpr(_lu.wrap_init(flat, debug_info=_DEBUG_INFO), avals)
    return jcore.ClosedJaxpr(jaxpr, consts)


def program(
    F: FlatFunction,
    x: Any,
    dyn: tuple,
    merge: Callable[[tuple], tuple],
    split: Callable[[tuple], tuple],
) -> Program | None:
    """Trace ``F(x, *merge(dyn))`` (``dyn``: the array leaves of the contexts, traced as
    arguments; ``split`` is the inverse of ``merge``) and fingerprint it; None when the jaxpr
    holds something not comparable. Runs under the caller's x64 setting, the kernel's."""
    closed = _trace(lambda v, d: F(v, *merge(d)), x, dyn)
    walker = _Walker()
    try:
        key = walker.closed(closed)
        hash(key)
    except (_NotProvable, TypeError):
        return None
    # The frozen copy is built on first use (a miss compiles it; on a hit it is never needed),
    # from the snapshots taken for the key: later changes to the caller's arrays cannot reach it.
    state: list[Any] = [closed, walker]
    lock = threading.Lock()

    def run(v: Any, *ctx: Any) -> Any:
        if len(state) == 2:
            with lock:
                if len(state) == 2:
                    fn = jcore.jaxpr_as_fun(state[1].frozen_closed(state[0]))
                    state[:] = [fn]
        return state[0](v, *split(ctx))[0]

    return Program(key, run, walker.nbytes)
