"""Operands of every kind mixed with traced floats (issue 9 item 4), in both modes.

Python scalars, lists and tuples, NumPy scalars, 0-d arrays, integer and boolean constant
arrays: each case is one function ``f(m, x)`` written against a NumPy-like module ``m``;
the engine runs it with ``m = numpy`` and HIPS autograd (the reference, to 1e-12) with
``m = autograd.numpy``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from anydiff import engine as E

MODES = ("forward", "reverse")
TOL = 1e-12
X = np.array([0.7, 1.3])


def _same(a: Any) -> Any:
    return a


def _as_float_array(a: Any) -> Any:
    # the reference's constants: arrays, booleans as 0.0 / 1.0 (autograd cannot negate bools)
    arr = np.asarray(a)
    return arr.astype(float) if arr.dtype == bool else arr


I2 = [[2, 1], [1, 3]]
# f(m, c, x): ``c`` wraps each constant operand; it is the identity for the engine (which gets
# the list, tuple or scalar as written) and np.asarray for autograd, the reference, which
# itself fails on many raw list operands
CASES: dict[str, Callable[[Any, Callable, Any], Any]] = {
    # lists and tuples
    "x - list": lambda m, c, x: x - c([1.0, 2.0]),
    "list - x": lambda m, c, x: c([1.0, 2.0]) - x,
    "x * tuple": lambda m, c, x: x * c((1, 2)),
    "list / x": lambda m, c, x: c([1.0, 2.0]) / x,
    "x ** list": lambda m, c, x: x ** c([1.0, 2.5]),
    "power(list, x)": lambda m, c, x: m.power(c([1.5, 2.0]), x),
    "dot(list, x)": lambda m, c, x: m.dot(c([1, 2]), x),
    "dot(x, nested list)": lambda m, c, x: m.dot(x, c([[1, 2], [3, 4]])),
    "matmul(nested list, x)": lambda m, c, x: m.matmul(c([[1, 2], [3, 4]]), x),
    "maximum(x, list)": lambda m, c, x: m.maximum(x, c([0, 3])),
    "minimum(tuple, x)": lambda m, c, x: m.minimum(c((0, 3)), x),
    "where(list, x, list)": lambda m, c, x: m.where(c([True, False]), x, c([5, 6])),
    "hypot(x, list)": lambda m, c, x: m.hypot(x, c([3.0, 4.0])),
    "arctan2(list, x)": lambda m, c, x: m.arctan2(c([1.0, 2.0]), x),
    "logaddexp(list, x)": lambda m, c, x: m.logaddexp(c([1.0, 2.0]), x),
    "einsum(nested list, x)": lambda m, c, x: m.einsum("ij,j->i", c([[1, 2], [3, 4]]), x),
    "solve(nested list, x)": lambda m, c, x: m.linalg.solve(c(I2), x),
    "solve(x-matrix, list)": lambda m, c, x: m.linalg.solve(
        m.reshape(m.concatenate([x, x[::-1] * 3]), (2, 2)), c([1, 2])
    ),
    "concatenate([x, list])": lambda m, c, x: m.concatenate([x, c([1.0])]),
    "stack([x, tuple])": lambda m, c, x: m.stack([x, c((1.0, 2.0))]),
    "inner(list, x)": lambda m, c, x: m.inner(c([1, 2]), x),
    "outer(x, list)": lambda m, c, x: m.outer(x, c([1, 2, 3])),
    "x @ nested list": lambda m, c, x: (
        m.dot(x, c([[0, 1], [1, 0]])) + m.matmul(x, c(((1.0, 2.0), (3.0, 4.0))))
    ),
    # NumPy scalars and 0-d arrays
    "numpy scalars": lambda m, c, x: (
        x * np.float64(2) + np.int64(3) ** x - x / np.int32(3) + np.float32(0.5) * x
    ),
    "0-d arrays": lambda m, c, x: x * np.array(2.0) + np.array(3) / x + np.array(2) ** x,
    "0-d bool": lambda m, c, x: x * np.array(True) + np.array(False),
    # integer and boolean constant arrays
    "x + int array": lambda m, c, x: x + np.array([1, 2]),
    "x * bool array": lambda m, c, x: x * np.array([True, False]),
    "int array ** x": lambda m, c, x: np.array([1, 2]) ** x,
    "x ** int array": lambda m, c, x: x ** np.array([2, 3]),
    "where(bool array, x, int array)": lambda m, c, x: m.where(np.array([1, 0], bool), x, np.array([5, 6])),
    "maximum(x, int array)": lambda m, c, x: m.maximum(x, np.array([0, 3])),
    "dot(int array, x)": lambda m, c, x: m.dot(np.array([1, 2]), x),
    "int matrix @ x": lambda m, c, x: m.matmul(np.array([[1, 2], [3, 4]]), x),
    "solve(int matrix, x)": lambda m, c, x: m.linalg.solve(np.array(I2), x),
    "int / x": lambda m, c, x: np.array([3, 4]) / x,
    "arctan2(bool array, x)": lambda m, c, x: m.arctan2(c(np.array([True, False])), x),
    "hypot(bool array, x)": lambda m, c, x: m.hypot(c(np.array([True, False])), x),
    "bool array ** x": lambda m, c, x: (
        m.power(c(np.array([True, False])), x) + x ** c(np.array([True, False]))
    ),
    "logaddexp(x, bool list)": lambda m, c, x: m.logaddexp(x, c([True, False])),
    # Python scalars of every type
    "python scalars": lambda m, c, x: 2 * x + 1.5 - 2**x + x**2 + x / 3 + True * x,
    "complex python scalar": lambda m, c, x: m.real(x * (1 - 2j)) + m.imag(x * (1 - 2j)),
    "reductions of mixed sums": lambda m, c, x: (
        m.sum(x * c([1, 2])) + m.prod(x + c((1, 1))) + m.max(x - c([0.5, 0.5]))
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", MODES)
def test_operand_kinds_match_autograd(name: str, mode: str) -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    f = CASES[name]
    ref = autograd.jacobian(lambda x: f(anp, _as_float_array, x))(X)
    J = E.jacobian(lambda x: f(np, _same, x), X, mode=mode)
    np.testing.assert_allclose(J, ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("name", list(CASES))
def test_operand_kinds_give_numpys_values(name: str) -> None:
    f = CASES[name]
    for mode in MODES:
        g = lambda x: f(np, _same, x)  # noqa: E731
        y = E.jvp(g, X, [X])[0] if mode == "forward" else E.vjp(g, X)[0]
        ref = np.asarray(g(X))
        assert np.asarray(y).dtype == ref.dtype
        np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("mode", MODES)
def test_list_holding_traced_values(mode: str) -> None:
    # [x[0], 1.0] as a ufunc operand: NumPy would make it an array; its traced entry keeps
    # its derivative.  y = x * [x0, 1] + maximum(x, [x1, 0]) with x = (0.7, 1.3)
    J = E.jacobian(lambda x: x * [x[0], 1.0] + np.maximum(x, (x[1], 0.0)), X, mode=mode)
    ref = np.array([[2 * X[0], 1.0], [0.0, 1.0 + 1.0]])
    np.testing.assert_allclose(J, ref, rtol=TOL, atol=TOL)


def test_float32_stays_float32_with_python_scalars_and_lists() -> None:
    x = np.array([0.5, 1.5], dtype=np.float32)
    for f in (lambda v: 2.0 * v + 1, lambda v: v - np.float32(1.0), lambda v: np.maximum(v, 0.0)):
        for mode in MODES:
            J = E.jacobian(f, x, mode=mode)
            assert J.dtype == np.float32
            assert np.asarray(f(x)).dtype == np.float32
    # a list is an array (float64) in NumPy, so the result is float64, as NumPy computes it
    y, pull = E.vjp(lambda v: v - [1.0, 2.0], x)
    assert y.dtype == (x - np.asarray([1.0, 2.0])).dtype
    np.testing.assert_array_equal(pull(np.ones(2)), np.ones(2, np.float32))


def test_list_operands_in_second_order_and_tape_replay() -> None:
    f = lambda x: np.sum((x - [1.0, 2.0]) ** 2 * [3, 4]) + np.dot([1, 2], x)  # noqa: E731
    np.testing.assert_allclose(E.hessian(f, X), np.diag([6.0, 8.0]), rtol=TOL, atol=TOL)
    tape = E.record(f, X)
    x2 = np.array([-1.0, 4.0])
    v, g = tape.value_and_grad(x2)
    np.testing.assert_allclose(v, f(x2), rtol=TOL)
    np.testing.assert_allclose(g, 2 * (x2 - [1.0, 2.0]) * [3, 4] + [1, 2], rtol=TOL, atol=TOL)


def test_list_hiding_a_value_of_an_inner_transformation() -> None:
    # the outer (forward) trace sees z; the list hides x[0] of the inner (reverse) trace,
    # which must then process the product first
    x0 = np.array([0.7, 1.3])

    def F(z: Any) -> Any:
        return E.grad(lambda x: np.sum(z * [x[0], 1.0] * x), x0)

    z, t = np.array([2.0, 3.0]), np.array([1.0, 10.0])
    y, [d] = E.jvp(F, z, [t])
    np.testing.assert_allclose(y, [2 * z[0] * x0[0], z[1]], rtol=TOL)
    np.testing.assert_allclose(d, [2 * t[0] * x0[0], t[1]], rtol=TOL)


@pytest.mark.parametrize("mode", MODES)
def test_constant_traced_operand_converts_like_numpy(mode: str) -> None:
    # a traced array without a derivative (a zeros_like buffer) may become a plain array
    J = E.jacobian(lambda x: x * np.asarray(np.zeros_like(x) + 2.0), X, mode=mode)
    np.testing.assert_array_equal(J, 2 * np.eye(2))
