"""anydiff.engine: array-level automatic differentiation of plain NumPy code, as written.

A traced array (:class:`Traced`) wraps a whole NumPy array and implements
``__array_ufunc__``, ``__array_function__`` and ``__array_namespace__``, so ``np.sin``,
``np.sum``, ``np.linalg.solve``, operators, indexing and in-place assignment dispatch to the
engine.  Forward mode carries a batch of tangents as an extra leading axis; reverse mode
records a tape that :func:`record` can replay at new inputs without re-running Python.

Public API (``x``: float/complex array of any shape; ``args``: non-differentiated contexts):

* ``jvp(f, x, tangents, *args) -> (y, [J t, ...])``
* ``vjp(f, x, *args) -> (y, vjp_fn)`` with ``vjp_fn(w) = Jᴴ w``
* ``grad``, ``value_and_grad``, ``jacobian(..., mode="forward"|"reverse")``, ``hvp``, ``hessian``
* ``record(f, x, *args) -> Tape`` (``Tape.value_and_grad``, ``Tape.vjp``, ``Tape.value``)
* ``empty_buffer(shape, dtype)``, ``is_traced(a)``, :class:`EngineError`

Only NumPy is imported here; SciPy rules are added when SciPy is in use.

Plain NumPy code as written: inside a traced call, arrays created by the user's code with
``np.zeros``, ``np.empty``, ``np.ones``, ``np.full``, ``np.eye``, ``np.array``/``np.asarray``
(also of lists holding traced scalars), ``np.r_``/``np.c_``, ``np.zeros_like`` & co. and
``array_namespace(x).zeros`` accept traced writes (``y[i] += x[i] * i``, slices, fancy
indices, ``y[k] = [a, b]``).  :mod:`._intercept` is the one place that says what is
intercepted and why (only while tracing, only in the tracing thread, only for direct calls
from user code; NumPy is restored when the trace ends or ``f`` raises).  SciPy functions that
convert their input (``scipy.special.logsumexp``, ``scipy.stats.norm.logpdf``,
``scipy.linalg.solve``, ``scipy.signal.convolve``, ...) are routed to rules when an argument
is traced.

Honest failures: an operation without a rule, or anything that would drop a derivative
(``float(x)``, writing a traced value into an array created outside ``f``, SciPy compiled
code without a rule), raises :class:`EngineError` naming the operation (the SciPy function,
or the source line and what it did) and suggesting another backend.  Value-dependent control
flow (``if x[0] > 0``, ``int(x)``) is fine when re-tracing and makes a recorded tape fall back
to re-tracing (``Tape.replayable``).
"""

from __future__ import annotations

from . import special
from ._api import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from ._errors import EngineError
from ._tape import Tape, record
from ._tracer import Traced, empty_buffer, is_traced

__all__ = [
    "EngineError",
    "Tape",
    "Traced",
    "empty_buffer",
    "grad",
    "hessian",
    "hvp",
    "is_traced",
    "jacobian",
    "jvp",
    "record",
    "special",
    "value_and_grad",
    "vjp",
]
