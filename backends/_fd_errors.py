"""Error estimates of finite-difference results: kept per thread by the kernels, read back
through ``prep.error_estimate``.

A kernel of ``AutoFiniteDiff(method="richardson")`` or ``AutoFiniteDiff(..., error=True)``
records, after each call, the elementwise error estimate of the derivative it returned (native,
flat: ``(m, n)`` for a Jacobian, ``(k, m)`` for k pushforwards, ...). It is stored on the
preparation's :class:`~anydiff._protocol.FlatFunction` in a ``threading.local``, so that two
threads sharing a prep each read their own last call. :func:`error_estimate` shapes it like the
result (NumPy arrays in the real dtype of the computation, whatever the caller's array type).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from anydiff._contexts import Batch
from anydiff._errors import AnydiffValueError
from anydiff._protocol import FlatFunction, Raveled
from anydiff._pytree import tree_unflatten

FIRST_ORDER = ("derivative", "gradient", "jacobian", "pushforward", "pullback")


def _root(F: Any) -> Any:
    return F.F if isinstance(F, Raveled) else F


def record(F: Any, err: Any) -> None:
    """Keep the error estimate of the kernel call just made, per thread, on the prepared
    FlatFunction. Derivative functions of an outer backend (SecondOrder) are not preparations
    and keep nothing."""
    root = _root(F)
    if not isinstance(root, FlatFunction):
        return
    holder = root.__dict__.get("fd_errors")
    if holder is None:
        holder = root.__dict__.setdefault("fd_errors", threading.local())
    holder.last = np.asarray(err)


def last_error(F: Any) -> np.ndarray | None:
    """The native error estimate recorded by this thread's last kernel call on F, or None."""
    holder = getattr(_root(F), "__dict__", {}).get("fd_errors")
    return getattr(holder, "last", None) if holder is not None else None


def _like(flat: np.ndarray, layout: Any) -> Any:
    """A flat ``(size,)`` NumPy vector as NumPy leaves in ``layout``'s structure and shapes."""
    if layout.single:
        return flat.reshape(layout.shapes[0])
    leaves = [flat[o : o + n].reshape(sh) for o, n, sh in zip(layout.offsets, layout.sizes, layout.shapes)]
    return tree_unflatten(layout.treedef, leaves)


def error_estimate(prep: Any) -> Any:
    """Elementwise error estimate of the derivative returned by this thread's last call of
    ``prep`` (any of its forms: ``prep(x)``, ``prep.value_and_<op>(x)``, ``op(..., prep=prep)``).

    Shaped like that derivative (like x for gradient and pullback, like y for derivative and
    pushforward, ``y.shape + x.shape`` for jacobian; an ``ad.Batch`` for a batch of tangents),
    as NumPy arrays of non-negative reals. An estimate ``e`` means: on smooth f, the true error
    ``|result - exact|`` is at most ``e`` (entrywise; measured coverage >= 95 %). Large values
    flag non-smooth f (kinks, jumps) or steps too large for f's scale; NaN where the result is
    NaN.

    Raises:
        AnydiffValueError: the prep's backend does not estimate errors (it must be
            ``AutoFiniteDiff(method="richardson")`` or ``AutoFiniteDiff(..., error=True)``), the
            operator is second-order, or the prep has not been called yet in this thread.
    """
    from anydiff._backend_types import AutoFiniteDiff, SecondOrder

    b = prep.backend
    fd = b.inner if isinstance(b, SecondOrder) else b
    if not (isinstance(fd, AutoFiniteDiff) and (fd.method == "richardson" or fd.error)):
        raise AnydiffValueError(
            f"prep.error_estimate needs a finite-difference backend that estimates errors: "
            f"AutoFiniteDiff(method='richardson') or AutoFiniteDiff(..., error=True); this "
            f"preparation uses {b!r}."
        )
    if prep.op.name not in FIRST_ORDER:
        raise AnydiffValueError(
            f"prep.error_estimate covers the first-order operators ({', '.join(FIRST_ORDER)}); "
            f"{prep.op.name} has no error estimate. Check second derivatives by differencing "
            "a gradient, as anydiff.testing.check_derivatives does."
        )
    E = last_error(prep.F)
    if E is None:
        raise AnydiffValueError(
            "prep.error_estimate is set by a call of the preparation; call it first (in this "
            "thread): J = prep(x); err = prep.error_estimate."
        )
    kind, xl, yl = prep.op.outputs[-1], prep.x_layout, prep.F.out_layout
    if kind == "jac":
        if xl.single and yl.single:
            return E.reshape(tuple(yl.shapes[0]) + tuple(xl.shapes[0]))
        return E.reshape(yl.size, xl.size)
    if kind == "x":
        return _like(E.reshape(-1), xl)
    if kind == "dy":
        return _like(E.reshape(-1), yl)
    layout = xl if kind == "xbatch" else yl
    rows = [_like(E[i].reshape(-1), layout) for i in range(E.shape[0])]
    sig = prep.tangent_sig
    return Batch(*rows) if sig is not None and sig.batch else rows[0]
