"""HIPS autograd: ``AutoAutograd()``.

autograd traces ``f`` by wrapping its input in ``ArrayBox`` objects and records a graph that
``make_vjp`` turns into a reverse pass; ``make_jvp`` traces again with tangents attached (forward
mode, available for most but not all primitives). Nothing is compiled, so every call retraces
``f``: a preparation stores the constant parts (cotangent seeds, bases) and, for the same-point
variants, the recorded reverse pass itself.

Operators (``fun`` is ``v -> F(v, *ctx)`` on flat vectors of shape ``(n,)``):

================  ===================================================================
gradient          one ``make_vjp`` trace + one reverse pass (``value_and_grad``)
pullback          one trace, then one reverse pass per cotangent row (the closure is reused)
pushforward       ``make_jvp`` per tangent row; when a primitive has no JVP rule, the
                  transpose of the pullback (``make_vjp`` of the linear map ``w -> vjp(w)``)
jacobian          rows from reverse passes over the basis of y (columns from JVPs when
                  ``n < m``)
hvp / hessian     reverse over reverse: ``make_vjp`` of the gradient function, one reverse
                  pass per tangent / basis vector (autograd's ``make_hvp``)
derivative        one JVP (generic builder); second_derivative: JVP of the JVP
================  ===================================================================

Complex numbers. autograd's reverse pass computes ``conj(J^H conj(w))`` (for holomorphic ``f``
that is ``J^T w``, and for real ``f`` of complex ``x`` it is ``df/dRe x - i df/dIm x``). anydiff's
contract is ``J^H w`` and the steepest-ascent gradient, so complex cotangents are conjugated on
the way in and results on the way out; real inputs skip this.

Limitations (raised as ``UnsupportedError`` with the backends that can): assignment into a
traced array (``x[0] = ...``) or of traced values into a NumPy buffer, ``float(x)`` of a traced
value, NumPy functions that autograd does not trace and that turn a traced array into a NumPy
``object`` array (``np.asarray`` + ``np.linalg.solve``, ``np.tensordot``, ...; use
``autograd.numpy`` or the Array API namespace there), primitives without a derivative rule.

Threads: autograd keeps a global trace counter that nested traces rely on, so this adapter
serialises its traces with one re-entrant lock. autograd runs in Python under the GIL, so the
lock costs no parallelism that existed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.core import make_jvp as _make_jvp
from autograd.core import make_vjp as _make_vjp
from autograd.core import vspace
from autograd.tracer import getval, isbox

from anydiff._errors import AnydiffError, AnydiffTypeError, AnydiffValueError, UnsupportedError
from anydiff._protocol import Adapter as _Base
from anydiff._protocol import FlatFunction, Kernel, Spec, unsupported

# Re-entrant: second-order operators and SecondOrder(autograd, autograd) nest traces.
_LOCK = threading.RLock()

_MUTATION_CAPABLE = ["engine", "finitediff", "torch"]
_NUMPY_CAPABLE = ["finitediff", "engine"]
_RULE_CAPABLE = ["jax", "torch", "finitediff"]


def _is_complex_dtype(dt: Any) -> bool:
    return np.dtype(dt).kind == "c"


def _dtype(a: Any) -> np.dtype:
    """dtype of an array, NumPy scalar, Python number or ArrayBox (no conversion)."""
    dt = getattr(a, "dtype", None)
    return np.dtype(dt) if dt is not None else np.asarray(a).dtype


def _stack(rows: list[Any]) -> Any:
    """Rows ``(n,)`` -> ``(k, n)``; traceable (rows may be ArrayBoxes of an outer trace)."""
    if len(rows) == 1:
        return rows[0][None]
    return anp.stack(rows)


def _escaped() -> UnsupportedError:
    return unsupported(
        "autograd lost track of f: a NumPy function that autograd does not trace (np.where, "
        "np.concatenate, np.stack, np.asarray, np.array, np.tensordot, np.linalg.*, SciPy "
        "functions, ...) received a traced array and built a NumPy object array, which reached "
        "f's output or its derivative. autograd traces NumPy ufuncs and np.sum-like reductions "
        "only. Write those calls with the Array API namespace (xp = ad.array_namespace(x)) or "
        "autograd.numpy, or use a backend that runs plain NumPy code.",
        _NUMPY_CAPABLE,
    )


def _fun(F: Any, ctx: tuple) -> Callable[[Any], Any]:
    """``v -> F(v, *ctx)``, refusing outputs that escaped the trace (they would give a silent
    zero derivative)."""

    def fun(v: Any) -> Any:
        try:
            y = F(v, *ctx)
        except AnydiffValueError as exc:
            # The first evaluation checks the output leaves: an escaped output is an object array.
            if "non-numeric" in str(exc):
                raise _escaped() from exc
            raise
        if type(y) is np.ndarray and y.dtype == object:
            raise _escaped()
        return y

    return fun


_ONES: dict[np.dtype, np.ndarray] = {}


def _one(y: Any) -> np.ndarray:
    """The cotangent 1 for a scalar output ``y`` (cached per dtype)."""
    dt = _dtype(y)
    one = _ONES.get(dt)
    if one is None:
        one = _ONES.setdefault(dt, np.ones((), dtype=dt))
    return one


def _check_real(y: Any) -> None:
    if _is_complex_dtype(_dtype(y)):
        raise UnsupportedError(
            "gradient, hessian and hvp need a real-valued f, but f returned a complex scalar. "
            "Return its real part (or abs) for a gradient, or use pullback / jacobian for the "
            "complex derivative."
        )


def _grad(fun: Callable, x: Any, complex_x: bool) -> tuple[Any, Any]:
    """``(f(x), gradient)``: autograd's ``value_and_grad``, in anydiff's complex convention."""
    vjp, y = _make_vjp(fun, x)
    _check_real(y)
    g = vjp(_one(y))
    return y, (anp.conj(g) if complex_x else g)


def _pullback_rows(vjp: Callable, W: Any, conj: bool) -> Any:
    """Rows ``J^H w`` for the rows ``w`` of ``W`` from an autograd VJP closure."""
    if conj:
        return _stack([anp.conj(vjp(anp.conj(w))) for w in W])
    return _stack([vjp(w) for w in W])


def _transpose_vjp(vjp: Callable, y: Any) -> Callable[[Any], Any]:
    """``t -> J t`` from the VJP closure of ``f`` at a point, by differentiating the linear map
    ``u -> vjp(u)`` (its own VJP is the transposed map). Works for any real-linear J, complex
    included: autograd's conjugations cancel."""
    lin, _ = _make_vjp(vjp, vspace(getval(y)).zeros())
    return lin


