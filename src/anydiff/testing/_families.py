"""Scenario families for the classes of defect a plain catalogue misses.

Each family is a function returning scenarios (written against the Array API, so that every
backend runs them) with analytic references:

- :func:`mutation_scenarios`: ``f`` mutates its argument (``v *= 2``, ``v[0] = ...``); the
  caller's x must stay intact and the derivative be that of the function as written.
- :func:`closure_scenarios`: ``f`` reads data from ``self``, a dict in its closure, a global or
  a NumPy array, and the harness changes that data between calls.
- :func:`error_scenarios`: calls that must raise ``TypeError``: complex tangents or cotangents
  for real x / y (and real ones for complex y), gradients of complex or boolean outputs.
- :func:`edge_scenarios`: 0-d inputs (float32 too), inputs of size 0, and an ``f`` returning a
  view of its argument.
- :func:`raising_scenarios`: ``f`` raises inside unprepared and prepared calls
  (:class:`~anydiff.testing.FailingFunction`): one evaluation, the exception unchanged.

Result aliasing (write into every returned array, call again) and torch-tensor inputs are
variants that the harness runs on every scenario (``aliasing``, ``aliasing_plain``,
``same_point_aliasing``, ``torch_input``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import array_namespace
from ._problem import Problem, scenarios_of
from ._scenario import FailingFunction, Scenario

GRAD_OPS = ("gradient", "hessian", "hvp")
ARRAY_OPS = ("jacobian", "pushforward", "pullback")


def _x(n: int, dtype: Any = np.float64) -> np.ndarray:
    return (np.linspace(-0.7, 0.9, n) + 0.11 * np.cos(np.arange(n))).astype(dtype)


# ---- f mutates its argument ------------------------------------------------------------------


def doubles_then_sums(v: Any) -> Any:
    """``v *= 2`` (in place where the array type allows), then sum(sin(v) v)."""
    v *= 2.0
    xp = array_namespace(v)
    return xp.sum(xp.sin(v) * v)


def doubles_then_maps(v: Any) -> Any:
    """``v *= 2`` (in place where the array type allows), then sin(v) v elementwise."""
    v *= 2.0
    xp = array_namespace(v)
    return xp.sin(v) * v


def triples_first(v: Any) -> Any:
    """``v[0] = 3 v[0]`` (item assignment on the argument), then sin(v)."""
    v[0] = 3.0 * v[0]
    xp = array_namespace(v)
    return xp.sin(v)


def triples_first_sum(v: Any) -> Any:
    """``v[0] = 3 v[0]`` (item assignment on the argument), then sum(sin(v))."""
    v[0] = 3.0 * v[0]
    xp = array_namespace(v)
    return xp.sum(xp.sin(v))


def _dg(v: np.ndarray) -> np.ndarray:  # d/dv of sin(2v) 2v
    u = 2 * v
    return 2 * (np.cos(u) * u + np.sin(u))


def _d2g(v: np.ndarray) -> np.ndarray:
    u = 2 * v
    return 4 * (2 * np.cos(u) - np.sin(u) * u)


def _triples_jac(v: np.ndarray) -> np.ndarray:
    d = np.cos(v)
    d[0] = 3 * np.cos(3 * v[0])
    return np.diag(d)


def mutation_scenarios() -> list[Scenario]:
    """``f`` that mutates its argument: the caller's x (checked by every variant) must stay
    intact, and derivatives are those of f as written.
    Item assignment needs the ``mutation`` ability; ``v *= 2`` rebinds where arrays are
    immutable (JAX, autograd), so every backend runs it.

    Example:
        >>> from anydiff.testing import mutation_scenarios
        >>> sorted({s.op for s in mutation_scenarios()})[:3]
        ['gradient', 'hessian', 'hvp']
    """
    x = _x(4)
    tags = ("mutation",)
    out: list[Scenario] = []
    out += scenarios_of(
        Problem("mutates-imul", doubles_then_sums, x, jac=lambda v: _dg(v)[None, :],
                hess=lambda v: np.diag(_d2g(v))),
        GRAD_OPS, tags=tags)
    out += scenarios_of(
        Problem("mutates-imul", doubles_then_maps, x, jac=lambda v: np.diag(_dg(v))),
        ARRAY_OPS, tags=tags)
    out += scenarios_of(
        Problem("mutates-setitem", triples_first, x, jac=_triples_jac, requires=("mutation",)),
        ARRAY_OPS, tags=tags)
    out += scenarios_of(
        Problem("mutates-setitem", triples_first_sum, x,
                jac=lambda v: np.diag(_triples_jac(v))[None, :], requires=("mutation",)),
        ("gradient",), tags=tags)
    return out


# ---- closures that change --------------------------------------------------------------------


class Model:
    """An object whose method reads ``self.w`` (a Python float): ``loss(x) = w sum(sin x)``,
    ``predict(x) = w sin(x)``."""

    def __init__(self, w: float) -> None:
        self.w = w

    def loss(self, x: Any) -> Any:
        xp = array_namespace(x)
        return self.w * xp.sum(xp.sin(x))

    def predict(self, x: Any) -> Any:
        xp = array_namespace(x)
        return self.w * xp.sin(x)


#: Read by :func:`global_scaled`; the closure scenarios rebind it.
GLOBAL_SCALE = 1.5


def global_scaled(x: Any) -> Any:
    """``GLOBAL_SCALE * sum(x^3)``, reading the module global at every call."""
    xp = array_namespace(x)
    return GLOBAL_SCALE * xp.sum(x * x * x)


def _set_global(value: float) -> Callable[[], None]:
    global GLOBAL_SCALE
    old, GLOBAL_SCALE = GLOBAL_SCALE, value

    def undo() -> None:
        global GLOBAL_SCALE
        GLOBAL_SCALE = old

    return undo


def _closure_family(
    label: str,
    f: Callable,
    make_problem: Callable[[float], Problem],
    ops: tuple[str, ...],
    old: float,
    new: float,
    change: Callable[[], Callable[[], None]],
) -> list[Scenario]:
    before, after = make_problem(old), make_problem(new)
    out = []
    for s in scenarios_of(before, ops, tags=("closure",), name=label):
        changed, _ = after.reference(s.op, s.tangent)
        s.change, s.reference_changed = change, changed
        out.append(s)
    return out


def closure_scenarios() -> list[Scenario]:
    """``f`` reading changing data: ``self.w`` of a bound method rebound, a dict entry in a
    closure mutated, a module global rebound, a captured NumPy array written in place. Between
    calls the harness changes the data (``Scenario.change``): unprepared calls must use f as it
    is now; preps may freeze the data they saw.

    Example:
        >>> from anydiff.testing import closure_scenarios
        >>> all(s.change is not None for s in closure_scenarios())
        True
    """
    x = _x(3)
    out: list[Scenario] = []

    m = Model(2.0)

    def set_w(value: float) -> Callable[[], Callable[[], None]]:
        def change() -> Callable[[], None]:
            old, m.w = m.w, value
            return lambda: setattr(m, "w", old)

        return change

    out += _closure_family(
        "closure-self", m.loss,
        lambda w: Problem("closure-self", m.loss, x, jac=lambda v: w * np.cos(v)[None, :],
                          hess=lambda v: np.diag(-w * np.sin(v))),
        ("gradient", "hvp"), 2.0, 3.0, set_w(3.0))
    out += _closure_family(
        "closure-self-predict", m.predict,
        lambda w: Problem("closure-self-predict", m.predict, x,
                          jac=lambda v: np.diag(w * np.cos(v))),
        ("jacobian", "pullback"), 2.0, 3.0, set_w(3.0))

    params = {"w": 0.5}

    def from_dict(v: Any) -> Any:
        xp = array_namespace(v)
        return params["w"] * xp.sum(xp.exp(v))

    def change_dict() -> Callable[[], None]:
        old = params["w"]
        params["w"] = -1.25
        return lambda: params.__setitem__("w", old)

    out += _closure_family(
        "closure-dict", from_dict,
        lambda w: Problem("closure-dict", from_dict, x, jac=lambda v: w * np.exp(v)[None, :]),
        ("gradient",), 0.5, -1.25, change_dict)

    out += _closure_family(
        "closure-global", global_scaled,
        lambda w: Problem("closure-global", global_scaled, x,
                          jac=lambda v: 3 * w * (v * v)[None, :],
                          hess=lambda v: np.diag(6 * w * v)),
        ("gradient", "hessian"), 1.5, 4.0, lambda: _set_global(4.0))

    c = np.array([1.0, -2.0, 0.5])

    def from_array(v: Any) -> Any:
        xp = array_namespace(v)
        return xp.sum(xp.asarray(c, dtype=v.dtype) * xp.sin(v))

    def change_array() -> Callable[[], None]:
        old = c.copy()
        c[...] = [0.25, 3.0, -1.0]
        return lambda: c.__setitem__(Ellipsis, old)

    def array_problem(scale: float) -> Problem:
        values = np.array([1.0, -2.0, 0.5]) if scale == 0 else np.array([0.25, 3.0, -1.0])
        return Problem("closure-array", from_array, x,
                       jac=lambda v: (values * np.cos(v))[None, :])

    out += _closure_family("closure-array", from_array, array_problem, ("gradient",), 0, 1,
                           change_array)
    return out


# ---- calls that must raise TypeError ---------------------------------------------------------


def tail(x: Any) -> Any:
    """``x[1:]``: a view of the argument; the value returned must not be the caller's x."""
    return x[1:]


