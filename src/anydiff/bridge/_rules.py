"""The two kinds of rule: anydiff's prepared operators on a backend, and hand-written rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._contexts import Batch, Constant
from .._errors import UnsupportedError
from .._pytree import tree_flatten
from . import _traced
from ._core import Rule, Signature, materialize_check
from ._fresh import checked_run, eager_call


class BackendRule(Rule):
    """``differentiate_with(f, backend)``: derivatives from anydiff's operators on ``backend``.

    Preparations are made once per (input signature, operator, number of stacked tangents)
    and reused from every thread; a new signature prepares again.
    """

    def __init__(self, f: Any, backend: Any) -> None:
        super().__init__(f)
        from .._registry import resolve

        self.backend = resolve(backend)
        self._adapter: Any = None
        self._wsum = _weighted_sum(f)  # one object, so that hvp preps keep matching it

    @property
    def adapter(self) -> Any:
        if self._adapter is None:
            from .._registry import get_adapter

            self._adapter = get_adapter(self.backend)
        return self._adapter

    def describe_rule(self) -> str:
        return f"differentiate_with(..., {self.backend!r})"

    def value_tree(self, sig: Signature, x: np.ndarray) -> Any:
        """``f(x)`` called eagerly on ``backend``'s arrays (never a cached trace, which would bake
        the data f reads from its closure as it was then), or at large sizes on JAX the compiled
        program of f's current trace (``_traced``); NumPy results."""
        if _traced.applies(self.backend, sig):
            y = _traced.value(self, sig, x, _wide(sig))
            if y is not None:
                return y
        return eager_call(self.f, self.backend, self.adapter, (sig.unflatten_np(x),), _wide(sig))

    def _prep(self, sig: Signature, op: str, k: int, build: Any) -> Any:
        return self.cached(sig, (op, k), build)

    def pushforward_flat(self, sig: Signature, osig: Signature, x: np.ndarray, T: np.ndarray) -> Any:
        """``J t`` for each row of ``T`` (k, n): one prepared, batched pushforward -> (k, m)."""
        return self._linear_flat("pushforward", sig, sig, osig, x, T)

    def pullback_flat(self, sig: Signature, osig: Signature, x: np.ndarray, W: np.ndarray) -> Any:
        """``Jᴴ w`` for each row of ``W`` (k, m): one prepared, batched pullback -> (k, n)."""
        return self._linear_flat("pullback", sig, osig, sig, x, W)

    def _linear_flat(
        self, op: str, sig: Signature, in_sig: Signature, out_sig: Signature, x: np.ndarray,
        T: np.ndarray,
    ) -> Any:
        from .._operators import PUBLIC

        xt = sig.unflatten_np(x)
        k = T.shape[0]
        rows_in = [in_sig.unflatten_np(T[j]) for j in range(k)]
        arg = rows_in[0] if k == 1 else Batch(*rows_in)
        name = f"{op} of {self.fname} on {self.backend!r}"
        osig = in_sig if op == "pullback" else out_sig

        def run(prep: Any) -> tuple:
            y, r = getattr(prep, f"value_and_{op}")(xt, arg)
            return osig.flatten_np(y, name), r

        if _traced.applies(self.backend, sig):
            # the derivative of the program that computed this x's value (no trace), else
            flat = _traced.derivative(self, sig, op, x, T)
            if flat is not None:
                return flat
            # the unprepared JAX operator: traced as f is now, compiled code reused only for an
            # equal program, so fresh without comparing values (see _traced)
            res = PUBLIC[op](self.f, self.backend, xt, arg)
        else:
            # the prep's value is checked against f's (stale preps are made again, see _fresh)
            res = checked_run(self, sig, (op, k),
                              lambda: PUBLIC[f"prepare_{op}"](self.f, self.backend, xt, arg), run,
                              lambda: self.reference_value(sig, x), lambda: self.value(sig, x),
                              f"the function {self.fname} (differentiate_with(..., {self.backend!r}))")
        rows = [res] if k == 1 else list(res)
        # zero_imag_ok: anydiff's pushforward of a real f with a complex tangent (complex x) is
        # complex with zero imaginary part (e.g. the engine's forward-mode gradient seeds)
        return (np.stack([out_sig.flatten_np(r, name, zero_imag_ok=True) for r in rows]) if k
                else np.zeros((0, out_sig.size)))

    def hvp_flat(
        self, sig: Signature, osig: Signature, x: np.ndarray, w: np.ndarray, V: np.ndarray
    ) -> Any:
        from .._operators import PUBLIC

        if sig.dtype.kind == "c" or osig.dtype.kind == "c":
            raise UnsupportedError(
                f"second derivatives through differentiate_with(..., {self.backend!r}) of a complex "
                "function are not supported; use first derivatives, or differentiate the whole "
                "function with one backend."
            )
        # the hvp has no value form: the pullback at (x, w) is checked instead (its prep and the
        # hvp's are dropped together when stale, and an hvp prep is only made right after this
        # check, so both always hold the same data)
        traced = _traced.applies(self.backend, sig)
        if not traced:
            self._linear_flat("pullback", sig, osig, sig, x, np.asarray(w)[None])
        xt = sig.unflatten_np(x)
        wt = Constant(osig.unflatten_np(w))
        k = V.shape[0]
        tans = [sig.unflatten_np(V[j]) for j in range(k)]
        tan = tans[0] if k == 1 else Batch(*tans)
        try:
            if traced:  # unprepared: fresh by tracing (see _traced)
                res = PUBLIC["hvp"](self._wsum, self.backend, xt, tan, wt)
            else:
                prep = self._prep(sig, "hvp", k,
                                  lambda: PUBLIC["prepare_hvp"](self._wsum, self.backend, xt, tan, wt))
                res = prep(xt, tan, wt)
        except UnsupportedError as e:
            raise UnsupportedError(
                f"second derivatives through differentiate_with(..., {self.backend!r}) need "
                f"{self.backend!r}'s hvp, which failed: {e}"
            ) from e
        rows = [res] if k == 1 else list(res)
        name = f"hvp of {self.fname} on {self.backend!r}"
        return np.stack([sig.flatten_np(r, name) for r in rows])


