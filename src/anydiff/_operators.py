"""The eight operators, declared once in a table; every public variant is derived from it.

For each :class:`OpSpec` this module generates ``op``, ``value_and_op`` (under its own name),
and ``prepare_op`` (plus ``prepare_op_same_point`` where it exists). All of them share one body:
prepare (or check the given ``prep``), call the adapter's kernel, convert results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._contexts import Batch
from ._layout import Layout
from ._prep import Prep, prepare


@dataclass(frozen=True)
class OpSpec:
    """One operator.

    Attributes:
        name / value_name: public names of the plain and value forms.
        outputs: what each kernel output is like: ``"y"`` (value), ``"dy"`` (like y),
            ``"x"`` (like x), ``"ybatch"`` / ``"xbatch"`` (one per tangent), ``"jac"``, ``"hess"``.
        tangent: ``"x"`` when a tangent like x follows x, ``"y"`` for a cotangent like y.
        scalar_x: x must be a scalar. scalar_output: f must return a scalar.
        inplace: accepts ``y=`` (in-place ``f(y, x)``).
        has_same_point: has a ``prepare_<name>_same_point`` form.
        summary: one line for the docstring.
    """

    name: str
    value_name: str
    outputs: tuple[str, ...]
    tangent: str | None = None
    scalar_x: bool = False
    scalar_output: bool = False
    inplace: bool = False
    has_same_point: bool = False
    summary: str = ""
    example: tuple = ()  # (f, x, tangent or None, printed result) as source text, for the docs

    def example_call(self, name: str, prefix: str = "ad.") -> str:
        f, x, t, _ = self.example
        return f'{prefix}{name}({f}, "engine", {x}{", " + t if t else ""})'

    def example_args(self) -> str:
        _, x, t, _ = self.example
        return x + (", " + t if t else "")

    def convert(
        self, prep: Prep, outputs: tuple, x: Any, xl: Layout, is_batch: bool, with_value: bool
    ) -> Any:
        """Kernel outputs (native, flat) -> the caller's arrays in the caller's structure;
        ``xl`` is the layout of the given x (its kinds and dtypes)."""
        kinds = self.outputs if with_value else self.outputs[-1:]
        values = outputs if with_value else outputs[-1:]
        converted = tuple(
            _convert(prep, kind, v, x, xl, is_batch) for kind, v in zip(kinds, values)
        )
        return converted if with_value else converted[0]


def _convert(prep: Prep, kind: str, v: Any, x: Any, xl: Layout, is_batch: bool) -> Any:
    if kind == "y":
        return prep.like_y(v, x, xl, derivative=False)
    if kind == "dy":
        return prep.like_y(v, x, xl, derivative=True)
    if kind == "x":
        return prep.like_x(v, x, xl)
    if kind in ("xbatch", "ybatch"):
        rows = [
            prep.like_x(v[i], x, xl) if kind == "xbatch"
            else prep.like_y(v[i], x, xl, derivative=True)
            for i in range(v.shape[0])
        ]
        return Batch(*rows) if is_batch else rows[0]
    yl = prep.F.out_layout
    if kind in ("jac", "hess") and getattr(prep.adapter, "sparse_results", False):
        return v  # AutoSparse: a scipy.sparse array of shape (y.size, x.size) / (x.size, x.size)
    if kind == "jac":
        return prep.matrix(v, x, xl, yl, xl, np.result_type(xl.dtype, yl.dtype))
    if kind == "hess":
        return prep.matrix(v, x, xl, xl, xl, xl.dtype)
    raise AssertionError(kind)


OPERATORS: dict[str, OpSpec] = {
    op.name: op
    for op in [
        OpSpec(
            "derivative", "value_and_derivative", ("y", "dy"), scalar_x=True, inplace=True,
            summary="Derivative f'(x) of f at a scalar x; shaped like y = f(x).",
            example=("np.sin", "0.0", None, "1.0"),
        ),
        OpSpec(
            "gradient", "value_and_gradient", ("y", "x"), scalar_output=True,
            summary="Gradient of a scalar-valued f at x; shaped like x (same pytree).",
            example=("lambda x: np.sum(x**2)", "np.array([1.0, 2.0])", None, "array([2., 4.])"),
        ),
        OpSpec(
            "jacobian", "value_and_jacobian", ("y", "jac"), inplace=True,
            summary="Jacobian of f at x, of shape y.shape + x.shape ((y.size, x.size) for pytrees).",
            example=("lambda x: 2 * x", "np.ones(2)", None, "array([[2., 0.], [0., 2.]])"),
        ),
        OpSpec(
            "pushforward", "value_and_pushforward", ("y", "ybatch"), tangent="x", inplace=True,
            has_same_point=True,
            summary="Jacobian-vector product J(x) t; shaped like y. A Batch of tangents gives a "
            "Batch of results.",
            example=("lambda x: x**2", "np.array([1.0, 2.0])", "np.ones(2)", "array([2., 4.])"),
        ),
        OpSpec(
            "pullback", "value_and_pullback", ("y", "xbatch"), tangent="y", inplace=True,
            has_same_point=True,
            summary="Vector-Jacobian product J(x)^T w (J^H w for complex); shaped like x. A "
            "Batch of cotangents gives a Batch of results.",
            example=("lambda x: x**2", "np.array([1.0, 2.0])", "np.ones(2)", "array([2., 4.])"),
        ),
        OpSpec(
            "second_derivative", "value_derivative_and_second_derivative", ("y", "dy", "dy"),
            scalar_x=True,
            summary="Second derivative f''(x) at a scalar x; shaped like y = f(x).",
            example=("lambda x: x**3", "2.0", None, "12.0"),
        ),
        OpSpec(
            "hessian", "value_gradient_and_hessian", ("y", "x", "hess"), scalar_output=True,
            summary="Hessian of a scalar-valued f, of shape x.shape + x.shape ((x.size, x.size) "
            "for pytrees).",
            example=(
                "lambda x: np.sum(x**3)", "np.array([1.0, 2.0])", None,
                "array([[ 6., 0.], [ 0., 12.]])",
            ),
        ),
        OpSpec(
            "hvp", "gradient_and_hvp", ("x", "xbatch"), tangent="x", scalar_output=True,
            has_same_point=True,
            summary="Hessian-vector product H(x) t of a scalar-valued f; shaped like x.",
            example=("lambda x: np.sum(x**3)", "np.array([1.0, 2.0])", "np.ones(2)", "array([ 6., 12.])"),
        ),
    ]
}


_ARGS_DOC = """
Args:
    f: ``y = f(x, *contexts)`` (or ``f(y, x, *contexts)`` with ``y=``).
    backend: a backend object (``ad.AutoJax()``, ...) or name (``"jax"``, ``"torch"``,
        ``"autograd"``, ``"finitediff"``, ``"engine"``).
    x: Python float, NumPy / JAX / torch array, or pytree of them.{tangent}
    *contexts: ``ad.Constant(value)`` / ``ad.Cache(value)`` (bare values count as Constant).
    prep: a preparation from ``{prepare}`` (skips the one-time work).
    out: buffer(s) to write the derivative into (NumPy arrays, torch tensors); returned.
    y: output buffer selecting the in-place form ``f(y, x)``{inplace}.
    strict: with ``prep``, check f, backend, types and dtypes too (shapes are always checked);
        defaults to the ``strict`` the preparation was made with.