def sines(x: Any) -> Any:
    """sin(x), elementwise."""
    return array_namespace(x).sin(x)


def sum_of_sines(x: Any) -> Any:
    """sum(sin(x)) (a real scalar)."""
    xp = array_namespace(x)
    return xp.sum(xp.sin(x))


def complex_valued(x: Any) -> Any:
    """A complex scalar of real x: (1 + 2i) sum(sin(x))."""
    xp = array_namespace(x)
    return xp.sum(xp.sin(x)) * (1.0 + 2.0j)


def bool_valued(x: Any) -> Any:
    """A boolean scalar: sum(x) > 0."""
    xp = array_namespace(x)
    return xp.sum(x) > 0.0


def rounded(x: Any) -> Any:
    """An integer array: astype(10 x, int64) (piecewise constant)."""
    xp = array_namespace(x)
    return xp.astype(x * 10.0, xp.int64)


def positive(x: Any) -> Any:
    """A boolean array: x > 0."""
    return x > 0.0


def complex_sines(z: Any) -> Any:
    """sin(z) z for complex z (holomorphic)."""
    xp = array_namespace(z)
    return xp.sin(z) * z


def error_scenarios() -> list[Scenario]:
    """Calls that must raise an anydiff ``TypeError``: a complex tangent for
    real x (pushforward, hvp), a complex cotangent for real y and a real cotangent for complex
    y (pullback), the gradient / hessian / hvp of a complex or boolean output, the jacobian /
    pushforward of an integer or boolean output.

    Example:
        >>> from anydiff.testing import error_scenarios
        >>> {s.raises for s in error_scenarios()} == {TypeError}
        True
    """
    x = _x(3)
    z = np.array([0.3 + 0.4j, -0.5 + 0.1j, 0.8 - 0.6j])
    ct = np.array([1.0 + 1.0j, -0.5j, 2.0])
    tags = ("errors",)
    kw: dict[str, Any] = dict(raises=TypeError, tags=tags)
    return [
        Scenario("pushforward", sines, x, tangent=ct, name="pushforward-complex-tangent", **kw),
        Scenario("hvp", sum_of_sines, x, tangent=ct, name="hvp-complex-tangent", **kw),
        Scenario("pullback", sines, x, tangent=ct, name="pullback-complex-cotangent", **kw),
        Scenario("pullback", complex_sines, z, tangent=np.array([1.0, -0.5, 2.0]),
                 name="pullback-real-cotangent-complex-y", **kw),
        Scenario("gradient", complex_valued, x, name="gradient-complex-output", **kw),
        Scenario("hessian", complex_valued, x, name="hessian-complex-output", **kw),
        Scenario("hvp", complex_valued, x, tangent=x.copy(), name="hvp-complex-output", **kw),
        Scenario("gradient", bool_valued, x, name="gradient-bool-output", **kw),
        Scenario("hessian", bool_valued, x, name="hessian-bool-output", **kw),
        Scenario("jacobian", rounded, x, name="jacobian-int-output", **kw),
        Scenario("pushforward", positive, x, tangent=x.copy(), name="pushforward-bool-output",
                 **kw),
    ]


