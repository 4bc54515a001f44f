"""Colourings are valid for every order on many random patterns, optimal on known structures."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _coloring_patterns import arrowhead, banded, random_pattern

import anydiff as ad
from anydiff.sparse._coloring import (
    ColoringProblem,
    GreedyColoring,
    acyclic_valid,
    color,
    star_valid,
    structurally_orthogonal,
)
from anydiff.sparse._orders import ORDERS, vertex_order

SEEDS = range(40)
ALL_ORDERS = (*ORDERS, "best")


@pytest.mark.parametrize("order", ALL_ORDERS)
@pytest.mark.parametrize("partition", ["column", "row"])
def test_partial_distance2_valid_for_every_order(order, partition):
    for seed in SEEDS:
        p = random_pattern(seed)
        r = GreedyColoring(order=order, seed=seed).color(p, partition)
        assert r.colors.shape == (p.shape[1] if partition == "column" else p.shape[0],)
        assert structurally_orthogonal(p, r.colors, partition), (seed, order)
        # Colours are contiguous 0..k-1; -1 (neutral, in no seed) exactly for empty columns / rows.
        assert set(r.colors[r.colors >= 0].tolist()) == set(range(r.ncolors))
        counts = np.diff(sp.csr_array(p if partition == "row" else p.T).indptr)
        assert np.array_equal(r.colors < 0, counts == 0)


@pytest.mark.parametrize("order", ALL_ORDERS)
def test_star_valid_for_every_order(order):
    for seed in SEEDS:
        p = random_pattern(seed, symmetric=True)
        r = GreedyColoring(order=order, seed=seed).color(p, symmetric=True)
        assert r.kind == "star"
        assert star_valid(p, r.full_colors), (seed, order)  # as coloured, before postprocessing


@pytest.mark.parametrize("order", ALL_ORDERS)
def test_acyclic_valid_for_every_order(order):
    for seed in SEEDS:
        p = random_pattern(seed, symmetric=True)
        r = GreedyColoring(order=order, seed=seed, decompression="substitution").color(p, symmetric=True)
        assert r.kind == "acyclic"
        assert acyclic_valid(p, r.full_colors), (seed, order)
        assert acyclic_valid(p, np.where(r.colors < 0, r.full_colors, r.colors)), (seed, order)


def test_checkers_reject_invalid_colourings():
    # Two columns sharing row 0 with one colour.
    p = sp.csr_array(np.array([[1, 1], [0, 1]], dtype=bool))
    assert not structurally_orthogonal(p, np.array([0, 0]), "column")
    assert structurally_orthogonal(p, np.array([0, 1]), "column")
    # Rows 0 and 1 share column 1.
    assert not structurally_orthogonal(p, np.array([0, 0]), "row")
    # A path on 4 vertices coloured 0101 is acyclic (a tree) but not a star colouring.
    path = banded(4, 1)
    assert not star_valid(path, np.array([0, 1, 0, 1]))
    assert star_valid(path, np.array([0, 1, 2, 0]))
    assert acyclic_valid(path, np.array([0, 1, 0, 1]))
    # A 4-cycle coloured 0101 has a two-coloured cycle.
    cyc = sp.csr_array(np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]], dtype=bool))
    assert not acyclic_valid(cyc, np.array([0, 1, 0, 1]))
    assert acyclic_valid(cyc, np.array([0, 1, 0, 2]))
    # Adjacent vertices with one colour fail both symmetric checks.
    assert not star_valid(path, np.array([0, 0, 1, 2]))
    assert not acyclic_valid(path, np.array([0, 0, 1, 2]))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("order", ["natural", "largest_first", "smallest_last", "incidence_degree",
                                   "dynamic_largest_first"])
def test_banded_known_optimum(k, order):
    # Columns j, j' of a band of half-width k conflict iff |j - j'| <= 2k: 2k + 1 colours are needed,
    # and the natural order reaches them (cyclic colours j mod 2k+1).
    p = banded(60, k)
    g = GreedyColoring(order=order)
    assert g.color(p, "column").ncolors >= 2 * k + 1
    if order == "natural":
        assert g.color(p, "column").ncolors == 2 * k + 1
        assert g.color(p, "row").ncolors == 2 * k + 1
    assert GreedyColoring(order="best").color(p, "column").ncolors == 2 * k + 1


def test_tridiagonal_hessian_colours():
    p = banded(200, 1)
    # Star colouring of a path needs 3 colours (0101 has a two-coloured P4); acyclic needs 2.
    for order in ORDERS[:-1]:
        assert GreedyColoring(order=order).color(p, symmetric=True).ncolors == 3, order
    assert GreedyColoring(order="natural", decompression="substitution").color(p, symmetric=True).ncolors == 2


def test_arrowhead_known_optima():
    p = arrowhead(50)
    # The dense first row makes every column conflict, the dense first column every row.
    assert GreedyColoring().color(p, "column").ncolors == 50
    assert GreedyColoring().color(p, "row").ncolors == 50
    # Symmetric: the hub gets one colour, all the spokes another (a star), for every order that
    # visits the hub first; "best" finds it.
    assert GreedyColoring(order="largest_first").color(p, symmetric=True).ncolors == 2
    assert GreedyColoring(order="best").color(p, symmetric=True).ncolors == 2
    assert GreedyColoring(order="best", decompression="substitution").color(p, symmetric=True).ncolors == 2


def test_best_is_no_worse_than_each_order():
    for seed in range(15):
        p = random_pattern(seed, symmetric=True)
        for symmetric in (False, True):
            counts = [GreedyColoring(order=o, seed=seed).color(p, symmetric=symmetric).ncolors
                      for o in ORDERS]
            best = GreedyColoring(order="best", seed=seed).color(p, symmetric=symmetric).ncolors
            assert best == min(counts)
        pair = GreedyColoring(order=("natural", "random"), seed=seed).color(p).ncolors
        assert pair == min(GreedyColoring(order=o, seed=seed).color(p).ncolors for o in ("natural", "random"))


def test_acyclic_never_uses_more_colours_than_needed_for_star_on_average():
    # Acyclic colourings relax the star condition; over many patterns they use no more colours in total.
    star = acyc = 0
    for seed in range(30):
        p = random_pattern(seed, symmetric=True)
        star += GreedyColoring().color(p, symmetric=True).ncolors
        acyc += GreedyColoring(decompression="substitution").color(p, symmetric=True).ncolors
    assert acyc <= star


@pytest.mark.parametrize("order", ORDERS)
def test_orders_are_permutations(order):
    p = random_pattern(3, symmetric=True)
    ip, ix = sp.csr_array(p).indptr.astype(np.int64), sp.csr_array(p).indices.astype(np.int64)
    o = vertex_order(order, ip, ix, seed=5)
    assert sorted(o.tolist()) == list(range(p.shape[0]))


def test_order_definitions_on_a_small_graph():
    # Star graph: vertex 0 joined to 1..4, plus edge 3-4.
    a = np.zeros((5, 5), dtype=bool)
    for j in range(1, 5):
        a[0, j] = a[j, 0] = True
    a[3, 4] = a[4, 3] = True
    g = sp.csr_array(a)
    ip, ix = g.indptr.astype(np.int64), g.indices.astype(np.int64)
    assert vertex_order("largest_first", ip, ix).tolist() == [0, 3, 4, 1, 2]
    assert vertex_order("dynamic_largest_first", ip, ix)[0] == 0
    # Smallest last: 1 and 2 (degree 1) are removed first, so they are coloured last.
    assert set(vertex_order("smallest_last", ip, ix)[-2:].tolist()) == {1, 2}
    # Incidence degree: after the first vertex, the next one is one of its neighbours.
    o = vertex_order("incidence_degree", ip, ix)
    assert a[o[0], o[1]]
    r1 = vertex_order("random", ip, ix, seed=1)
    assert np.array_equal(r1, vertex_order("random", ip, ix, seed=1))
    assert not all(np.array_equal(r1, vertex_order("random", ip, ix, seed=s)) for s in range(2, 8))


def test_groups_and_seed_matrix():
    p = banded(10, 1)
    r = GreedyColoring(order="natural").color(p)
    assert r.ncolors == 3
    assert [g.tolist() for g in r.groups] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    s = r.seed_matrix
    assert s.shape == (3, 10) and s.dtype == np.float64
    assert np.array_equal(s.sum(axis=0), np.ones(10))
    assert np.array_equal(np.flatnonzero(s[1]), [1, 4, 7])
    assert not s.flags.writeable


def test_degenerate_patterns():
    empty = sp.csr_array((0, 0), dtype=bool)
    r = GreedyColoring().color(empty)
    assert r.ncolors == 0 and r.decompress(np.zeros((0, 0))).shape == (0, 0)
    zero = sp.csr_array((3, 4), dtype=bool)
    r = GreedyColoring(postprocessing=False).color(zero)
    assert r.ncolors == 1
    d = r.decompress(np.zeros((1, 3)))
    assert d.shape == (3, 4) and d.nnz == 0
    r = GreedyColoring().color(zero)  # postprocessing: no column needs a seed
    assert r.ncolors == 0 and r.decompress(np.zeros((0, 3))).shape == (3, 4)
    for dec in ("direct", "substitution"):
        r = GreedyColoring(decompression=dec).color(sp.eye_array(5, dtype=bool), symmetric=True)
        assert r.ncolors == 1


def test_dense_input_and_explicit_false_are_normalised():
    p = np.array([[1, 0, 1], [0, 1, 0]])
    r = GreedyColoring(order="natural").color(p)
    assert r.colors.tolist() == [0, 0, 1]
    stored_false = sp.csr_array((np.array([True, False]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    assert GreedyColoring().color(stored_false).ncolors == 1


def test_nonsymmetric_pattern_is_symmetrised_for_hessians():
    p = sp.csr_array(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=bool))
    r = GreedyColoring().color(p, symmetric=True)
    assert (r.pattern != r.pattern.T).nnz == 0
    assert r.pattern[1, 0] and r.pattern[1, 2]


def test_errors():
    with pytest.raises(ValueError, match="order"):
        GreedyColoring(order="largest")
    with pytest.raises(ValueError, match="decompression"):
        GreedyColoring(decompression="star")
    with pytest.raises(ValueError, match="partition"):
        ColoringProblem("symmetric", "row")
    with pytest.raises(ValueError, match="structure"):
        ColoringProblem("hermitian")
    with pytest.raises(ad.AnydiffError, match="square"):
        color(np.ones((2, 3)), ColoringProblem("symmetric"))
    with pytest.raises(ad.AnydiffError, match="2-D"):
        color(np.ones(3))
    # A dense row with a tiny budget: the error names the ways out.
    with pytest.raises(ad.AnydiffValueError, match="row colouring.*budget"):
        GreedyColoring(budget=100).color(arrowhead(50), "column")
    # Frozen, hashable, equal settings compare equal.
    assert GreedyColoring() == GreedyColoring(order="largest_first", decompression="direct")
    pair = ("natural", "random")
    assert hash(GreedyColoring(order=pair)) == hash(GreedyColoring(order=pair))
