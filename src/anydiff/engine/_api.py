"""The public transformations: jvp, vjp, grad, value_and_grad, jacobian, hvp, hessian."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._forward import jvp_batched
from ._intercept import intercepted
from ._reverse import backward, backward_plan, finish_grad, trace_reverse
from ._rules import dtype_of, shape_of
from ._tracer import Traced


def _check_x(x: Any) -> Any:
    if not isinstance(x, Traced):
        x = np.asarray(x)
    if dtype_of(x).kind not in "fc":
        raise TypeError(f"x must be a float or complex array, got dtype {dtype_of(x)}")
    return x


def jvp(f: Callable, x: Any, tangents: list, *args: Any) -> tuple[Any, list]:
    """Forward mode: ``(f(x, *args), [J t for t in tangents])`` in ONE pass.

    ``x``: array of any shape (float or complex); each tangent has the shape of ``x``; each
    result has the shape of ``y = f(x, *args)``.  The tangents travel together as a batch
    ``(len(tangents), *x.shape)``, so a full Jacobian costs one pass.

    Example::

        y, [d] = jvp(np.sin, np.array([0.0, 1.0]), [np.ones(2)])   # d = cos(x)
    """
    x = _check_x(x)
    if not tangents:  # no directions: still one pass, for the value (np.stack needs one array)
        T = np.zeros((0,) + shape_of(x), dtype=dtype_of(x))
    else:
        T = np.stack([t if isinstance(t, Traced) else np.asarray(t) for t in tangents])
    if shape_of(T)[1:] != shape_of(x):
        raise ValueError(f"tangents must have the shape of x {shape_of(x)}, got {shape_of(T)[1:]}")
    y, JT = jvp_batched(intercepted(f), x, T, args)
    return y, [JT[i] for i in range(len(tangents))]


def vjp(f: Callable, x: Any, *args: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Reverse mode: ``(y, vjp_fn)`` with ``y = f(x, *args)`` and ``vjp_fn(w) = Jᴴ w``.

    ``w`` has the shape of ``y``; ``vjp_fn(w)`` has the shape of ``x`` and may be called many
    times (it reuses the recorded tape).  For real-valued ``f`` of complex ``x``,
    ``vjp_fn(1.0)`` is ``df/dRe x + i df/dIm x``.

    Example::

        y, pull = vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
        pull(np.ones(2))   # array([2., 4.])
    """
    x = _check_x(x)
    trace, x_slot, y, y_slot = trace_reverse(intercepted(f), x, args)
    plan, vals = backward_plan(trace.nodes), trace.vals

    def vjp_fn(w: Any) -> Any:
        if y_slot is None:
            return np.zeros_like(x)
        if not isinstance(w, Traced):
            w = np.asarray(w, dtype=np.result_type(w, dtype_of(y)))
        if shape_of(w) != shape_of(y):
            w = np.reshape(w, shape_of(y))
        return finish_grad(backward(plan, vals, y_slot, w, x_slot), x)

    return y, vjp_fn


def value_and_grad(f: Callable, x: Any, *args: Any) -> tuple[Any, Any]:
    """``(f(x, *args), ∇f(x))`` for scalar-valued ``f``; the gradient has the shape of ``x``.

    Example::

        value_and_grad(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]))  # (9.0, [3., 12.])
    """
    y, pull = vjp(f, x, *args)
    if int(np.prod(shape_of(y))) != 1:
        raise ValueError(f"grad needs a scalar output, got shape {shape_of(y)}")
    return y, pull(np.ones(shape_of(y), dtype=dtype_of(y)))


def grad(f: Callable, x: Any, *args: Any) -> Any:
    """``∇f(x)`` (shape of ``x``) for scalar-valued ``f(x, *args)``.

    Example::

        grad(lambda x: np.sum(np.sin(x)), np.zeros(3))   # array([1., 1., 1.])
    """
    return value_and_grad(f, x, *args)[1]


def jacobian(f: Callable, x: Any, *args: Any, mode: str = "forward") -> Any:
    """Jacobian of ``f(x, *args)``, shape ``y.shape + x.shape``.

    ``mode="forward"``: one batched forward pass with the identity as tangents (best when
    ``x`` is small); ``mode="reverse"``: one backward pass per output element on one tape.

    Example::

        jacobian(lambda x: x[:2] * x[1:], np.array([1.0, 2.0, 3.0]))   # shape (2, 3)
    """
    x = _check_x(x)
    xs = shape_of(x)
    n = int(np.prod(xs))
    if mode == "forward":
        eye = np.eye(n, dtype=dtype_of(x)).reshape((n,) + xs)
        y, JT = jvp_batched(intercepted(f), x, eye, args)
        ys = shape_of(y)
        m = int(np.prod(ys))  # explicit: a -1 is ambiguous when x or y has size 0
        return np.reshape(np.moveaxis(np.reshape(JT, (n, m)), 0, -1), ys + xs)
    if mode == "reverse":
        y, pull = vjp(f, x, *args)
        ys = shape_of(y)
        m = int(np.prod(ys))
        rows = [np.conjugate(pull(np.eye(m, dtype=dtype_of(y))[i].reshape(ys))) for i in range(m)]
        if not rows:
            return np.zeros(ys + xs, dtype=dtype_of(x))
        return np.reshape(np.stack(rows), ys + xs)
    raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")


def hvp(f: Callable, x: Any, t: Any, *args: Any) -> Any:
    """Hessian-vector product ``∇²f(x) t`` (shape of ``x``) by forward-over-reverse.

    Example::

        hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.ones(2))   # [6., 12.]
    """
    x = _check_x(x)
    T = np.reshape(t if isinstance(t, Traced) else np.asarray(t), (1,) + shape_of(x))
    return jvp_batched(intercepted(lambda z: grad(f, z, *args)), x, T, ())[1][0]


def hessian(f: Callable, x: Any, *args: Any) -> Any:
    """Hessian of scalar ``f(x, *args)``, shape ``x.shape + x.shape`` (forward-over-reverse,
    all directions in one batched forward pass).

    Example::

        hessian(lambda x: x[0] ** 2 * x[1], np.array([1.0, 2.0]))   # [[4., 2.], [2., 0.]]
    """
    return jacobian(lambda z: grad(f, z, *args), x, mode="forward")
