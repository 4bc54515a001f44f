"""``scipy.integrate`` quadrature of sampled data for traced samples.

``trapezoid`` is NumPy's rule (``np.trapezoid``).  ``simpson`` and ``cumulative_trapezoid``
are linear in ``y`` for fixed sample points: their weights are SciPy's own function applied
to the unit vectors (so the value is SciPy's, to rounding, including its rule for an even
number of samples), and the result is ``y`` contracted with them.  Traced sample points
``x`` raise for those two.  ``odeint`` and ``solve_ivp`` are in :mod:`._scipy_ode`; ``quad``
calls compiled code and raises naming itself (the generic SciPy conversion error).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._tracer import is_traced, primal


def _fixed(x: Any, name: str) -> Any:
    if is_traced(x):
        raise no_rule(f"scipy.integrate.{name} with traced sample points x (traced y is supported)")
    return primal(x)  # a constant buffer (np.array(...) inside f): its plain value


def _contract(y: Any, W: np.ndarray, axis: int) -> Any:
    """``y`` (samples along ``axis``) times the weights ``W`` (``(n, ...)``) over that axis."""
    ym = np.moveaxis(y, axis, -1)
    r = np.tensordot(ym, W, axes=([R.ndim_of(ym) - 1], [0]))
    return np.moveaxis(r, -1, axis) if np.ndim(W) > 1 else r


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    return np.trapezoid(y, x=x, dx=dx, axis=axis)


def simpson(y: Any, *, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    import scipy.integrate as si

    n = R.shape_of(y)[axis]
    w = si.simpson(np.eye(n), x=_fixed(x, "simpson"), dx=dx, axis=-1)  # w[i] = simpson(e_i)
    return _contract(y, w, axis)


def cumulative_trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1, initial: Any = None) -> Any:
    import scipy.integrate as si

    n = R.shape_of(y)[axis]
    W = si.cumulative_trapezoid(
        np.eye(n), x=_fixed(x, "cumulative_trapezoid"), dx=dx, axis=-1, initial=initial
    )
    return _contract(y, W, axis)


INTEGRATE = {"trapezoid": trapezoid, "simpson": simpson, "cumulative_trapezoid": cumulative_trapezoid}

from ._scipy_ode import TABLE as _ODE  # noqa: E402 - odeint, solve_ivp

INTEGRATE.update(_ODE)
