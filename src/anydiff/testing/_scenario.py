"""``Scenario``: one operator applied to one function at one point, with its expected result.

A scenario is backend-free: the harness runs it on every backend and compares each answer with
``reference``. Arrays in a scenario are NumPy arrays (or Python floats, or pytrees of them); each
backend converts them to its own array type, and results come back as NumPy, so they compare
directly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .._contexts import Batch, Cache, Constant, Context
from .._errors import AnydiffTypeError, AnydiffValueError
from .._pytree import tree_flatten, tree_unflatten

#: Every operator, in the order reports list them.
OPERATORS: tuple[str, ...] = (
    "derivative",
    "second_derivative",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "pushforward",
    "pullback",
)

#: Name of each operator's value form, as exported by ``anydiff``.
VALUE_FORMS: dict[str, str] = {
    "derivative": "value_and_derivative",
    "second_derivative": "value_derivative_and_second_derivative",
    "gradient": "value_and_gradient",
    "hessian": "value_gradient_and_hessian",
    "hvp": "gradient_and_hvp",
    "jacobian": "value_and_jacobian",
    "pushforward": "value_and_pushforward",
    "pullback": "value_and_pullback",
}

#: Operators that take a tangent (like x) or a cotangent (like y) after x.
TANGENT_OPS = frozenset({"pushforward", "pullback", "hvp"})
#: Operators with a ``prepare_<op>_same_point`` form.
SAME_POINT_OPS = frozenset({"pushforward", "pullback", "hvp"})
#: Operators accepting the in-place form ``f(y, x)`` (``y=``).
INPLACE_OPS = frozenset({"derivative", "jacobian", "pushforward", "pullback"})
SECOND_ORDER_OPS = frozenset({"second_derivative", "hessian", "hvp"})


def order_of(op: str) -> int:
    """Differentiation order of an operator (1 or 2)."""
    return 2 if op in SECOND_ORDER_OPS else 1


class Scenario:
    """One test case: operator ``op`` of ``f`` at ``x``.

    Args:
        op: operator name: ``"derivative"``, ``"second_derivative"``, ``"gradient"``,
            ``"hessian"``, ``"hvp"``, ``"jacobian"``, ``"pushforward"``, ``"pullback"``.
        f: ``y = f(x, *context_values)``, or ``f(y, x, *context_values)`` when ``y`` is given.
            Write it against the Array API (``xp = ad.array_namespace(x)``) to run everywhere.
        x: NumPy array, Python float or pytree of them.
        tangent: tangent like x (pushforward, hvp) or cotangent like y (pullback); may be an
            ``ad.Batch``.
        contexts: ``ad.Constant`` / ``ad.Cache`` arguments following x (and the tangent).
        y: output buffer selecting the in-place form ``f(y, x)`` (the harness passes a fresh
            copy on every call).
        reference: expected result of the operator at ``x`` (what ``ad.<op>`` returns). When
            None the harness computes it with the most accurate available backend.
        reference_first: expected first derivative for second-order operators (derivative for
            ``second_derivative``, gradient for ``hessian`` and ``hvp``); checks value forms.
        prep_args: where to prepare: a dict with optional keys ``"x"``, ``"tangent"``,
            ``"contexts"``. By default the harness prepares at a perturbed copy of each, so that
            a preparation that remembers its point is caught.
        name: readable id; built from the operator and the shapes when None.
        requires: backend abilities the scenario needs (``"mutation"``, ``"inplace_function"``,
            ``"complex_numbers"``); backends without them report the scenario as skipped.
        tags: free labels (catalogue names such as ``"default"`` or ``"sparse"``).
        raises: the error every call must raise (the scenario then has no reference). A
            built-in class (``TypeError``, ``ValueError``) means an anydiff error: the exception
            must be an instance of it *and* of ``ad.AnydiffError``; any other class (f's own
            exception) must be raised as that exact class with its message unchanged. Raising
            it at preparation counts.
        partial: variants this scenario allows to raise ``UnsupportedError`` while others pass
            (``"*"`` for all). Undeclared partial support fails: a backend that computes the
            plain form but not the value form is a backend with a gap, not a pass.
        change: closure-change scenarios: ``change()`` modifies data ``f`` reads from its
            closure, globals or ``self`` and returns a function that undoes it. Unprepared calls
            made after ``change()`` must give ``reference_changed``; preps made before it may
            freeze the old data, so they must give either reference.
        reference_changed: expected result after ``change()``.

    Example:
        >>> import numpy as np, anydiff as ad
        >>> from anydiff.testing import Scenario
        >>> s = Scenario("gradient", lambda x: (x**2).sum(), np.ones(2), reference=2 * np.ones(2))
        >>> s.name
        'gradient-f64[2]->?'
    """

    op: str
    f: Callable
    x: Any
    tangent: Any = None
    contexts: tuple = ()
    y: Any = None
    reference: Any = None
    reference_first: Any = None
    prep_args: dict | None = None
    name: str | None = None
    requires: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    raises: type[BaseException] | None = None
    partial: tuple[str, ...] = ()
    change: Callable[[], Callable[[], None]] | None = None
    reference_changed: Any = None

    def __init__(
        self,
        op: str,
        f: Callable,
        x: Any,
        *,
        tangent: Any = None,
        contexts: tuple | list = (),
        y: Any = None,
        reference: Any = None,
        reference_first: Any = None,
        prep_args: dict | None = None,
        name: str | None = None,
        requires: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        raises: type[BaseException] | None = None,
        partial: tuple[str, ...] | str = (),
        change: Callable[[], Callable[[], None]] | None = None,
        reference_changed: Any = None,
    ) -> None:
        if op not in VALUE_FORMS:
            raise AnydiffValueError(f"Scenario: unknown operator {op!r}; expected one of {OPERATORS}.")
        if op in TANGENT_OPS and tangent is None:
            raise AnydiffValueError(f"Scenario({op!r}) needs a tangent.")
        if y is not None and op not in INPLACE_OPS:
            raise AnydiffValueError(f"Scenario({op!r}): y= (in-place f(y, x)) is not accepted by {op}.")
        self.op, self.f, self.x = op, f, x
        self.tangent = tangent
        self.contexts = tuple(contexts)
        self.y = y
        self.reference, self.reference_first = reference, reference_first
        self.prep_args = prep_args
        req = set(requires)
        if y is not None:
            req.add("inplace_function")
        if _is_complex(x):
            req.add("complex_numbers")
        self.requires = tuple(sorted(req))
        self.tags = tuple(tags)
        if raises is not None and not (isinstance(raises, type) and issubclass(raises, BaseException)):
            raise AnydiffTypeError(f"Scenario(raises=...) must be an exception class, got {raises!r}")
        if raises is not None and reference is not None:
            raise AnydiffValueError("Scenario: a scenario that raises has no reference")
        if (change is None) != (reference_changed is None):
            raise AnydiffValueError("Scenario: change= and reference_changed= go together")
        self.raises = raises
        self.partial = (partial,) if isinstance(partial, str) else tuple(partial)
        self.change, self.reference_changed = change, reference_changed
        self.name = name or self._auto_name()

    # -- description --------------------------------------------------------------------------
    def _auto_name(self) -> str:
        out = describe(self.y) if self.y is not None else "?"
        parts = [self.op, f"{describe(self.x)}->{out}"]
        if self.y is not None:
            parts.append("inplace")
        if isinstance(self.tangent, Batch):
            parts.append(f"batch{len(self.tangent)}")
        for c in self.contexts:
            parts.append(type(c).__name__.lower())
        return "-".join(parts)

    def __repr__(self) -> str:
        return f"Scenario({self.name})"

    @property
    def order(self) -> int:
        return order_of(self.op)

    def allows_partial(self, variant: str) -> bool:
        """Whether ``variant`` may raise ``UnsupportedError`` while other variants pass."""
        return "*" in self.partial or variant in self.partial

    @property
    def is_complex(self) -> bool:
        return "complex_numbers" in self.requires

    @property
    def dtype(self) -> np.dtype:
        """Common dtype of x's leaves."""
        leaves, _ = tree_flatten(self.x)
        return np.result_type(*[np.asarray(a).dtype for a in leaves])

    # -- fresh arguments ------------------------------------------------------------------------
    def point(self, where: str = "eval") -> tuple[Any, Any, tuple]:
        """Fresh copies of ``(x, tangent, contexts)`` at the evaluation point (``"eval"``) or
        the preparation point (``"prep"``), so that no call can corrupt another's inputs."""
        if where == "eval":
            return copy_tree(self.x), copy_tree(self.tangent), copy_contexts(self.contexts)
        pa = self.prep_args or {}
        x = pa["x"] if "x" in pa else perturb(self.x, 0.1)
        t = pa["tangent"] if "tangent" in pa else perturb(self.tangent, 0.2)
        if "contexts" in pa:
            ctx = tuple(pa["contexts"])
        else:
            ctx = tuple(
                Constant(perturb(c.value, 0.3)) if isinstance(c, Constant) else c
                for c in self.contexts
            )
        return copy_tree(x), copy_tree(t), copy_contexts(ctx)

    def fresh_y(self) -> Any:
        return None if self.y is None else copy_tree(self.y)

    def evaluate(self, x: Any = None, contexts: tuple | None = None) -> Any:
        """``f`` evaluated in NumPy at ``x`` (the scenario's by default)."""
        x = copy_tree(self.x if x is None else x)
        ctx = copy_contexts(self.contexts if contexts is None else contexts)
        values = [c.value for c in ctx]
        if self.y is None:
            return self.f(x, *values)
        y = copy_tree(self.y)
        ret = self.f(y, x, *values)
        return y if ret is None else ret


