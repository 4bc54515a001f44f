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
* the **derivatives** are anydiff's *unprepared* JAX operators (``ad.pullback(f, "jax", x, w)``
  etc.), which do the same for their own kernels (:mod:`anydiff._unprepared`).

Each costs one trace of ``f`` per call (a few hundred microseconds, independent of n), which is
why small sizes keep the eager path: there its compute is cheaper than a trace.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
                # the frozen program computes the trace (snapshots of its NumPy data), never f
                hit = cache[prog.key] = (jax.jit(lambda v, fn=prog.function: fn(v)), out[0])
                while len(cache) > PROGRAMS_PER_SIGNATURE:
                    cache.popitem(last=False)
        fn, osig = hit
        y = np.asarray(fn(x))
    return osig.unflatten_np(y)