# ---- 0-d and size-0 inputs -------------------------------------------------------------------


def sin_exp(x: Any) -> Any:
    """sin(x) exp(x / 2), elementwise (0-d in, 0-d out)."""
    xp = array_namespace(x)
    return xp.sin(x) * xp.exp(0.5 * x)


def _sin_exp_d1(x: np.ndarray) -> np.ndarray:
    return np.exp(0.5 * x) * (np.cos(x) + 0.5 * np.sin(x))


def _sin_exp_d2(x: np.ndarray) -> np.ndarray:
    return np.exp(0.5 * x) * (np.cos(x) - 0.75 * np.sin(x))


def powers(x: Any) -> Any:
    """0-d x -> (3,): x, x^2, x^3."""
    xp = array_namespace(x)
    return xp.stack([x, x * x, x * x * x])


def edge_scenarios() -> list[Scenario]:
    """0-d inputs (float64 and float32; results stay 0-d), inputs of size 0 (results are
    empty arrays of the right shape), and ``x[1:]`` (a view of x: results written into must
    leave the caller's x intact).

    Example:
        >>> from anydiff.testing import edge_scenarios
        >>> any(s.x.size == 0 for s in edge_scenarios())
        True
    """
    tags = ("edge",)
    out: list[Scenario] = []
    d1 = lambda x: np.atleast_1d(_sin_exp_d1(x))[:, None]  # noqa: E731
    d2 = lambda x: np.atleast_1d(_sin_exp_d2(x))  # noqa: E731
    all_ops = ("derivative", "second_derivative", "gradient", "hessian", "hvp", "jacobian",
               "pushforward", "pullback")
    out += scenarios_of(
        Problem("0d-f32", sin_exp, np.asarray(0.4, np.float32), jac=d1,
                hess=lambda x: d2(x)[:, None], d2=d2),
        all_ops, tags=tags)
    out += scenarios_of(
        Problem("0d-to-vec", powers, np.asarray(0.8),
                jac=lambda x: np.array([[1.0], [2 * x], [3 * x * x]]),
                d2=lambda x: np.array([0.0, 2.0, 6 * x])),
        ("derivative", "second_derivative", "jacobian", "pushforward", "pullback"), tags=tags)
    empty = np.zeros(0)
    out += scenarios_of(
        Problem("size0", sum_of_sines, empty, jac=lambda x: np.zeros((1, 0)),
                hess=lambda x: np.zeros((0, 0))),
        GRAD_OPS, tags=tags)
    out += scenarios_of(
        Problem("size0", sines, empty, jac=lambda x: np.zeros((0, 0))), ARRAY_OPS, tags=tags)
    out += scenarios_of(
        Problem("size0-matrix", sum_of_sines, np.zeros((2, 0)), jac=lambda x: np.zeros((1, 0))),
        ("gradient",), tags=tags)
    out += scenarios_of(
        Problem("view-of-x", tail, _x(3), jac=lambda x: np.eye(3)[1:]), ARRAY_OPS, tags=tags)
    return out


