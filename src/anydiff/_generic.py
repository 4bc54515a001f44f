"""Generic operator builders: every operator derived from the two primitives.

Each function here builds a kernel (see :mod:`anydiff._protocol`) from an adapter's
``make_pushforward`` / ``make_pullback``. Adapters override the ``make_*`` methods that their
framework does natively; these are the fallbacks, written once for every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._layout import Layout
from ._pytree import LEAF

if TYPE_CHECKING:
    from ._protocol import Adapter, FlatFunction, Kernel, Spec

# Largest number of entries of a stacked basis of seeds we build at once: bounds memory for
# big n while letting vectorised backends evaluate many directions in one call.
SEED_BUDGET = 1 << 22


def chunk_size(n_seeds: int, width: int) -> int:
    return max(1, min(n_seeds, SEED_BUDGET // max(width, 1)))


def _real(dtype: np.dtype) -> np.dtype:
    return np.empty(0, dtype=dtype).real.dtype


class Seeds:
    """Rows of the identity (``eye(count, width)``) in native chunks, cached when small."""

    def __init__(self, ad: Adapter, count: int, width: int, dtype: np.dtype, scale: complex = 1):
        self.ad, self.count, self.width, self.dtype, self.scale = ad, count, width, dtype, scale
        self.chunk = chunk_size(count, width)
        self._cache: list[Any] | None = None
        if count * width <= SEED_BUDGET:
            self._cache = [self._make(s) for s in range(0, count, self.chunk)]

    def _make(self, start: int) -> Any:
        k = min(self.chunk, self.count - start)
        e = np.eye(k, self.width, k=start, dtype=self.dtype)
        return self.ad.asarray(e * self.scale if self.scale != 1 else e, self.dtype)

    def __iter__(self):
        if self._cache is not None:
            return iter(self._cache)
        return (self._make(s) for s in range(0, self.count, self.chunk))


def derivative(ad: Adapter, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
    """``f'(x)`` for scalar ``x``: one pushforward along 1."""
    pf = ad.make_pushforward(F, spec.with_batch(1), need_value)
    one = ad.ones((1, spec.n), spec.dtype)

    def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
        y, JT = pf(x, one, ctx)
        return y, JT[0]

    return kernel


