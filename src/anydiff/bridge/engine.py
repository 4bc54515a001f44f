"""Engine host: a bridged function as :class:`anydiff.engine` primitives.

``VALUE(x) -> y``, ``PF(x, T) -> J T`` (``T``: ``(k, n)``), ``PB(x, W) -> Jᴴ W`` and the
second-order ``HW(x, w, V)``, each with a jvp rule (batched tangents ``(B, ...)``: one rule call
for the whole batch) and a vjp rule. The rules bind the other primitives, so they dispatch on
traced arrays too: forward-over-reverse and reverse-over-reverse Hessians work, and recorded
tapes replay the primitive at new inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import UnsupportedError
from .._pytree import tree_unflatten
from ..engine._tracer import Prim, Traced, bind
from ._core import Rule, leaf_signature


def _b(prim: Prim, *args: Any, **p: Any) -> Any:
    return bind(prim, list(args), p)


def _fold(T: Any) -> tuple[Any, int, int]:
    """``(B, k, ·)`` -> ``(B·k, ·)``."""
    B, k = T.shape[0], T.shape[1]
    return np.reshape(T, (B * k,) + tuple(T.shape[2:])), B, k


def _value_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    (T,) = ts
    if T is None:
        return None
    return _b(PF, xs[0], T, **p)  # (B, n) -> (B, m): one call for the whole batch


def _value_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    return (_b(PB, xs[0], np.reshape(g, (1, -1)), **p)[0],)


def _pf_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    tx, tT = ts
    x, T = xs
    out = None
    if tT is not None:  # (B, k, n)
        F, B, k = _fold(tT)
        out = np.reshape(_b(PF, x, F, **p), (B, k, -1))
    if tx is not None:  # (B, n): row j, output i gets T_j · (∇²f_i v_b)
        osig = p["osig"]
        if osig.size > 64:
            raise UnsupportedError(
                f"forward-over-forward second derivatives through {p['rule'].fname} with "
                f"{osig.size} outputs; use the reverse engine for the inner derivative."
            )
        eye = np.eye(osig.size, dtype=osig.dtype)
        Hv = np.stack([_b(HW, x, eye[i], tx, **p) for i in range(osig.size)], axis=1)  # (B, m, n)
        extra = np.einsum("kn,bmn->bkm", T, Hv)
        out = extra if out is None else out + extra
    return out


def _pf_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    x, T = xs
    gx = gT = None
    if need[1]:
        gT = _b(PB, x, g, **p)
    if need[0]:
        gx = sum(_b(HW, x, g[j], T[j:j + 1], **p)[0] for j in range(T.shape[0]))
    return gx, gT


def _pb_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    tx, tW = ts
    x, W = xs
    out = None
    if tW is not None:
        F, B, k = _fold(tW)
        out = np.reshape(_b(PB, x, F, **p), (B, k, -1))
    if tx is not None:
        extra = np.stack([_b(HW, x, W[j], tx, **p) for j in range(W.shape[0])], axis=1)
        out = extra if out is None else out + extra
    return out


def _pb_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    x, W = xs
    gx = gW = None
    if need[1]:
        gW = _b(PF, x, g, **p)
    if need[0]:
        gx = sum(_b(HW, x, W[j], g[j:j + 1], **p)[0] for j in range(W.shape[0]))
    return gx, gW


def _third(p: dict) -> UnsupportedError:
    return UnsupportedError(
        f"third derivatives through {p['rule'].fname} (bridged by anydiff) are not supported"
    )


def _hw_jvp(ts: list, xs: list, y: Any, p: dict) -> Any:
    tx, tw, tV = ts
    if tx is not None or tw is not None:
        raise _third(p)
    if tV is None:
        return None
    F, B, k = _fold(tV)
    return np.reshape(_b(HW, xs[0], xs[1], F, **p), (B, k, -1))


def _hw_vjp(g: Any, xs: list, y: Any, need: tuple, p: dict) -> tuple:
    if need[0] or need[1]:
        raise _third(p)
    return None, None, _b(HW, xs[0], xs[1], g, **p)  # symmetric


def _plain(a: Any) -> np.ndarray:
    return np.asarray(a)


VALUE = Prim("anydiff_bridge", lambda x, rule, sig, osig: rule.value(sig, _plain(x)),
             _value_jvp, _value_vjp)
PF = Prim("anydiff_bridge_pf",
          lambda x, T, rule, sig, osig: rule.pushforward(sig, _plain(x), _plain(T)), _pf_jvp, _pf_vjp)
PB = Prim("anydiff_bridge_pb",
          lambda x, W, rule, sig, osig: rule.pullback(sig, _plain(x), _plain(W)), _pb_jvp, _pb_vjp)
HW = Prim("anydiff_bridge_hw",
          lambda x, w, V, rule, sig, osig: rule.hvp_w(sig, _plain(x), _plain(w), _plain(V)),
          _hw_jvp, _hw_vjp)


def _primal(a: Any) -> Any:
    while type(a) is Traced:
        a = a._value
    return a


def _np_dtype(a: Any) -> np.dtype:
    return np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype


def call(rule: Rule, leaves: list[Any], td: Any) -> Any:
    """``f(x)`` for engine-traced leaves, differentiable by the engine in both modes."""
    sig = leaf_signature(rule.fname, leaves, td, _np_dtype)
    flat = np.concatenate([np.reshape(v, (-1,)).astype(sig.dtype) for v in leaves])
    osig = rule.out_signature(sig, np.asarray(_primal(flat)))
    y = _b(VALUE, flat, rule=rule, sig=sig, osig=osig)
    out, start = [], 0
    for shape, dt, size in zip(osig.shapes, osig.dtypes, osig.sizes):
        piece = np.reshape(y[start:start + size], shape)
        out.append(piece if _np_dtype(piece) == np.dtype(dt) else piece.astype(dt))
        start += size
    return tree_unflatten(osig.treedef, out)
