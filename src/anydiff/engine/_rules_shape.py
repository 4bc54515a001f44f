"""Shape, dtype-cast, concatenation and indexing rules (all linear in their traced operand)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rules_core import Lazy, bt, dtype_of, fit_tangent, shape_of
from ._tracer import Prim, bind, primal


def _reshape_impl(x: Any, shape: tuple) -> Any:
    return np.reshape(x, shape)


RESHAPE = Prim(
    "reshape",
    _reshape_impl,
    lambda ts, xs, y, p: np.reshape(ts[0], shape_of(ts[0])[:1] + shape_of(y)),
    lambda g, xs, y, need, p: (np.reshape(g, shape_of(xs[0])),),
)


def _transpose_impl(x: Any, axes: tuple) -> Any:
    return np.transpose(x, axes)


TRANSPOSE = Prim(
    "transpose",
    _transpose_impl,
    lambda ts, xs, y, p: np.transpose(ts[0], (0,) + tuple(a + 1 for a in p["axes"])),
    lambda g, xs, y, need, p: (np.transpose(g, tuple(np.argsort(p["axes"]).tolist())),),
)


def _broadcast_impl(x: Any, shape: tuple) -> Any:
    return np.broadcast_to(x, shape)


BROADCAST = Prim(
    "broadcast_to",
    _broadcast_impl,
    lambda ts, xs, y, p: np.broadcast_to(bt(ts[0], len(p["shape"])), shape_of(ts[0])[:1] + p["shape"]),
    lambda g, xs, y, need, p: (g,),
)


def _astype_impl(x: Any, dtype: Any) -> Any:
    if dtype_of(x).kind == "c" and np.dtype(dtype).kind != "c":
        x = np.real(x)
    return x.astype(dtype) if hasattr(x, "astype") else np.asarray(x, dtype=dtype)


ASTYPE = Prim(
    "astype",
    _astype_impl,
    lambda ts, xs, y, p: fit_tangent(ts[0], shape_of(y), np.dtype(p["dtype"])),
    lambda g, xs, y, need, p: (g,),
)
COPY = Prim("copy", np.copy, lambda ts, xs, y, p: ts[0], lambda g, xs, y, need, p: (g,))


def _concat_impl(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


def _concat_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    B = next(shape_of(t)[0] for t in ts if t is not None)
    dt = dtype_of(y)
    parts = [t if t is not None else np.zeros((B,) + shape_of(x), dtype=dt) for t, x in zip(ts, xs)]
    return np.concatenate(parts, axis=p["axis"] + 1)


def _concat_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    ax = p["axis"]
    out = []
    start = 0
    for x, n in zip(xs, need):
        stop = start + shape_of(x)[ax]
        out.append(g[(slice(None),) * ax + (slice(start, stop),)] if n else None)
        start = stop
    return tuple(out)


CONCAT = Prim("concatenate", _concat_impl, _concat_jvp, _concat_vjp)


def _reshape_compile(p: dict, xs: list) -> Any:
    shape = p["shape"]
    return lambda x: x.reshape(shape)


RESHAPE.compile = _reshape_compile


def _fast_reshape(p: dict, xs: list, need: tuple, ins: tuple, out: int) -> Any:
    xshape = shape_of(xs[0])
    return lambda g, v: (g.reshape(xshape),)


RESHAPE.fast = _fast_reshape


# ---------------------------------------------------------------------------- indexing

ARR = object()  # placeholder in an index template for an index array passed as an operand


def build_index(tmpl: tuple, arrs: tuple) -> tuple:
    if not arrs:
        return tmpl
    it = iter(arrs)
    return tuple(next(it) if t is ARR else t for t in tmpl)


def _getitem_impl(x: Any, *arrs: Any, idx: tuple, adv: bool = False) -> Any:
    return x[build_index(idx, arrs)]


def _batched(t: Any) -> Any:
    """Tangent ``(B, *s)`` -> ``(*s, B)``: a trailing batch axis is left alone by any index."""
    return np.moveaxis(t, 0, -1)


def _getitem_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    return np.moveaxis(_batched(ts[0])[build_index(p["idx"], tuple(xs[1:]))], -1, 0)


def _getitem_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    x = xs[0]
    gx = bind(INDEX_ADD, [g, *xs[1:]], {"idx": p["idx"], "shape": shape_of(x), "adv": p["adv"]})
    return (gx,) + (None,) * (len(xs) - 1)


def _index_add_impl(g: Any, *arrs: Any, idx: tuple, shape: tuple, adv: bool) -> Any:
    out = np.zeros(shape, dtype=dtype_of(g))
    ix = build_index(idx, arrs)
    if adv:  # integer index arrays may repeat an element: contributions must add up
        np.add.at(out, ix, g)
    else:
        out[ix] = g
    return out


def _index_add_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    t = ts[0]
    B = shape_of(t)[0]
    r = bind(
        INDEX_ADD,
        [_batched(t), *xs[1:]],
        {"idx": p["idx"], "shape": p["shape"] + (B,), "adv": p["adv"]},
    )
    return np.moveaxis(r, -1, 0)


INDEX_ADD = Prim(
    "index_add",
    _index_add_impl,
    _index_add_jvp,
    lambda g, xs, y, need, p: (g[build_index(p["idx"], tuple(xs[1:]))],) + (None,) * (len(xs) - 1),
)
GETITEM = Prim("getitem", _getitem_impl, _getitem_jvp, _getitem_vjp)


def _getitem_compile(p: dict, xs: list) -> Any:
    if len(xs) == 1:
        idx = p["idx"]
        return lambda x: x[idx]
    return None


def _getitem_accum(buf: np.ndarray, g: Any, xs: list, p: dict) -> None:
    ix = build_index(p["idx"], tuple(xs[1:]))
    if p["adv"]:
        np.add.at(buf, ix, g.value() if type(g) is Lazy else g)
    elif type(g) is Lazy:  # the factor folds into the scatter itself
        if g.g is None:
            buf[ix] += g.s
        elif g.s == -1:
            buf[ix] -= g.g
        else:
            buf[ix] += g.value()
    else:
        buf[ix] += g


GETITEM.compile = _getitem_compile
GETITEM.accum = _getitem_accum


def _setitem_impl(y: Any, v: Any, *arrs: Any, idx: tuple, inplace: bool = False) -> Any:
    # inplace: y is a buffer's fresh array that nothing else refers to (the engine checked),
    # also on a tape replay, where the node before made it fresh in the same replay
    out = y if inplace and type(y) is np.ndarray else y.copy()
    out[build_index(idx, arrs)] = v
    return out


def _setitem_jvp(ts: list, xs: list, out: Any, p: dict) -> Any:
    ty, tv = ts[0], ts[1]
    B = shape_of(ty if ty is not None else tv)[0]
    inplace = p.get("inplace", False)
    if ty is None:
        ty = np.zeros((B,) + shape_of(out), dtype=dtype_of(out))
        inplace = True  # fresh
    tv_b = 0 if tv is None else _batched(tv)
    q = {"idx": p["idx"], "inplace": True} if inplace and type(ty) is np.ndarray else {"idx": p["idx"]}
    r = bind(SETITEM, [_batched(ty), tv_b, *xs[2:]], q)
    return np.moveaxis(r, -1, 0)


def _last_writes(shape: tuple, ix: tuple, arrs: tuple) -> Any:
    """Which entries of ``y[ix] = v`` land (an integer index array may repeat a position: the
    last write wins, as NumPy does), as a boolean mask shaped like ``y[ix]``; ``None`` when
    every entry lands (no integer index arrays)."""
    if not any(getattr(a, "dtype", np.dtype(bool)).kind in "iu" for a in map(primal, arrs)):
        return None
    ix = tuple(primal(i) for i in ix)
    probe = np.full(shape, -1, dtype=np.int64)
    ids = np.arange(probe[ix].size).reshape(probe[ix].shape)
    probe[ix] = ids  # NumPy's own assignment decides which write wins
    winners = probe[ix] == ids
    return None if winners.all() else winners


def _written(g: Any, ix: tuple, shape: tuple, arrs: tuple) -> Any:
    """The cotangent of the written value: ``g[ix]``, zero where a later write overwrote it."""
    gv = g[ix]
    mask = _last_writes(shape, ix, arrs)
    return gv if mask is None else np.where(mask, gv, 0)


def _setitem_steal(g: np.ndarray, xs: list, p: dict) -> Any:
    """The reverse rule writing into ``g`` itself (owned by the backward pass): ``g`` becomes
    the cotangent of the buffer before the write; returns the cotangent of the written value."""
    ix = build_index(p["idx"], tuple(xs[2:]))
    gv = _written(g, ix, g.shape, tuple(xs[2:]))
    gv = gv.copy() if gv.base is not None else gv
    g[ix] = 0
    return gv


def _setitem_vjp(g: Any, xs: list, out: Any, need: tuple, p: dict) -> tuple:
    ix = build_index(p["idx"], tuple(xs[2:]))
    gy = bind(SETITEM, [g, 0, *xs[2:]], {"idx": p["idx"]}) if need[0] else None
    gv = _written(g, ix, shape_of(xs[0]), tuple(xs[2:])) if need[1] else None
    return (gy, gv) + (None,) * (len(xs) - 2)


SETITEM = Prim("setitem", _setitem_impl, _setitem_jvp, _setitem_vjp)
SETITEM_STEAL = _setitem_steal
