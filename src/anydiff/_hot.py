"""The prepared hot path: a specialised call for the most common prepared call.

One plain array ``x`` (and tangent) of the prepared type, shape and dtype, no contexts, no
``out=`` / ``y=``: identical arguments pass the general checks and conversions by construction,
so the hot call skips them and returns :data:`MISS` for anything else, which then takes the
general path of :meth:`anydiff._prep.Prep.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._arrays import _kind_of_type, cast_native

if TYPE_CHECKING:
    from ._prep import Prep

MISS = object()  #: a hot call that does not apply


def hot_class(hot: Any, base: type) -> type:
    """A subclass of ``base`` (Prep) whose ``__call__`` enters the hot call first: Python looks
    ``__call__`` up on the type, so this saves a layer of calls on every prepared call."""
    general = base.__call__

    def __call__(self: Any, x: Any, *args: Any, out: Any = None, y: Any = None) -> Any:
        if out is None and y is None:
            r = hot(x, *args)
            if r is not MISS:
                return r
        return general(self, x, *args, out=out, y=y)

    return type(base.__name__, (base,), {"__call__": __call__, "__module__": base.__module__})


def make_hot(prep: Prep, with_value: bool, x0: Any, t0: Any) -> Any:
    """A specialised call for the common case: one plain array x (and tangent) of the
    prepared type, shape and dtype, no contexts, no ``out=``/``y=``. It skips the general
    checks and conversions (identical arguments pass them by construction) and returns
    ``MISS`` for anything else, which then takes the general path."""
    lay, adapter, op = prep.x_layout, prep.adapter, prep.op
    sparse = getattr(adapter, "sparse_results", False)  # AutoSparse: scipy.sparse matrices
    yl = prep.F.out_layout
    kind = lay.kinds[0]
    if (
        not lay.single or prep.ctx_sigs or prep.y_layout is not None or prep.same_point
        or kind not in ("numpy", adapter.native_kind)
        or (yl is None and not op.scalar_output)
        or (yl is not None and not yl.single)
        or x0 is None
        or (prep.op.tangent is not None and t0 is None)
        or not getattr(x0.dtype, "isnative", True)  # a byte-swapped x needs converting
        or not getattr(getattr(t0, "dtype", None), "isnative", True)
        or (t0 is not None and _kind_of_type(t0.type) != kind)  # a tangent of another kind
    ):
        return None
    xtype, xshape, xdtype = x0.type, lay.shapes[0], x0.dtype
    yshape = yl.shapes[0] if yl is not None else ()
    ydtype = yl.dtypes[0] if yl is not None else lay.dtype
    dydtype = np.result_type(ydtype, lay.dtype)
    targets = {
        "y": (yshape, ydtype), "dy": (yshape, dydtype), "ybatch": (yshape, dydtype),
        "x": (xshape, lay.dtypes[0]), "xbatch": (xshape, lay.dtypes[0]),
        "jac": (yshape + xshape, dydtype), "hess": (xshape + xshape, lay.dtypes[0]),
    }
    kinds = op.outputs if with_value else op.outputs[-1:]
    native = kind == adapter.native_kind
    numpy_ok = native or adapter.kernels_accept_numpy

    kernel = prep.kernel(with_value)
    # A kernel may offer a single-tangent entry (``kernel.one(x, t, ctx)``: t and the
    # derivative without the batch axis; the torch adapter's, where each tensor operation
    # on the batch axis costs microseconds). The hot call has one tangent, never a Batch.
    one = getattr(kernel, "one", None) if t0 is not None else None

    F = prep.F

    def converter(out_kind: str) -> Any:
        if sparse and out_kind in ("jac", "hess"):
            return lambda r: r  # already the (y.size, x.size) / (x.size, x.size) result
        shape, dtype = targets[out_kind]
        batch = out_kind in ("xbatch", "ybatch") and one is None
        if out_kind == "y" and yl is None:
            # A scalar f whose output layout is not known yet (no evaluation before this
            # hot call was built): y's dtype is f's, not x's (a real f of complex x gives a
            # real y), known once the kernel has run.
            def conv(r: Any) -> Any:
                return fixed(r, F.out_layout.dtypes[0])
        elif native:
            def conv(r: Any) -> Any:
                r = r[0] if batch else r
                r = cast_native(r, dtype)
                return r if tuple(r.shape) == shape else r.reshape(shape)
        else:
            def conv(r: Any) -> Any:
                return fixed(r, dtype)

        def fixed(r: Any, dtype: Any) -> Any:
            if native:
                r = cast_native(r[0] if batch else r, dtype)
                return r if tuple(r.shape) == shape else r.reshape(shape)
            a = to_numpy_(r)  # index on the NumPy side: eager JAX indexing is slow
            a = a[0] if batch else a
            if a.dtype != dtype:
                a = a.astype(dtype)
            return a if a.shape == shape else a.reshape(shape)

        return conv

    to_numpy_ = adapter.to_numpy

    convs = tuple(converter(k) for k in kinds)
    flat_x = len(xshape) != 1
    as_native = adapter.asarray
    n = lay.size
    if t0 is not None:
        ttype, tshape, tdtype = t0.type, t0.shape, t0.dtype
        tsize = int(np.prod(tshape, dtype=np.int64))
        tflat = (tsize,) if one is not None else (1, tsize)  # one flat tangent, or one row
        treshape = tshape != tflat
        run = one if one is not None else kernel
        tnative = (yl.dtype if op.tangent == "y" else lay.dtype)

    # A failing kernel raises here, translated exactly as on the general path: never a
    # retry there, which would evaluate f (and run its side effects) a second time.
    fail = adapter.raise_translated
    # A JAX x sharded over several devices takes the general path, which gives results
    # like x the caller's sharding back (flat kernels shard along one mesh axis only).
    sharded = kind == "jax"
    if t0 is None:
        def hot(x: Any, *args: Any) -> Any:
            if args or type(x) is not xtype or x.shape != xshape or x.dtype != xdtype:
                return MISS
            if sharded and x.sharding.num_devices > 1:
                return MISS
            xv = x.reshape(n) if flat_x else x
            xv = xv if numpy_ok else as_native(xv, lay.dtype)
            try:
                outs = kernel(xv, None, ())
            except Exception as exc:
                fail(exc, F)
            if with_value:
                return tuple(c(o) for c, o in zip(convs, outs))
            return convs[0](outs[-1])
    else:
        def hot(x: Any, *args: Any) -> Any:
            if len(args) != 1 or type(x) is not xtype or x.shape != xshape or (
                x.dtype != xdtype
            ):
                return MISS
            t = args[0]
            if type(t) is not ttype or t.shape != tshape or t.dtype != tdtype:
                return MISS
            if sharded and x.sharding.num_devices > 1:
                return MISS
            xv = x.reshape(n) if flat_x else x
            T = t.reshape(tflat) if treshape else t
            if not numpy_ok:
                xv, T = as_native(xv, lay.dtype), as_native(T, tnative)
            try:
                outs = run(xv, T, ())
            except Exception as exc:
                fail(exc, F)
            if with_value:
                return tuple(c(o) for c, o in zip(convs, outs))
            return convs[0](outs[-1])

    return hot
