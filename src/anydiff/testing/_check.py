"""``check_derivatives``: a backend-agnostic gradcheck against Richardson finite differences.

It compares what a backend computes (or what a hand-written derivative function returns) with
``AutoFiniteDiff(method="richardson")`` and its elementwise error estimate, operator by
operator. The tolerance is derived from that estimate (not a fixed rtol): an entry fails when
``|value - fd| > 2 * fd_error + 16 eps (|fd| + scale)``, ``scale`` being the largest ``|fd|`` of
the operator. Entries whose estimate is large (``fd_error > undecided_above * (|fd| + scale)``:
kinks, jumps, f undefined near x) are *undecided*: they never fail, and a disagreement there is
reported as "finite differences cannot decide here" (a ``UserWarning``).

Second-order operators are checked by differencing the first derivative of the same source
(as ``torch.autograd.gradgradcheck`` does): ``hessian`` / ``hvp`` against Richardson on the
gradient, ``second_derivative`` against Richardson on ``derivative``; the first derivative is
checked against f itself in the same call when it is among the operators.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FIRST_ORDER = ("derivative", "gradient", "jacobian", "pushforward", "pullback")
SECOND_ORDER = ("second_derivative", "hessian", "hvp")
_TANGENT = {"pushforward": "x", "hvp": "x", "pullback": "y"}
#: the first derivative a second-order operator is checked against (by differencing it).
_BASE = {"hessian": "gradient", "hvp": "gradient", "second_derivative": "derivative"}


@dataclass
class OperatorCheck:
    """The outcome for one operator: ``ok`` (no decided entry failed), the worst entry (largest
    ``|value - fd| / tolerance`` among decided entries), and the undecided entries."""

    operator: str
    ok: bool
    worst_index: tuple
    value: float
    fd_value: float
    fd_error: float
    tolerance: float
    undecided: int
    disagree_undecided: int
    size: int

    def line(self) -> str:
        status = "ok" if self.ok else "FAILED"
        extra = ""
        if self.undecided:
            extra = (f"; {self.undecided} of {self.size} entries undecided "
                     f"({self.disagree_undecided} disagree): finite differences cannot decide here")
        return (
            f"  {self.operator:<18} {status:<6} worst entry {self.worst_index}: value "
            f"{self.value:.12g}, FD {self.fd_value:.12g} ± {self.fd_error:.2g} "
            f"(|diff| {abs(self.value - self.fd_value):.3g}, tolerance {self.tolerance:.3g}){extra}"
        )


@dataclass
class CheckReport:
    """What :func:`check_derivatives` found: one :class:`OperatorCheck` per operator."""

    source: str
    dtype: str
    checks: list[OperatorCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def __str__(self) -> str:
        head = f"check_derivatives of {self.source} (in {self.dtype}) against Richardson FD:"
        return "\n".join([head] + [c.line() for c in self.checks])


def _np(a: Any) -> np.ndarray:
    """Any result (NumPy, JAX, torch, Python float) as a float NumPy array."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def _work_x(f: Callable, x: Any, ctx: tuple) -> tuple[Any, str]:
    """x in the dtype the check runs in: float32 / float16 x is promoted to float64 when f
    returns float64 for it (f "allows" it), so that FD errors stay far below the errors the
    check must see; otherwise the check runs in x's own dtype."""
    from anydiff._arrays import require_floating

    a = np.asarray(x) if isinstance(x, (float, int, np.ndarray, np.generic)) else None
    if a is None:
        return x, str(getattr(x, "dtype", "float64"))
    require_floating(a.dtype)
    if a.dtype.kind == "f" and a.dtype.itemsize < 8:
        x64 = a.astype(np.float64)
        try:
            y = f(x64, *ctx)
            if np.asarray(y).dtype == np.float64:
                return x64, "float64 (promoted from " + str(a.dtype) + ")"
        except Exception:  # f insists on its dtype: check in it
            pass
    return (a if a.ndim else a[()]), str(a.dtype)


def _source(backend: Any, derivative: Any) -> str:
    if derivative is not None:
        return "the given derivative function(s)"
    return repr(backend)


def _default_ops(y: np.ndarray, x: Any, derivative: Any) -> list[str]:
    if isinstance(derivative, dict):
        return list(derivative)
    scalar_x = np.ndim(x) == 0
    scalar_y = y.ndim == 0
    if derivative is not None:
        return ["derivative" if scalar_x else "gradient" if scalar_y else "jacobian"]
    ops = ["derivative"] if scalar_x else []
    if scalar_y and not scalar_x:
        ops.append("gradient")
    return ops + ["jacobian", "pushforward", "pullback"]


