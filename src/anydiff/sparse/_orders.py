"""Vertex orders for greedy colouring.

Every order works on the *conflict graph* given as a symmetric CSR structure without its diagonal
(``indptr``, ``indices``, both NumPy int arrays): the distance-2 column graph ``PᵀP`` for column
colouring, ``PPᵀ`` for row colouring, the adjacency graph of a symmetric pattern for star / acyclic
colouring. Each returns a permutation of ``range(n)`` (an ``int64`` array), the order in which the
greedy colouring visits the vertices.

The static orders are single NumPy calls. The dynamic ones (``smallest_last``, ``incidence_degree``,
``dynamic_largest_first``) keep the vertices in degree buckets (one Python list per degree plus the
position of each vertex inside its bucket, so that moving a vertex one degree is an O(1)
swap-with-last); their cost is O(nnz) list operations, no heap and no sort.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first",
          "random")


def degrees(indptr: np.ndarray) -> np.ndarray:
    """Degree of every vertex of a CSR graph stored without its diagonal."""
    return np.diff(indptr).astype(np.int64)


def natural(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Vertices in index order."""
    return np.arange(len(indptr) - 1, dtype=np.int64)


def random(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """A random permutation, reproducible from ``seed``."""
    return np.random.default_rng(seed).permutation(len(indptr) - 1).astype(np.int64)


def largest_first(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Vertices by decreasing degree in the conflict graph; ties keep index order.

    For column colouring the conflict graph is the distance-2 graph, so this is the exact
    distance-2 degree (the error of counting distance-1 degrees on the bipartite graph is avoided).
    """
    return np.argsort(-degrees(indptr), kind="stable").astype(np.int64)


class _Buckets:
    """Vertices grouped by an integer key ("degree"), with O(1) moves between adjacent keys."""

    def __init__(self, keys: list[int], size: int) -> None:
        self.key = keys
        self.buckets: list[list[int]] = [[] for _ in range(size)]
        self.pos = [0] * len(keys)
        for v, k in enumerate(keys):
            b = self.buckets[k]
            self.pos[v] = len(b)
            b.append(v)

    def remove(self, v: int) -> None:
        b = self.buckets[self.key[v]]
        last = b.pop()
        if last != v:
            p = self.pos[v]
            b[p] = last
            self.pos[last] = p

    def move(self, v: int, delta: int) -> None:
        self.remove(v)
        k = self.key[v] + delta
        self.key[v] = k
        b = self.buckets[k]
        self.pos[v] = len(b)
        b.append(v)


def _dynamic(indptr: np.ndarray, indices: np.ndarray, *, start_zero: bool, pick_max: bool,
             delta: int) -> list[int]:
    """Pick vertices one at a time by their current key; update the keys of the unpicked neighbours.

    ``start_zero``: keys start at 0 (incidence degree) instead of the degree. ``pick_max``: pick the
    largest key (else the smallest). ``delta``: how a picked vertex changes its unpicked neighbours'
    keys (+1 incidence degree, -1 for the degree of the remaining graph).
    """
    n = len(indptr) - 1
    deg = degrees(indptr)
    keys = [0] * n if start_zero else deg.tolist()
    size = int(deg.max()) + 2 if n else 1
    bk = _Buckets(keys, size)
    ip = indptr.tolist()
    ix = indices.tolist()
    picked = [False] * n
    out: list[int] = []
    ptr = size - 1 if pick_max else 0
    buckets = bk.buckets
    key = bk.key
    for _ in range(n):
        if pick_max:
            while not buckets[ptr]:
                ptr -= 1
        else:
            while not buckets[ptr]:
                ptr += 1
        v = buckets[ptr].pop()  # pop from the end: the bucket stays consistent without a swap
        picked[v] = True
        out.append(v)
        for w in ix[ip[v]:ip[v + 1]]:
            if not picked[w]:
                bk.move(w, delta)
                k = key[w]
                if pick_max and k > ptr:
                    ptr = k
                elif not pick_max and k < ptr:
                    ptr = k
    return out


def smallest_last(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Repeatedly remove a vertex of smallest degree in the remaining graph; colour in reverse."""
    out = _dynamic(indptr, indices, start_zero=False, pick_max=False, delta=-1)
    return np.asarray(out[::-1], dtype=np.int64)


def incidence_degree(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Next vertex: the one with the most neighbours already ordered (ties: the latest to reach it)."""
    return np.asarray(_dynamic(indptr, indices, start_zero=True, pick_max=True, delta=+1), dtype=np.int64)


def dynamic_largest_first(indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Next vertex: the one of largest degree in the graph of the vertices not yet ordered."""
    return np.asarray(_dynamic(indptr, indices, start_zero=False, pick_max=True, delta=-1), dtype=np.int64)


ORDER_FUNCTIONS = {
    "natural": natural,
    "largest_first": largest_first,
    "smallest_last": smallest_last,
    "incidence_degree": incidence_degree,
    "dynamic_largest_first": dynamic_largest_first,
    "random": random,
}


def vertex_order(name: str, indptr: np.ndarray, indices: np.ndarray, seed: int = 0) -> np.ndarray:
    """The order ``name`` (one of :data:`ORDERS`) of the vertices of a CSR conflict graph."""
    return ORDER_FUNCTIONS[name](indptr, indices, seed)
