"""The sparsity trace: runs ``f`` through the engine's dispatch, carrying index sets, not tangents.

A :class:`SparsityTrace` is a :class:`anydiff.engine._tracer.Trace`, so every NumPy call, Array-API
call, indexing and in-place write that the engine supports reaches :meth:`SparsityTrace.process`
exactly as it reaches the engine's forward mode.  Where forward mode would carry a tangent, a traced
array here carries a :class:`Dep`: its dependency pattern ``P`` (boolean CSR ``(size, n_in)``, rows in
C order, or ``None`` for no dependency) and whether its *value* depends on ``x`` or on an
``ad.Constant`` context at all (``tainted``; comparisons, ``argmax`` and Constant data are tainted
without carrying a derivative).

Values are computed too (the primal at the given ``x``): shapes need them, and local detection uses
them.  In global mode a value may only be *used* by a rule when it is untainted (fixed for every
``x``: literals and closure data); any conversion of a tainted value to Python (``bool``, ``int``,
indexing by it) raises :class:`UnsupportedError`, because the pattern would then hold only at this
``x``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._errors import UnsupportedError
from ..engine._rules_core import dispatch_operands, dtype_of, shape_of
from ..engine._tracer import Prim, Trace, Traced, bind, new_level
from . import _index as ix
from . import _np

LOCAL_HINT = (
    "use TracerSparsityDetector(local=True) for the pattern at this x (valid only at that x), or "
    "DenseSparsityDetector(backend) for a pattern read off one dense Jacobian"
)


class Dep:
    """What a traced array of a :class:`SparsityTrace` carries (see the module docstring)."""

    __slots__ = ("P", "tainted")

    def __init__(self, P: Any, tainted: bool):
        self.P = P
        self.tainted = tainted


_CONST = Dep(None, False)


class Call:
    """One primitive application as a dependency rule sees it.

    ``xs``: operand values (plain arrays/scalars); ``Ps``: their patterns (``None``: no
    dependency); ``usable[i]``: whether rule ``i``'s *value* may decide the pattern (always in
    local mode; in global mode only for values fixed for every x); ``y``: the result value;
    ``params``: the primitive's static parameters; ``trace``: the running trace.
    """

    __slots__ = ("prim", "xs", "Ps", "usable", "y", "params", "trace")

    def __init__(self, prim: Prim, xs: list, Ps: list, usable: list, y: Any, params: dict, trace: Any):
        self.prim, self.xs, self.Ps, self.usable = prim, xs, Ps, usable
        self.y, self.params, self.trace = y, params, trace

    @property
    def n_in(self) -> int:
        return self.trace.n_in

    @property
    def yshape(self) -> tuple[int, ...]:
        return shape_of(self.y)

    def shape(self, i: int) -> tuple[int, ...]:
        return shape_of(self.xs[i])

    def value(self, i: int) -> np.ndarray | None:
        """Operand ``i``'s value when the rule may use it, else ``None``."""
        return _np.asarray(self.xs[i]) if self.usable[i] else None

    def pair(self, A: Any, B: Any) -> None:
        """Second order: every input in row r of ``A`` interacts with every input in row r of ``B``."""
        if self.trace.hessian and A is not None and B is not None:
            self.trace.add_pairs(A, B)


class SparsityTrace(Trace):
    """Index-set propagation for ``n_in`` inputs; ``local``: follow values at x; ``hessian``:
    also accumulate the interacting pairs into one shared pattern (SparseConnectivityTracer's
    shared Hessian tracer)."""

    def __init__(self, n_in: int, local: bool, hessian: bool, rules: Any):
        self.level = new_level()
        self.n_in = n_in
        self.local = local
        self.hessian = hessian
        self.rules = rules
        self._pairs: list[tuple[Any, Any]] = []
        self._seen: set[tuple[int, int]] = set()
        self._keep: list[Any] = []  # keeps paired matrices alive so their ids stay unique
        self.lost: str | None = None

    # ------------------------------------------------------------------ dispatch
    def process(self, prim: Prim, args: list, params: dict) -> Any:
        args, rebind = dispatch_operands(prim, args, self.level)
        if rebind:
            return bind(prim, args, params)
        xs: list[Any] = []
        deps: list[Dep] = []
        any_dep = False
        for a in args:
            if type(a) is Traced and a._trace is self:
                xs.append(a._value)
                d = a._aux
                deps.append(d)
                any_dep = any_dep or d.tainted
            else:
                xs.append(a)
                deps.append(_CONST)
        y = bind(prim, xs, params)
        if not any_dep:
            return y
        Ps = [d.P for d in deps]
        if not prim.diff or dtype_of(y).kind not in "fc" or all(P is None for P in Ps):
            return Traced(self, y, Dep(None, True))
        rule = self.rules(prim)
        usable = [self.local or not d.tainted for d in deps]
        P = rule(Call(prim, xs, Ps, usable, y, params, self))
        if P is not None and P.shape[0] != int(np.prod(shape_of(y), dtype=np.int64)):
            raise AssertionError(f"sparsity rule of {prim.name} returned {P.shape[0]} rows for {shape_of(y)}")
        return Traced(self, y, Dep(P, True))

    def lift(self, value: Any) -> Traced:
        return Traced(self, value, _CONST)

    def carries(self, t: Traced) -> bool:
        return t._aux.P is not None

    # ------------------------------------------------------------------ escapes
    def note_escape(self, reason: str) -> None:
        # called from Traced._escape: the escaping array is that frame's `self`
        t = sys._getframe(1).f_locals.get("self")
        if type(t) is Traced and t._trace is self and not t._aux.tainted:
            return  # a constant's value: the same at every x
        if not self.local:
            raise UnsupportedError(
                f"{reason}: the value of a traced array decides control flow, an index or a "
                "shape, so no sparsity pattern valid at every x can be traced; " + LOCAL_HINT + "."
            )

    def note_drop(self, what: str) -> None:
        if self.lost is None:
            self.lost = what

    def check_dropped(self) -> None:
        if self.lost is not None:
            raise UnsupportedError(
                f"{self.lost} turned a traced array into a Python number, which would hide the "
                "inputs it depends on from sparsity detection; keep values as arrays (x[0], not "
                "float(x[0])), or use DenseSparsityDetector(backend)."
            )

    # ------------------------------------------------------------------ second order
    def add_pairs(self, A: Any, B: Any) -> None:
        key = (id(A), id(B))
        if key in self._seen or (id(B), id(A)) in self._seen:
            return
        self._seen.add(key)
        self._keep += [A, B]
        self._pairs.append((A, B))

    def hessian_pattern(self) -> Any:
        """The shared second-order pattern: OR over every pair of ``A.T @ B`` and its transpose."""
        import scipy.sparse as sp

        n = self.n_in
        S = ix.empty(n, n)  # sum of A.T @ B; symmetrised once at the end
        for A, B in self._pairs:
            S = S + sp.csr_array(A.T @ B)
        return sp.csr_array(S + sp.csr_array(S.T))
