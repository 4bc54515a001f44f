"""``Problem``: a function with analytic derivatives, and the scenarios made from it.

A :class:`Problem` is a function with its analytic Jacobian (as a flat ``(m, n)`` matrix in the
order of the flattened pytrees), and where it applies its Hessian ``(n, n)``, second derivative
``(m,)`` or, for real functions of complex inputs, its gradient. :func:`scenarios_of` turns a
problem into one :class:`Scenario` per operator, with references computed from those formulas
(NumPy, double precision): references independent of every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._contexts import Batch
from .._pytree import tree_flatten, tree_unflatten
from ._scenario import Scenario, copy_tree, map_tree

# ---------------------------------------------------------------------------------------------
# Flat <-> pytree helpers (NumPy)


def flat(tree: Any) -> np.ndarray:
    """Concatenate the raveled leaves of a pytree (shape ``(size,)``)."""
    leaves, _ = tree_flatten(tree)
    return np.concatenate([np.asarray(a).reshape(-1) for a in leaves])


def unflat(v: np.ndarray, template: Any) -> Any:
    """Inverse of :func:`flat` for ``template``'s structure and shapes (NumPy leaves)."""
    leaves, td = tree_flatten(template)
    out, o = [], 0
    for a in leaves:
        shape = np.shape(a)
        size = int(np.prod(shape, dtype=np.int64))
        out.append(np.asarray(v[o : o + size]).reshape(shape))
        o += size
    return tree_unflatten(td, out)


def upcast(tree: Any) -> Any:
    """float32 -> float64 and complex64 -> complex128 (references are computed in double)."""

    def up(a: Any) -> Any:
        arr = np.asarray(a)
        if arr.dtype.kind == "c":
            return arr.astype(np.complex128)
        if arr.dtype.kind == "f":
            return arr.astype(np.float64)
        return arr

    return map_tree(up, tree)


def _single(tree: Any) -> bool:
    return tree_flatten(tree)[1].is_leaf