"""


def _doc(op: OpSpec, value: bool) -> str:
    tangent = ""
    if op.tangent == "x":
        tangent = "\n    t: tangent like x, or ``ad.Batch`` of them."
    elif op.tangent == "y":
        tangent = "\n    w: cotangent like y = f(x), or ``ad.Batch`` of them."
    head = op.summary
    if value:
        head = f"``{op.value_name}``: returns the tuple ({', '.join(_out_names(op))}).\n\n{head}"
    args = _ARGS_DOC.format(
        tangent=tangent,
        prepare=f"prepare_{op.name}",
        inplace="" if op.inplace else " (not accepted by this operator)",
    )
    call = op.example_call(op.value_name if value else op.name)
    expected = op.example[3]
    if value:
        return f"{head}\n{args}\nExample:\n    >>> {call}[-1]\n    {expected}\n"
    return f"{head}\n{args}\nExample:\n    >>> {call}\n    {expected}\n"


def _out_names(op: OpSpec) -> list[str]:
    return {
        "derivative": ["y", "dy"],
        "gradient": ["y", "grad"],
        "jacobian": ["y", "jac"],
        "pushforward": ["y", "Jt"],
        "pullback": ["y", "JTw"],
        "second_derivative": ["y", "dy", "d2y"],
        "hessian": ["y", "grad", "hess"],
        "hvp": ["grad", "Ht"],
    }[op.name]


def _make_operator(op: OpSpec, with_value: bool) -> Callable:
    def operator(
        f: Callable,
        backend: Any,
        x: Any,
        *args: Any,
        prep: Prep | None = None,
        out: Any = None,
        y: Any = None,
        strict: bool | None = None,
    ) -> Any:
        if prep is None:
            p = prepare(op, f, backend, x, args, y=y, cached=True)
            return p.run(with_value, x, args, out=out, y=y, checked=True)
        if not isinstance(prep, Prep):
            from ._errors import AnydiffTypeError

            raise AnydiffTypeError(f"prep= must come from prepare_{op.name}, got {type(prep)}.")
        if op.name != prep.op.name:
            prep.check(op, f, backend, x, None, (), y, True)  # raises the "wrong prep" error
        return prep.run(with_value, x, args, out=out, y=y, f=f, backend=backend, strict=strict)

    operator.__name__ = operator.__qualname__ = op.value_name if with_value else op.name
    operator.__doc__ = _doc(op, with_value)
    operator.__module__ = "anydiff"
    return operator


def _make_prepare(op: OpSpec, same_point: bool) -> Callable:
    def prepare_op(
        f: Callable, backend: Any, x: Any, *args: Any, y: Any = None, strict: bool = True
    ) -> Prep:
        return prepare(op, f, backend, x, args, y=y, strict=strict, same_point=same_point)

    name = f"prepare_{op.name}" + ("_same_point" if same_point else "")
    prepare_op.__name__ = prepare_op.__qualname__ = name
    where = (
        "valid only at this x (and Constant values)" if same_point
        else "valid at any x of the same structure, shapes and dtypes"
    )
    prepare_op.__doc__ = (
        f"Do the one-time work of ``{op.name}`` ({where}); returns a ``Prep``.\n\n"
        f"Use it as ``{op.name}(f, backend, x, ..., prep=prep)``, ``prep(x, ...)`` or "
        f"``prep.{op.value_name}(x, ...)``.\n\n"
        f"Example:\n    >>> prep = {op.example_call(name)}\n"
        f"    >>> prep({op.example_args()})\n    {op.example[3]}\n"
    )
    prepare_op.__module__ = "anydiff"
    return prepare_op


PUBLIC: dict[str, Callable] = {}
for _op in OPERATORS.values():
    PUBLIC[_op.name] = _make_operator(_op, False)
    PUBLIC[_op.value_name] = _make_operator(_op, True)
    PUBLIC[f"prepare_{_op.name}"] = _make_prepare(_op, False)
    if _op.has_same_point:
        PUBLIC[f"prepare_{_op.name}_same_point"] = _make_prepare(_op, True)
