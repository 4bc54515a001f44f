"""HIPS autograd host: a bridged function as ``autograd.extend`` primitives.

``_value(x) -> y``, ``_pf(x, T) -> J T`` (``T``: ``(k, n)``), ``_pb(x, W) -> Jᴴ W`` and the
second-order ``_hw(x, w, V)``, with ``defvjp`` (reverse, nests: reverse-over-reverse Hessians
work) and ``defjvp`` (autograd's forward mode, ``make_jvp``).
"""

from __future__ import annotations

from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.extend import defjvp, defvjp, primitive

from .._errors import UnsupportedError
from .._pytree import tree_unflatten
from ._core import Rule, leaf_signature


@primitive
def _value(x: Any, p: tuple) -> Any:
    rule, sig, osig = p
    return rule.value(sig, np.asarray(x))


@primitive
def _pf(x: Any, T: Any, p: tuple) -> Any:
    rule, sig, osig = p
    return rule.pushforward(sig, np.asarray(x), np.asarray(T))


@primitive
def _pb(x: Any, W: Any, p: tuple) -> Any:
    rule, sig, osig = p
    return rule.pullback(sig, np.asarray(x), np.asarray(W))


@primitive
def _hw(x: Any, w: Any, V: Any, p: tuple) -> Any:
    rule, sig, osig = p
    return rule.hvp_w(sig, np.asarray(x), np.asarray(w), np.asarray(V))


def _third(p: tuple) -> Any:
    def fail(*_: Any) -> Any:
        raise UnsupportedError(
            f"third derivatives through {p[0].fname} (bridged by anydiff) are not supported"
        )

    return fail


def _hw_rows(x: Any, W: Any, G: Any, p: tuple) -> Any:
    """Σ_j (Σ_i W_ji ∇²f_i) G_j: the x-part of the derivative of <G, Jᴴ W> or <W, J G>."""
    total = 0.0
    for j in range(W.shape[0]):
        total = total + _hw(x, W[j], G[j:j + 1], p)[0]
    return total


def _transposed(lin: Any, x: Any, G: Any, p: tuple) -> Any:
    """autograd's vjp is the transpose: ``Lᵀ G = conj(Lᴴ conj(G))`` from the adjoint rule
    ``lin`` (``_pb`` for ``L = J``, ``_pf`` for ``L = Jᴴ``) when x or y is complex."""
    if p[1].dtype.kind == "c" or p[2].dtype.kind == "c":
        return anp.conj(lin(x, anp.conj(G), p))
    return lin(x, G, p)


defvjp(_value, lambda ans, x, p: lambda g: _transposed(_pb, x, anp.reshape(g, (1, -1)), p)[0])
defjvp(_value, lambda g, ans, x, p: _pf(x, anp.reshape(g, (1, -1)), p)[0])

defvjp(_pf, lambda ans, x, T, p: lambda g: _hw_rows(x, g, T, p),
       lambda ans, x, T, p: lambda g: _transposed(_pb, x, g, p))
defvjp(_pb, lambda ans, x, W, p: lambda g: _hw_rows(x, W, g, p),
       lambda ans, x, W, p: lambda g: _transposed(_pf, x, g, p))
defjvp(_pf, None, lambda g, ans, x, T, p: _pf(x, g, p))
defjvp(_pb, lambda g, ans, x, W, p: anp.stack([_hw(x, W[j], anp.reshape(g, (1, -1)), p)[0]
                                               for j in range(W.shape[0])]),
       lambda g, ans, x, W, p: _pb(x, g, p))
defvjp(_hw, lambda ans, x, w, V, p: _third(p), lambda ans, x, w, V, p: _third(p),
       lambda ans, x, w, V, p: lambda g: _hw(x, w, g, p))
defjvp(_hw, lambda g, ans, x, w, V, p: _third(p)(), lambda g, ans, x, w, V, p: _third(p)(),
       lambda g, ans, x, w, V, p: _hw(x, w, g, p))


def _np_dtype(a: Any) -> np.dtype:
    d = getattr(a, "dtype", None)
    return np.dtype(d) if d is not None else np.asarray(getattr(a, "_value", a)).dtype


def _primal(a: Any) -> Any:
    while hasattr(a, "_value") and type(a).__module__.startswith("autograd"):
        a = a._value
    return a


def call(rule: Rule, leaves: list[Any], td: Any) -> Any:
    """``f(x)`` for autograd-boxed leaves, differentiable by autograd (reverse and forward)."""
    sig = leaf_signature(rule.fname, leaves, td, _np_dtype)
    flat = anp.concatenate([anp.reshape(v, (-1,)) for v in leaves])
    if _np_dtype(flat) != sig.dtype:
        flat = flat.astype(sig.dtype) if hasattr(flat, "astype") else anp.asarray(flat, sig.dtype)
    osig = rule.out_signature(sig, np.asarray(_primal(flat)))
    y = _value(flat, (rule, sig, osig))
    out, start = [], 0
    for shape, dt, size in zip(osig.shapes, osig.dtypes, osig.sizes):
        piece = anp.reshape(y[start:start + size], shape)
        out.append(piece if np.dtype(dt) == osig.dtype else piece.astype(dt))
        start += size
    return tree_unflatten(osig.treedef, out)
