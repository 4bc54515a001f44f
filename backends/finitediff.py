"""Finite differences on NumPy: ``AutoFiniteDiff(method, rel_step, abs_step)``.

Steps follow careful finite-difference codes (e.g. SciPy's ``approx_derivative``): per
coordinate ``h_i = c * s_i`` with ``c = eps^(1/2)`` for one-sided differences, ``eps^(1/3)``
for central ones and ``eps^(1/4)`` for second-order stencils, ``eps`` being the machine epsilon
of x's dtype, and ``s_i = 2^floor(log2 max(1, |x_i|))`` (``max(1, |x_i|)`` rounded down to a
power of two); each step is then rounded so that ``x_i + h_i`` is exact. Rounding the scale to a
power of two makes the step a piecewise-constant function of x: an AD system that traces these
kernels (``SecondOrder(AutoEngine(), AutoFiniteDiff())``) then differentiates the difference
quotient itself, with no spurious ``dh/dx`` term.

Costs (evaluations of ``f``): Jacobian / gradient ``n + 1`` (forward, backward, complex step;
the value comes free), ``2n`` (central; ``+1`` with the value). Complex ``x`` doubles them (real
and imaginary directions). Pullbacks build the Jacobian. Hessians use the four-point stencil
``(f(x+a+b) - f(x+a-b) - f(x-a+b) + f(x-a-b)) / 4ab``: 2 n(n+1) evaluations. Second-order
operators always use central stencils, whatever ``method``.

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


class Adapter(_Base):
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
        return eps ** (1 / 3) if b.method == "central" else eps ** 0.5

    def _work_real(self, x: Any, order: int) -> np.dtype:
        """The real dtype steps and quotients are computed in (float32 for float16 x under the
        complex step, whose 1e-20 step float16 cannot hold)."""
        real = _real(x.dtype)
        if order == 1 and self._complex_step:
            return _real(np.result_type(real, np.complex64))
        return real

    def _coord_steps(self, x: Any, order: int, cplx: bool) -> Any:
        """One step per coordinate, exact in x's dtype. ``cplx``: x is complex by preparation
        (steps scale with |x|); otherwise a complex x is an outer complex step's perturbation of
        a real point and the steps follow its real part, so the quotient stays analytic."""
        real = self._work_real(x, order)
        if self.backend.abs_step is not None and order == 1:
            return np.full(x.shape, self.backend.abs_step, dtype=real)
        mag = np.abs(x if cplx else x.real).astype(real)  # in `real`: 1e-20 underflows float16
        h = (self._base(real, order) * _scale(mag)).astype(real)
        if not (self._complex_step and order == 1):
            xr = x.real
            h = ((xr + h) - xr).astype(real)
            h = np.where(h == 0, np.finfo(real).tiny, h)  # x so large that the step vanished
        return h

    def _dir_step(self, x: Any, t: np.ndarray, order: int, noise: float = 0.0) -> Any:
        """One step along direction t, scaled to the sizes of x and t (t is never traced).

        ``noise``: relative error of the function differentiated (an inner finite-difference
        derivative under ``SecondOrder``; 0 for exact values). The step then balances that
        error against truncation: ``noise^(1/2)`` one-sided, ``noise^(1/3)`` central."""
        tn = float(np.max(np.abs(t))) if t.size else 0.0
        if self.backend.abs_step is not None and order == 1:
            return self.backend.abs_step / max(tn, 1e-300)
        real = self._work_real(x, order)
        xn = _scale(np.max(np.abs(x.real)).astype(real)) if x.size else real.type(1)
        base = self._base(real, order)
        if noise > 0 and order == 1 and self.backend.rel_step is None and not self._complex_step:
            base = max(base, noise ** (1 / 3 if self.backend.method == "central" else 1 / 2))
        return base * xn / max(tn, 1e-300)

    def derivative_noise(self, dtype: np.dtype) -> float:
        """Relative error of this backend's first derivatives in ``dtype`` (the step error
        balance: ``eps^(2/3)`` central, ``eps^(1/2)`` one-sided, ``eps`` complex step), which an
        outer finite difference of them must allow for."""
        eps = float(np.finfo(self._work_real(np.empty(0, dtype), 1)).eps)
        if self._complex_step:
            return eps
        if self.backend.rel_step is not None or self.backend.abs_step is not None:
            h = self.backend.rel_step or self.backend.abs_step
            return max(eps / h, h) if self.backend.method != "central" else max(eps / h, h * h)
        return eps ** (2 / 3) if self.backend.method == "central" else eps ** 0.5

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
        if need_value or self.backend.method in ("forward", "backward"):
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

    def _columns(
        self, F: FlatFunction, x: Any, ctx: tuple, f0: Any, cplx: bool, imaginary: bool = False
    ) -> Any:
        """All partial derivatives, as columns of an (m, n) matrix (imaginary directions if
        asked)."""
        h = self._coord_steps(x, 1, cplx)
        n, at = x.shape[0], self._at(x, f0)
        cols = []
        for j in range(n):
            d = np.zeros(n, dtype=x.dtype if imaginary else _real(x.dtype))
            d[j] = 1j if imaginary else 1
            cols.append(self._directional(F, at, d, h[j], ctx, f0))
        return np.stack(cols, axis=-1)

    def _jacobians(
        self, F: FlatFunction, x: Any, ctx: tuple, need_value: bool, cplx: bool
    ) -> tuple:
        f0 = self._start(F, x, ctx, need_value)
        J = self._columns(F, x, ctx, f0, cplx)
        J_im = self._columns(F, x, ctx, f0, cplx, imaginary=True) if cplx else None
        return f0, J, J_im

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
            rows, at = [], self._at(x, f0)
            for t in T:
                if not np.any(t):
                    rows.append(None)
                    continue
                h = self._dir_step(x, t, 1, noise)
                rows.append(self._directional(F, at, t, h, ctx, f0))
            shape = next((r for r in rows if r is not None), None)
            if shape is None:
                shape = f0 if f0 is not None else self._call(F, x, ctx)
            rows = [np.zeros_like(shape, dtype=np.result_type(shape, T)) if r is None else r
                    for r in rows]
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return f0, np.stack(rows)

        return kernel

    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        cplx = self._check_spec(spec)

        def kernel(x: Any, W: Any, ctx: tuple) -> tuple:
            f0, J, J_im = self._jacobians(F, x, ctx, need_value, cplx)
            return (f0 if need_value else None), self._adjoint(W, J, J_im, cplx, x)

        return kernel

    # ---- native first-order operators -------------------------------------------------------
    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        cplx = self._check_spec(spec)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            f0 = self._start(F, x, ctx, need_value)
            J = self._columns(F, x, ctx, f0, cplx)
            if need_value and f0 is None:
                f0 = self._call(F, x, ctx)
            return (f0 if need_value else None), J

        return kernel

    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        Ff = F.flat()
        cplx = self._check_spec(spec)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            f0, J, J_im = self._jacobians(Ff, x, ctx, need_value, cplx)
            g = self._adjoint(np.ones((1, 1), dtype=_real(J.dtype)), J, J_im, cplx, x)[0]
            return (f0.reshape(()) if need_value else None), g

        return kernel

    def make_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        jac = self.make_jacobian(F, spec, need_value)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            y, J = jac(x, None, ctx)
            return y, J[:, 0]

        return kernel

    # ---- native second-order operators ------------------------------------------------------
    def _real_only(self, spec: Spec, what: str) -> None:
        if spec.dtype.kind == "c":
            raise unsupported(
                f"AutoFiniteDiff does not compute {what} for complex x.", ["jax", "torch"]
            )

    def _stencil(self, F: FlatFunction, x: Any, a: Any, b: Any, ctx: tuple) -> Any:
        """Mixed second derivative along step vectors a and b (four-point stencil)."""
        c = self._call
        num = c(F, x + a + b, ctx) - c(F, x + a - b, ctx) - c(F, x - a + b, ctx) + c(F, x - a - b, ctx)
        return num / 4

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "Hessian-vector products")
        grad = self.make_gradient(F, spec, False)

        def kernel(x: np.ndarray, T: np.ndarray, ctx: tuple) -> tuple:
            h = self._coord_steps(x, 2, False)
            rows = []
            for t in T:
                b = self._dir_step(x, t, 2)
                row = np.empty(x.shape[0], dtype=np.result_type(x, t))
                for i in range(x.shape[0]):
                    a = np.zeros_like(x)
                    a[i] = h[i]
                    row[i] = self._stencil(F, x, a, b * t, ctx) / (h[i] * b)
                rows.append(row)
            g = grad(x, None, ctx)[1] if need_value else None
            return g, np.stack(rows)

        return kernel

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "Hessians")
        grad = self.make_gradient(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            n = x.shape[0]
            h = self._coord_steps(x, 2, False)
            H = np.empty((n, n), dtype=x.dtype)
            for i in range(n):
                a = np.zeros_like(x)
                a[i] = h[i]
                for j in range(i, n):
                    b = np.zeros_like(x)
                    b[j] = h[j]
                    H[i, j] = H[j, i] = self._stencil(F, x, a, b, ctx) / (h[i] * h[j])
            y, g = grad(x, None, ctx) if need_value else (None, None)
            return y, g, H

        return kernel

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        self._real_only(spec, "second derivatives")
        deriv = self.make_derivative(F, spec, need_value)

        def kernel(x: np.ndarray, _T: Any, ctx: tuple) -> tuple:
            h = self._coord_steps(x, 2, False)
            f0 = self._call(F, x, ctx)
            d2 = (self._call(F, x + h, ctx) - 2 * f0 + self._call(F, x - h, ctx)) / (h[0] * h[0])
            y, dy = deriv(x, None, ctx) if need_value else (None, None)
            return (f0 if need_value else None), dy, d2

        return kernel
