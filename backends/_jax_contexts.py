"""JAX contexts: array leaves traced, every other leaf a ``jax.jit`` static argument, and the
fresh path for calls whose static leaves are mutable objects (see :mod:`anydiff.backends.jax`)."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from anydiff._contexts import by_value
from anydiff._protocol import FlatFunction, Kernel, Spec
from anydiff._unprepared import FrozenFunction

from . import _jax_program

_WIDE = frozenset({np.dtype(np.float64), np.dtype(np.complex128)})
# Leaves of a context that become traced arguments; tracers are jax.Array instances.
_ARRAY_TYPES = (np.ndarray, np.generic, jax.Array)


def _wide(dtype: Any) -> bool:
    return np.dtype(dtype) in _WIDE


def _x64(wide: bool) -> contextlib.AbstractContextManager:
    """float64 work needs x64 enabled for the call (JAX's default would truncate to float32)."""
    return jax.enable_x64(True) if wide else contextlib.nullcontext()


def _is_complex(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "c"


# ---- contexts: traced array leaves and static everything else ------------------------------


def _static_hash(v: Any) -> int:
    try:
        return hash((type(v), v))
    except TypeError:  # unhashable: equal only to itself (see _same)
        return hash(type(v))


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):  # 1, 1.0 and True hash alike but may steer f differently
        return False
    try:
        hash(a)
        return bool(a == b)
    except Exception:  # unhashable, or an == that returns no bool
        return False


class _Static:
    """The non-array leaves of the contexts and the tree that holds them: a hashable
    ``jax.jit`` static argument (a changed value is a cache miss, i.e. a fresh trace).
    ``volatile``: some leaf is mutable (see :func:`anydiff._contexts.by_value`), so equality
    cannot tell whether a trace made with it is still right."""

    __slots__ = ("treedef", "where", "values", "count", "_hash", "volatile")

    def __init__(self, treedef: Any, where: tuple[int, ...], values: tuple, count: int) -> None:
        self.treedef, self.where, self.values, self.count = treedef, where, values, count
        self._hash = hash((treedef, where, tuple(_static_hash(v) for v in values)))
        self.volatile = not all(by_value(v) for v in values)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Static)
            and self._hash == other._hash
            and self.treedef == other.treedef
            and self.where == other.where
            and all(_same(a, b) for a, b in zip(self.values, other.values))
        )


_NO_CTX = _Static(jax.tree_util.tree_structure(()), (), (), 0)


def _split_ctx(ctx: tuple) -> tuple[tuple, _Static]:
    """Context values -> (array leaves, static rest)."""
    if not ctx:
        return (), _NO_CTX
    leaves, treedef = jax.tree_util.tree_flatten(ctx)
    dyn, where, static = [], [], []
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, _ARRAY_TYPES):
            dyn.append(leaf)
        else:
            where.append(i)
            static.append(leaf)
    return tuple(dyn), _Static(treedef, tuple(where), tuple(static), len(leaves))


def _merge_ctx(dyn: tuple, st: _Static) -> tuple:
    """Inverse of :func:`_split_ctx`."""
    if st is _NO_CTX:  # (not count == 0: contexts such as None or {} have no leaves either)
        return ()
    fixed = dict(zip(st.where, st.values))
    it = iter(dyn)
    leaves = [fixed[i] if i in fixed else next(it) for i in range(st.count)]
    return jax.tree_util.tree_unflatten(st.treedef, leaves)


#: programs kept per kernel for calls with a mutable context leaf (most recent first out).
_FRESH_ENTRIES = 8

_Make = Callable[[Any, FlatFunction, Spec, bool], Kernel]


def _fresh_for_mutable(make: _Make) -> _Make:
    """``make_<op>`` whose compiled kernel is never reused with a stale mutable context.

    ``jax.jit`` compares static leaves by ``==`` / identity, so an object changed in place
    would hit the program traced with its old attributes. A call whose contexts hold such a
    leaf traces ``F`` afresh instead (``_jax_program.program``: the leaf's current values end up
    as literals and constants of the jaxpr) and reuses a kernel only for an equal program,
    built on the frozen program rather than on ``f``. Without jit every call runs ``f``."""

    @functools.wraps(make)
    def wrapped(self: Any, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        fast = make(self, F, spec, need_value)
        if not self.backend.jit or not spec.ctx_roles or isinstance(F, FrozenFunction):
            return fast  # eager, no contexts, or statics already baked into a frozen program
        wide = _wide(spec.dtype)
        kernels: OrderedDict[Any, Kernel] = OrderedDict()
        lock = threading.Lock()

        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            dyn, st = _split_ctx(ctx)
            if not st.volatile:
                return fast(x, T, ctx)
            with _x64(wide):
                prog = _jax_program.program(
                    F, x, dyn, lambda d: _merge_ctx(d, st), lambda c: _split_ctx(c)[0]
                )
            if prog is None:  # not provably equal to anything: compile this call afresh
                return make(self, F, spec, need_value)(x, T, ctx)
            with lock:
                hit = kernels.get(prog.key)
                if hit is not None:
                    kernels.move_to_end(prog.key)
            if hit is None:  # built outside the lock; two threads that miss at once both build
                hit = make(self, FrozenFunction(F, prog.function), spec, need_value)
                with lock:
                    kernels[prog.key] = hit
                    while len(kernels) > _FRESH_ENTRIES:
                        kernels.popitem(last=False)
            return hit(x, T, ctx)

        return kernel

    return wrapped
