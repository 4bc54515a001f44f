"""``scipy.interpolate`` splines for traced arguments.

* Evaluation points: calling any piecewise polynomial or B-spline (``CubicSpline``, ``PPoly``,
  ``BSpline``, ``make_interp_spline``'s result, ...) at traced ``x`` is a primitive whose
  derivative is the spline's own ``nu + 1`` derivative (so it nests to every order).
* Data: ``CubicSpline(x, y)``, ``make_interp_spline(x, y, k)`` and ``interp1d(x, y, kind)``
  (at constant points; ``kind="linear"`` also at traced points) are linear in ``y`` for
  constant knots ``x``: with traced ``y`` they return a spline whose values are the spline of
  the identity (SciPy's, every boundary condition honoured) contracted with ``y``.  Traced
  knots ``x`` raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import EngineError
from ._numpy_api import _carries_trace
from ._tracer import Prim, Traced, bind, primal


def _eval_prim(spline: Any, nu: int, extrapolate: Any) -> Prim:
    """``spline(t, nu)`` as a primitive of ``t`` (a plain ``t`` reaches SciPy's own call)."""

    def slope(t: Any) -> Any:  # the next derivative, itself a primitive
        return bind(_eval_prim(spline, nu + 1, extrapolate), [t], {})

    def value_axes(y: Any, t: Any) -> int:
        return R.ndim_of(y) - R.ndim_of(t)  # the spline's value axes, after t's

    def jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
        t = ts[0]
        return np.reshape(t, R.shape_of(t) + (1,) * value_axes(y, xs[0])) * slope(xs[0])

    def vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
        extra = value_axes(y, xs[0])
        gd = g * slope(xs[0])
        return (np.sum(gd, axis=tuple(range(-extra, 0))) if extra else gd,)

    return Prim(f"spline[nu={nu}]", lambda t: spline(t, nu, extrapolate), jvp, vjp)


def spline_call(spline: Any, x: Any, nu: int = 0, extrapolate: Any = None) -> Any:
    """``spline(x, nu, extrapolate)`` at traced ``x``."""
    if not isinstance(x, Traced):
        x = np.asarray(x, dtype=float)
    return bind(_eval_prim(spline, int(nu), extrapolate), [x], {})


class LinearInData:
    """A spline of traced data ``y`` on constant knots: ``basis(t) · y`` (``basis``: SciPy's
    spline of the identity, one column per data point)."""

    def __init__(self, basis: Any, y: Any, axis: int) -> None:
        self._basis, self._y, self._axis = basis, y, axis

    def _contract(self, b: Any) -> Any:
        y = np.moveaxis(self._y, self._axis, 0)
        r = np.tensordot(b, y, axes=([-1], [0]))  # t's shape, then y's other axes
        return r

    def __call__(self, x: Any, nu: int = 0, extrapolate: Any = None) -> Any:
        if _carries_trace([x]):
            b = spline_call(self._basis, x, nu, extrapolate)
        else:
            b = self._basis(x, nu, extrapolate)
        return self._contract(b)

    def derivative(self, nu: int = 1) -> LinearInData:
        return LinearInData(self._basis.derivative(nu), self._y, self._axis)

    def antiderivative(self, nu: int = 1) -> LinearInData:
        return LinearInData(self._basis.antiderivative(nu), self._y, self._axis)

    def integrate(self, a: float, b: float, extrapolate: Any = None) -> Any:
        return self._contract(self._basis.integrate(a, b, extrapolate=extrapolate))


def _identity(y: Any, axis: int) -> np.ndarray:
    return np.eye(R.shape_of(y)[axis])


def _knots(x: Any, name: str) -> np.ndarray:
    if _carries_trace([x]):
        raise EngineError(f"scipy.interpolate.{name} with traced knots x has no rule in anydiff.engine")
    return np.asarray(primal(x), dtype=float)  # a constant buffer (np.linspace inside f): its value


def cubic_spline(x: Any, y: Any, axis: int = 0, bc_type: Any = "not-a-knot", extrapolate: Any = None) -> Any:
    import scipy.interpolate as si

    basis = si.CubicSpline(_knots(x, "CubicSpline"), _identity(y, axis), 0, bc_type, extrapolate)
    return LinearInData(basis, y, axis)


def make_interp_spline(
    x: Any, y: Any, k: int = 3, t: Any = None, bc_type: Any = None, axis: int = 0, check_finite: bool = True
) -> Any:
    import scipy.interpolate as si

    basis = si.make_interp_spline(_knots(x, "make_interp_spline"), _identity(y, axis), k, t, bc_type, axis=0)
    return LinearInData(basis, y, axis)


class Interp1dOfData:
    """``interp1d(x, y, kind, ...)`` of traced data ``y``: ``basis(t) · y`` at constant points
    ``t`` (``basis``: SciPy's interpolant of the identity); at traced points only
    ``kind="linear"`` (then ``np.interp``'s rule, inside the knots)."""

    def __init__(self, basis: Any, x: np.ndarray, y: Any, axis: int, kind: Any) -> None:
        self._basis, self._x, self._y, self._axis, self._kind = basis, x, y, axis, kind

    def __call__(self, t: Any) -> Any:
        y = np.moveaxis(self._y, self._axis, 0)
        if _carries_trace([t]):
            if self._kind != "linear" or R.ndim_of(y) != 1:
                raise EngineError(
                    "scipy.interpolate.interp1d called at traced points has a rule only for kind='linear' "
                    "and 1-D data (np.interp); use CubicSpline / make_interp_spline for smooth kinds"
                )
            return np.interp(t, self._x, y)
        return np.tensordot(self._basis(primal(t)), y, axes=([-1], [0]))


def interp1d(
    x: Any,
    y: Any,
    kind: Any = "linear",
    axis: int = -1,
    copy: bool = True,
    bounds_error: Any = None,
    fill_value: Any = np.nan,
    assume_sorted: bool = False,
) -> Any:
    import scipy.interpolate as si

    xk = _knots(x, "interp1d")
    basis = si.interp1d(
        xk,
        _identity(y, axis),
        kind,
        axis=0,
        bounds_error=bounds_error,
        fill_value=fill_value,
        assume_sorted=assume_sorted,
    )
    return Interp1dOfData(basis, xk, y, axis, kind)


INTERPOLATE: dict[str, Callable] = {
    "CubicSpline": cubic_spline,
    "make_interp_spline": make_interp_spline,
    "interp1d": interp1d,
}


def method_wrappers(active: Callable[[tuple, dict], bool]) -> list[tuple[Any, str, Callable]]:
    """``(class, method name, wrapper)`` for the spline classes' ``__call__``: SciPy's own call,
    unless ``active(args, kwargs)`` (a trace runs and an argument is traced)."""
    import functools

    import scipy.interpolate as si
    from scipy.interpolate._interpolate import _PPolyBase

    out = []
    for cls in (_PPolyBase, si.BSpline):
        orig = cls.__dict__["__call__"]

        @functools.wraps(orig)
        def call(self: Any, *args: Any, _orig: Callable = orig, **kw: Any) -> Any:
            if active(args, kw):
                return spline_call(self, *args, **kw)
            return _orig(self, *args, **kw)

        out.append((cls, "__call__", call))
    return out