def check_derivatives(
    f: Callable,
    x: Any,
    *contexts: Any,
    backend: Any = None,
    derivative: Callable | dict[str, Callable] | None = None,
    operators: tuple[str, ...] | list[str] | None = None,
    undecided_above: float = 1e-6,
    seed: int = 0,
) -> CheckReport:
    """Check a backend's (or hand-written) derivatives of ``f`` at ``x`` against Richardson
    finite differences, with tolerances from the finite differences' own error estimates.

    Args:
        f: ``y = f(x, *contexts)``, NumPy code (finite differences evaluate it on NumPy arrays;
            a backend under test runs it on its own arrays).
        x: the point: a Python float or NumPy array (float32 is checked in float64 when f
            returns float64 for a float64 x).
        *contexts: extra arguments of f (passed to the backend as ``ad.Constant``).
        backend: the backend to check (``"jax"``, ``ad.AutoTorch()``, ...).
        derivative: instead of a backend, hand-written derivatives: a dict from operator name
            to function, ``{"gradient": g, "hvp": hv, ...}``, called as ``fn(x, *contexts)``
            (``fn(x, t, *contexts)`` for pushforward / hvp, ``fn(x, w, *contexts)`` for
            pullback) and returning what the operator returns; or one function, taken as the
            ``derivative`` (scalar x), ``gradient`` (scalar y) or ``jacobian`` (otherwise).
        operators: which operators to check (``"derivative"``, ``"gradient"``, ``"jacobian"``,
            ``"pushforward"``, ``"pullback"``, ``"second_derivative"``, ``"hessian"``,
            ``"hvp"``); default: the first-order ones that apply (the dict's keys for a dict).
        undecided_above: relative FD error estimate above which an entry is undecided.
        seed: seeds the random tangents and cotangents.

    Returns:
        A :class:`CheckReport` (``print`` it for the table).

    Raises:
        AssertionError: some decided entry differs by more than its tolerance; the message is
            the report (operator, worst entry, value, FD value, FD error estimate).

    Example:
        >>> import numpy as np
        >>> from anydiff.testing import check_derivatives
        >>> f = lambda x: np.sin(x) * x[0]
        >>> check_derivatives(f, np.array([0.5, 1.0]), backend="engine").ok
        True
    """
    import anydiff as ad

    if (backend is None) == (derivative is None):
        raise ad.AnydiffTypeError(
            "check_derivatives needs exactly one of backend= (a backend to check) or "
            "derivative= (hand-written derivative functions)."
        )
    xw, dtype = _work_x(f, x, contexts)
    y = _np(f(xw, *contexts))
    ops = list(operators) if operators is not None else _default_ops(y, xw, derivative)
    for op in ops:
        if op not in FIRST_ORDER + SECOND_ORDER:
            raise ad.AnydiffValueError(
                f"check_derivatives: unknown operator {op!r}; expected one of "
                f"{FIRST_ORDER + SECOND_ORDER}."
            )
    if callable(derivative) and not isinstance(derivative, dict):
        derivative = {_default_ops(y, xw, derivative)[0]: derivative}
    rng = np.random.default_rng(seed)
    tx = rng.standard_normal(np.shape(xw)) if np.ndim(xw) else float(rng.standard_normal())
    ty = rng.standard_normal(y.shape) if y.ndim else float(rng.standard_normal())
    rich = ad.AutoFiniteDiff(method="richardson")
    ctx = tuple(ad.Constant(c) if not isinstance(c, (ad.Constant, ad.Cache)) else c
                for c in contexts)

    def computed(op: str) -> Callable:
        """``fn(x, *tangent)`` computing ``op`` with the source under test."""
        if derivative is not None:
            if op not in derivative:
                raise ad.AnydiffValueError(
                    f"check_derivatives: no hand-written {op!r} among {list(derivative)}."
                )
            user = derivative[op]
            return lambda xx, *t: _np(user(xx, *t, *contexts))
        operator = getattr(ad, op)
        return lambda xx, *t: _np(operator(f, backend, xx, *t, *ctx))

    # A finite-difference backend under test is itself only that accurate: its tolerance
    # also allows 1000 times its nominal relative error (eps^(p/(p+1)) for order p).
    # Second derivatives of finite differences (four-point stencils with steps eps^(1/4))
    # are good to about eps^(1/2).
    own = own2 = 0.0
    if backend is not None:
        from anydiff._registry import get_adapter, resolve

        b = resolve(backend)
        wdt = np.result_type(np.asarray(xw).dtype, np.float32)
        noise = getattr(get_adapter(b), "derivative_noise", None)
        if noise is not None:
            own = 1000.0 * noise(wdt)
        if "finitediff" in repr(b).lower() or b.name == "finitediff":
            own2 = max(own, 1000.0 * float(np.finfo(wdt).eps) ** 0.5)
    report = CheckReport(_source(backend, derivative), dtype)
    for op in ops:
        args = () if op not in _TANGENT else ((tx,) if _TANGENT[op] == "x" else (ty,))
        value = computed(op)(xw, *args)
        if op in SECOND_ORDER:
            base = computed(_BASE[op])
            ref_op = "pushforward" if op == "hvp" else ("derivative" if op == "second_derivative"
                                                        else "jacobian")
            fn: Callable = lambda xx, _b=base: _b(xx)  # noqa: E731
            prep = getattr(ad, f"prepare_{ref_op}")(fn, rich, xw, *args)
            ref = _np(prep(xw, *args))
        else:
            prep = getattr(ad, f"prepare_{op}")(f, rich, xw, *args, *ctx)
            ref = _np(prep(xw, *args, *ctx))
        err = _np(prep.error_estimate)
        report.checks.append(
            _compare(op, value, ref, err, undecided_above, own2 if op in SECOND_ORDER else own)
        )
    failed = [c for c in report.checks if not c.ok]
    if any(c.disagree_undecided for c in report.checks):
        warnings.warn(
            "finite differences cannot decide here (f is not smooth at x, or undefined near "
            "it):\n" + str(report), UserWarning, stacklevel=2,
        )
    if failed:
        raise AssertionError(str(report))
    return report


