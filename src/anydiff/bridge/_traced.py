"""``differentiate_with(f, "jax")`` at large sizes: fresh by tracing, no value comparison.

The general freshness check (:mod:`anydiff.bridge._fresh`) evaluates ``f`` eagerly for the value
and runs every derivative in its value form, to compare the two values. On JAX both cost
compute that grows with the size: an eager call dispatches op by op (about 3x a compiled one at
n = 10⁵), and the value form computes what the derivative alone does not need (for
``tanh(x) * x + sin(x)`` the pullback needs no ``sin``: ``value_and_pullback`` costs twice
``pullback``). Above :data:`TRACED_MIN_SIZE` inputs the bridge takes JAX's fingerprinted path
instead, fresh by construction:

* the **value** traces ``f`` at the signature (the JAX adapter's ``program_key``: the jaxpr with
  its constants compared by value) and runs the compiled program kept for an equal fingerprint
  (compiled once per distinct program; a change of f's data changes the fingerprint);
* the first-order **derivatives** are those of the program that computed the value at the same
  ``x`` in this computation (:func:`derivative`: prepared once per program on its frozen
  function), so a grad step traces ``f`` once; when that program is unknown, and for second
  derivatives, anydiff's *unprepared* JAX operators (``ad.pullback(f, "jax", x, w)`` etc.),
  which trace ``f`` again and do the same for their own kernels (:mod:`anydiff._unprepared`).

A trace costs a few hundred microseconds at most, independent of n, which is why small sizes
keep the eager path: there its compute is cheaper than a trace.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Any

import numpy as np

from .._backend_types import AutoJax
from .._pytree import tree_flatten, tree_unflatten
from ._core import Signature, signature_of

#: inputs (flat size) from which ``differentiate_with(f, AutoJax(jit=True))`` traces instead of
#: comparing values: where one trace (~0.3 ms) costs less than the eager value and the value
#: forms' extra compute (measured crossing near 10⁴ for a few elementwise operations).
TRACED_MIN_SIZE = 1 << 14
#: compiled value programs kept per signature (a closure that changes often makes new ones).
PROGRAMS_PER_SIGNATURE = 4
#: recent (x, y, program) records of the value route per signature, for the derivatives.
RECENT_VALUES = 4


def applies(backend: Any, sig: Signature) -> bool:
    """Whether the traced path serves this backend and input signature."""
    return (isinstance(backend, AutoJax) and backend.jit and sig.size >= TRACED_MIN_SIZE
            and len(set(sig.dtypes)) <= 1)


def _unflatten_jax(sig: Signature, v: Any) -> Any:
    """Flat traced ``(size,)`` vector -> pytree of JAX leaves (each its shape and dtype)."""
    if len(sig.shapes) == 1:  # the common case: no slice in the trace (a shorter fingerprint)
        return tree_unflatten(sig.treedef, [v.reshape(sig.shapes[0])])
    leaves, start = [], 0
    for shape, size in zip(sig.shapes, sig.sizes):  # one dtype (see applies)
        leaves.append(v[start:start + size].reshape(shape))
        start += size
    return tree_unflatten(sig.treedef, leaves)


class _Unflat(Exception):
    """f's output cannot travel as one flat vector without changing values (mixed dtypes)."""


def value(rule: Any, sig: Signature, x: np.ndarray, wide: bool) -> Any | None:
    """``f(x)`` as a NumPy pytree, computed by the compiled program of f's current trace; None
    when f's trace has no fingerprint or its output leaves have several dtypes (the caller then
    evaluates f eagerly)."""
    import jax
    import jax.numpy as jnp

    out: list[Signature] = []

    def flat_f(v: Any) -> Any:
        leaves, td = tree_flatten(rule.f(_unflatten_jax(sig, v)))
        leaves = [jnp.asarray(a) for a in leaves]
        osig = signature_of(leaves, td, lambda a: a.dtype)
        out[:] = [osig]
        if len(set(osig.dtypes)) > 1:
            raise _Unflat
        if not leaves:
            return jnp.zeros(0)
        return jnp.concatenate([a.reshape(-1) for a in leaves]) if len(leaves) > 1 else leaves[0].reshape(-1)

    with jax.enable_x64(wide):
        try:  # x as it is: tracing reads its shape and dtype only
            # the JAX adapter's fingerprint of f's trace (jaxpr, constants by value), through the
            # adapter protocol: the bridge depends on the interface, not on an adapter's modules
            prog = rule.adapter.program_key(flat_f, x, ())
        except _Unflat:
            return None
        if prog is None:
            return None
        st = rule.state(sig)
        progs = st.get("traced")
        if progs is None:
            progs = st.setdefault("traced", (threading.Lock(), OrderedDict()))
        lock, cache = progs
        with lock:
            hit = cache.get(prog.key)
            if hit is not None:
                cache.move_to_end(prog.key)
            else:
                # the frozen program computes the trace (snapshots of its NumPy data), never f;
                # its derivative preps (see derivative) are kept with it
                hit = cache[prog.key] = (jax.jit(lambda v, fn=prog.function: fn(v)), out[0],
                                         prog.function, {})
                while len(cache) > PROGRAMS_PER_SIGNATURE:
                    cache.popitem(last=False)
        fn, osig = hit[0], hit[1]
        y = np.asarray(fn(x))
    # the derivatives at this x, given this y, are those of this program (see derivative)
    recent = st.get("traced_recent")
    if recent is None:
        recent = st.setdefault("traced_recent", deque(maxlen=RECENT_VALUES))
    recent.append((_kept(x), y, prog.key))
    return osig.unflatten_np(y)


