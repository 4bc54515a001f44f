"""Dependency rules of elementwise primitives, from per-operand derivative traits.

Each elementwise engine primitive is classified like SparseConnectivityTracer's operators: for every
operand, whether its first partial may be non-zero (``d1``) and whether its own second partial may
be non-zero (``d2``), plus whether the mixed second partial may be non-zero (``cross``).  From these
traits one rule gives the first-order pattern (union of the broadcast rows of the operands whose
partial may be non-zero) and the second-order pairs.  Optional ``keep`` refinements use values
(in local mode, or constants in global mode) to drop rows whose partial is exactly zero there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _index as ix
from . import _np
from ._trace import Call


@dataclass(frozen=True)
class Elementwise:
    """Traits of an elementwise primitive with ``len(d1)`` operands (see the module docstring).

    ``keep(call, i)`` may return a boolean array (broadcastable to the result) of the elements where
    operand ``i``'s partial can be non-zero, given the values the call allows it to use, or ``None``.
    """

    d1: tuple[bool, ...]
    d2: tuple[bool, ...]
    cross: bool = False
    keep: Callable[[Call, int], Any] | None = None

    def __call__(self, c: Call) -> Any:
        yshape = c.yshape
        rows = []
        for i, P in enumerate(c.Ps):
            if P is None:
                rows.append(None)
                continue
            Pb = ix.broadcast_rows(P, c.shape(i), yshape)
            rows.append(Pb)
            if i < len(self.d2) and self.d2[i]:
                c.pair(P, P)
        if self.cross:
            live = [Pb for Pb in rows if Pb is not None]
            for a in range(len(live)):
                for b in range(a + 1, len(live)):
                    c.pair(live[a], live[b])
        out = []
        for i, Pb in enumerate(rows):
            if Pb is None or not self.d1[i]:
                continue
            if self.keep is not None:
                k = self.keep(c, i)
                if k is not None:
                    Pb = ix.mask_rows(Pb, np.broadcast_to(k, yshape))
            out.append(Pb)
        return ix.union(*out)


def _keep_mul(c: Call, i: int) -> Any:
    # d(a*b)/da = b: exactly zero where the other factor is an exact zero (usable values only:
    # a closure constant in global mode, any value in local mode)
    other = c.value(1 - i)
    return None if other is None else other != 0


def _keep_extreme(c: Call, i: int) -> Any:
    # maximum/minimum: the derivative goes to the operand that was picked (both at ties, and
    # both where the result is nan); only when both values may be used
    if not (c.usable[0] and c.usable[1]):
        return None
    z = _np.asarray(c.y)
    return (_np.asarray(c.xs[i]) == z) | np.isnan(z)


def _keep_pow(c: Call, i: int) -> Any:
    if i == 0:  # d(x**p)/dx = p x**(p-1): zero where the exponent is exactly 0
        p = c.value(1)
        return None if p is None else p != 0
    return None


LIN1 = Elementwise((True,), (False,))
NONLIN1 = Elementwise((True,), (True,))
KINK1 = Elementwise((True,), (False,))  # piecewise linear (abs): first order only
LIN2 = Elementwise((True, True), (False, False))
MUL = Elementwise((True, True), (False, False), cross=True, keep=_keep_mul)
DIV = Elementwise((True, True), (False, True), cross=True)
NONLIN2 = Elementwise((True, True), (True, True), cross=True)
POW = Elementwise((True, True), (True, True), cross=True, keep=_keep_pow)
EXTREME = Elementwise((True, True), (False, False), keep=_keep_extreme)
XLOGY = Elementwise((True, True), (False, True), cross=True)


def _power(c: Call) -> Any:
    # a literal exponent makes x ** 0 constant and x ** 1 linear (NumPy computes them exactly)
    p = c.xs[1]
    if c.Ps[1] is None and isinstance(p, (int, float)) and not isinstance(p, bool):
        if p == 0:
            return None
        if p == 1:
            return LIN1(_first(c))
    return POW(c)


def _first(c: Call) -> Call:
    return Call(c.prim, c.xs[:1], c.Ps[:1], c.usable[:1], c.y, c.params, c.trace)


_NARY: dict[int, Elementwise] = {}


def nonlinear_nary(c: Call) -> Any:
    """Any elementwise function of n operands, nonlinear in each and in every pair (special
    functions such as ``betainc(a, b, x)``; an order argument without a derivative rule in the engine
    still counts as a dependency: a superset is always a valid pattern)."""
    n = len(c.xs)
    rule = _NARY.get(n)
    if rule is None:
        rule = _NARY[n] = Elementwise((True,) * n, (True,) * n, cross=True)
    return rule(c)


UNARY_LINEAR = (
    "negative",
    "positive",
    "real",
    "imag",
    "conjugate",
    "deg2rad",
    "rad2deg",
    "degrees",
    "radians",
)
UNARY_NONLINEAR = (
    "exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh "
    "arccosh arctanh sqrt cbrt square reciprocal root expit logit erf erfc ndtr gammaln psi "
    # scipy.special (and NumPy's sinc with the engine's names for its derivatives)
    "log_expit erfcx erfinv erfcinv log_ndtr ndtri gamma rgamma i0 i0e i1 i1e j0 j1 y0 y1 k0 k1 "
    "entr sinc sinc' sinc'' polygamma loggamma dawsn expi exp1 spence "
    "exprel exp10 sindg cosdg tandg ellipk ellipe sici fresnel erfi"
).split()
NARY_NONLINEAR = (
    "logaddexp2 beta betaln rel_entr kl_div iv ive jv kv yv yn zeta gammainc gammaincc stdtr betainc "
    "betaincc expn boxcox boxcox1p inv_boxcox poch binom owens_t huber pseudo_huber gammaincinv hyp1f1 "
    "hyp2f1 lambertw "
    # and the shape derivatives of the incomplete gamma / beta functions (quadratures)
    "gammainc_dshape betainc_dshape betainc_dshape_b stdtr_dshape"
).split()

RULES: dict[str, Callable[[Call], Any]] = {
    **{n: LIN1 for n in UNARY_LINEAR},
    **{n: NONLIN1 for n in UNARY_NONLINEAR},
    "absolute": KINK1,
    "add": LIN2,
    "subtract": LIN2,
    "multiply": MUL,
    "divide": DIV,
    "power": _power,
    "float_power": _power,
    "maximum": EXTREME,
    "minimum": EXTREME,
    "fmax": EXTREME,
    "fmin": EXTREME,
    "arctan2": NONLIN2,
    "hypot": NONLIN2,
    "logaddexp": NONLIN2,
    "remainder": LIN2,  # d/da = 1, d/db = -floor(a/b): piecewise constant, no second order
    "xlogy": XLOGY,
    "xlog1py": XLOGY,
    **{n: nonlinear_nary for n in NARY_NONLINEAR},
}
