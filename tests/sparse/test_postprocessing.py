"""Postprocessing of one-sided colourings: neutral columns / rows / vertices leave the seeds,
colour counts never grow, and decompression stays exact."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _coloring_patterns import random_pattern

import anydiff as ad
from anydiff.sparse._coloring import GreedyColoring, acyclic_valid, star_valid, structurally_orthogonal


def _round_trip(r, symmetric: bool, rng) -> float:
    A = r.pattern.astype(np.float64)
    A.data = rng.uniform(0.5, 1.5, A.nnz)
    if symmetric:
        A = (A + A.T) / 2
    back = r.decompress(r.compress(A))
    assert (back.indptr.tolist(), back.indices.tolist()) == (r.pattern.indptr.tolist(),
                                                              r.pattern.indices.tolist())
    return float(np.abs(back.toarray() - A.toarray()).max(initial=0.0))


@pytest.mark.parametrize("kind", ["column", "row", "star", "acyclic"])
def test_never_more_colours_and_exact_decompression(kind, rng):
    symmetric = kind in ("star", "acyclic")
    dec = "substitution" if kind == "acyclic" else "direct"
    fewer = 0
    for seed in range(30):
        p = random_pattern(seed, symmetric=symmetric)
        if seed % 3 == 0 and not symmetric:  # empty columns and rows: work for postprocessing
            m, n = p.shape
            big = sp.lil_array((m + 2, n + 2), dtype=bool)
            big[:m, :n] = p
            p = sp.csr_array(big)
        # (random symmetric patterns of even seeds have no diagonal: work for the star rule)
        for order in ("largest_first", "natural", "random"):
            algo = GreedyColoring(order=order, seed=seed, decompression=dec)
            plain = GreedyColoring(order=order, seed=seed, decompression=dec, postprocessing=False)
            partition = kind if kind in ("column", "row") else "column"
            r = algo.color(p, partition, symmetric=symmetric)
            r0 = plain.color(p, partition, symmetric=symmetric)
            assert r.ncolors <= r0.ncolors, (seed, order)
            fewer += r.ncolors < r0.ncolors
            assert np.array_equal(r.full_colors, r0.colors)
            err = _round_trip(r, symmetric, rng)
            assert err <= (1e-12 if kind == "acyclic" else 0.0), (seed, order, err)
            if kind in ("column", "row"):
                assert structurally_orthogonal(p, r.colors, kind)
            elif kind == "star":
                assert star_valid(p, r.full_colors)
            else:
                assert acyclic_valid(p, r.full_colors)
    if kind == "star":
        assert fewer > 0  # the star rule did reduce colours on some of these patterns


def test_star_without_diagonal_needs_one_colour():
    # H of x0 * (x1 + ... + x5): a star with no diagonal; column 0 alone holds every entry.
    n = 6
    P = np.zeros((n, n), dtype=bool)
    P[0, 1:] = P[1:, 0] = True
    assert GreedyColoring(postprocessing=False).color(P, symmetric=True).ncolors == 2
    r = GreedyColoring().color(P, symmetric=True)
    assert r.ncolors == 1 and r.colors[0] == 0 and (r.colors[1:] == -1).all()
    f = lambda x: x[0] * np.sum(x[1:])  # noqa: E731
    x = np.arange(1.0, n + 1)
    prep = ad.prepare_hessian(f, ad.AutoSparse("engine"), x)
    H = prep(x + 0.5)
    assert prep.ncolors == 1
    np.testing.assert_array_equal(H.toarray(), np.asarray(ad.hessian(f, "engine", x + 0.5)))


def test_empty_columns_leave_the_seeds():
    f = lambda x: x[:3] * x[1:4]  # noqa: E731  (columns 4 and 5 do not appear)
    x = np.arange(1.0, 7.0)
    prep = ad.prepare_jacobian(f, ad.AutoSparse(ad.AutoEngine("forward")), x)
    J = prep(x)
    assert prep.coloring == "column" and prep.colors[4] == prep.colors[5] == -1
    np.testing.assert_array_equal(J.toarray(), np.asarray(ad.jacobian(f, "engine", x)))
