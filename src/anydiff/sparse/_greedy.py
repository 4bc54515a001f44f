"""The greedy colouring kernels: distance-1 on a conflict graph, star, and acyclic.

All three take a symmetric CSR graph without diagonal (``indptr``, ``indices``) and a vertex order,
and return colours ``0 .. k-1`` as an ``int64`` array. They follow the published algorithms
(Gebremedhin, Manne & Pothen, "What color is your Jacobian?", SIAM Rev. 2005, and "New acyclic and
star coloring algorithms with application to computing Hessians", SIAM J. Sci. Comput. 2007),
written with stamp arrays: ``forbidden[c] == v`` means colour ``c`` is forbidden for the vertex ``v``
being coloured, so no array is ever cleared.

Without a compiler in the dependencies, the loops run over Python lists (``indptr.tolist()``), which
is several times faster than NumPy calls per vertex for the few neighbours a sparse pattern has;
vertices with many neighbours switch to one vectorised NumPy stamp. Cost: O(nnz of the conflict
graph) list operations for the distance-1 kernel, O(Σ deg²) for star and acyclic.
"""

from __future__ import annotations

import numpy as np

# Above this many neighbours, one NumPy stamp beats the Python loop.
_VECTOR_DEGREE = 64


def distance1(indptr: np.ndarray, indices: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Greedy distance-1 colouring of the conflict graph in ``order``.

    On ``PᵀP`` (diagonal removed) this is the partial distance-2 column colouring of ``P``: two
    columns sharing a row get different colours (structurally orthogonal groups).
    """
    n = len(indptr) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ip = indptr.tolist()
    ix = indices.tolist()
    # Uncoloured vertices carry colour n: forbidden[n] is a slot nobody reads.
    colors = [n] * n
    colarr = np.full(n, n, dtype=np.int64)
    forbidden = [-1] * (n + 1)
    maxc = 0
    for v in order.tolist():
        a, b = ip[v], ip[v + 1]
        if b - a > _VECTOR_DEGREE:
            used = colarr[indices[a:b]]
            mask = np.zeros(maxc + 2, dtype=bool)
            mask[used[used < n]] = True
            c = int(np.argmin(mask))
        else:
            for w in ix[a:b]:
                forbidden[colors[w]] = v
            c = 0
            while forbidden[c] == v:
                c += 1
        colors[v] = c
        colarr[v] = c
        if c > maxc:
            maxc = c
    return colarr


def star(indptr: np.ndarray, indices: np.ndarray, edge: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Greedy star colouring (distance-1, and every path on four vertices has three colours).

    ``edge[k]`` is the undirected edge id of stored position ``k`` ((i, j) and (j, i) share one).
    The two-coloured stars are tracked as ``star[edge] -> star id`` and ``hub[star id]`` (``-1`` for a
    star of two vertices whose centre is not yet known), so that a colour is forbidden for ``v``
    exactly when using it would make a two-coloured path on four vertices.
    """
    n = len(indptr) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ip = indptr.tolist()
    ix = indices.tolist()
    ed = edge.tolist()
    nedges = int(edge.max()) + 1 if len(edge) else 0
    color = [-1] * n
    forbidden = [-1] * (n + 1)
    treated = [-1] * n
    # first_neighbor[c] = (p, q, e): while colouring p, q was the first neighbour of colour c seen,
    # through edge e. Initialised to -1 so that no vertex matches before it is visited.
    fn_p = [-1] * (n + 1)
    fn_q = [-1] * (n + 1)
    fn_e = [-1] * (n + 1)
    star_of = [-1] * nedges
    hub: list[int] = []

    def treat(v: int, w: int) -> None:
        # Forbid the colours of every coloured neighbour of w (w joins a two-coloured path at v).
        for x in ix[ip[w]:ip[w + 1]]:
            cx = color[x]
            if cx >= 0:
                forbidden[cx] = v
        treated[w] = v

    for v in order.tolist():
        a, b = ip[v], ip[v + 1]
        for k in range(a, b):
            w = ix[k]
            cw = color[w]
            if cw < 0:
                continue
            forbidden[cw] = v
            if fn_p[cw] == v:
                # Second neighbour of colour cw: v would be the hub, so no neighbour of either of
                # them may share v's colour.
                q = fn_q[cw]
                if treated[q] != v:
                    treat(v, q)
                treat(v, w)
            else:
                fn_p[cw] = v
                fn_q[cw] = w
                fn_e[cw] = ed[k]
                for kk in range(ip[w], ip[w + 1]):
                    x = ix[kk]
                    if x == v or color[x] < 0:
                        continue
                    # x is the hub of the star on (w, x): v-w-x-(another spoke) would be a two-coloured P4.
                    if hub[star_of[ed[kk]]] == x:
                        forbidden[color[x]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
        # Attach the new edges (v, w) to stars.
        for k in range(a, b):
            w = ix[k]
            cw = color[w]
            if cw < 0:
                continue
            evw = ed[k]
            found = False
            for kk in range(ip[w], ip[w + 1]):
                x = ix[kk]
                if x != v and color[x] == c:
                    # v-w-x two-coloured: w is the hub of the star on (w, x), which (v, w) joins.
                    s = star_of[ed[kk]]
                    hub[s] = w
                    star_of[evw] = s
                    found = True
                    break
            if not found:
                if fn_p[cw] == v and fn_q[cw] != w:
                    # v has two neighbours of colour cw: v is the hub of that star.
                    s = star_of[fn_e[cw]]
                    hub[s] = v
                    star_of[evw] = s
                else:
                    hub.append(-1)
                    star_of[evw] = len(hub) - 1
    return np.asarray(color, dtype=np.int64)


def acyclic(indptr: np.ndarray, indices: np.ndarray, edge: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Greedy acyclic colouring (distance-1, and every two-coloured subgraph is a forest).

    The two-coloured trees are sets of edges in a union-find forest over edge ids (path halving,
    union by rank). A colour is forbidden for ``v`` when ``v`` would reach one two-coloured tree
    through two different edges (``first_visit[root]`` records the first one).
    """
    n = len(indptr) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ip = indptr.tolist()
    ix = indices.tolist()
    ed = edge.tolist()
    nedges = int(edge.max()) + 1 if len(edge) else 0
    color = [-1] * n
    forbidden = [-1] * (n + 1)
    fn_p = [-1] * (n + 1)
    fn_q = [-1] * (n + 1)
    fn_e = [-1] * (n + 1)
    parent = list(range(nedges))
    rank = [0] * nedges
    fv_p = [-1] * nedges
    fv_q = [-1] * nedges

    def find(e: int) -> int:
        while parent[e] != e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    def union(r1: int, r2: int) -> None:
        if rank[r1] < rank[r2]:
            r1, r2 = r2, r1
        parent[r2] = r1
        if rank[r1] == rank[r2]:
            rank[r1] += 1

    for v in order.tolist():
        a, b = ip[v], ip[v + 1]
        nbrs = ix[a:b]
        for w in nbrs:
            cw = color[w]
            if cw >= 0:
                forbidden[cw] = v
        for w in nbrs:
            if color[w] < 0:
                continue
            for kk in range(ip[w], ip[w + 1]):
                x = ix[kk]
                if x == v:
                    continue
                cx = color[x]
                if cx < 0 or forbidden[cx] == v:
                    continue
                # Colouring v with cx would join (v, w) to the tree of (w, x).
                r = find(ed[kk])
                if fv_p[r] != v:
                    fv_p[r] = v
                    fv_q[r] = w
                elif fv_q[r] != w:
                    forbidden[cx] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
        # Grow stars: edges from v to neighbours of one colour form one two-coloured tree.
        for k in range(a, b):
            w = ix[k]
            cw = color[w]
            if cw < 0:
                continue
            evw = ed[k]
            if fn_p[cw] != v:
                fn_p[cw] = v
                fn_q[cw] = w
                fn_e[cw] = evw
            else:
                r1, r2 = find(evw), find(fn_e[cw])
                if r1 != r2:
                    union(r1, r2)
        # Merge trees: v-w-x with colour(x) == colour(v) puts (v, w) and (w, x) in one tree.
        for k in range(a, b):
            w = ix[k]
            if color[w] < 0:
                continue
            evw = ed[k]
            for kk in range(ip[w], ip[w + 1]):
                x = ix[kk]
                if x != v and color[x] == c:
                    r1, r2 = find(evw), find(ed[kk])
                    if r1 != r2:
                        union(r1, r2)
    return np.asarray(color, dtype=np.int64)
