"""The caller's ``x0`` (array or pytree of arrays and floats) seen as SciPy's flat float64 vector.

SciPy optimises over one 1-D float64 NumPy vector. :class:`FlatProblem` records ``x0``'s
structure, shapes, dtypes and array types, wraps ``f`` so that it receives ``x`` in ``x0``'s
structure (as the backend's arrays: anydiff converts), and turns SciPy's results back into the
caller's structure and array types (``torch`` tensors in, ``torch`` tensors out).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import dtype_of, from_numpy, kind_of, shape_of, to_numpy
from .._errors import AnydiffTypeError, AnydiffValueError
from .._layout import Layout
from .._pytree import tree_flatten, tree_unflatten


class FlatProblem:
    """Flat view of ``x0``.

    Attributes:
        size: length ``n`` of the flat vector.
        x0: ``x0`` raveled to a float64 ``(n,)`` NumPy vector (leaves in pytree order: dict keys
            sorted, each leaf raveled in C order).
        layout: the float64 layout ``f`` is prepared with (``x0``'s structure and shapes).
    """

    def __init__(self, x0: Any, what: str = "x0") -> None:
        leaves, self.treedef = tree_flatten(x0)
        if not leaves:
            raise AnydiffValueError(f"{what} has no array leaves to optimise over.")
        self.templates = leaves
        self.kinds = tuple(kind_of(a) for a in leaves)
        self.shapes = tuple(shape_of(a) for a in leaves)
        self.dtypes = tuple(dtype_of(a) for a in leaves)
        for dt in self.dtypes:
            if dt.kind == "c":
                raise AnydiffTypeError(
                    f"{what} is complex ({dt}); SciPy's optimisers work on real vectors. Optimise "
                    "over the real and imaginary parts as two real leaves, e.g. {'re': ..., 'im': ...}."
                )
            if dt.kind not in "fiub":
                raise AnydiffTypeError(f"{what} has a non-numeric leaf of dtype {dt}.")
        parts = [np.asarray(to_numpy(a), dtype=np.float64).reshape(-1) for a in leaves]
        self.x0 = parts[0].copy() if len(parts) == 1 else np.concatenate(parts)
        self.size = self.x0.size
        if self.size == 0:
            raise AnydiffValueError(f"{what} has size 0: nothing to optimise.")
        f64 = np.dtype(np.float64)
        self.layout = Layout(self.treedef, self.shapes, (f64,) * len(leaves), ("numpy",) * len(leaves))
        # f takes the flat vector itself when x0 is one 1-D array: no wrapper, no reshape.
        self.identity = self.treedef.is_leaf and len(self.shapes[0]) == 1

    def wrap(self, f: Callable) -> Callable:
        """``g(v, *ctx) = f(x, *ctx)`` with ``x`` the flat ``v`` unraveled into ``x0``'s structure
        (views of ``v``, in whatever array type the backend gives ``g``)."""
        if self.identity:
            return f
        unravel = self.layout.unravel

        @functools.wraps(f)
        def flat_f(v: Any, *ctx: Any) -> Any:
            return f(unravel(v), *ctx)

        return flat_f

    def to_caller(self, v: Any) -> Any:
        """A flat float64 vector (SciPy's ``res.x``) in ``x0``'s structure, array types and dtypes
        (integer leaves come back float64; Python floats as Python floats)."""
        v = np.asarray(v, dtype=np.float64)
        out, o = [], 0
        for tpl, kind, shape, dt in zip(self.templates, self.kinds, self.shapes, self.dtypes):
            size = int(np.prod(shape, dtype=np.int64))
            arr = v[o : o + size].reshape(shape)
            o += size
            if dt.kind == "f":
                arr = arr.astype(dt)
            out.append(from_numpy(np.array(arr), "numpy" if kind == "other" else kind, tpl))
        return tree_unflatten(self.treedef, out)
