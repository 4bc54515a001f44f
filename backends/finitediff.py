"""Finite differences on NumPy: ``AutoFiniteDiff(method, rel_step, abs_step, order, error)``.

Steps follow careful finite-difference codes (e.g. SciPy's ``approx_derivative``): per
coordinate ``h_i = c * s_i`` with ``c = eps^(1/(p+1))`` for a first-derivative stencil of order
p (``eps^(1/2)`` forward / backward order 1, ``eps^(1/3)`` central order 2, ``eps^(1/5)``
central order 4, ...) and ``eps^(1/4)`` for second-order stencils, ``eps`` being the machine
epsilon of x's dtype, and ``s_i = 2^floor(log2 max(1, |x_i|))`` (``max(1, |x_i|)`` rounded down
to a power of two); each step is then rounded so that ``x_i + h_i`` is exact. Rounding the scale
to a power of two makes the step a piecewise-constant function of x: an AD system that traces
these kernels (``SecondOrder(AutoEngine(), AutoFiniteDiff())``) then differentiates the
difference quotient itself, with no spurious ``dh/dx`` term. Stencil weights, Richardson
extrapolation and error estimates live in :mod:`._fd_stencils`; estimates are read back through
``prep.error_estimate`` (:mod:`._fd_errors`).

Costs (evaluations of ``f``): a directional derivative costs the stencil's points: ``p``
(central order p), ``p + 1`` (one-sided order p, ``f(x)`` shared by all directions). Jacobian /
gradient: ``n p + 1`` one-sided and complex step (the value comes free), ``n p`` central (``+1``
with the value); ``error=True`` adds the points of the stencil at ``2h`` not already evaluated
(and ``f(x)``); Richardson costs ``1 + 2 n K`` for K steps. Complex ``x`` doubles them (real
and imaginary directions). Pullbacks build the Jacobian. Hessians use the four-point stencil
``(f(x+a+b) - f(x+a-b) - f(x-a+b) + f(x-a-b)) / 4ab``: 2 n(n+1) evaluations. Second-order
operators always use central stencils, whatever ``method`` and ``order``.

The complex step (``method="complex"``) reads ``f'(x) t`` from ``Im f(x + i h t) / h`` with
``h = 1e-20 * s``, which is right only for ``f`` real-analytic in x with real y. Its kernels
therefore:

* evaluate ``f(x)`` in real arithmetic on every call (the ``+1`` above), so that where ``f(x)``
  is NaN or infinite but its complex extension is not (``sqrt(-1)``, ``log(-1)``, ``1/0``) the
  derivative is NaN, never a finite number;
* reject a complex y (``UnsupportedError``) and complex x (at preparation);
* on their first call (run inside ``prepare_*``), compare the complex step with central
  differences along one fixed pseudo-random direction, and raise ``UnsupportedError`` when they
  disagree beyond the central difference's estimated error (non-analytic ``f``: ``abs``,
  ``sign``, ``max``, comparisons on x). The check costs 6 evaluations of ``f`` once per
  preparation; an unprepared call prepares too, so it pays the check and runs its kernel twice.
* compute in at least single precision: float16 x is perturbed and differentiated in
  float32 / complex64 (a 1e-20 step does not exist in float16) and the result is cast back.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Raveled, Spec, unsupported
from anydiff._second_order import analytic_checked
from anydiff.backends import _fd_stencils as st
from anydiff.backends._fd_errors import last_error
from anydiff.backends._fd_errors import record as _record
from anydiff.backends._fd_second import SecondOrderStencils

_COMPLEX_STEP = 1e-20
_CAPABLE = ["AutoFiniteDiff(method='central')", "jax", "torch", "engine"]


def _real(dtype: Any) -> np.dtype:
    return np.empty(0, dtype=dtype).real.dtype


def _scale(a: Any) -> Any:
    """``2^floor(log2 max(1, |a|))`` elementwise: piecewise constant in ``a`` (``floor`` has zero
    derivative wherever it is differentiable), so a traced step carries no derivative."""
    return np.exp2(np.floor(np.log2(np.maximum(1.0, np.abs(a)))))


def _is_plain(a: Any) -> bool:
    return isinstance(a, np.ndarray | np.generic)


class _Once:
    """Records the prepared functions whose complex step passed its one-time check: every
    kernel of a preparation (plain and value forms) shares its FlatFunction, so the check runs
    once per preparation (a failed check is not recorded: it fails again)."""

    def __init__(self) -> None:
        self.passed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    @staticmethod
    def _root(F: Any) -> Any:
        return F.F if isinstance(F, Raveled) else F

    def needed(self, F: Any) -> bool:
        return self._root(F) not in self.passed

    def mark(self, F: Any) -> None:
        with self.lock:
            self.passed[self._root(F)] = True


_ONCE = _Once()


class _CsPoint:
    """A real point x prepared for complex steps: x in the complex working dtype, and where
    f(x) is not finite (None when it is finite everywhere, the usual case)."""

    __slots__ = ("xc", "real", "out", "f0", "nonfinite")

    def __init__(self, x: Any, f0: Any) -> None:
        if np.iscomplexobj(x):
            raise unsupported(
                "AutoFiniteDiff(method='complex') needs real x (the complex step perturbs the "
                "imaginary part). Use method='central'.", _CAPABLE,
            )
        cdt = np.result_type(_real(x.dtype), np.complex64)  # float16 is stepped in complex64
        self.xc, self.real, self.out, self.f0 = x.astype(cdt), _real(cdt), _real(x.dtype), f0
        finite = np.isfinite(f0)
        self.nonfinite = None if np.all(finite) else ~finite


class Adapter(SecondOrderStencils, _Base):
    native_kind = "numpy"
    jacobian_needs_output = False

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        # The complex step checks f on its kernels' first call: running that call inside
        # prepare_* makes the check happen at preparation.
        if backend.method == "complex":
            self.compile_on_prepare = True

    @property
    def _complex_step(self) -> bool:
        return self.backend.method == "complex"

    # ---- steps ------------------------------------------------------------------------------
    def _base(self, dtype: np.dtype, order: int) -> float:
        b = self.backend
        eps = float(np.finfo(dtype).eps)
        if order == 2:
            return b.rel_step if b.rel_step is not None else eps ** 0.25
        if b.method == "complex":
            return _COMPLEX_STEP
        if b.rel_step is not None:
            return b.rel_step
        if b.method == "richardson":
            return st.RICHARDSON_STEP
        return st.base_step(b.order, eps)

    def _work_real(self, x: Any, order: int) -> np.dtype:
        """The real dtype steps and quotients are computed in (float32 for float16 x under the
        complex step, whose 1e-20 step float16 cannot hold)."""
        real = _real(x.dtype)
        if order == 1 and self._complex_step:
            return _real(np.result_type(real, np.complex64))
        return real

    def _coord_steps(self, x: Any, order: int, cplx: bool, F: FlatFunction | None = None) -> Any:
        """One step per coordinate, exact in x's dtype. ``cplx``: x is complex by preparation
        (steps scale with |x|); otherwise a complex x is an outer complex step's perturbation of
        a real point and the steps follow its real part, so the quotient stays analytic. ``F``:
        the function differentiated, whose output precision the steps also respect."""
        real = self._work_real(x, order)
        if self.backend.abs_step is not None and order == 1:
            return np.full(x.shape, self.backend.abs_step, dtype=real)
        mag = np.abs(x if cplx else x.real).astype(real)  # in `real`: 1e-20 underflows float16
        h = (self._base(st.step_dtype(real, F), order) * _scale(mag)).astype(real)
        if not (self._complex_step and order == 1):
            xr = x.real
            h = ((xr + h) - xr).astype(real)
            h = np.where(h == 0, np.finfo(real).tiny, h)  # x so large that the step vanished
        return h

    def _dir_step(
        self, x: Any, t: np.ndarray, order: int, noise: float = 0.0, F: FlatFunction | None = None
    ) -> Any:
        """One step along direction t, scaled to the sizes of x and t (t is never traced).

        ``noise``: relative error of the function differentiated (an inner finite-difference
        derivative under ``SecondOrder``; 0 for exact values). The step then balances that
        error against truncation: ``noise^(1/2)`` one-sided, ``noise^(1/3)`` central."""
        tn = float(np.max(np.abs(t))) if t.size else 0.0
        if self.backend.abs_step is not None and order == 1:
            return self.backend.abs_step / max(tn, 1e-300)
        real = self._work_real(x, order)
        xn = _scale(np.max(np.abs(x.real)).astype(real)) if x.size else real.type(1)
        base = self._base(st.step_dtype(real, F), order)
        if noise > 0 and order == 1 and self.backend.rel_step is None and self._stencil_order:
            base = max(base, noise ** (1 / (self._stencil_order + 1)))
        return base * xn / max(tn, 1e-300)

    def derivative_noise(self, dtype: np.dtype) -> float:
        """Relative error of this backend's first derivatives in ``dtype`` (the step error
        balance: ``eps^(p/(p+1))`` for a stencil of order p, ``eps^(6/7)`` for Richardson,
        ``eps`` complex step), which an outer finite difference of them must allow for."""
        eps = float(np.finfo(self._work_real(np.empty(0, dtype), 1)).eps)
        b = self.backend
        if self._complex_step:
            return eps
        if b.method == "richardson":
            return eps ** (6 / 7)
        p = b.order
        if b.rel_step is not None or b.abs_step is not None:
            h = b.rel_step or b.abs_step
            return max(eps / h, h ** p)
        return eps ** (p / (p + 1))

    @property
    def _stencil_order(self) -> int:
        """The stencil's order for central / forward / backward, else 0."""
        return self.backend.order if self.backend.order is not None else 0

    # ---- evaluation -------------------------------------------------------------------------
    @staticmethod
    def _call(F: FlatFunction, v: Any, ctx: tuple) -> Any:
        # FlatFunction gives f a private copy of a plain NumPy v; a traced v (an outer engine)
        # is copied here, since f may mutate its input and must not corrupt our point. No
        # np.asarray on the result: under an outer engine it is a traced array.
        r = F(v if isinstance(v, np.ndarray) else v.copy(), *ctx)
        return r if hasattr(r, "shape") else np.asarray(r)

    def _directional(
        self, F: FlatFunction, x: Any, d: np.ndarray, h: Any, ctx: tuple, f0: Any
    ) -> Any:
        """Derivative of F at x along d with step h; f0 is F(x) when already known (always,
        for the complex step, where x is a :class:`_CsPoint`)."""
        method = self.backend.method
        if method == "complex":
            return self._complex_directional(F, x, d, h, ctx)
        if self.backend.order != st.DEFAULT_ORDER[method]:
            memo = {0: f0}
            return st.stencil(lambda o: memo[o] if o in memo else self._call(F, x + (o * h) * d, ctx),
                              h, method, self.backend.order)[0]
        if method == "central":
            return (self._call(F, x + h * d, ctx) - self._call(F, x - h * d, ctx)) / (2 * h)
        if method == "forward":
            return (self._call(F, x + h * d, ctx) - f0) / h
        return (f0 - self._call(F, x - h * d, ctx)) / h

    def _at(self, x: Any, f0: Any) -> Any:
        """What ``_directional`` takes as its point: x, or for the complex step a _CsPoint."""
        return _CsPoint(x, f0) if self._complex_step else x

    def _complex_directional(
        self, F: FlatFunction, p: _CsPoint, d: np.ndarray, h: Any, ctx: tuple
    ) -> Any:
        if np.iscomplexobj(d):
            raise unsupported(
                "AutoFiniteDiff(method='complex') needs real tangents (the complex step "
                "perturbs the imaginary part).", _CAPABLE,
            )
        fy = self._call(F, p.xc + 1j * (h * d).astype(p.real), ctx)
        if not np.iscomplexobj(fy):
            raise unsupported(
                "The complex step found a real result: f dropped the imaginary part "
                "(e.g. np.real, np.abs, float() or a real-dtype buffer), so its derivative "
                "cannot be read from it.", _CAPABLE,
            )
        r = fy.imag / h
        if p.nonfinite is not None:
            # Where f(x) is NaN or infinite in real arithmetic but its complex extension is
            # not (sqrt(-1), log(-1), 1/0), Im/h is meaningless: the derivative is NaN.
            r = np.where(p.nonfinite & (fy.real != p.f0), np.nan, r)
        return r if r.dtype == p.out else r.astype(p.out)

    def _start(self, F: FlatFunction, x: Any, ctx: tuple, need_value: bool) -> Any:
        """F(x) if the kernel needs it (the value, one-sided or complex-step differences), after
        the complex step's one-time check."""
        if self._complex_step:
            if _is_plain(x) and not analytic_checked(F):
                self.check_once(F, x, ctx)
            f0 = self._call(F, x, ctx)
            if np.iscomplexobj(f0):
                raise self._complex_y(f0)
            return f0
        if need_value or self.backend.method in ("forward", "backward", "richardson") or (
            self.backend.error
        ):
            return self._call(F, x, ctx)
        return None

    @staticmethod
    def _complex_y(f0: Any) -> Exception:
        return unsupported(
            f"AutoFiniteDiff(method='complex') needs a real-valued f, but f returned {f0.dtype} "
            "values: the complex step reads the derivative from the imaginary part, which a "
            "complex y already has. Use method='central'.", _CAPABLE,
        )

    def check_once(self, F: Any, x: np.ndarray, ctx: tuple) -> None:
        """:meth:`check_complex_step` unless this prepared function already passed it."""
        if _ONCE.needed(F):
            self.check_complex_step(F, x, ctx)
            _ONCE.mark(F)

    def check_complex_step(self, F: Any, x: np.ndarray, ctx: tuple) -> None:
        """Compare the complex step with central differences (steps h and 2h, whose difference
        estimates the central error) along one fixed pseudo-random direction at the plain point
        x; raise UnsupportedError when f is seen not to be real-analytic. 6 evaluations of f."""
        if x.size == 0:
            return
        # f at x itself first: the first evaluation records y's layout (dtype included).
        f0 = self._call(F, x, ctx)
        if np.iscomplexobj(f0):
            raise self._complex_y(f0)
        real = self._work_real(x, 1)
        xw = x.astype(real)
        d = np.random.default_rng(20).standard_normal(x.shape).astype(real)
        d /= np.max(np.abs(d))
        s = float(_scale(np.max(np.abs(xw))))
        cs = self._complex_directional(F, _CsPoint(xw, f0), d, real.type(_COMPLEX_STEP * s), ctx)
        eps = float(np.finfo(real).eps)
        h = eps ** (1 / 3) * s
        c1 = (self._call(F, xw + h * d, ctx) - self._call(F, xw - h * d, ctx)) / (2 * h)
        c2 = (self._call(F, xw + 2 * h * d, ctx) - self._call(F, xw - 2 * h * d, ctx)) / (4 * h)
        cs, c1, c2, f0 = (np.asarray(a, dtype=np.float64) for a in (cs, c1, c2, f0))
        # c1 - c2 ~ 3/4 of c2's truncation error; the rest bounds rounding in f and the quotients.
        tol = (10 * np.abs(c1 - c2) + 100 * eps * np.abs(f0) / h
               + 1e-6 * (np.abs(cs) + np.abs(c1)) + np.finfo(real).tiny)
        finite = np.isfinite(cs) & np.isfinite(c1) & np.isfinite(c2) & np.isfinite(f0)
        wrong = finite & (np.abs(cs - c1) > tol)
        if np.any(wrong):
            i = int(np.flatnonzero(wrong)[0])
            raise unsupported(
                "AutoFiniteDiff(method='complex') needs f real-analytic in x (no abs, sign, "
                "max/min, comparisons or branches on x) and a real y: along a test direction at "
                f"the prepared x, the complex step gives {cs.flat[i]:.6g} but central differences "
                f"give {c1.flat[i]:.6g}. Use method='central'.", _CAPABLE,
            )

    # ---- directions, with error estimates --------------------------------------------------
    @property
    def _estimates(self) -> bool:
        return self.backend.method == "richardson" or self.backend.error

    def _block(
        self, F: FlatFunction, x: Any, dirs: list, hs: list, ctx: tuple, f0: Any
    ) -> tuple[list, list | None]:
        """Derivatives of F at x along each direction of ``dirs`` (steps ``hs``), and their
        elementwise error estimates (None unless the backend estimates)."""
        b = self.backend
        if b.method == "richardson":
            if not _is_plain(x):
                raise unsupported(
                    "AutoFiniteDiff(method='richardson') chooses its steps by comparing values, "
                    "which an outer backend tracing it cannot differentiate. Use a stencil, e.g. "
                    "AutoFiniteDiff(order=4), as the inner backend.", _CAPABLE,
                )
            return self._richardson(F, x, dirs, hs, ctx, f0)
        if not b.error:
            at = self._at(x, f0)
            return [self._directional(F, at, d, h, ctx, f0) for d, h in zip(dirs, hs)], None
        vals, errs = [], []
        for d, h in zip(dirs, hs):
            v, e = self._estimated(F, x, d, h, ctx, f0)
            vals.append(v)
            errs.append(e)
        return vals, errs

    def _eps(self, x: Any) -> float:
        return float(np.finfo(_real(x.dtype)).eps)

    def _estimated(
        self, F: FlatFunction, x: Any, d: Any, h: Any, ctx: tuple, f0: Any
    ) -> tuple[Any, Any]:
        """One stencil quotient D(h) with its error estimate from D(2h) (and, for central
        stencils, the kink measure); shared points are evaluated once."""
        method, p = self.backend.method, self.backend.order
        memo = {0: f0}

        def at(o: int) -> Any:
            if o not in memo:
                memo[o] = self._call(F, x + (o * h) * d, ctx)
            return memo[o]

        D1, s1 = st.stencil(at, h, method, p, 1, with_scale=True)
        D2, _ = st.stencil(at, h, method, p, 2)
        eps = self._eps(x)
        kink: Any = 0.0
        if method == "central":
            # g(h), g(2h) (and g(4h) for p >= 4, whose points D(2h) has: its larger steps leave
            # an h^3 term that two values would not remove), coarse to fine.
            mults = (4, 2, 1) if p >= 4 else (2, 1)
            g = [(at(o) - 2 * f0 + at(-o)) / (2 * o * h) for o in mults]
            scale = np.abs(at(1)) + 2 * np.abs(f0) + np.abs(at(-1))
            kink = st.kink(g, 8 * st.F_ULPS * eps * scale / np.abs(h))
        return D1, st.stencil_error(D1, D2, s1, h, p, eps, kink)

    def _richardson(
        self, F: FlatFunction, x: Any, dirs: list, hs: list, ctx: tuple, f0: Any
    ) -> tuple[list, list]:
        """Richardson extrapolation along all directions at once (one sweep of 2 evaluations
        per direction per step; the tableau is vectorised over the block)."""
        f0r = np.asarray(f0)

        habs = np.array([abs(h) for h in hs], dtype=float)
        steps = np.array(hs)

        def row(k: int) -> tuple[Any, Any, Any]:
            # One sweep: f at x +- h_k d for every direction; the quotients, rounding scales
            # and kink sequence are then computed for the whole block at once.
            hk = steps / 2.0 ** k
            FP = np.stack([self._call(F, x + h * d, ctx) for d, h in zip(dirs, hk)])
            FM = np.stack([self._call(F, x - h * d, ctx) for d, h in zip(dirs, hk)])
            h2 = (2 * hk).reshape((-1,) + (1,) * (FP.ndim - 1))
            return (FP - FM) / h2, (np.abs(FP) + np.abs(FM)) / 2, (FP - 2 * f0r + FM) / h2

        value, err, _ = st.richardson(row, habs, self._eps(x))
        if value.dtype != np.result_type(x, f0r):
            value = value.astype(np.result_type(x, f0r))
        return list(value), list(err)

    def _columns(
        self, F: FlatFunction, x: Any, ctx: tuple, f0: Any, cplx: bool, imaginary: bool = False
    ) -> tuple[Any, Any]:
        """All partial derivatives, as columns of an (m, n) matrix (imaginary directions if
        asked), and their error estimates (or None)."""
        n = x.shape[0]
        dirs = []
        for j in range(n):
            d = np.zeros(n, dtype=x.dtype if imaginary else _real(x.dtype))
            d[j] = 1j if imaginary else 1
            dirs.append(d)
        if n == 0:
            m = np.asarray(f0 if f0 is not None else self._call(F, x, ctx)).shape
            J = np.zeros(m + (0,), dtype=np.result_type(x, *([f0] if f0 is not None else [])))
            return J, (np.zeros(J.shape) if self._estimates else None)
        vals, errs = st.sized(
            F, x, lambda: self._block(F, x, dirs, list(self._coord_steps(x, 1, cplx, F)), ctx, f0)
        )
        J = np.stack(vals, axis=-1)
        return J, (np.stack(errs, axis=-1) if errs is not None else None)

    def _jacobians(
        self, F: FlatFunction, x: Any, ctx: tuple, need_value: bool, cplx: bool
    ) -> tuple:
        f0 = self._start(F, x, ctx, need_value)
        J, E = self._columns(F, x, ctx, f0, cplx)
        J_im, E_im = self._columns(F, x, ctx, f0, cplx, imaginary=True) if cplx else (None, None)
        return f0, J, J_im, E, E_im

    @staticmethod
    def _adjoint_error(W: Any, E: Any, E_im: Any) -> Any:
        """Bound on the error of J^H w from the elementwise bounds E (and E_im) on J."""
        aW = np.abs(W)
        if E_im is None:
            return aW @ E
        return np.hypot(aW @ E, aW @ E_im)

    @staticmethod
    def _adjoint(W: Any, J: Any, J_im: Any, cplx: bool, x: Any) -> Any:
        """Rows J^H w: the adjoint of the real-linear map, repacked as complex for complex x.
        A complex x of a real preparation is an outer complex step: there the quotient must stay
        analytic, so no conjugate is taken (J is real at real points)."""
        if J_im is not None:
            return (W @ np.conj(J)).real + 1j * (W @ np.conj(J_im)).real
        if not cplx and np.iscomplexobj(x):
            return W @ J
        r = W @ np.conj(J)
        return r.real if not np.iscomplexobj(W) and not np.iscomplexobj(J) else r

    def _check_spec(self, spec: Spec) -> bool:
        cplx = spec.dtype.kind == "c"
        if cplx and self._complex_step:
            raise unsupported(
                "AutoFiniteDiff(method='complex') needs real x: the complex step perturbs the "
                "imaginary part, which a complex x already has. Use method='central'.", _CAPABLE,
            )
        return cplx

    # ---- primitives ---------------------------------------------------------------------------
    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._check_spec(spec)
        noise = float(getattr(F, "noise", 0.0))  # an inner finite-difference derivative's error

        def kernel(x: Any, T: np.ndarray, ctx: tuple) -> tuple:
            f0 = self._start(F, x, ctx, need_value)
            live = [i for i, t in enumerate(T) if np.any(t)]
            vals, errs = st.sized(F, x, lambda: self._block(
                F, x, [T[i] for i in live], [self._dir_step(x, T[i], 1, noise, F) for i in live],
                ctx, f0,
            ))
            shape = vals[0] if vals else (f0 if f0 is not None else self._call(F, x, ctx))
            rows: list[Any] = [None] * len(T)
            erows: list[Any] = [None] * len(T)
            for j, i in enumerate(live):
                rows[i] = vals[j]
                if errs is not None:
                    erows[i] = errs[j]
            zero = np.zeros_like(shape, dtype=np.result_type(shape, T))
            rows = [zero if r is None else r for r in rows]
            if errs is not None:
                _record(F, np.stack([np.zeros(zero.shape) if e is None else e for e in erows]))
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return f0, np.stack(rows)

        return kernel

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        cplx = self._check_spec(spec)

        def kernel(x: Any, W: Any, ctx: tuple) -> tuple:
            f0, J, J_im, E, E_im = self._jacobians(F, x, ctx, need_value, cplx)
            if E is not None:
                _record(F, self._adjoint_error(W, E, E_im))
            return (f0 if need_value else None), self._adjoint(W, J, J_im, cplx, x)

        return kernel

    # ---- native first-order operators -------------------------------------------------------
    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        cplx = self._check_spec(spec)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            f0 = self._start(F, x, ctx, need_value)
            J, E = self._columns(F, x, ctx, f0, cplx)
            if E is not None:
                _record(F, E)
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return (f0 if need_value else None), J

        return kernel

    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Ff = F.flat()
        cplx = self._check_spec(spec)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            f0, J, J_im, E, E_im = self._jacobians(Ff, x, ctx, need_value, cplx)
            g = self._adjoint(np.ones((1, 1), dtype=_real(J.dtype)), J, J_im, cplx, x)[0]
            if E is not None:
                _record(F, E[0] if E_im is None else np.hypot(E[0], E_im[0]))
            return (f0.reshape(()) if need_value else None), g

        return kernel

    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        jac = self.make_jacobian(F, spec, need_value)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, J = jac(x, None, ctx)
            E = last_error(F)
            if E is not None and E.ndim == 2:
                _record(F, E[:, 0])
            return y, J[:, 0]

        return kernel
