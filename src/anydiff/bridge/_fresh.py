"""Stale preparations: a cached prep's value is checked against ``f`` evaluated as it is now.

A prep may freeze data that ``f`` reads from its closure or globals (a JAX trace bakes NumPy
constants, an engine tape replays recorded ones). Every derivative the bridge takes therefore
runs the prep's *value form* (``value_and_pushforward`` / ``value_and_pullback`` /
``value_and_jacobian``; reverse and forward mode compute the value anyway, though returning it
costs some backends a little: see docs/mixing.md), and compares that value with a fresh
``f(x)`` (usually the one the primal call just computed at the same ``x``, so no extra
evaluation). They agree within

    ``max|v - y| <= TOL_FACTOR · eps · max(1, max|y|)``  (``eps`` of y's dtype; integers: exact),

which allows the different evaluation orders of a compiled prep and an eager call. If they do
not, the signature's preps are all dropped and prepared again; if the fresh prep still disagrees:

* ``f`` gives different values at the same ``x`` (random, or reads changing state while it runs):
  :class:`ChangingFunctionError`;
* ``f`` is deterministic and the fresh prep differs by rounding only (heavy cancellation): the
  tolerance of that prep is widened to 10x the observed difference, at most ``eps**(1/4)``
  relative, beyond which :class:`ChangingFunctionError` is raised too.

Not detected: a change of f's data that leaves ``f(x)`` unchanged (within the tolerance) at the
``x`` where the derivative is taken but changes the derivative there.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._backend_types import AutoJax
from .._errors import AnydiffValueError
from .._pytree import tree_flatten, tree_unflatten

#: agreement tolerance of a prep's value with f's, in units of eps · max(1, max|y|)
TOL_FACTOR = 1e3
#: (x, y) pairs of the last primal calls kept per signature (derivatives at those x reuse y)
RECENT = 4


class ChangingFunctionError(AnydiffValueError):
    """``f`` (or an implicit function's ``conditions``) gave different values at the same point,
    so no prepared derivative can be trusted to be its derivative."""


def flat(tree: Any) -> np.ndarray:
    """The leaves of a NumPy pytree raveled and concatenated (common dtype), shape ``(size,)``."""
    leaves = [np.asarray(v) for v in tree_flatten(tree)[0]]
    if not leaves:
        return np.zeros(0)
    if len(leaves) == 1:
        return leaves[0].reshape(-1)
    dt = np.result_type(*leaves)
    return np.concatenate([v.reshape(-1).astype(dt, copy=False) for v in leaves])


def mismatch(v: np.ndarray, y: np.ndarray, within: float = 0.0) -> float:
    """``max|v - y| / (eps · max(1, max|y|))`` (0 when equal, ``inf`` when shapes or the
    positions and values of NaN / inf differ, or integers differ at all). A result at most
    ``within`` may be returned as an upper bound (skips the scale: one pass fewer)."""
    v, y = np.asarray(v), np.asarray(y)
    if v.shape != y.shape:
        return float("inf")
    if y.size == 0:
        return 0.0
    if y.dtype.kind not in "fc" and v.dtype.kind not in "fc":
        return 0.0 if np.array_equal(v, y) else float("inf")
    eps = float(np.finfo(y.dtype if y.dtype.kind in "fc" else v.dtype).eps)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(v - y)
        dmax = float(d.max())
        if dmax / eps <= within:  # the scale is at least 1
            return dmax / eps
        if not np.isfinite(dmax):  # NaN / inf somewhere: they must sit at the same places
            fin = np.isfinite(y)
            if not np.array_equal(v[~fin], y[~fin], equal_nan=True):
                return float("inf")
            dmax = float(d[fin].max()) if fin.any() else 0.0
            if not np.isfinite(dmax):
                return float("inf")
            scale = max(1.0, float(np.abs(y[fin]).max())) if fin.any() else 1.0
        else:
            scale = max(1.0, float(np.abs(y).max()))
    return dmax / (eps * scale)


def max_factor(y: np.ndarray) -> float:
    """Widest tolerance factor a deterministic f's fresh prep may get: ``eps**(1/4)`` relative
    (1.2e-4 in float64). Wider than rounding can explain, this guards against a prep that does
    not see f as it is even when made anew."""
    dt = y.dtype if y.dtype.kind in "fc" else np.dtype(float)
    eps = float(np.finfo(dt).eps)
    return max(TOL_FACTOR, eps ** 0.25 / eps)


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


_local = threading.local()


_calls = itertools.count(1)


@contextlib.contextmanager
def compiled_callback() -> Iterator[None]:
    """Marks rule calls made from a compiled program's callback (the JAX host's callbacks): there
    the value call of the same derivative may run after it or not at all (XLA orders callbacks
    freely and drops unused ones), so a kept value may predate a change of f's data and is not
    used (a derivative then evaluates f itself). Each callback gets its own number
    (:func:`callback_id`), so values made within one callback can be kept for it."""
    prev = getattr(_local, "compiled", 0)
    _local.compiled = next(_calls)
    try:
        yield
    finally:
        _local.compiled = prev


def callback_id() -> int:
    """The number of the compiled callback running in this thread; 0 outside any."""
    return getattr(_local, "compiled", 0)


def in_compiled_callback() -> bool:
    return callback_id() != 0


@contextlib.contextmanager
def given_value(x: np.ndarray, y: np.ndarray | None) -> Iterator[None]:
    """Within: ``y`` is f's flat value at ``x`` in this computation (the JAX host passes the
    value primitive's output to the derivative primitives), used by :func:`given`."""
    if y is None:
        yield
        return
    prev = getattr(_local, "given", None)
    _local.given = (x, y)
    try:
        yield
    finally:
        _local.given = prev


