"""Unprepared calls: fresh every time, compiled code reused only for a provably equal program.

An unprepared call (``ad.gradient(f, backend, x)``) must compute with ``f`` as it is *now*
("fresh unprepared calls"): data ``f`` reads from its closure, globals or ``self``
may have changed since the last call. Keying compiled code by the identity of ``f`` is therefore
wrong; re-compiling on every call is slow. The middle way, for adapters that can do it:

1. The adapter traces ``F`` (the flat view of ``f``) at the call's signature and returns a
   :class:`Program`: a hashable *fingerprint* that is equal for two traces only when they
   compute the same thing (for JAX: the jaxpr with its literals and constants compared by
   value), and a *frozen* flat function that computes that traced program without running
   ``f`` again.
2. The cache key is ``(operator, backend, argument signatures, output layout, fingerprint)``.
   A hit returns the prep made for the earlier, equal program; a miss builds a prep on the
   frozen function and stores it. Because a cached prep computes with its frozen program (not
   with the ``f`` it was first made for), no later retrace or lazily built kernel (the value
   form, a new tangent batch) can read changed data through an old ``f``.

Adapters opt in with :meth:`anydiff._protocol.Adapter.program_key` (None: never reuse, the call
is prepared afresh). The cache is an LRU bounded in entries and in the bytes of the constants the
fingerprints hold, and is safe to use from several threads (tracing runs outside the lock; two
threads that miss at once both build, the later store wins).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, NamedTuple

from ._protocol import FlatFunction

if TYPE_CHECKING:
    from ._prep import Prep

#: most recent programs kept, and the most bytes of constants their fingerprints may hold.
MAX_ENTRIES = 128
MAX_BYTES = 256 * 2**20


class Program(NamedTuple):
    """What :meth:`Adapter.program_key` returns for one trace of ``F``.

    Attributes:
        key: hashable; equal keys imply the same computation at this signature (program and
            constants), whatever the functions that were traced.
        function: ``(v, *ctx) -> F(v, *ctx)`` computing the traced program (never ``f``).
        nbytes: size of the constants ``key`` holds (for the cache's memory bound).
    """

    key: Hashable
    function: Callable[..., Any]
    nbytes: int = 0


class FrozenFunction(FlatFunction):
    """``F`` with its calls replaced by the program it was traced to (layouts kept)."""

    def __init__(self, F: FlatFunction, program: Callable[..., Any]) -> None:
        self.__dict__.update(F.__dict__)
        self.program = program

    def __call__(self, v: Any, *ctx: Any) -> Any:
        return self.program(v, *ctx)


_cache: OrderedDict[Hashable, tuple[Prep, int]] = OrderedDict()
_bytes = 0
_lock = threading.Lock()
#: counters for tests and benchmarks: hits, misses (a fresh compile), refused (no fingerprint).
stats = {"hits": 0, "misses": 0, "refused": 0}


class Pending(NamedTuple):
    """A miss: the key to store the prep under once :func:`store` gets it."""

    key: Hashable
    nbytes: int


def lookup(signature: Hashable, prep: Prep, x: Any, ctx: tuple) -> Prep | Pending | None:
    """Trace ``prep.F`` at native ``x`` and ``ctx`` and look its program up; ``signature``
    (operator, backend, argument signatures) is the rest of the key.

    Returns the cached prep on a hit; on a miss a :class:`Pending` to :func:`store` once
    preparation is done, after switching ``prep.F`` to the frozen program (so kernels built
    later compute the fingerprinted program); None when the adapter gives no fingerprint.
    ``f``'s exceptions (and the adapter's translations of framework errors) propagate.
    """
    adapter, F = prep.adapter, prep.F
    program = adapter.guarded(F, lambda: adapter.program_key(F, x, ctx))
    key = None if program is None else (signature, F.out_layout, program.key)
    try:
        hash(key)
    except TypeError:  # an unhashable signature part: never reuse
        key = None
    with _lock:
        if key is None:
            stats["refused"] += 1
            return None
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            stats["hits"] += 1
            return hit[0]
        stats["misses"] += 1
    prep.F = FrozenFunction(F, program.function)
    return Pending(key, program.nbytes)


def store(pending: Pending, prep: Prep) -> None:
    """Keep ``prep`` for later calls with an equal program (LRU, bounded)."""
    global _bytes
    if pending.nbytes > MAX_BYTES:
        return
    with _lock:
        old = _cache.pop(pending.key, None)
        if old is not None:
            _bytes -= old[1]
        _cache[pending.key] = (prep, pending.nbytes)
        _bytes += pending.nbytes
        while len(_cache) > MAX_ENTRIES or _bytes > MAX_BYTES:
            _, (_, nb) = _cache.popitem(last=False)
            _bytes -= nb


def clear() -> None:
    """Forget every cached program (and reset :data:`stats`)."""
    global _bytes
    with _lock:
        _cache.clear()
        _bytes = 0
        for k in stats:
            stats[k] = 0
