"""The traced array class and the dispatch of primitives to the innermost transformation.

A :class:`Traced` wraps a whole array (or, when transformations nest, a lower-level
``Traced``).  Every NumPy call on it lands in :func:`bind`, which hands the primitive to the
trace with the highest level among the operands (the innermost transformation); that trace
computes the value by calling the primitive on the unwrapped operands, which dispatches again
to lower levels.  Levels are unique and increasing, so two nested transformations never
confuse their perturbations.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._errors import EngineError
from ._traced_methods import NdarrayMethods

_levels = itertools.count(1)


def new_level() -> int:
    """A fresh trace level; later (inner) transformations get higher levels."""
    return next(_levels)


class Trace:
    """Base class of a transformation in progress (forward or reverse)."""

    level: int = 0

    def process(self, prim: Any, args: list, params: dict) -> Any:  # pragma: no cover
        raise NotImplementedError

    def lift(self, value: Any) -> Traced:
        """Wrap a constant (zero-derivative) value as a traced array of this trace."""
        raise NotImplementedError  # pragma: no cover

    def note_escape(self, reason: str) -> None:
        """A traced value left the engine as a Python value (only the reverse tape cares)."""

    dropped: str | None = None

    def carries(self, t: Traced) -> bool:
        """Whether traced array ``t`` of this trace can carry a nonzero derivative."""
        return True

    def note_drop(self, what: str) -> None:
        """A derivative was dropped (``float(traced)``): the transformation fails at its end.

        Deferred rather than raised on the spot because NumPy swallows exceptions from
        ``__float__`` when writing into a plain array (``np.zeros(n)[i] = traced``) and would
        replace our explanation with "setting an array element with a sequence".
        """
        if self.dropped is None:
            self.dropped = what

    def check_dropped(self) -> None:
        if self.dropped is not None:
            raise EngineError(
                f"{self.dropped}: this dropped a derivative. " + _ESCAPE_HELP + " Keep values as "
                "arrays (x[0], not float(x[0])), or use backend 'finitediff', which accepts "
                "any Python code."
            )


class Prim:
    """A primitive array operation with its derivative rules.

    ``impl(*xs, **params)`` computes the value; ``jvp(ts, xs, y, params)`` maps input tangents
    (each ``(B, *x.shape)`` or ``None`` for zero) to the output tangent ``(B, *y.shape)``;
    ``vjp(g, xs, y, need, params)`` maps the output cotangent ``g`` (shaped like ``y``) to a
    tuple of input cotangents (``None`` where ``need`` is false).  Rules only use NumPy calls
    so that they dispatch on traced arrays too, which is what makes nesting work.
    """

    __slots__ = ("name", "impl", "jvp", "vjp", "diff", "compile", "accum", "fast")

    def __init__(self, name: str, impl: Any, jvp: Any = None, vjp: Any = None, diff: bool = True):
        self.name = name
        self.impl = impl
        self.jvp = jvp
        self.vjp = vjp
        self.diff = diff
        # optional speed-ups for tape replay on plain arrays:
        # compile(params, xs) -> a fast fn(*xs) (or None); accum(buf, g, xs, params) adds the
        # cotangent of input 0 into an owned buffer in place (scatter instead of zeros + add)
        self.compile: Any = None
        self.accum: Any = None
        # fast(params, xs, y, need) -> closure (g, xs, y) -> cotangents, specialised at record
        # time on static facts (real dtypes, Python-scalar constants); plain arrays only
        self.fast: Any = None

    def __repr__(self) -> str:
        return f"Prim({self.name})"


def bind(prim: Prim, args: list | tuple, params: dict) -> Any:
    """Apply ``prim`` to ``args`` (arrays, scalars or traced arrays) with static ``params``."""
    top: Trace | None = None
    unwrap = False
    for a in args:
        if type(a) is Traced:
            a._own = False  # read by an operation: its value may be kept (tape) or aliased
            if a._view is not None:
                a._refresh()
            t = a._trace
            if t is None:
                unwrap = True
            elif top is None or t.level > top.level:
                top = t
    if unwrap:  # constant buffers (no trace yet) take part as their plain values
        args = [a._value if type(a) is Traced and a._trace is None else a for a in args]
    if top is None:
        return prim.impl(*args, **params)
    return top.process(prim, args, params)


def is_traced(a: Any) -> bool:
    """True when ``a`` is a traced array of a transformation in progress.

    Example::

        grad(lambda x: np.sum(x) if is_traced(x) else 0.0, np.ones(2))   # array([1., 1.])
    """
    return type(a) is Traced and a._trace is not None


def primal(a: Any) -> Any:
    """The plain NumPy value under any number of tracing levels (for stop-gradient uses)."""
    while type(a) is Traced:
        a = a._value
    return a


_ESCAPE_HELP = (
    "Arrays created inside the traced function (np.zeros, np.empty, np.ones, np.full, "
    "np.array, np.zeros_like(x), ...) accept traced values; arrays created elsewhere (globals, "
    "closures, arguments, library results, or a creator imported as `from numpy import zeros`) "
    "cannot hold derivatives: create the array inside the function with np.zeros(...), or use "
    "anydiff.engine.empty_buffer(shape, dtype)."
)

def _describe(kind: str) -> str:
    from ._conversions import describe_conversion

    return describe_conversion(kind)  # it skips the engine's own frames


# in-place ndarray methods a constant buffer does not forward to its value
_MUTATORS = frozenset("put resize itemset partition setfield setflags byteswap sort fill".split())


class ViewMap:
    """How a whole-array view (reshape, transpose) is derived from its base, and back.

    Stored in ``Traced._view`` in place of an index: ``fwd(base)`` re-reads the view after
    the base was written, ``inv(view_value)`` is the base value a write through the view means.
    """

    __slots__ = ("fwd", "inv")

    def __init__(self, fwd: Any, inv: Any):
        self.fwd, self.inv = fwd, inv


class Traced(NdarrayMethods):
    """A NumPy-compatible array that carries derivative information.

    Attributes (private): ``_trace`` is the owning :class:`Trace` (``None`` for a constant
    buffer from :func:`empty_buffer`), ``_value`` the wrapped value, ``_aux`` the trace's data
    (forward: batched tangent ``(B, *shape)`` or ``None``; reverse: the tape slot).
    ``_view`` remembers ``(base, index, base_version)`` for basic-index views so that
    in-place writes propagate to the base and stale views re-read it.  ``_own`` is true while
    ``_value`` (and the forward tangent in ``_aux``) is a fresh array that only this object
    refers to: set by a buffer write, cleared by any operation that reads the array, so the
    next write may update it in place (O(1) per write instead of a copy of the buffer).
    """

    __slots__ = ("_trace", "_value", "_aux", "_view", "_ver", "_own", "__weakref__")
    __array_priority__ = 1000.0

    def __init__(self, trace: Trace | None, value: Any, aux: Any = None):
        self._trace = trace
        self._value = value
        self._aux = aux
        self._view = None
        self._ver = 0
        self._own = False

    # ----------------------------------------------------------------- identity/state
    def _become(self, other: Any) -> None:
        """Rebind this object to ``other``'s content: how in-place writes are done."""
        if type(other) is Traced:
            self._trace, self._value, self._aux = other._trace, other._value, other._aux
        else:
            self._trace, self._value, self._aux = None, other, None
        self._ver += 1
        self._own = False

    def _refresh(self) -> None:
        base, index, ver = self._view
        if base._view is not None:  # a view of a view: its base may itself be stale
            base._refresh()
        if base._ver != ver:  # the base was written after this view was taken: re-read it
            from ._numpy_api import getitem

            new = index.fwd(base) if type(index) is ViewMap else getitem(base, index)
            self._view = None
            self._become(new)
            self._view = (base, index, base._ver)

    # ----------------------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from ._numpy_api import apply_ufunc

        return apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from ._numpy_api import apply_function

        return apply_function(func, args, kwargs)

    def __array_namespace__(self, api_version: str | None = None) -> Any:
        from . import _namespace

        return _namespace

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self._own = False
        t = self._trace
        to_int = dtype is not None and np.dtype(dtype).kind in "biu"
        if t is None or self.dtype.kind in "biu" or to_int or not t.carries(self):
            # integer/boolean arrays and constants carry no derivative, nor does a cast to an
            # integer dtype (``np.int64(x)``: piecewise constant): only replayability is lost
            # (the value now enters as a constant)
            self._escape("np.asarray(traced)")
            return np.asarray(self._value, dtype=dtype)
        raise EngineError(
            _describe("ndarray") + "; this would drop its derivative. " + _ESCAPE_HELP
        )

    # ----------------------------------------------------------------- escapes
    def _escape(self, reason: str) -> None:
        if self._trace is not None:
            self._trace.note_escape(reason)

    def __bool__(self) -> bool:
        self._escape("bool(traced)")
        return bool(self._value)

    def __index__(self) -> int:
        self._escape("int/index(traced)")
        return self._value.__index__()

    def __int__(self) -> int:
        self._escape("int(traced)")
        return int(self._value)

    def _drop(self, what: str) -> None:
        t = self._trace
        if t is not None and self.dtype.kind in "fc" and t.carries(self):
            t.note_drop(what)
        else:  # a constant or context value: only replayability is lost
            self._escape(what)

    def __float__(self) -> float:
        if self._trace is not None and self.dtype.kind in "fc" and self._trace.carries(self):
            self._drop(_describe("float"))
        else:
            self._escape("float(traced)")
        return float(self._value)

    def __complex__(self) -> complex:
        if self._trace is not None and self.dtype.kind in "fc" and self._trace.carries(self):
            self._drop(_describe("complex"))
        else:
            self._escape("complex(traced)")
        return complex(self._value)

    def item(self, *args: Any) -> Any:
        self._drop("traced.item()")
        v = self._value
        return v.item(*args) if hasattr(v, "item") else v

    def tolist(self) -> Any:
        t = self._trace
        if t is None or self.dtype.kind in "biu" or not t.carries(self):
            self._escape("traced.tolist()")
            return np.asarray(self).tolist()
        raise EngineError(
            ".tolist() of a traced array would drop its derivative; keep it as an array, or "
            "use backend 'finitediff', which accepts any Python code"
        )

    def __hash__(self) -> int:
        return id(self)

    # ----------------------------------------------------------------- static metadata
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape if hasattr(self._value, "shape") else np.shape(self._value)

    @property
    def dtype(self) -> np.dtype:
        v = self._value
        return v.dtype if hasattr(v, "dtype") else np.result_type(v)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        s = self.shape
        if not s:
            raise TypeError("len() of unsized traced array")
        return s[0]

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        kind = type(self._trace).__name__ if self._trace is not None else "Buffer"
        return f"Traced[{kind}]({self._value!r})"

    # ----------------------------------------------------------------- indexing
    def __getitem__(self, index: Any) -> Any:
        from ._numpy_api import getitem

        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        from ._numpy_api import setitem

        setitem(self, index, value)

    # ----------------------------------------------------------------- operators
    def __add__(self, o: Any) -> Any:
        return np.add(self, o)

    def __radd__(self, o: Any) -> Any:
        return np.add(o, self)

    def __sub__(self, o: Any) -> Any:
        return np.subtract(self, o)

    def __rsub__(self, o: Any) -> Any:
        return np.subtract(o, self)

    def __mul__(self, o: Any) -> Any:
        return np.multiply(self, o)

    def __rmul__(self, o: Any) -> Any:
        return np.multiply(o, self)

    def __truediv__(self, o: Any) -> Any:
        return np.true_divide(self, o)

    def __rtruediv__(self, o: Any) -> Any:
        return np.true_divide(o, self)

    def __floordiv__(self, o: Any) -> Any:
        return np.floor_divide(self, o)

    def __rfloordiv__(self, o: Any) -> Any:
        return np.floor_divide(o, self)

    def __mod__(self, o: Any) -> Any:
        return np.remainder(self, o)

    def __divmod__(self, o: Any) -> Any:
        return np.floor_divide(self, o), np.remainder(self, o)

    def __rdivmod__(self, o: Any) -> Any:
        return np.floor_divide(o, self), np.remainder(o, self)

    def __round__(self, ndigits: int | None = None) -> Any:
        # derivative 0 as np.round; used as an index or int it re-traces like any int(traced)
        return np.round(self, ndigits or 0)

    def __rmod__(self, o: Any) -> Any:
        return np.remainder(o, self)

    def __pow__(self, o: Any) -> Any:
        return np.power(self, o)

    def __rpow__(self, o: Any) -> Any:
        return np.power(o, self)

    def __matmul__(self, o: Any) -> Any:
        return np.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Any:
        return np.matmul(o, self)

    def __neg__(self) -> Any:
        return np.negative(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return np.absolute(self)

    def __lt__(self, o: Any) -> Any:
        return np.less(self, o)

    def __le__(self, o: Any) -> Any:
        return np.less_equal(self, o)

    def __gt__(self, o: Any) -> Any:
        return np.greater(self, o)

    def __ge__(self, o: Any) -> Any:
        return np.greater_equal(self, o)

    def __eq__(self, o: Any) -> Any:
        return np.equal(self, o)  # type: ignore[override]

    def __ne__(self, o: Any) -> Any:
        return np.not_equal(self, o)  # type: ignore[override]

    def __and__(self, o: Any) -> Any:
        return np.logical_and(self, o) if self.dtype == bool else np.bitwise_and(self, o)

    def __or__(self, o: Any) -> Any:
        return np.logical_or(self, o) if self.dtype == bool else np.bitwise_or(self, o)

    def __invert__(self) -> Any:
        return np.logical_not(self) if self.dtype == bool else np.invert(self)

    def _inplace(self, op: Any, o: Any) -> Traced:
        from ._numpy_api import assign_inplace

        assign_inplace(self, op(self, o))
        return self

    def __iadd__(self, o: Any) -> Traced:
        return self._inplace(np.add, o)

    def __isub__(self, o: Any) -> Traced:
        return self._inplace(np.subtract, o)

    def __imul__(self, o: Any) -> Traced:
        return self._inplace(np.multiply, o)

    def __itruediv__(self, o: Any) -> Traced:
        return self._inplace(np.true_divide, o)

    def __ipow__(self, o: Any) -> Traced:
        return self._inplace(np.power, o)

    def __imatmul__(self, o: Any) -> Traced:
        return self._inplace(np.matmul, o)

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes Traced lacks: an ndarray method without a rule
        if name in Traced.__slots__:  # an instance made without __init__ (pickle and the like)
            raise AttributeError(name)
        if self._trace is None and name not in _MUTATORS and hasattr(self._value, name):
            self._own = False  # the value itself leaves (y.view(), y.base, ...)
            # a constant buffer (np.zeros inside f): NumPy's own attribute of its value; methods
            # that write in place stay refused (they could change a value a tape recorded)
            return getattr(self._value, name)
        if not name.startswith("__") and hasattr(np.ndarray, name):
            raise EngineError(
                f"ndarray.{name} has no derivative rule in anydiff.engine; use backend 'jax', "
                "'torch' or 'finitediff' for this function"
            )
        raise AttributeError(name)

    def fill(self, value: Any) -> None:
        self[...] = value

    def sort(self, axis: int = -1) -> None:
        from ._numpy_api import assign_inplace

        assign_inplace(self, np.sort(self, axis=axis))


def as_output(y: Any) -> Any:
    """``f``'s result as one array: a list/tuple holding traced values is stacked.

    Returning ``[x[0] ** 2, x[1]]`` then works like returning ``np.array`` of it would in
    plain NumPy, instead of silently dropping derivatives hidden inside a Python list.
    """
    if isinstance(y, (list, tuple)):
        from ._numpy_api import _build, _has_traced

        if _has_traced(y):
            return _build(y)
        return np.asarray(y)
    return y


def owned(y: Any, *inputs: Any) -> Any:
    """``y``, copied when it is an ndarray sharing memory with one of ``inputs``.

    ``f`` may return its argument or a view of it (``x``, ``x.reshape(-1)``, ``x[1:]``): the
    result then belongs to the caller, not to the caller's ``x`` (writing into one must not
    change the other).
    """
    if type(y) is np.ndarray and any(
        type(a) is np.ndarray and np.may_share_memory(y, a) for a in inputs
    ):
        return y.copy()
    return y


def empty_buffer(shape: int | tuple[int, ...], dtype: Any = float) -> Traced:
    """A writable zero-filled array that accepts traced values written into it.

    Shape ``shape``.  Outside a transformation it behaves like ``np.zeros(shape, dtype)``; once
    a traced value is written into it (``buf[i] = x[0] ** 2``) it becomes a traced array of
    that transformation.  Used for functions in the in-place form ``f(y, x)``.

    Example::

        def f(x):
            y = empty_buffer(3)
            y[0] = x[0] * x[1]
            y[1:] = np.sin(x[1:])
            return y
    """
    return Traced(None, np.zeros(shape, dtype=dtype))
