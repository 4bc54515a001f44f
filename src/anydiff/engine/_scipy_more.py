"""More SciPy rules: elementwise ``scipy.special`` functions (``log1p``, ``expm1``, ``exp2``,
``exp10``, ``cbrt``, ``erfi``, ``dawsn``, ``loggamma`` (real), ``spence``, ``binom``, ``boxcox``,
``inv_boxcox``) and ``scipy.signal`` functions built on the engine's convolution and ``lfilter``
(``convolve2d``/``correlate2d`` with zero fill, ``sosfilt``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule
from ._tracer import Prim

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def special_rules(sp: Any, nary: Any, no_closed_form: Any) -> dict[Any, Prim]:
    """Rules of the elementwise ``scipy.special`` functions above (``sp``: the module)."""
    u, b = R.unary, R.binary
    pi2 = 2.0 / math.sqrt(math.pi)

    def boxcox_dl(x: Any, lm: Any, y: Any) -> Any:  # d/dλ (x^λ - 1)/λ; (log x)^2 / 2 at λ = 0
        lx = np.log(x)
        safe = np.where(lm == 0, 1.0, lm)
        return np.where(lm == 0, 0.5 * lx * lx, (np.exp(lm * lx) * lx - y) / safe)

    return {
        sp.log1p: u("log1p", sp.log1p, h=lambda x, y: 1 + x),
        sp.expm1: u("expm1", sp.expm1, d=lambda x, y: y + 1),
        sp.exp2: u("exp2", sp.exp2, d=lambda x, y: _LN2 * y),
        sp.exp10: u("exp10", sp.exp10, d=lambda x, y: _LN10 * y),
        sp.cbrt: u("cbrt", sp.cbrt, h=lambda x, y: 3 * y * y),
        sp.erfi: u("erfi", sp.erfi, d=lambda x, y: pi2 * np.exp(x * x)),
        sp.dawsn: u("dawsn", sp.dawsn, d=lambda x, y: 1 - 2 * x * y),
        sp.loggamma: u("loggamma", sp.loggamma, d=lambda x, y: _real_only(sp.psi, x, "loggamma")),
        sp.spence: u("spence", sp.spence, d=lambda x, y: np.log(x) / (1 - x)),
        sp.binom: b(
            "binom",
            sp.binom,
            lambda n, k, y: y * (sp.psi(n + 1) - sp.psi(n - k + 1)),
            lambda n, k, y: y * (sp.psi(n - k + 1) - sp.psi(k + 1)),
        ),
        sp.boxcox: b("boxcox", sp.boxcox, lambda x, lm, y: np.exp((lm - 1) * np.log(x)), boxcox_dl),
        sp.inv_boxcox: b(
            "inv_boxcox",
            sp.inv_boxcox,
            lambda y, lm, x: x / (lm * y + 1),
            no_closed_form("inv_boxcox", "lmbda"),
        ),
    }


def _real_only(f: Any, x: Any, name: str) -> Any:
    if R.dtype_of(x).kind == "c":
        raise no_rule(f"scipy.special.{name} of complex arguments")
    return f(x)


def _zero_fill(name: str, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or np.any(np.asarray(fillvalue) != 0):
        raise no_rule(f"scipy.signal.{name} with boundary={boundary!r} or a nonzero fillvalue")


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.convolve2d`` with zero fill: the 2-D ``scipy.signal.convolve``."""
    from ._scipy_linalg import signal_convolve

    _zero_fill("convolve2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("convolve2d inputs must both be 2-D arrays")
    return signal_convolve(in1, in2, mode)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0) -> Any:
    """``scipy.signal.correlate2d`` with zero fill: the 2-D ``scipy.signal.correlate``."""
    from ._scipy_linalg import signal_correlate

    _zero_fill("correlate2d", boundary, fillvalue)
    if R.ndim_of(in1) != 2 or R.ndim_of(in2) != 2:
        raise ValueError("correlate2d inputs must both be 2-D arrays")
    return signal_correlate(in1, in2, mode)


def sosfilt(sos: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    """``scipy.signal.sosfilt`` (zero initial state, 1-D): the sections' ``lfilter`` in turn."""
    from ._scipy_linalg2 import lfilter

    if zi is not None:
        raise no_rule("scipy.signal.sosfilt with zi=")
    sections = np.atleast_2d(sos) if not R.ndim_of(sos) == 2 else sos
    for k in range(R.shape_of(sections)[0]):
        x = lfilter(sections[k, :3], sections[k, 3:], x, axis=axis)
    return x


SIGNAL = {"convolve2d": convolve2d, "correlate2d": correlate2d, "sosfilt": sosfilt}
