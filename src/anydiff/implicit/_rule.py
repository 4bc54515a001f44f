"""The implicit function theorem as a bridge rule (:class:`anydiff.bridge._core.Rule`).

The value of the rule is the solver's answer ``y = solver(x, *ctx)`` (and its ``aux``); its
derivatives come from ``conditions(x, y, *ctx) = 0``: with ``A = ∂c/∂y`` and ``B = ∂c/∂x`` at
that point,

* pushforward: ``J t = v`` with ``A v = -B t``  (``B t``: a pushforward of the conditions in x),
* pullback:    ``Jᴴ w = -Bᴴ u`` with ``Aᴴ u = w`` (``Bᴴ u``: a pullback of the conditions in x).

Every derivative of the conditions is an anydiff operator on ``backend``, prepared once per
input signature (and per number of stacked tangents) in the bridge's per-signature state, with
``x`` (or ``y``) and the contexts passed as :class:`anydiff.Constant`. The last few points
(``POINTS``) keep their ``y`` and their linear system (an LU factorisation for ``"direct"``),
so that the value call and the derivative calls that follow it (JAX runs them as separate
callbacks) solve once and factorise once.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._contexts import Batch, Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError, UnsupportedError
from .._pytree import tree_flatten, tree_unflatten
from .._signatures import ContextSig
from ..bridge._core import Rule, Signature, output_signature
from ..bridge._fresh import callback_id, checked_run, eager_call, flat, identical
from ._errors import ImplicitResidualWarning
from ._linear import DenseDirect, MatrixFree, SparseDirect

#: points (x, context values) whose y and linear system are kept, per input signature
POINTS = 8

LINEAR_SOLVERS = ("direct", "gmres", "cg")


@dataclass
class _Point:
    """One solved point: ``y`` (NumPy pytree), ``aux``, and what the derivatives build there."""

    y: Any
    aux: Any
    checked: bool = False  # residual and shape of the conditions checked here
    system: Any = None  # the linear solver of A = ∂c/∂y at this point
    cfresh: Any = None  # flat conditions(x, y) evaluated directly (checks the cached preps)
    cfresh_in: int = 0  # the compiled callback that evaluated cfresh (0: an eager call)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _to_numpy(v: Any) -> np.ndarray:
    if hasattr(v, "detach"):  # a torch tensor returned by the solver
        v = v.detach().cpu().numpy()
    return np.asarray(v)


class ImplicitRule(Rule):
    """``implicit_function(solver, conditions, backend, ...)`` as a bridge rule on flat vectors."""

    name = "implicit function"

    def __init__(self, solver: Callable, conditions: Callable, backend: Any, *, linear_solver: Any,
                 linear_solver_options: dict | None, has_aux: bool, residual_tol: float | None) -> None:
        super().__init__(solver)
        from .._registry import resolve
        from ..sparse._autosparse import AutoSparse

        if not callable(solver) or not callable(conditions):
            raise AnydiffTypeError("implicit_function(solver, conditions, backend): solver and "
                                   "conditions must be callables")
        if not (callable(linear_solver) or linear_solver in LINEAR_SOLVERS):
            raise AnydiffValueError(
                f"implicit_function(..., linear_solver={linear_solver!r}): use 'direct', 'gmres', "
                "'cg' or a callable solve(op, b) -> v")
        self.conditions = conditions
        self.backend = resolve(backend)
        self.sparse = isinstance(self.backend, AutoSparse)
        # pushforwards / pullbacks of the conditions: AutoSparse serves sparse Jacobians only
        self.linear_backend = self.backend.dense if self.sparse else self.backend
        self.linear_solver = linear_solver
        self.options = dict(linear_solver_options or {})
        self.has_aux = bool(has_aux)
        self.residual_tol = residual_tol
        self.ctx: tuple = ()
        self._ctxsig: Any = None
        self._ctxkey: bytes = b""

        def conditions_in_y(y: Any, x: Any, *ctx: Any) -> Any:
            return conditions(x, y, *ctx)

        def conditions_in_x(x: Any, y: Any, *ctx: Any) -> Any:
            return conditions(x, y, *ctx)

        name = getattr(conditions, "__name__", "conditions")
        conditions_in_y.__name__ = f"{name}_in_y"
        conditions_in_x.__name__ = f"{name}_in_x"
        # one object each, so that the preparations made with them keep matching
        self._c_y, self._c_x = conditions_in_y, conditions_in_x

    def describe_rule(self) -> str:
        ls = getattr(self.linear_solver, "__name__", self.linear_solver)
        return f"implicit_function({self.fname}, ..., {self.backend!r}, linear_solver={ls!r})"

    @property
    def where(self) -> str:
        return f"implicit_function({self.fname}, {getattr(self.conditions, '__name__', '...')}, ...)"

    # ---- contexts: a view sharing every cache, keyed by the contexts' signature -------------
    def bind(self, contexts: tuple) -> ImplicitRule:
        """This rule with ``contexts`` (concrete values) passed to the solver and the conditions."""
        view = copy.copy(self)  # shares _states / _lock: one set of preparations
        view.ctx = tuple(_concrete_context(c, i, self.where) for i, c in enumerate(contexts))
        # keyed as the conditions' preparations check contexts: a Python float and a 0-d
        # array share an output signature but not a preparation
        view._ctxsig = tuple((output_signature(c), ContextSig.of(Constant(c))) for c in view.ctx)
        parts = []
        for c in view.ctx:
            for leaf in tree_flatten(c)[0]:
                a = np.asarray(leaf)
                parts.append(a.tobytes() if a.dtype != object else repr(leaf).encode())
        view._ctxkey = b"\0".join(parts)
        return view

    def state(self, sig: Any) -> dict:
        key = (sig, self._ctxsig)
        st = self._states.get(key)
        if st is None:
            with self._lock:
                st = self._states.setdefault(key, {"lock": threading.Lock(), "plock": threading.Lock(),
                                                   "points": OrderedDict()})
        return st

    # ---- the value: the solver ---------------------------------------------------------------
    def _solve(self, sig: Signature, x: np.ndarray) -> _Point:
        out = self.f(sig.unflatten_np(x), *self.ctx)
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise AnydiffTypeError(
                    f"the solver {self.fname} of an implicit function with has_aux=True must return "
                    f"a pair (y, aux); it returned {type(out).__name__}")
            y, aux = out
        else:
            y, aux = out, None
        real = np.finfo(sig.dtype).dtype if sig.dtype.kind in "fc" else np.dtype(float)
        cplx = np.result_type(real, np.complex64)

        def cast(v: Any) -> np.ndarray:  # y in x's precision (brentq returns Python floats)
            a = _to_numpy(v)
            if a.dtype.kind == "c":
                return a.astype(cplx, copy=False)
            if a.dtype.kind in "fiub":
                return a.astype(real, copy=False)
            raise AnydiffTypeError(f"the solver {self.fname} returned a leaf of dtype {a.dtype}; an "
                                   "implicit function's y must be floating-point arrays")

        yl, ytd = tree_flatten(y)
        pt = _Point(tree_unflatten(ytd, [cast(v) for v in yl]), None)
        if self.has_aux:
            al, atd = tree_flatten(aux)
            pt.aux = tree_unflatten(atd, [_aux_leaf(v, real) for v in al])
        st = self.state(sig)
        ysig = output_signature(pt.y)
        if st.setdefault("ysig", ysig) != ysig:
            raise AnydiffValueError(
                f"the solver {self.fname} returned y of {ysig.describe()} here and "
                f"{st['ysig'].describe()} at another x of the same signature; y's structure and "
                "shapes must depend on x's only")
        key = (x.tobytes(), self._ctxkey)
        with st["plock"]:
            pts = st["points"]
            pts[key] = pt
            pts.move_to_end(key)
            while len(pts) > POINTS:
                pts.popitem(last=False)
        return pt

    def _point(self, sig: Signature, x: np.ndarray) -> _Point:
        """The solved point at ``x`` (the one the value call just made, else a new solve)."""
        st = self.state(sig)
        with st["plock"]:
            pt = st["points"].get((x.tobytes(), self._ctxkey))
        return pt if pt is not None else self._solve(sig, x)

    def value_tree(self, sig: Signature, x: np.ndarray) -> Any:
        pt = self._solve(sig, x)
        return (pt.y, pt.aux) if self.has_aux else pt.y

    # ---- derivatives of the conditions (anydiff operators, prepared per signature) ----------
    def _consts(self, other: Any) -> tuple:
        return (Constant(other),) + tuple(Constant(c) for c in self.ctx)

    def _linear(self, op: str, wrt: str, sig: Signature, pt: _Point, xt: Any, rows: list) -> tuple:
        """``value_and_<op>`` of the conditions in ``wrt`` ("x" or "y") for the tangent /
        cotangent pytrees ``rows`` (one prepared, batched call) -> (c, list of results)."""
        from .._operators import PUBLIC

        f, at, other = (self._c_x, xt, pt.y) if wrt == "x" else (self._c_y, pt.y, xt)
        k = len(rows)
        arg = rows[0] if k == 1 else Batch(*rows)
        consts = self._consts(other)

        def run(prep: Any) -> tuple:
            c, res = getattr(prep, f"value_and_{op}")(at, arg, *consts)
            return flat(c), (c, res)

        c, res = self._checked(sig, pt, xt, (op, wrt, k), lambda: PUBLIC[f"prepare_{op}"](
            f, self.linear_backend, at, arg, *consts), run)
        return c, ([res] if k == 1 else list(res))

    # ---- stale preparations: the conditions' prep value against a direct evaluation ---------
    def _checked(self, sig: Signature, pt: _Point, xt: Any, key: tuple, build: Any, run: Any) -> Any:
        """``run`` on the cached prep ``key``, its value c(x, y) checked against the conditions
        evaluated directly at this point (once per point), re-prepared when stale (see
        :mod:`anydiff.bridge._fresh`)."""

        def refresh() -> np.ndarray:
            from .._registry import get_adapter

            wide = any(np.dtype(d).itemsize >= 8 for d in sig.dtypes if np.dtype(d).kind in "fc")
            c = flat(eager_call(self.conditions, self.linear_backend, get_adapter(self.linear_backend),
                                (xt, pt.y) + tuple(self.ctx), wide))
            if pt.cfresh is not None and not identical(c, pt.cfresh):
                # the conditions changed at a point solved before: check its residual again
                pt.checked, pt.system = False, None
            pt.cfresh, pt.cfresh_in = c, callback_id()
            return c

        def reference() -> tuple:
            # inside a compiled JAX callback the point may have been solved by an earlier call
            # (XLA runs the value call later, or not at all), before a change of the data
            cb = callback_id()
            c = pt.cfresh if cb == 0 or pt.cfresh_in == cb else None
            return (c, True) if c is not None else (refresh(), False)

        return checked_run(self, sig, key, build, run, reference, refresh,
                           f"the conditions of {self.where}")

    def invalidate(self, sig: Signature) -> None:
        """Drop the preps of ``sig`` and the linear systems built from them at every point."""
        super().invalidate(sig)
        st = self.state(sig)
        with st["plock"]:
            pts = list(st["points"].values())
        for p in pts:
            p.system = None

    def _csig(self, sig: Signature, pt: _Point, xt: Any) -> Signature:
        """The conditions' output signature (evaluated once per signature), checked against y's."""
        st = self.state(sig)
        csig = st.get("csig")
        if csig is None:
            zero = sig.unflatten_np(np.zeros(sig.size, dtype=sig.dtype))
            c, _ = self._linear("pushforward", "x", sig, pt, xt, [zero])
            csig = self._check(sig, pt, c)
        return csig

    def _check(self, sig: Signature, pt: _Point, c: Any) -> Signature:
        """Shape of the conditions' output (once per signature) and residual (once per point)."""
        st = self.state(sig)
        cl, ctd = tree_flatten(c)
        csig = Signature(ctd, tuple(tuple(np.shape(v)) for v in cl),
                         tuple(str(np.asarray(v).dtype) for v in cl))
        ysig = st["ysig"]
        if "csig" not in st:
            if csig.size != ysig.size:
                raise AnydiffValueError(
                    f"the conditions of {self.where} returned {csig.describe()} ({csig.size} numbers) "
                    f"for y of {ysig.describe()} ({ysig.size} numbers): the implicit function theorem "
                    "needs exactly one condition per component of y (∂c/∂y square). Return one "
                    "residual per unknown (any shapes; they are raveled in pytree order).")
            st["csig"] = csig
        csig = st["csig"]
        if not pt.checked:
            cflat = csig.flatten_np(c, f"conditions of {self.where}")
            tol = self.residual_tol
            if tol is None:
                tol = float(np.sqrt(np.finfo(cflat.dtype).eps)) if cflat.dtype.kind in "fc" else 1e-8
            res = float(np.max(np.abs(cflat))) if cflat.size else 0.0
            if not res <= tol:  # NaN residuals warn too
                warnings.warn(
                    f"{self.where}: the conditions at the solver's answer y have residual "
                    f"max|c(x, y)| = {res:.3g} > residual_tol = {tol:.3g}; y does not solve the "
                    "conditions, so the implicit derivatives (those of the exact solution) may not "
                    "be the solver's. Tighten the solver's tolerance, or check the conditions.",
                    ImplicitResidualWarning, stacklevel=2)
            pt.checked = True
        return csig

    def _system(self, sig: Signature, pt: _Point, xt: Any) -> Any:
        """The linear solver of ``A = ∂c/∂y`` at ``pt``: built once per point."""
        with pt.lock:
            if pt.system is None:
                pt.system = self._build_system(sig, pt, xt)
            return pt.system

    def _build_system(self, sig: Signature, pt: _Point, xt: Any) -> Any:
        from .._operators import PUBLIC

        ysig = self.state(sig)["ysig"]
        if self.linear_solver == "direct":
            consts = self._consts(xt)
            def run(prep: Any) -> tuple:
                c, A = prep.value_and_jacobian(pt.y, *consts)
                return flat(c), (c, A)

            c, A = self._checked(sig, pt, xt, ("jacobian",), lambda: PUBLIC["prepare_jacobian"](
                self._c_y, self.backend, pt.y, *consts), run)
            csig = self._check(sig, pt, c)
            if self.sparse:
                return SparseDirect(A, self.where)
            return DenseDirect(np.asarray(A).reshape(csig.size, ysig.size), self.where)
        csig = self._csig(sig, pt, xt)

        def matvec(v: np.ndarray) -> np.ndarray:
            _, (r,) = self._linear("pushforward", "y", sig, pt, xt, [ysig.unflatten_np(np.ravel(v))])
            # a copy: scipy's solvers write into the products (a JAX / torch buffer is read-only)
            return np.array(csig.flatten_np(r, f"pushforward of the conditions of {self.where}"))

        def rmatvec(u: np.ndarray) -> np.ndarray:
            _, (r,) = self._linear("pullback", "y", sig, pt, xt, [csig.unflatten_np(np.ravel(u))])
            return np.array(ysig.flatten_np(r, f"pullback of the conditions of {self.where}"))

        return MatrixFree(self.linear_solver, self.options, ysig.size, np.result_type(csig.dtype, ysig.dtype),
                          matvec, rmatvec, self.where)

    # ---- the implicit function theorem -------------------------------------------------------
    def pushforward_flat(self, sig: Signature, osig: Signature, x: np.ndarray, T: np.ndarray) -> Any:
        self._real_only(sig, osig)
        pt = self._point(sig, x)
        ysig = self.state(sig)["ysig"]
        k = T.shape[0]
        if k == 0:
            return np.zeros((0, osig.size), dtype=osig.dtype)
        xt = sig.unflatten_np(x)
        c, BT = self._linear("pushforward", "x", sig, pt, xt, [sig.unflatten_np(T[j]) for j in range(k)])
        csig = self._check(sig, pt, c)
        R = -np.stack([csig.flatten_np(r, f"pushforward of the conditions of {self.where}") for r in BT])
        V = self._system(sig, pt, xt).solve(R, adjoint=False)  # (k, m)
        if self.has_aux:  # aux carries no derivative
            V = np.concatenate([V, np.zeros((k, osig.size - ysig.size), dtype=V.dtype)], axis=1)
        return V

    def pullback_flat(self, sig: Signature, osig: Signature, x: np.ndarray, W: np.ndarray) -> Any:
        self._real_only(sig, osig)
        pt = self._point(sig, x)
        ysig = self.state(sig)["ysig"]
        k = W.shape[0]
        if k == 0:
            return np.zeros((0, sig.size), dtype=sig.dtype)
        xt = sig.unflatten_np(x)
        system = self._system(sig, pt, xt)  # "direct" learns the conditions' shape from ∂c/∂y
        csig = self._csig(sig, pt, xt)
        U = system.solve(np.asarray(W[:, :ysig.size]), adjoint=True)  # (k, m)
        c, BhU = self._linear("pullback", "x", sig, pt, xt, [csig.unflatten_np(U[j]) for j in range(k)])
        self._check(sig, pt, c)
        return -np.stack([sig.flatten_np(r, f"pullback of the conditions of {self.where}") for r in BhU])

    def hvp_flat(self, sig: Signature, osig: Signature, x: np.ndarray, w: np.ndarray, V: np.ndarray) -> Any:
        raise self._no_second_order()

    def check_mode(self, mode: str, sig: Signature, osig: Signature) -> None:
        if mode == "hvp":
            raise self._no_second_order()
        self._real_only(sig, osig)

    def _real_only(self, sig: Signature, osig: Signature) -> None:
        # with complex x or y the theorem needs conditions holomorphic in (x, y); a conjugate or
        # abs in them would make the complex-matrix solve silently wrong, so it is refused
        if sig.dtype.kind == "c" or osig.dtype.kind == "c":
            raise UnsupportedError(
                f"derivatives of {self.where} with complex x or y are not supported (the implicit "
                "function theorem on complex matrices needs holomorphic conditions, which cannot be "
                "checked). Split real and imaginary parts into a real pytree, e.g. "
                "{'re': x.real, 'im': x.imag}, for both x and y.")

    def _no_second_order(self) -> UnsupportedError:
        return UnsupportedError(
            f"second derivatives through {self.where}: implicit functions provide first derivatives "
            "only (the implicit function theorem's second-order terms are not implemented). "
            "Differentiate once through the implicit function (gradient, jacobian, pushforward, "
            "pullback), or differentiate a solver written in one framework end to end.")


