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

Only NumPy is imported here; SciPy rules are added when scipy.special is already in use.

Honest failures: an operation without a rule, or anything that would drop a derivative
(``float(x)``, ``np.asarray(x)``, writing a traced value into a plain ``np.zeros`` array),
raises :class:`EngineError` naming the operation and suggesting another backend.  Buffers that
receive traced values must come from ``np.zeros_like(x)``/``np.empty_like(x)``/``np.full_like``,
``np.zeros(n, like=x)`` or :func:`empty_buffer`.  Value-dependent control flow
(``if x[0] > 0``, ``int(x)``) is fine when re-tracing and makes a recorded tape fall back to
re-tracing (``Tape.replayable``).
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