def gradient(ad: Adapter, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
    """Reverse mode: one pullback of 1. Forward-only backends: pushforwards of the basis
    (real and imaginary directions for complex x, giving df/dRe x + i df/dIm x)."""
    if ad.backend.reverse_fast:
        pb = ad.make_pullback(F.flat(), spec.with_batch(1), need_value)
        w = ad.ones((1, 1), _real(spec.dtype))

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, G = pb(x, w, ctx)
            return (None if y is None else y.reshape(())), G[0]

        return kernel

    n, is_complex = spec.n, spec.dtype.kind == "c"
    seeds = [Seeds(ad, n, n, spec.dtype)]
    if is_complex:
        seeds.append(Seeds(ad, n, n, spec.dtype, scale=1j))
    first = ad.make_pushforward(F.flat(), spec.with_batch(seeds[0].chunk), need_value)
    rest = ad.make_pushforward(F.flat(), spec.with_batch(seeds[0].chunk), False)

    def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
        y, parts = None, []
        for s in seeds:
            cols = []
            for T in s:
                pf = first if (need_value and y is None) else rest
                yi, JT = pf(x, T, ctx)
                y = yi if y is None else y
                cols.append(JT[:, 0])
            parts.append(cols[0] if len(cols) == 1 else ad.concat(cols))
        g = parts[0] if not is_complex else parts[0].real + 1j * parts[1].real
        return (None if y is None else y.reshape(())), g

    return kernel


def jacobian(ad: Adapter, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
    """``J`` of shape ``(m, n)``: columns from stacked pushforwards or rows from stacked pullbacks,
    whichever the backend's traits and the sizes favour."""
    n, m = spec.n, F.m
    out_dtype = F.out_layout.dtype if F.out_layout is not None else spec.dtype
    if ad.prefers_forward(n, m):
        seed_sets = [Seeds(ad, n, n, spec.dtype)]
        prim = ad.make_pushforward
    else:
        seed_sets = [Seeds(ad, m, m, out_dtype)]
        prim = ad.make_pullback
        if spec.dtype.kind != "c" and out_dtype.kind == "c":
            # Real x, complex y: a pullback (the adjoint of a real-linear map) returns the real
            # part Re(J[i]) for seed e_i and Im(J[i]) for seed i e_i, so a row takes two.
            seed_sets.append(Seeds(ad, m, m, out_dtype, scale=1j))
    chunk = seed_sets[0].chunk
    first = prim(F, spec.with_batch(chunk), need_value)
    rest = prim(F, spec.with_batch(chunk), False) if need_value else first
    forward = prim == ad.make_pushforward

    def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
        y, parts = None, []
        for seeds in seed_sets:
            blocks = []
            for S in seeds:
                yi, B = (first if y is None else rest)(x, S, ctx)
                y = yi if y is None else y
                blocks.append(B)
            parts.append(blocks[0] if len(blocks) == 1 else ad.concat(blocks))
        if forward:
            return y, parts[0].T
        if len(parts) == 2:
            return y, parts[0] + 1j * parts[1]
        # Pullback rows are J^H e_i = conj(J[i]) (holomorphic f of complex x).
        B = parts[0]
        return y, (B.conj() if spec.dtype.kind == "c" or _is_complex(B) else B)

    return kernel


def _is_complex(a: Any) -> bool:
    dt = getattr(a, "dtype", None)
    return dt is not None and "complex" in str(dt)


class DerivedFunction:
    """A first derivative (``x -> gradient`` or ``x -> f'(x)``) as a flat function an outer
    backend can differentiate; bridges arrays when outer and inner backends differ.

    ``analytic_checked``: the complex step as outer does not check this function itself (its
    analyticity follows from f's, which the second-order kernel checks). ``noise``: the inner
    derivative's relative error (finite differences; 0 when exact), which sets an outer finite
    difference's step."""

    scalar_output = False
    inplace_layout = None

    def __init__(
        self, fn: Callable, n: int, m: int, dtype: np.dtype, op_name: str,
        analytic_checked: bool = False,
    ) -> None:
        self.f, self.n, self._m, self.op_name = fn, n, m, op_name
        self.analytic_checked = analytic_checked
        self.noise = 0.0
        self.x_layout = Layout(LEAF, ((n,),), (np.dtype(dtype),), ("numpy",))
        self.out_layout = Layout(LEAF, ((m,),), (np.dtype(dtype),), ("numpy",))

    @property
    def m(self) -> int:
        return self._m

    def flat(self) -> DerivedFunction:
        return self

    def __call__(self, v: Any, *ctx: Any) -> Any:
        return self.f(v, *ctx)


def _bridge(outer: Adapter, inner: Adapter, fn: Callable, dtype: np.dtype) -> Callable:
    """``fn`` works on inner arrays; return a function on outer arrays.

    Converting arrays between frameworks keeps values only: it is right for an outer backend
    that evaluates at plain NumPy points (finite differences), and would silently drop an AD
    framework's tracers, which is why :mod:`anydiff._second_order` refuses those pairs. The
    check below keeps that from ever happening quietly."""
    if outer.native_kind == inner.native_kind:
        return fn

    def bridged(v: Any, *ctx: Any) -> Any:
        if not isinstance(v, np.ndarray):
            from ._errors import UnsupportedError

            raise UnsupportedError(
                f"{outer.backend!r} passed a {type(v).__name__} to {inner.backend!r}'s "
                "derivative code, which cannot trace it: one AD framework cannot trace another "
                "framework's derivative code."
            )
        r = fn(inner.asarray(v, dtype), *ctx)
        return outer.asarray(inner.to_numpy(r), dtype)

    return bridged


def _outer_is_complex_step(outer: Adapter) -> bool:
    from ._second_order import is_complex_step

    return is_complex_step(outer.backend)


def _derived(
    outer: Adapter, inner: Adapter, fn: Callable, spec: Spec, m: int, op_name: str
) -> DerivedFunction:
    D = DerivedFunction(fn, spec.n, m, spec.dtype, op_name, _outer_is_complex_step(outer))
    noise = getattr(inner, "derivative_noise", None)
    D.noise = noise(spec.dtype) if noise is not None else 0.0
    return D


def inner_gradient(outer: Adapter, inner: Adapter, F: FlatFunction, spec: Spec) -> DerivedFunction:
    gk = inner.make_gradient(F, spec, False)
    fn = _bridge(outer, inner, lambda v, *ctx: gk(v, None, ctx)[1], spec.dtype)
    return _derived(outer, inner, fn, spec, spec.n, "gradient")


def _enter_outer(outer: Adapter, inner: Adapter, kernel: Kernel, dtype: np.dtype) -> Kernel:
    """Kernels receive the prep's (inner) arrays; an outer kernel of another kind needs its own."""
    if outer.native_kind == inner.native_kind:
        return kernel
    from ._arrays import to_numpy

    def to_outer(a: Any) -> Any:
        return None if a is None else outer.asarray(to_numpy(a), dtype)

    def to_inner(a: Any) -> Any:
        return None if a is None else inner.asarray(outer.to_numpy(a))

    def entered(x: Any, T: Any, ctx: tuple) -> tuple:
        return tuple(to_inner(o) for o in kernel(to_outer(x), to_outer(T), ctx))

    return entered


def hvp(outer: Adapter, inner: Adapter, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
    """``H t`` by differentiating ``inner``'s gradient with ``outer``: forward-over-reverse when
    ``outer`` has fast forward mode, reverse-over-reverse otherwise (``H`` is symmetric)."""
    G = inner_gradient(outer, inner, F, spec)
    if outer.backend.forward_fast:
        return _enter_outer(outer, inner, outer.make_pushforward(G, spec, need_value), spec.dtype)
    pb = outer.make_pullback(G, spec, need_value)

    # The gradient is a real-linear map with a symmetric real Jacobian H, and a pullback is the
    # adjoint under Re<a, b>, so it gives H t as is (no conjugation, complex x included).
    return _enter_outer(outer, inner, pb, spec.dtype)


def hessian(
    outer: Adapter, inner: Adapter, F: FlatFunction, spec: Spec, need_value: bool
) -> Kernel:
    """``H`` of shape ``(n, n)`` from stacked HVPs along the basis."""
    seeds = Seeds(inner, spec.n, spec.n, spec.dtype)
    hv = hvp(outer, inner, F, spec.with_batch(seeds.chunk), True)

    def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
        g, blocks = None, []
        for S in seeds:
            gi, HT = hv(x, S, ctx)
            g = gi if g is None else g
            blocks.append(HT)
        H = blocks[0] if len(blocks) == 1 else inner.concat(blocks)
        y = F(x, *ctx) if need_value else None
        return y, g, H.T

    return kernel


def second_derivative(
    outer: Adapter, inner: Adapter, F: FlatFunction, spec: Spec, need_value: bool
) -> Kernel:
    """``f''(x)`` for scalar ``x``: ``outer``'s derivative of ``inner``'s derivative."""
    dk = inner.make_derivative(F, spec, False)
    m = F.m
    fn = _bridge(outer, inner, lambda v, *ctx: dk(v, None, ctx)[1], spec.dtype)
    D = _derived(outer, inner, fn, spec, m, "derivative")
    pf = _enter_outer(
        outer, inner, outer.make_pushforward(D, spec.with_batch(1), True), spec.dtype
    )
    one = inner.ones((1, spec.n), spec.dtype)

    def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
        dy, D2 = pf(x, one, ctx)
        y = F(x, *ctx) if need_value else None
        return y, dy, D2[0]

    return kernel
