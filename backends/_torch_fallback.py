"""The ``torch.autograd`` fallback's helpers (a part of :mod:`anydiff.backends.torch`).

When ``torch.func`` refuses ``f`` (e.g. an in-place write of x-dependent values into a tensor
created outside the transform), the torch kernels switch to plain ``torch.autograd``: reverse
mode through ``torch.autograd.grad``, forward mode through the double-backward trick.
"""

from __future__ import annotations

import functools
from typing import Any

import torch


def _leaf(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """The tensor to differentiate with respect to, a working copy of it that f may even
    overwrite in place, and whether x is recorded on an outer tape (an outer torch.autograd
    derivative of this one): then results are built with ``create_graph`` and stay attached."""
    if x.requires_grad and torch.is_grad_enabled():
        return x, x.clone(), True
    xl = x.detach().requires_grad_(True)
    return xl, xl.clone(), False


def _out(y: torch.Tensor, outer: bool) -> torch.Tensor:
    return y if outer else y.detach()


def _vjp(
    out: torch.Tensor,
    inp: torch.Tensor,
    w: torch.Tensor | None = None,
    *,
    create_graph: bool = False,
) -> torch.Tensor:
    """``J^H w`` of ``out`` with respect to ``inp`` (zeros when out does not depend on inp)."""
    if not out.requires_grad:
        return torch.zeros_like(inp)
    (g,) = torch.autograd.grad(
        out, inp, w, retain_graph=True, create_graph=create_graph, allow_unused=True
    )
    return torch.zeros_like(inp) if g is None else g


def _jvps(
    out: torch.Tensor, inp: torch.Tensor, T: Any, *, create_graph: bool = False
) -> list[torch.Tensor]:
    """``J t`` for each t in T by double backward: ``J t`` is the vector-Jacobian product of the
    real-linear map ``u -> J^H u`` along t (correct for complex and non-holomorphic maps)."""
    zero = functools.partial(torch.zeros, out.shape, dtype=out.dtype, device=out.device)
    if not out.requires_grad:
        return [zero() for _ in T]
    u = torch.zeros_like(out, requires_grad=True)
    (adj,) = torch.autograd.grad(out, inp, u, create_graph=True, allow_unused=True)
    if adj is None or not adj.requires_grad:
        return [zero() for _ in T]
    res = []
    for t in T:
        (jt,) = torch.autograd.grad(
            adj, u, t, retain_graph=True, create_graph=create_graph, allow_unused=True
        )
        res.append(zero() if jt is None else jt)
    return res