# ---------------------------------------------------------------------------------------------
# Small pytree helpers (Batch aware: a Batch is a tuple subclass that deepcopy cannot rebuild)


def _is_complex(tree: Any) -> bool:
    leaves, _ = tree_flatten(tree)
    return any(np.iscomplexobj(np.asarray(a)) for a in leaves)


def map_tree(fn: Callable[[Any], Any], tree: Any) -> Any:
    """Apply ``fn`` to every leaf, keeping the structure (``Batch`` included)."""
    if tree is None:
        return None
    if isinstance(tree, Batch):
        return Batch(*[map_tree(fn, t) for t in tree])
    leaves, td = tree_flatten(tree)
    return tree_unflatten(td, [fn(a) for a in leaves])


def copy_tree(tree: Any) -> Any:
    """Deep copy of a pytree of arrays (leaves that are not arrays are kept)."""
    return map_tree(lambda a: a.copy() if isinstance(a, np.ndarray) else copy.copy(a), tree)


def copy_contexts(ctx: tuple) -> tuple:
    out = []
    for c in ctx:
        if isinstance(c, Context):
            out.append(type(c)(copy_tree(c.value)))
        else:
            out.append(Constant(copy_tree(c)))
    return tuple(out)


def perturb(tree: Any, scale: float) -> Any:
    """A nearby point of the same structure and dtypes: ``a + scale * pattern`` with a fixed,
    non-constant pattern, so a preparation that remembers the values it saw gives a wrong answer.
    """

    def shift(a: Any) -> Any:
        arr = np.asarray(a)
        if not np.issubdtype(arr.dtype, np.inexact):
            return a
        pattern = 0.5 + 0.5 * np.sin(np.arange(1, arr.size + 1)).reshape(arr.shape)
        if np.iscomplexobj(arr):
            pattern = pattern + 0.5j * np.cos(np.arange(1, arr.size + 1)).reshape(arr.shape)
        new = (arr + scale * pattern).astype(arr.dtype)
        if isinstance(a, np.ndarray):
            return np.asarray(new)  # 0-d arithmetic gives NumPy scalars, which count as Python
        return type(a)(new.item()) if isinstance(a, (float, complex)) else new

    return map_tree(shift, tree)