def _complex_row(vjp: Callable, e: Any, complex_y: bool) -> Any:
    """Row i of the Jacobian ``J e_j`` (columns along real unit vectors, as forward mode and
    finite differences see it) of a real-linear ``L(t) = A t + B conj(t)``.

    autograd's ``vjp(e_i)`` is ``A_i + conj(B_i)`` and ``vjp(i e_i)`` is ``i (A_i - conj(B_i))``,
    so the row ``A_i + B_i`` needs both (one for real y, where ``B = conj(A)``; for holomorphic
    f, ``B = 0`` and the row is ``vjp(e_i)``)."""
    r1 = vjp(e)
    if not complex_y:
        return anp.real(r1)
    r2 = vjp(1j * e)
    return (r1 - 1j * r2) / 2 + anp.conj((r1 + 1j * r2) / 2)


def _leaves(values: Any) -> list[np.ndarray]:
    """The NumPy arrays among kernel inputs (x, tangents, context values and their pytrees)."""
    out: list[np.ndarray] = []
    for v in values:
        if type(v) is np.ndarray:
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(_leaves(v))
        elif isinstance(v, dict):
            out.extend(_leaves(list(v.values())))
    return out


def _owned(outputs: tuple, *sources: Any) -> tuple:
    """Results belong to the caller: an output that shares memory with the
    kernel's inputs (autograd returns the cotangent itself as the pullback of a reshape, and
    ``x`` itself as the value of the identity; for a NumPy caller both are the caller's arrays)
    is copied. A bounds check per output; nothing is copied otherwise. Object arrays (an
    escaped trace) raise."""
    srcs: list[np.ndarray] | None = None
    result = []
    for o in outputs:
        if type(o) is np.ndarray and o.dtype == object:
            # Boxes inside a NumPy object array: an untraced NumPy function met a traced value
            # (e.g. np.stack of traced rows) and autograd's result is not a derivative.
            raise _escaped()
        if type(o) is np.ndarray and o.size:
            if srcs is None:
                srcs = [s for s in _leaves(sources) if s.size]
            if any(np.may_share_memory(o, s) for s in srcs):
                o = o.copy()
        result.append(o)
    return tuple(result)


