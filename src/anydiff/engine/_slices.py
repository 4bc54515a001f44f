"""Disjoint slices of the differentiated input: their cotangents are written, not added.

A flat parameter vector unpacked into weight matrices (``W = w[i:j].reshape(a, b)``) is
read only through slices that do not overlap.  The reverse pass then needs neither a zeroed
gradient buffer nor one add per slice: each slice's cotangent is assigned into its entries,
and a matrix product whose operand is such a reshaped slice writes its cotangent straight
into the gradient (``np.matmul(..., out=view)``).  Decided once per tape, from the recorded
indices; used by :func:`._reverse.backward`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ._rules import GETITEM, MATMUL, RESHAPE


class Partition:
    """The input slot ``slot`` is read only through disjoint basic slices (``x[i:j]``, ...).

    ``idx`` maps the output slot of each slicing node to its index, ``contiguous`` holds the
    slots whose slice is one C-contiguous block (a reshape of it is a view).  Each slice's
    cotangent arrives once and lands on entries no other slice touches, so it is assigned
    (``buf[idx] = g``); when the slices ``cover`` every entry the buffer is not zeroed either
    (a slice that gets no cotangent is zeroed at the end).
    """

    __slots__ = ("slot", "idx", "contiguous", "cover", "shape", "dtype")

    def __init__(self, slot: int, idx: dict[int, Any], contiguous: set[int], cover: bool, x: np.ndarray):
        self.slot, self.idx, self.contiguous, self.cover = slot, idx, contiguous, cover
        self.shape, self.dtype = x.shape, x.dtype

    def alloc(self) -> np.ndarray:
        """A new gradient buffer (not zeroed when the slices cover the input)."""
        return (np.empty if self.cover else np.zeros)(self.shape, dtype=self.dtype)


def slice_partition(nodes: list, slot: int, x: Any) -> Partition | None:
    """A :class:`Partition` of ``slot`` (value ``x``) by the nodes that read it, or ``None``."""
    idx: dict[int, Any] = {}
    for nd in nodes:
        if nd.need is None or not any(i == slot and m for i, m in zip(nd.ins, nd.need)):
            continue  # passes no cotangent to the slot
        if nd.prim is not GETITEM or len(nd.ins) != 1 or nd.p["adv"]:
            return None  # another reader, or an index array
        idx[nd.out] = nd.p["idx"]
    if not idx or type(x) is not np.ndarray:
        return None
    spans = _spans(idx, x)
    if spans is not None:  # unit-step slices of a vector: no index array needed
        spans.sort()
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
            return None
        cover = sum(b - a for a, b, _ in spans) == x.size
        return Partition(slot, idx, {o for _, _, o in spans}, cover, x)
    ids = np.arange(x.size).reshape(x.shape)
    try:
        picks = {o: ids[i] for o, i in idx.items()}
    except (IndexError, TypeError, ValueError):
        return None
    counts = np.bincount(np.concatenate([np.ravel(v) for v in picks.values()]), minlength=x.size)
    if counts.size and counts.max() > 1:
        return None  # overlapping slices: their cotangents must add up
    contiguous = {o for o, v in picks.items() if isinstance(v, np.ndarray) and v.flags.c_contiguous}
    return Partition(slot, idx, contiguous, bool(counts.size == 0 or counts.min() == 1), x)


def _spans(idx: dict[int, Any], x: np.ndarray) -> list | None:
    """``[(start, stop, slot), ...]`` (non-empty) when every index is ``[i:j]`` of a vector."""
    if x.ndim != 1:
        return None
    spans = []
    for o, i in idx.items():
        if len(i) != 1 or type(i[0]) is not slice:
            return None
        a, b, step = i[0].indices(x.size)
        if step != 1:
            return None
        if b > a:
            spans.append((a, b, o))
    return spans


def dest_specs(nodes: list, part: Partition) -> dict[int, tuple]:
    """Matrix products that write an operand's cotangent into the gradient buffer.

    For a product node (by output slot) whose operand ``k`` is ``x[idx].reshape(shape)``, the
    reshape and the slice each read by nothing else and the slice contiguous, entry ``k`` of
    the returned tuple is ``(slice slot, idx, shape)`` (``None`` for the other operand).
    """
    uses = Counter(i for nd in nodes for i in nd.ins)
    made = {nd.out: nd for nd in nodes}
    specs: dict[int, tuple] = {}
    for nd in nodes:
        into = getattr(nd.bwd, "into", None)
        if nd.prim is not MATMUL or into is None or any(len(shp) != 2 for shp, _ in nd.meta):
            continue
        spec: list[Any] = [None, None]
        for k, r in enumerate(nd.ins):
            rn = made.get(r)
            if not nd.need[k] or uses[r] != 1 or rn is None or rn.prim is not RESHAPE:
                continue
            s = rn.ins[0]
            if uses[s] == 1 and s in part.contiguous:
                spec[k] = (s, part.idx[s], nd.meta[k][0])
        if spec != [None, None]:
            specs[nd.out] = tuple(spec)
    return specs