def describe(tree: Any) -> str:
    """Short text for a pytree: ``f64[3]``, ``f32[2,3]``, ``dict(f64[2],f64[])``."""
    if isinstance(tree, Batch):
        return f"batch{len(tree)}({describe(tree[0])})"
    leaves, td = tree_flatten(tree)
    texts = []
    for a in leaves:
        arr = np.asarray(a)
        code = {"f": "f", "c": "c"}.get(arr.dtype.kind, arr.dtype.kind)
        bits = arr.dtype.itemsize * 8
        if isinstance(a, (float, complex)):
            texts.append("float" if isinstance(a, float) else "complex")
        else:
            texts.append(f"{code}{bits}[{','.join(map(str, arr.shape))}]")
    if td.is_leaf:
        return texts[0]
    kind = td.kind if isinstance(td.kind, str) else td.kind.__name__
    return f"{kind}({','.join(texts)})"


__all__ = ["Scenario", "OPERATORS", "VALUE_FORMS", "Batch", "Cache", "Constant"]


class FunctionError(Exception):
    """The exception a :class:`FailingFunction` raises (a user's own error class)."""


class FailingFunction:
    """``f`` that counts its evaluations and, once armed, raises :class:`FunctionError`.

    The harness prepares with the function disarmed, arms it, and checks that one operator call
    evaluates ``f`` exactly once and lets its exception out unchanged (never
    retried on another code path, never re-wrapped). A prepared call that replays compiled code
    without calling ``f`` (JAX) evaluates it zero times and must then return the right result.

    Example:
        >>> import numpy as np
        >>> from anydiff.testing import FailingFunction
        >>> f = FailingFunction(np.sin)
        >>> f.arm(); f.calls
        0
    """

    message = "f failed on purpose (anydiff.testing.FailingFunction)"

    def __init__(self, f: Callable) -> None:
        self.f = f
        self.calls = 0
        self.armed = False
        self.__name__ = "failing_" + getattr(f, "__name__", "f")
        self.__qualname__ = self.__name__
        self.__doc__ = getattr(f, "__doc__", None)

    def arm(self) -> None:
        """From now on every evaluation raises; the count restarts at 0."""
        self.armed, self.calls = True, 0

    def disarm(self) -> None:
        self.armed = False

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.armed:
            raise FunctionError(self.message)
        return self.f(*args)