def _owning(kernel: Kernel) -> Kernel:
    """``kernel`` whose outputs never alias its inputs (see :func:`_owned`)."""

    def owning(x: Any, T: Any, ctx: tuple) -> tuple:
        return _owned(kernel(x, T, ctx), x, T, ctx)

    return owning


def _copy(a: Any) -> Any:
    """A fresh copy of a value a same-point kernel stores and returns on every call."""
    return a.copy() if type(a) is np.ndarray else a


def _is_missing_jvp(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError) and str(exc).startswith("JVP of ")


class Adapter(_Base):
    """Runs ``AutoAutograd()`` on NumPy arrays (ArrayBoxes when nested in another trace)."""

    native_kind = "numpy"
    accepts = frozenset({"autograd"})

    # ---- arrays -------------------------------------------------------------------------------
    def asarray(self, a: Any, dtype: np.dtype | None = None) -> Any:
        if isbox(a):
            return a if dtype is None or _dtype(a) == dtype else a.astype(dtype)
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        if isbox(a):
            raise unsupported(
                "A value traced by autograd cannot become a NumPy array (its derivative would be "
                "lost). To use another AD system inside a function that autograd differentiates, "
                "wrap it with ad.differentiate_with.",
                ["finitediff"],
            )
        return np.asarray(a)

    # autograd's wrappers cost a few microseconds per call: plain arrays take NumPy's own.
    def concat(self, arrays: list[Any], axis: int = 0) -> Any:
        if any(isbox(a) for a in arrays):
            return anp.concatenate(arrays, axis=axis)
        return np.concatenate(arrays, axis=axis)

    def stack(self, arrays: list[Any]) -> Any:
        if any(isbox(a) for a in arrays):
            return anp.stack(arrays)
        return np.stack(arrays)

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluate(self, F: FlatFunction, x: Any, ctx: tuple) -> Any:
        # Trace instead of calling f on the caller's array: limitations (mutation, escapes)
        # surface at preparation, and an f that mutates x cannot corrupt the caller's x.
        with _LOCK:
            _, y = _make_vjp(_fun(F, ctx), x)
        return y

    def translate_error(self, exc: BaseException, F: FlatFunction) -> AnydiffError | None:
        msg = str(exc)
        if isinstance(exc, NotImplementedError) and (
            msg.startswith("VJP of ") or msg.startswith("JVP of ")
        ):
            return unsupported(
                f"autograd has no derivative rule for a function f calls ({msg}).",
                _RULE_CAPABLE, exc,
            )
        if ("ArrayBox" in msg and ("__setitem__" in msg or "item assignment" in msg)) or (
            isinstance(exc, ValueError) and "setting an array element with a sequence" in msg
        ):
            return unsupported(
                "autograd cannot differentiate in-place assignment: f assigns into a traced "
                "array (x[i] = ...) or writes traced values into a NumPy array (buf[i] = x...). "
                "Build arrays functionally (np.concatenate, np.stack, np.where) or use a backend "
                "that supports mutation.",
                _MUTATION_CAPABLE, exc,
            )
        if isinstance(exc, TypeError) and "Box" in msg and (
            "float()" in msg or "int()" in msg or "complex()" in msg or "real number" in msg
        ):
            return unsupported(
                "autograd cannot differentiate through float(x), int(x) or np.asarray(x, dtype) "
                "of a traced value: the conversion drops the derivative. Keep values as arrays.",
                _NUMPY_CAPABLE, exc,
            )
        if isinstance(exc, TypeError) and msg.startswith("Can't differentiate w.r.t. type"):
            # autograd's forward mode refuses a box holding an integer (astype(int) of x).
            return AnydiffTypeError(
                f"f converts a value that depends on x to an integer or boolean ({msg}): such "
                "a value is piecewise constant and has no useful derivative. Keep it "
                "floating-point, or leave it out of what is differentiated."
            )
        if "dtype('O')" in msg or ("ArrayBox" in msg and "callable" in msg):
            # An object array of boxes reached a NumPy routine that needs numbers.
            return _chain(_escaped(), exc)
        if "Box" in msg:
            return unsupported(
                f"autograd could not trace f ({type(exc).__name__}: {msg}).",
                _NUMPY_CAPABLE + ["jax", "torch"], exc,
            )
        return None

    # ---- primitives -----------------------------------------------------------------------------
    def make_pullback(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex_dtype(spec.dtype)

        def kernel(x: Any, W: Any, ctx: tuple) -> tuple:
            with _LOCK:
                vjp, y = _make_vjp(_fun(F, ctx), x)
                B = _pullback_rows(vjp, W, complex_x or _is_complex_dtype(_dtype(y)))
            return (y if need_value else None), B

        return _owning(kernel)

    def make_pullback_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        # Record the trace once; each call is reverse passes only.
        with _LOCK:
            vjp, y = self.guarded(F, lambda: _make_vjp(_fun(F, ctx), x))
        conj = _is_complex_dtype(spec.dtype) or _is_complex_dtype(_dtype(y))

        def kernel(_x: Any, W: Any, _ctx: tuple) -> tuple:
            with _LOCK:
                B = _pullback_rows(vjp, W, conj)
            return (_copy(y) if need_value else None), B

        return _owning(kernel)

    def make_pushforward(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        # Forward mode until a primitive without a JVP rule shows up, then (for the life of
        # this kernel) the transposed pullback, which needs only VJP rules.
        state = {"reverse": False}

        def forward(x: Any, T: Any, ctx: tuple) -> tuple:
            fun, y, rows = _fun(F, ctx), None, []
            for t in T:
                y, jt = _make_jvp(fun, x)(t)
                rows.append(jt)
            return y, _stack(rows)

        def reverse(x: Any, T: Any, ctx: tuple) -> tuple:
            vjp, y = _make_vjp(_fun(F, ctx), x)
            lin = _transpose_vjp(vjp, y)
            return y, _stack([lin(t) for t in T])

        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            with _LOCK:
                if not state["reverse"]:
                    try:
                        y, B = forward(x, T, ctx)
                        return (y if need_value else None), B
                    except NotImplementedError as exc:
                        if not _is_missing_jvp(exc):
                            raise
                        state["reverse"] = True
                y, B = reverse(x, T, ctx)
            return (y if need_value else None), B

        return _owning(kernel)

    def make_pushforward_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        # Linearise once (trace + transposed reverse pass); each tangent is then one reverse
        # pass of the linear map, without running f again.
        with _LOCK:
            vjp, y = self.guarded(F, lambda: _make_vjp(_fun(F, ctx), x))
            lin = self.guarded(F, lambda: _transpose_vjp(vjp, y))

        def kernel(_x: Any, T: Any, _ctx: tuple) -> tuple:
            with _LOCK:
                B = _stack([lin(t) for t in T])
            return (_copy(y) if need_value else None), B

        return _owning(kernel)

    # ---- first-order operators ---------------------------------------------------------------
    def make_gradient(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex_dtype(spec.dtype)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            with _LOCK:
                y, g = _grad(_fun(F, ctx), x, complex_x)
            return (y if need_value else None), g

        return _owning(kernel)

    def make_jacobian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        n, m = spec.n, F.m
        if n < m:
            # Fewer columns than rows: n JVPs beat m reverse passes.
            pf = self.make_pushforward(F, spec.with_batch(n), need_value)
            basis_x = np.eye(n, dtype=spec.dtype)

            def columns(x: Any, _T: Any, ctx: tuple) -> tuple:
                y, B = pf(x, basis_x, ctx)
                return y, B.T

            return _owning(columns)

        complex_x = _is_complex_dtype(spec.dtype)
        bases: dict[np.dtype, np.ndarray] = {}

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            with _LOCK:
                vjp, y = _make_vjp(_fun(F, ctx), x)
                dt = _dtype(y)
                E = bases.get(dt)
                if E is None:
                    E = bases.setdefault(dt, np.eye(m, dtype=dt))
                if complex_x or _is_complex_dtype(dt):
                    J = _stack([_complex_row(vjp, e, _is_complex_dtype(dt)) for e in E])
                else:
                    # autograd's vjp(e_i) is e_i^T J = J[i].
                    J = _stack([vjp(e) for e in E])
            return (y if need_value else None), J

        return _owning(kernel)

    # ---- second-order operators --------------------------------------------------------------
    def _gradient_trace(
        self, F: FlatFunction, spec: Spec, x: Any, ctx: tuple, values: list | None
    ) -> tuple[Callable, Any]:
        """``make_vjp`` of the gradient function at x: ``(vjp of the gradient, gradient)``.
        Stores f(x) into ``values`` when given."""
        complex_x = _is_complex_dtype(spec.dtype)
        fun = _fun(F, ctx)

        def gradient_fn(v: Any) -> Any:
            y, g = _grad(fun, v, complex_x)
            if values is not None:
                values.append(getval(y))
            return g

        return _make_vjp(gradient_fn, x)

    @staticmethod
    def _hvp_rows(vjp_g: Callable, T: Any, complex_x: bool) -> Any:
        # H is symmetric as a real-linear map, so the pullback of the gradient is H t.
        return _pullback_rows(vjp_g, T, complex_x)

    def make_hvp(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex_dtype(spec.dtype)

        def kernel(x: Any, T: Any, ctx: tuple) -> tuple:
            with _LOCK:
                vjp_g, g = self._gradient_trace(F, spec, x, ctx, None)
                HT = self._hvp_rows(vjp_g, T, complex_x)
            return (g if need_value else None), HT

        return _owning(kernel)

    def make_hvp_same_point(
        self, F: FlatFunction, spec: Spec, need_value: bool, x: Any, ctx: tuple
    ) -> Kernel:
        complex_x = _is_complex_dtype(spec.dtype)
        with _LOCK:
            vjp_g, g = self.guarded(F, lambda: self._gradient_trace(F, spec, x, ctx, None))

        def kernel(_x: Any, T: Any, _ctx: tuple) -> tuple:
            with _LOCK:
                HT = self._hvp_rows(vjp_g, T, complex_x)
            return (_copy(g) if need_value else None), HT

        return _owning(kernel)

    def make_hessian(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        complex_x = _is_complex_dtype(spec.dtype)
        basis = np.eye(spec.n, dtype=spec.dtype)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            values: list = []
            with _LOCK:
                vjp_g, g = self._gradient_trace(F, spec, x, ctx, values if need_value else None)
                # Rows are H e_i (columns of H); transposed like the generic builder does.
                H = self._hvp_rows(vjp_g, basis, complex_x).T
            if not need_value:
                return None, None, H
            return values[0], g, H

        return _owning(kernel)

    def make_second_derivative(self, F: FlatFunction, spec: Spec, need_value: bool) -> Kernel:
        # Forward over forward: the JVP of x -> JVP(f)(x)(1). A primitive without a JVP rule
        # switches this kernel to transposed pullbacks at both levels.
        state = {"reverse": False}
        one = np.ones(1, dtype=spec.dtype)

        def jvp(fun: Callable, v: Any) -> tuple[Any, Any]:
            if state["reverse"]:
                vjp, y = _make_vjp(fun, v)
                return y, _transpose_vjp(vjp, y)(one)
            return _make_jvp(fun, v)(one)

        def kernel(x: Any, _T: Any, ctx: tuple) -> tuple:
            fun = _fun(F, ctx)
            values: list = []

            def derivative(v: Any) -> Any:
                y, dy = jvp(fun, v)
                values.append(getval(y))
                return dy

            with _LOCK:
                try:
                    dy, d2y = jvp(derivative, x)
                except NotImplementedError as exc:
                    if state["reverse"] or not _is_missing_jvp(exc):
                        raise
                    state["reverse"] = True
                    values.clear()
                    dy, d2y = jvp(derivative, x)
            return (values[0] if need_value else None), dy, d2y

        return _owning(kernel)


def _chain(err: UnsupportedError, exc: BaseException) -> UnsupportedError:
    err.__cause__ = exc
    return err