def given(x: np.ndarray) -> np.ndarray | None:
    """The value given for ``x`` by the enclosing :func:`given_value`, or ``None``."""
    g = getattr(_local, "given", None)
    if g is None or g[0] is not x and not identical(g[0], x):
        return None
    return g[1]


class RecentValues:
    """The ``(x bytes, flat y)`` of the last :data:`RECENT` primal calls of one signature.

    A bounded deque: ``append`` and the ``tuple`` copy made to search it are atomic under the
    GIL, so threads share it without a lock (a value pushed out early only costs one more
    evaluation of ``f``)."""

    def __init__(self) -> None:
        self._d: deque = deque(maxlen=RECENT)

    def put(self, x: np.ndarray, y: np.ndarray) -> None:
        self._d.append((np.ascontiguousarray(x).tobytes(), y))

    def get(self, x: np.ndarray) -> np.ndarray | None:
        xb = np.ascontiguousarray(x).tobytes()
        for kb, y in reversed(tuple(self._d)):
            if kb == xb:
                return y
        return None


def eager_call(f: Any, backend: Any, adapter: Any, args: tuple, wide: bool) -> Any:
    """``f(*args)`` run eagerly on ``backend``'s arrays (NumPy array leaves converted, other
    leaves as they are), the result as a NumPy pytree. Eager, never a cached trace, so that the
    value reflects whatever ``f`` reads now. JAX runs under ``enable_x64(wide)``."""
    is_jax = isinstance(backend, AutoJax)
    if is_jax:
        import jax
        import jax.numpy as jnp

        ctx: Any = jax.enable_x64(wide)
        conv: Any = jnp.asarray
    else:
        ctx, conv = contextlib.nullcontext(), adapter.asarray

    def native(tree: Any) -> Any:
        leaves, td = tree_flatten(tree)
        return tree_unflatten(td, [conv(v) if isinstance(v, np.ndarray) and v.dtype.kind in "fciub"
                                   else v for v in leaves])

    with ctx:
        y = f(*[native(a) for a in args])
        yl, ytd = tree_flatten(y)
        if is_jax:
            out = [np.asarray(v) for v in yl]
        else:
            out = [np.asarray(adapter.to_numpy(v)) if hasattr(v, "shape") else np.asarray(v) for v in yl]
    return tree_unflatten(ytd, out)


def checked_run(rule: Any, sig: Any, key: Any, build: Any, run: Any, reference: Any, refresh: Any,
                what: str) -> Any:
    """Run the cached prep ``key`` of ``sig``, checked for staleness (see the module docstring).

    ``build() -> prep``; ``run(prep) -> (flat value, result)``; ``reference() -> (flat y, cached)``
    (``cached``: y was kept from an earlier evaluation, so a mismatch evaluates ``f`` again before
    blaming the prep); ``refresh() -> flat y`` evaluates ``f`` now. Returns ``result``."""
    st = rule.state(sig)
    tols = st.setdefault("tol", {})
    prep = rule.cached(sig, key, build)
    v, res = run(prep)
    y, cached = reference()
    tol = tols.get(key, TOL_FACTOR)
    if mismatch(v, y, tol) <= tol:
        return res
    if cached:
        y = refresh()
        if mismatch(v, y, tol) <= tol:
            return res
    # the prep froze data f no longer reads: every prep of this signature goes (they were made
    # under the same data), and this one is made again from f as it is now
    rule.invalidate(sig)
    prep = rule.cached(sig, key, build)
    v, res = run(prep)
    r = mismatch(v, y)
    if r <= tols.get(key, TOL_FACTOR):
        return res
    y2 = refresh()
    if not identical(y, y2):
        raise ChangingFunctionError(
            f"{what} returned different values at the same point in two evaluations (max "
            f"difference {float(np.max(np.abs(y2 - y))) if y.shape == y2.shape else 'shape'}), so "
            "anydiff cannot give its derivative: it must be a deterministic function of its "
            "arguments. Pass data that changes (a batch, a random key, parameters) as an argument "
            "or an ad.Constant context instead of reading it from a closure, a global or a random "
            "generator while it runs, and do not change such data between a call and its derivative."
        )
    if r > max_factor(y):
        raise ChangingFunctionError(
            f"{what}: the freshly prepared operator on {getattr(rule, 'backend', '?')!r} gives the "
            f"value {r:.3g}·eps·max(1, |y|) away from a direct evaluation at the same point, so its "
            "derivative cannot be trusted to be the derivative of the function as it is now. The "
            "function must depend on its arguments (and ad.Constant contexts) only; a value it "
            "reads differently when traced (Python state, a counter, a cache) breaks this."
        )
    # deterministic f, fresh prep: rounding of a different evaluation order (cancellation)
    tols[key] = min(10.0 * r, max_factor(y))
    return res
