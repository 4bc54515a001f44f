"""Dependency rules of products and linear algebra: matmul, einsum, solve, inv, det, cholesky, eigh.

Products are boolean sparse products.  A 2-D ``A @ B`` with one constant side is
``kron(I, mask(B)ᵀ) @ P_A`` or ``kron(mask(A), I) @ P_B``, where a constant's mask is its non-zero
structure when its value may be used (local mode, or closure data in global mode) and all ones
otherwise.  Other products go through the general einsum rule, which enumerates the non-zero points
of the full index space.  The matrix functions are dense in their matrix argument: every output
element depends on every input the matrix depends on (structurally, an inverse is dense).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import UnsupportedError
from . import _index as ix
from . import _np
from ._trace import Call

_MAX_POINTS = 50_000_000  # full index space of an einsum rule: beyond this a dense detector is better


def _mask(c: Call, i: int) -> np.ndarray:
    v = c.value(i)
    shape = c.shape(i)
    return _np.ones(shape, dtype=bool) if v is None else (v != 0)


def _matmul(c: Call) -> Any:
    a, b = c.shape(0), c.shape(1)
    if len(a) == 2 and len(b) == 2 and (c.Ps[0] is None or c.Ps[1] is None):
        m, k = a
        n = b[1]
        if c.Ps[0] is not None:  # out(i,j) <- A(i,l) where B(l,j) may be non-zero
            G = sp.kron(sp.eye_array(m, dtype=bool), sp.csr_array(_mask(c, 1).T), format="csr")
            return ix.matmul(G, c.Ps[0])
        G = sp.kron(sp.csr_array(_mask(c, 0)), sp.eye_array(n, dtype=bool), format="csr")
        return ix.matmul(G, c.Ps[1])
    return _contract(c, "...ij,...jk->...ik")


def _einsum(c: Call) -> Any:
    return _contract(c, c.params["spec"])


def _expand_spec(spec: str, ndims: list[int]) -> tuple[list[str], str]:
    """Explicit subscripts with each ``...`` replaced by fresh letters (right-aligned)."""
    ins, out = spec.split("->")
    subs = ins.split(",")
    used = set(spec)
    fresh = [ch for ch in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if ch not in used]
    n_ell = max([nd - (len(s) - 3) for s, nd in zip(subs, ndims) if "..." in s] or [0])
    ell = "".join(fresh[:n_ell])
    new = []
    for s, nd in zip(subs, ndims):
        if "..." in s:
            k = nd - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k :] if k else "")
        new.append(s)
    return new, out.replace("...", ell)


def _contract(c: Call, spec: str) -> Any:
    """The general product rule: enumerate the points of the full index space where the other
    operands may be non-zero; each such point links an output position to an operand position."""
    nops = len(c.xs)
    subs, out = _expand_spec(spec, [len(c.shape(i)) for i in range(nops)])
    sizes: dict[str, int] = {}
    for i, s in enumerate(subs):
        for ch, d in zip(s, c.shape(i)):
            sizes[ch] = max(sizes.get(ch, 1), d)
    letters = sorted(sizes)
    full = tuple(sizes[ch] for ch in letters)
    if int(np.prod(full, dtype=np.int64)) > _MAX_POINTS:
        raise UnsupportedError(
            f"{c.prim.name} over an index space of {int(np.prod(full))} points is too large for the "
            "sparsity tracer's product rule; use DenseSparsityDetector(backend)"
        )
    grid = {
        ch: np.arange(sizes[ch]).reshape([-1 if k == j else 1 for k in range(len(letters))])
        for j, ch in enumerate(letters)
    }

    def pos(s: str, shape: tuple[int, ...]) -> np.ndarray:
        # flat C-order position of an operand element at each full-space point (size-1 axes broadcast)
        p = _np.zeros((1,) * len(letters), dtype=np.int64)
        stride = 1
        for ch, d in reversed(list(zip(s, shape))):
            if d != 1:
                p = p + grid[ch] * stride
            stride *= d
        return np.broadcast_to(p, full)

    def at(i: int) -> np.ndarray:  # operand i's non-zero mask over the full space
        s, m = subs[i], _mask(c, i)
        if not s:
            return np.broadcast_to(m, full)
        return m[tuple(grid[ch] if d != 1 else 0 for ch, d in zip(s, c.shape(i)))]

    masks = [np.broadcast_to(at(i), full) for i in range(nops)]
    opos = pos(out, c.yshape)
    n_out = int(np.prod(c.yshape, dtype=np.int64))
    traced = [i for i in range(nops) if c.Ps[i] is not None]
    res = []
    for i in traced:
        M = _np.ones(full, dtype=bool)
        for j in range(nops):
            if j != i:
                M = M & masks[j]
        src = pos(subs[i], c.shape(i))[M]
        G = ix.coords(opos[M], src, (n_out, c.Ps[i].shape[0]))
        res.append(ix.matmul(G, c.Ps[i]))
    if c.trace.hessian:  # products of two traced operands: their inputs interact
        for a in range(len(traced)):
            for b in range(a + 1, len(traced)):
                i, j = traced[a], traced[b]
                M = _np.ones(full, dtype=bool)
                for k in range(nops):
                    if k not in (i, j):
                        M = M & masks[k]
                c.pair(
                    ix.gather(c.Ps[i], pos(subs[i], c.shape(i))[M]),
                    ix.gather(c.Ps[j], pos(subs[j], c.shape(j))[M]),
                )
    return ix.union(*res)


def _everything(c: Call, which: tuple[int, ...] = (0,)) -> Any:
    """One row: every input the operands ``which`` depend on."""
    return ix.union(*[ix.any_rows(c.Ps[i]) for i in which if c.Ps[i] is not None])


def _dense(c: Call) -> Any:
    """A matrix function of operand 0: every output of a matrix depends on every entry of it.

    Stacked matrices ``(..., n, n)`` whose result keeps the leading (batch) axes are grouped by
    batch element; otherwise every output depends on everything.
    """
    xshape, yshape = c.shape(0), c.yshape
    batch = xshape[:-2]
    size = int(np.prod(yshape, dtype=np.int64))
    if batch and yshape[: len(batch)] == batch:
        nb = int(np.prod(batch, dtype=np.int64))
        g_in = np.broadcast_to(ix.positions(batch + (1, 1)), xshape).ravel()
        rest = (1,) * (len(yshape) - len(batch))
        g_out = np.broadcast_to(ix.positions(batch + rest), yshape).ravel()
        U = ix.scatter(c.Ps[0], g_in, nb)
        c.pair(U, U)
        return ix.gather(U, g_out)
    U = _everything(c)
    c.pair(U, U)
    return ix.gather(U, _np.zeros(size, dtype=np.int64))


def _dense_all(c: Call) -> Any:
    """Every output depends on every input of every operand (scipy.linalg matrix functions)."""
    U = _everything(c, tuple(range(len(c.xs))))
    c.pair(U, U)
    return ix.gather(U, _np.zeros(int(np.prod(c.yshape, dtype=np.int64)), dtype=np.int64))


def _along_axes(c: Call) -> Any:
    """FFTs: an output element depends on every input on the same line (same indices off the
    transformed axes); linear, so no second-order pairs."""
    axes = c.params.get("axes", (c.params.get("axis"),))
    nd = len(c.shape(0))
    axes = tuple(sorted(int(a) % nd for a in axes))
    groups_in = np.broadcast_to(ix.positions(_keep(c.shape(0), axes)), c.shape(0)).ravel()
    groups_out = np.broadcast_to(ix.positions(_keep(c.yshape, axes)), c.yshape).ravel()
    lines = ix.scatter(c.Ps[0], groups_in, int(np.prod(_keep(c.shape(0), axes), dtype=np.int64)))
    return ix.gather(lines, groups_out)


def _keep(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _solve(c: Call) -> Any:
    # y = a⁻¹ b: column j of y depends on all of a and on column j of b
    bshape = c.shape(1)
    if len(c.shape(0)) > 2:  # stacked systems: a safe superset, everything on everything
        return _dense_all(c)
    size = int(np.prod(c.yshape, dtype=np.int64))
    U = _everything(c, (0,))
    rows = [None if U is None else ix.gather(U, _np.zeros(size, dtype=np.int64))]
    if c.Ps[1] is not None:
        if len(bshape) == 1:
            rows.append(ix.gather(ix.any_rows(c.Ps[1]), _np.zeros(size, dtype=np.int64)))
        else:
            col = ix.positions(bshape) % bshape[1]
            cols = ix.scatter(c.Ps[1], col.ravel(), bshape[1])
            rows.append(ix.gather(cols, col.ravel()))
    R = ix.union(*rows)
    c.pair(R, R)
    return R


def _cholesky(c: Call) -> Any:
    # L is lower triangular: its strict upper triangle is exactly zero
    R = _dense(c)
    n = c.yshape[-1]
    lower = np.broadcast_to(np.tril(_np.ones((n, n), dtype=bool)), c.yshape)
    return ix.mask_rows(R, lower.ravel())


RULES: dict[str, Callable[[Call], Any]] = {
    "matmul": _matmul,
    "einsum": _einsum,
    "linalg.solve": _solve,
    "linalg.inv": _dense,
    "linalg.det": _dense,
    "linalg.slogdet": _dense,
    "linalg.cholesky": _cholesky,
    "linalg.eigh": _dense,
    "linalg.eigvals": _dense,
    "linalg.svdvals": _dense,
    # packed factors of one 2-D matrix (svd [U; s; Vhᵀ], qr [Q; R], eig [w; V]) and pinv:
    # every output depends on every entry (R's zero triangle is kept, conservatively)
    "linalg.svd": _dense,
    "linalg.qr": _dense,
    "linalg.eig": _dense,
    "linalg.pinv": _dense,
    "scipy.linalg.expm": _dense_all,
    "scipy.linalg.lu_factor": _dense_all,
    "scipy.linalg.solve_sylvester": _dense_all,
    "scipy.linalg.solve_triangular": _dense_all,
    "scipy.linalg.sqrtm": _dense_all,
    "scipy.linalg.logm": _dense_all,
    # an ODE solution depends on y0, the output times and every parameter (conservative)
    "scipy.integrate ODE solution": _dense_all,
    "scipy.integrate ODE sensitivities": _dense_all,
    "fft.fftn": _along_axes,
    "fft.rfft": _along_axes,
    "fft.irfft": _along_axes,
}