# ---------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A function with analytic derivatives, from which scenarios are made.

    Attributes:
        label: short name used in scenario ids.
        f: the function (``f(x, *ctx)`` or, with ``y``, ``f(y, x, *ctx)``).
        x: the point (NumPy arrays / floats, or a pytree).
        jac: ``jac(x, *ctx_values) -> (m, n)`` flat Jacobian (x and ctx in float64).
        hess: ``hess(x, *ctx_values) -> (n, n)`` for scalar-valued f.
        d2: ``d2(x, *ctx_values) -> (m,)`` second derivative for scalar x.
        grad: ``grad(x, *ctx_values) -> flat (n,)`` gradient when it is not ``jac[0]`` (real f of
            complex x: ``df/dRe x + i df/dIm x``).
        contexts: ``Constant`` / ``Cache`` arguments.
        y: output buffer for the in-place form.
        requires: backend abilities needed (``"mutation"``, ...).
    """

    label: str
    f: Callable
    x: Any
    jac: Callable | None = None
    hess: Callable | None = None
    d2: Callable | None = None
    grad: Callable | None = None
    contexts: tuple = ()
    y: Any = None
    requires: tuple[str, ...] = ()

    def value(self) -> Any:
        """f at x, computed in double precision with NumPy."""
        x = upcast(self.x)
        ctx = [copy_tree(upcast(c.value)) for c in self.contexts]
        if self.y is None:
            return self.f(x, *ctx)
        y = upcast(copy_tree(self.y))
        ret = self.f(y, x, *ctx)
        return y if ret is None else ret

    def _args(self) -> tuple[Any, list]:
        return upcast(self.x), [upcast(c.value) for c in self.contexts]

    def tangent(self, k: int = 0) -> Any:
        """A deterministic tangent like x (the k-th of a batch)."""
        return _pattern(self.x, k)

    def cotangent(self, k: int = 0) -> Any:
        y = self.value()
        dtype_src = self.y if self.y is not None else _match_precision(y, self.x)
        return _pattern(dtype_src, k + 7)

    def reference(self, op: str, tangent: Any = None) -> tuple[Any, Any]:
        """``(result, first)``: expected result of ``op`` at x and, for second-order operators,
        the expected first derivative (for the value forms)."""
        x, ctx = self._args()
        y = self.value()
        if isinstance(tangent, Batch):
            rows = [self.reference(op, t)[0] for t in tangent]
            return Batch(*rows), self.reference(op, tangent[0])[1]
        if op == "gradient":
            return self._gradient(x, ctx), None
        if op == "hvp":
            H = self.hess(x, *ctx)
            return unflat(H @ flat(upcast(tangent)), x), self._gradient(x, ctx)
        if op == "hessian":
            H = self.hess(x, *ctx)
            if _single(x):
                H = H.reshape(np.shape(x) * 2)
            return H, self._gradient(x, ctx)
        J = self.jac(x, *ctx)
        if op == "derivative":
            return unflat(J[:, 0], y), None
        if op == "second_derivative":
            return unflat(self.d2(x, *ctx), y), unflat(J[:, 0], y)
        if op == "jacobian":
            if _single(x) and _single(y):
                return J.reshape(np.shape(y) + np.shape(x)), None
            return J, None
        if op == "pushforward":
            return unflat(J @ flat(upcast(tangent)), y), None
        if op == "pullback":
            return unflat(J.conj().T @ flat(upcast(tangent)), x), None
        raise ValueError(op)

    def _gradient(self, x: Any, ctx: list) -> Any:
        g = self.grad(x, *ctx) if self.grad is not None else self.jac(x, *ctx)[0]
        return unflat(g, x)


def _match_precision(y: Any, x: Any) -> Any:
    """y's structure with x's floating precision (cotangents match f's output dtype)."""
    xdt = np.result_type(*[np.asarray(a).dtype for a in tree_flatten(x)[0]])
    single = np.finfo(xdt).dtype == np.float32

    def cast(a: Any) -> Any:
        arr = np.asarray(a)
        if arr.dtype.kind == "c":
            return arr.astype(np.complex64 if single else np.complex128)
        return arr.astype(np.float32 if single else np.float64)

    return map_tree(cast, y)


def _pattern(template: Any, k: int) -> Any:
    """Deterministic, non-symmetric values shaped and typed like ``template``."""

    def fill(a: Any) -> Any:
        arr = np.asarray(a)
        i = np.arange(arr.size).reshape(arr.shape) + 3 * k
        v = 0.3 + np.cos(1.3 * i + 0.7)
        if arr.dtype.kind == "c":
            v = v + 1j * np.sin(0.9 * i + 0.2)
        out = np.asarray(v, dtype=arr.dtype)
        if isinstance(a, np.ndarray):
            return out
        return type(a)(out.item()) if isinstance(a, (float, complex)) else out

    return map_tree(fill, template)


def scenarios_of(
    problem: Problem,
    ops: Sequence[str],
    *,
    batch: int = 0,
    tags: tuple[str, ...] = (),
    name: str | None = None,
    **extra: Any,
) -> list[Scenario]:
    """One scenario per operator of ``ops`` for ``problem`` (``batch`` > 0: Batch tangents).

    ``extra`` keywords go to every :class:`Scenario` (``raises=``, ``partial=``, ...)."""
    out = []
    for op in ops:
        tangent = None
        if op in ("pushforward", "hvp"):
            tangent = (
                Batch(*[problem.tangent(k) for k in range(batch)]) if batch else problem.tangent()
            )
        elif op == "pullback":
            tangent = (
                Batch(*[problem.cotangent(k) for k in range(batch)])
                if batch else problem.cotangent()
            )
        ref, first = problem.reference(op, tangent)
        label = name or problem.label
        suffix = f"-batch{batch}" if batch else ""
        out.append(
            Scenario(
                op, problem.f, copy_tree(problem.x), tangent=tangent,
                contexts=problem.contexts, y=copy_tree(problem.y), reference=ref,
                reference_first=first, name=f"{op}-{label}{suffix}", requires=problem.requires,
                tags=tags, **extra,
            )
        )
    return out