def _aux_leaf(v: Any, real: np.dtype) -> np.ndarray:
    a = _to_numpy(v)
    if a.dtype.kind == "f":  # floats in x's precision (float32 stays float32 under JAX)
        return a.astype(real, copy=False)
    if a.dtype.kind not in "iubc":
        raise AnydiffTypeError(
            f"the aux of an implicit function must be a pytree of numbers or numeric arrays (it "
            f"travels with y through every framework, without derivative); got dtype {a.dtype}. "
            "Keep other data outside, e.g. in a dict the solver writes to.")
    return a


def _concrete_context(c: Any, i: int, where: str) -> Any:
    """A context as a concrete NumPy value (framework arrays converted; traced values refused:
    contexts are constants, and a silent zero derivative would be wrong)."""
    if isinstance(c, Context):
        c = c.value
    leaves, td = tree_flatten(c)
    out = []
    for v in leaves:
        mod = type(v).__module__.split(".")[0]
        if mod == "torch":
            if v.requires_grad:
                raise AnydiffTypeError(_traced(i, where))
            v = v.detach().cpu().numpy()
        elif mod in ("jax", "jaxlib"):
            try:
                v = np.asarray(v)
            except Exception as e:  # a tracer
                raise AnydiffTypeError(_traced(i, where)) from e
        elif mod in ("autograd", "anydiff"):
            raise AnydiffTypeError(_traced(i, where))
        out.append(v)
    return tree_unflatten(td, out)


def _traced(i: int, where: str) -> str:
    return (f"context {i} of {where} is a traced / differentiated value; contexts are constants "
            "(no derivative flows through them). Make it part of x (a pytree such as (x, p)) to "
            "differentiate with respect to it, or pass a concrete NumPy value. (Inside jax.jit, "
            "and so under AutoJax(), and in the engine's reverse-mode tapes, even an ad.Constant "
            "is a traced value: read such data from the function's closure instead, or use "
            "AutoJax(jit=False) / AutoEngine(\"forward\").)")
