"""torch host: a bridged function as ``torch.autograd.Function`` s on flat tensors.

``_Value(x) -> y``, ``_Pf(x, T) -> J T`` (``T``: ``(k, n)``), ``_Pb(x, W) -> Jᴴ W`` and the
second-order ``_Hw(x, w, V) -> (Σ w_i ∇²f_i) V``, each with ``setup_context``, ``backward``,
forward-mode ``jvp`` and a ``vmap`` rule, so ``backward()``, ``torch.autograd.grad``,
``torch.autograd.forward_ad`` and every ``torch.func`` transform (grad, vjp, jvp, jacrev,
jacfwd, vmap, hessian) work. A vmapped tangent stack goes to ONE ``(B·k, n)`` rule call.
Values cross to NumPy on the host (``.detach().cpu()``) and come back on the input's device in
the signature's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._errors import UnsupportedError
from .._pytree import tree_unflatten
from ._core import Rule, Signature, leaf_signature

_SECOND_ORDER_OUTPUTS = 64


def _np(t: Any) -> np.ndarray:
    t = t.detach()
    if t.is_conj():
        t = t.resolve_conj()
    return t.cpu().numpy()


def _tt(a: np.ndarray, like: Any) -> Any:
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # e.g. a read-only view of a JAX buffer: torch wants to own it
        a = a.copy()
    return torch.from_numpy(a).to(like.device)


def _unbatched(in_dims: Any, upto: int) -> bool:
    return all(d is None for d in in_dims[:upto])


def _vmap_stack(fn: Any, in_dims: Any, args: Any, nprimal: int) -> Any:
    """vmap rule: with only the last (stacked) argument batched, fold the batch into its ``k``
    axis (one rule call); otherwise loop over the batch (batched primal)."""
    B = next(a.shape[d] for a, d in zip(args, in_dims) if d is not None)
    if _unbatched(in_dims, nprimal):
        L = args[-1].movedim(in_dims[-1], 0)
        k = L.shape[1]
        out = fn(*args[:-1], L.reshape((B * k,) + L.shape[2:]))
        return out.reshape((B, k) + out.shape[1:]), 0
    moved = [a.movedim(d, 0) if d is not None else a.expand((B,) + a.shape) for a, d in zip(args, in_dims)]
    return torch.stack([fn(*[m[b] for m in moved]) for b in range(B)]), 0


def _save(ctx: Any, inputs: tuple, k: int) -> None:
    """Every rule Function keeps its first ``k`` inputs for both modes; the last is its params."""
    ctx.save_for_backward(*inputs[:k])
    ctx.save_for_forward(*inputs[:k])
    ctx.p = inputs[-1]


class _Value(torch.autograd.Function):
    generate_vmap_rule = False

    @staticmethod
    def forward(x: Any, p: tuple) -> Any:
        rule, sig, osig = p
        return _tt(rule.value(sig, _np(x)), x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        _save(ctx, inputs, 1)

    @staticmethod
    def backward(ctx: Any, gy: Any) -> Any:
        (x,) = ctx.saved_tensors
        return _Pb.apply(x, gy[None], ctx.p)[0], None

    @staticmethod
    def jvp(ctx: Any, tx: Any, _p: Any) -> Any:
        (x,) = ctx.saved_tensors
        return _Pf.apply(x, tx[None], ctx.p)[0]

    @staticmethod
    def vmap(info: Any, in_dims: Any, x: Any, p: tuple) -> Any:
        xs = x.movedim(in_dims[0], 0)
        return torch.stack([_Value.apply(xs[b], p) for b in range(xs.shape[0])]), 0


class _Pf(torch.autograd.Function):
    generate_vmap_rule = False

    @staticmethod
    def forward(x: Any, T: Any, p: tuple) -> Any:
        rule, sig, osig = p
        return _tt(rule.pushforward(sig, _np(x), _np(T)), x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        _save(ctx, inputs, 2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, T = ctx.saved_tensors
        gx = gT = None
        if ctx.needs_input_grad[1]:
            gT = _Pb.apply(x, g, ctx.p)  # real: the transpose of T -> J T is Jᵀ = Jᴴ
        if ctx.needs_input_grad[0]:
            # d/dx <g_j, J T_j> = (Σ_i g_ji ∇²f_i) T_j
            gx = sum(_Hw.apply(x, g[j], T[j:j + 1], ctx.p)[0] for j in range(T.shape[0]))
        return gx, gT, None

    @staticmethod
    def jvp(ctx: Any, tx: Any, tT: Any, _p: Any) -> Any:
        x, T = ctx.saved_tensors
        out = _Pf.apply(x, tT, ctx.p) if tT is not None else None
        if tx is not None:
            rule, sig, osig = ctx.p
            if osig.size > _SECOND_ORDER_OUTPUTS:
                raise UnsupportedError(
                    f"forward-over-forward second derivatives through {rule.fname} with {osig.size} "
                    "outputs; use torch.func.hessian (forward over reverse)."
                )
            eye = torch.eye(osig.size, dtype=T.dtype, device=T.device)
            Hv = torch.stack([_Hw.apply(x, eye[i], tx[None], ctx.p)[0] for i in range(osig.size)])
            extra = T @ Hv.T
            out = extra if out is None else out + extra
        if out is None:
            out = torch.zeros(T.shape[0], ctx.p[2].size, dtype=T.dtype, device=T.device)
        return out

    @staticmethod
    def vmap(info: Any, in_dims: Any, x: Any, T: Any, p: tuple) -> Any:
        return _vmap_stack(lambda a, b: _Pf.apply(a, b, p), in_dims[:2], (x, T), 1)


class _Pb(torch.autograd.Function):
    generate_vmap_rule = False

    @staticmethod
    def forward(x: Any, W: Any, p: tuple) -> Any:
        rule, sig, osig = p
        return _tt(rule.pullback(sig, _np(x), _np(W)), x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        _save(ctx, inputs, 2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, W = ctx.saved_tensors
        gx = gW = None
        if ctx.needs_input_grad[1]:
            gW = _Pf.apply(x, g, ctx.p)
        if ctx.needs_input_grad[0]:
            gx = sum(_Hw.apply(x, W[j], g[j:j + 1], ctx.p)[0] for j in range(W.shape[0]))
        return gx, gW, None

    @staticmethod
    def jvp(ctx: Any, tx: Any, tW: Any, _p: Any) -> Any:
        x, W = ctx.saved_tensors
        out = _Pb.apply(x, tW, ctx.p) if tW is not None else torch.zeros_like(x).expand(W.shape[0], -1)
        if tx is not None:
            rows = [_Hw.apply(x, W[j], tx[None], ctx.p)[0] for j in range(W.shape[0])]
            out = out + torch.stack(rows)
        return out

    @staticmethod
    def vmap(info: Any, in_dims: Any, x: Any, W: Any, p: tuple) -> Any:
        return _vmap_stack(lambda a, b: _Pb.apply(a, b, p), in_dims[:2], (x, W), 1)


class _Hw(torch.autograd.Function):
    generate_vmap_rule = False

    @staticmethod
    def forward(x: Any, w: Any, V: Any, p: tuple) -> Any:
        rule, sig, osig = p
        return _tt(rule.hvp_w(sig, _np(x), _np(w), _np(V)), x)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        _save(ctx, inputs, 2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            raise UnsupportedError(
                f"third derivatives through {ctx.p[0].fname} (bridged by anydiff) are not supported"
            )
        return None, None, _Hw.apply(x, w, g, ctx.p), None  # symmetric

    @staticmethod
    def jvp(ctx: Any, tx: Any, tw: Any, tV: Any, _p: Any) -> Any:
        x, w = ctx.saved_tensors
        if tx is not None or tw is not None:
            raise UnsupportedError(
                f"third derivatives through {ctx.p[0].fname} (bridged by anydiff) are not supported"
            )
        return _Hw.apply(x, w, tV, ctx.p)

    @staticmethod
    def vmap(info: Any, in_dims: Any, x: Any, w: Any, V: Any, p: tuple) -> Any:
        return _vmap_stack(lambda a, b, c: _Hw.apply(a, b, c, p), in_dims[:3], (x, w, V), 2)


def _np_dtype(a: Any) -> np.dtype:
    if isinstance(a, torch.Tensor):
        return np.dtype(str(a.dtype).rsplit(".", 1)[-1])
    return np.asarray(a).dtype


def call(rule: Rule, leaves: list[Any], td: Any) -> Any:
    """``f(x)`` for torch leaves, differentiable by torch.autograd and torch.func."""
    sig: Signature = leaf_signature(rule.fname, leaves, td, _np_dtype)
    device = next(v.device for v in leaves if isinstance(v, torch.Tensor))
    tdtype = getattr(torch, str(sig.dtype))
    flat = torch.cat([torch.as_tensor(v, device=device).reshape(-1).to(tdtype) for v in leaves])
    try:  # the concrete value when torch lets us read it (not inside torch.func transforms)
        concrete = _np(flat)
    except Exception:
        concrete = None
    # the probe evaluates f on fresh tensors: inside a torch.func transform they would be lifted
    # into its level (wrappers without storage, which f's NumPy result cannot be read from); the
    # rule's own calls run in autograd.Function.forward, where functorch is off already
    with torch._C._DisableFuncTorch():
        osig = rule.out_signature(sig, concrete)
    y = _Value.apply(flat, (rule, sig, osig))
    out, start = [], 0
    for shape, dt, size in zip(osig.shapes, osig.dtypes, osig.sizes):
        out.append(y[start:start + size].reshape(shape).to(getattr(torch, dt)))
        start += size
    return tree_unflatten(osig.treedef, out)