def _compare(
    op: str, value: np.ndarray, ref: np.ndarray, err: np.ndarray, thr: float, own: float = 0.0
) -> OperatorCheck:
    if value.size != ref.size:
        raise AssertionError(
            f"check_derivatives: {op} returned shape {value.shape}, finite differences "
            f"{ref.shape}."
        )
    value = value.reshape(ref.shape)
    eps = float(np.finfo(np.result_type(ref.dtype, np.float32)).eps)
    if ref.dtype.kind != "c":
        eps = float(np.finfo(ref.dtype if ref.dtype.kind == "f" else np.float64).eps)
    aref = np.abs(ref)
    finite = np.isfinite(aref)
    scale = float(np.max(aref[finite])) if np.any(finite) else 0.0
    tol = 2.0 * err + (16.0 * eps + own) * (aref + scale) + np.finfo(float).tiny
    undecided = ~np.isfinite(err) | (err > thr * (aref + scale))
    diff = np.abs(value - ref)
    bad = ~(diff <= tol)  # NaN in value (FD finite) fails
    both_nan = np.isnan(value) & np.isnan(ref)
    bad &= ~both_nan
    decided_bad = bad & ~undecided
    # Where FD cannot decide, its error bar says nothing: "disagree" means beyond rounding.
    differ = ~(diff <= tol - 2.0 * err) & ~both_nan
    ratio = np.where(undecided | both_nan, -np.inf, np.nan_to_num(diff / tol, nan=np.inf))
    i = int(np.argmax(ratio)) if ratio.size else 0
    if ratio.size and not np.isfinite(ratio.flat[i]) and ratio.flat[i] < 0:  # all undecided
        i = int(np.argmax(np.nan_to_num(diff, nan=np.inf))) if diff.size else 0
    idx = np.unravel_index(i, ref.shape) if ref.size else ()
    pick = (lambda a: complex(a.flat[i]) if a.dtype.kind == "c" else float(a.flat[i])) if ref.size \
        else (lambda a: 0.0)
    return OperatorCheck(
        operator=op, ok=not bool(np.any(decided_bad)), worst_index=tuple(int(j) for j in idx),
        value=abs(pick(value)) if value.dtype.kind == "c" else pick(value),
        fd_value=abs(pick(ref)) if ref.dtype.kind == "c" else pick(ref),
        fd_error=float(err.flat[i]) if err.size else 0.0,
        tolerance=float(tol.flat[i]) if tol.size else 0.0,
        undecided=int(np.sum(undecided)), disagree_undecided=int(np.sum(differ & undecided)),
        size=int(ref.size),
    )