def _wide(sig: Signature) -> bool:
    """Whether JAX needs x64 for this signature (64-bit floats), as the JAX backend does."""
    return any(np.dtype(d).itemsize >= 8 and np.dtype(d).kind == "f" or np.dtype(d) == np.complex128
               for d in sig.dtypes)


def _weighted_sum(f: Any) -> Any:
    """``s(x, w) = Σ_leaves sum(w_leaf * f(x)_leaf)``: its Hessian is ``Σ_i w_i ∇²f_i``."""

    def weighted_sum(x: Any, w: Any) -> Any:
        ys, _ = tree_flatten(f(x))
        ws, _ = tree_flatten(w)
        total = 0.0
        for yl, wl in zip(ys, ws):
            term = wl * yl
            total = total + (term.sum() if hasattr(term, "sum") else term)
        return total

    weighted_sum.__name__ = f"weighted_sum_of_{getattr(f, '__name__', 'f')}"
    return weighted_sum


class CustomRule(Rule):
    """``custom_derivative(f, pushforward=..., pullback=...)``: hand-written NumPy rules.

    ``pushforward(x, t) -> J t`` and ``pullback(x, w) -> Jᴴ w`` take and return pytrees of
    NumPy arrays shaped like x / y, one tangent at a time. A missing mode is materialised
    from the given rule when that takes at most ``MATERIALIZE_LIMIT`` calls.
    """

    def __init__(self, f: Any, pushforward: Any, pullback: Any) -> None:
        super().__init__(f)
        self.pf, self.pb = pushforward, pullback

    def describe_rule(self) -> str:
        return f"custom_derivative({self.fname}, ...)"

    def value_tree(self, sig: Signature, x: np.ndarray) -> Any:
        return self.f(sig.unflatten_np(x))

    def check_mode(self, mode: str, sig: Signature, osig: Signature) -> None:
        super().check_mode(mode, sig, osig)
        if mode == "pushforward" and self.pf is None:
            materialize_check("pullback", "pushforward", _units(osig))
        if mode == "pullback" and self.pb is None:
            materialize_check("pushforward", "pullback", _units(sig))

    def _rows(self, rule: Any, name: str, xt: Any, src: Signature, dst: Signature, R: np.ndarray) -> Any:
        out = [dst.flatten_np(rule(xt, src.unflatten_np(R[j])), name) for j in range(R.shape[0])]
        return np.stack(out) if out else np.zeros((0, dst.size), dtype=dst.dtype)

    def _materialized(self, rule: Any, name: str, xt: Any, src: Signature, dst: Signature,
                      R: np.ndarray) -> np.ndarray:
        """The other mode from ``rule`` applied to the unit vectors of ``src`` (and to ``i``
        times them when ``src`` is complex: a non-holomorphic J is only R-linear, so the real
        units alone do not determine it). Row ``k`` of the result pairs ``R[k]`` with every
        rule result ``P_j`` by the real inner product ``Re <R[k], P_j>``; for a complex ``dst``
        the pair for ``e_j`` gives the real part and that for ``i e_j`` the imaginary part."""
        eye = np.eye(src.size, dtype=src.dtype)
        P = self._rows(rule, name, xt, src, dst, eye)  # (src.size, dst.size)
        out = np.real(np.conj(R) @ P.T) if np.iscomplexobj(R) or np.iscomplexobj(P) else R @ P.T
        if src.dtype.kind == "c":
            Q = self._rows(rule, name, xt, src, dst, 1j * eye)
            out = out + 1j * np.real(np.conj(R) @ Q.T)
        return out

    def pushforward_flat(self, sig: Signature, osig: Signature, x: np.ndarray, T: np.ndarray) -> Any:
        xt = sig.unflatten_np(x)
        if self.pf is not None:
            return self._rows(self.pf, f"pushforward rule of {self.fname}", xt, sig, osig, T)
        materialize_check("pullback", "pushforward", _units(osig))
        # (J t)_i = <e_i, J t> = Re <Jᴴ e_i, t> (+ i Re <Jᴴ (i e_i), t> for a complex y)
        return self._materialized(self.pb, f"pullback rule of {self.fname}", xt, osig, sig, T)

    def pullback_flat(self, sig: Signature, osig: Signature, x: np.ndarray, W: np.ndarray) -> Any:
        xt = sig.unflatten_np(x)
        if self.pb is not None:
            return self._rows(self.pb, f"pullback rule of {self.fname}", xt, osig, sig, W)
        materialize_check("pushforward", "pullback", _units(sig))
        # (Jᴴ w)_j = <e_j, Jᴴ w> = Re <w, J e_j> (+ i Re <w, J (i e_j)> for a complex x)
        return self._materialized(self.pf, f"pushforward rule of {self.fname}", xt, sig, osig, W)


def _units(sig: Signature) -> int:
    """Rule calls that materialising J over ``sig``'s space takes (twice its size if complex)."""
    return sig.size * (2 if sig.dtype.kind == "c" else 1)