# ---- f raises --------------------------------------------------------------------------------


def _v2s(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sum(xp.sin(x) * x)


def _v2v(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.sin(x) * xp.sum(x)


def raising_scenarios() -> list[Scenario]:
    """``f`` that raises (once armed, :class:`~anydiff.testing.FailingFunction`) inside
    unprepared and prepared calls of every operator: f is evaluated once and its own exception
    propagates unchanged. Disarmed, the scenarios are ordinary ones.

    Example:
        >>> from anydiff.testing import raising_scenarios
        >>> len({s.op for s in raising_scenarios()})
        8
    """
    x = _x(3)
    tags = ("raising",)
    out: list[Scenario] = []
    for op in GRAD_OPS:
        out += scenarios_of(
            Problem("raises", FailingFunction(_v2s), x,
                    jac=lambda v: (np.cos(v) * v + np.sin(v))[None, :],
                    hess=lambda v: np.diag(2 * np.cos(v) - np.sin(v) * v)),
            (op,), tags=tags)
    for op in ARRAY_OPS:
        out += scenarios_of(
            Problem("raises", FailingFunction(_v2v), x,
                    jac=lambda v: np.diag(np.cos(v) * v.sum()) + np.sin(v)[:, None]),
            (op,), tags=tags)
    for op in ("derivative", "second_derivative"):
        out += scenarios_of(
            Problem("raises", FailingFunction(sin_exp), np.asarray(0.3),
                    jac=lambda v: np.atleast_1d(_sin_exp_d1(v))[:, None],
                    d2=lambda v: np.atleast_1d(_sin_exp_d2(v))),
            (op,), tags=tags)
    return out