def _kept(x: np.ndarray) -> np.ndarray:
    """``x`` as a record may keep it: a copy, except for the array XLA made for this callback
    (read-only, owning its memory, nobody else holds it); a pure_callback argument or a
    caller's array may be a view of a buffer that is reused or changed later."""
    from ._fresh import in_compiled_callback

    if in_compiled_callback() and x.flags.owndata and not x.flags.writeable:
        return x
    return np.array(x, copy=True)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` hold the same bytes (shape and dtype too): NaN equals itself, and
    an integer comparison is cheaper than ``array_equal(equal_nan=True)`` (-0.0 and 0.0 differ:
    only a miss, then the caller traces f)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    a = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    b = np.ascontiguousarray(b).reshape(-1).view(np.uint8)
    if a.size % 8 == 0:
        a, b = a.view(np.uint64), b.view(np.uint64)
    return bool(np.array_equal(a, b))


def derivative(rule: Any, sig: Signature, op: str, x: np.ndarray, T: np.ndarray) -> np.ndarray | None:
    """``op`` ("pushforward" / "pullback") of the program whose value this computation used at
    ``x``, for the flat rows of ``T`` (k, ·) -> flat rows (k, ·); None when that program is not
    known (the caller then runs the unprepared operator, which traces f again).

    The value route (:func:`value`) records each ``(x, y, program)`` it computes. A derivative
    call whose host gives the value ``y`` of the same computation (the JAX host's derivative
    primitives take it as an argument, ``_fresh.given``) uses the program of the newest record
    with equal ``x`` and ``y``: the derivative of exactly what produced that value, as the
    eager route's value check gives (a stale prep is the one whose value differs from ``y``).
    Eager hosts give no ``y`` but always evaluate f at ``x`` right before its derivatives, so
    outside compiled callbacks the newest record at ``x`` is that evaluation. The derivative
    prep is made once per program (on its frozen function, which never runs f) and kept with
    the compiled value program, so this saves the second trace of f per step.
    """
    from .._contexts import Batch
    from .._operators import PUBLIC
    from ._fresh import given, in_compiled_callback

    st = rule.state(sig)
    recent, progs = st.get("traced_recent"), st.get("traced")
    if recent is None or progs is None:
        return None
    y = given(x)
    if y is None and in_compiled_callback():
        return None
    key = None
    for rx, ry, rkey in reversed(tuple(recent)):  # a tuple copy: other threads may append
        if _same_bits(rx, x) and (y is None or _same_bits(ry, y)):
            key = rkey
            break
    if key is None:
        return None
    lock, cache = progs
    with lock:
        hit = cache.get(key)
    if hit is None:  # its program was pushed out of the cache
        return None
    function, preps = hit[2], hit[3]
    k = T.shape[0]
    rows = [T[j] for j in range(k)]
    arg = rows[0] if k == 1 else Batch(*rows)
    prep = preps.get((op, k))
    if prep is None:
        prep = PUBLIC[f"prepare_{op}"](lambda v: function(v), rule.backend, x, arg)
        preps[(op, k)] = prep  # two threads may both build: the later store wins, both are equal
    res = prep(x, arg)
    if k == 1:  # one row: a view, no stacked copy
        return np.asarray(res).reshape(1, -1)
    return np.stack([np.asarray(r).reshape(-1) for r in res])
