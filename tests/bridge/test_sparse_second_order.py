"""AutoSparse and SecondOrder through a bridged ``g``, on every backend, against analytic
Jacobians and Hessians (the formulas of ``anydiff.testing._bridge_family``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad
from anydiff._second_order import second_order_support
from anydiff.testing._bridge_family import _f_np, _f_xp, _jac, _pf, _sq_hess

BACKENDS = ["engine", "jax", "torch", "autograd", "finitediff"]
X = np.linspace(0.2, 1.1, 5)
#: g's own Jacobian pattern: diagonal plus column 0 (f_i = sin(x_i) x_0)
PATTERN = np.eye(3, dtype=bool) | (np.arange(3)[None, :] == 0)


def kinds():
    return {
        "dense-block": ad.differentiate_with(_f_xp, "engine"),
        "given-pattern": ad.differentiate_with(_f_xp, "engine", sparsity=sp.csr_array(PATTERN)),
        "custom": ad.custom_derivative(_f_np, pushforward=_pf, sparsity=PATTERN),
    }


def vector_h(g):
    """x (5,) -> (5,): 2 g(x[:3]) next to x[3:]²."""

    def h(x):
        xp = ad.array_namespace(x)
        return xp.concat([2 * g(x[:3]), x[3:] ** 2])

    return h


def scalar_h(g):
    def h(x):
        xp = ad.array_namespace(x)
        return xp.sum(g(x[:3]) ** 2) + xp.sum(x[3:] ** 3)

    return h


def jac_ref(x):
    J = np.zeros((5, 5))
    J[:3, :3] = 2 * _jac(x[:3])
    J[3:, 3:] = np.diag(2 * x[3:])
    return J


def hess_ref(x):
    H = np.zeros((5, 5))
    H[:3, :3] = _sq_hess(x[:3])
    H[3:, 3:] = np.diag(6 * x[3:])
    return H


def dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def test_detected_patterns_through_g():
    k = kinds()
    block = np.zeros((5, 5), dtype=bool)
    block[:3, :3] = True
    block[3, 3] = block[4, 4] = True
    given = block.copy()
    given[:3, :3] = PATTERN
    assert (ad.jacobian_sparsity(vector_h(k["dense-block"]), X).toarray() == block).all()
    assert (ad.jacobian_sparsity(vector_h(k["given-pattern"]), X).toarray() == given).all()
    assert (ad.jacobian_sparsity(vector_h(k["custom"]), X).toarray() == given).all()
    # Hessian: the inputs of each output of g interact (a clique per row of its pattern)
    Hgiven = block.copy()
    Hgiven[1, 2] = Hgiven[2, 1] = False
    assert (ad.hessian_sparsity(scalar_h(k["dense-block"]), X).toarray() == block).all()
    assert (ad.hessian_sparsity(scalar_h(k["given-pattern"]), X).toarray() == Hgiven).all()


@pytest.mark.parametrize("b", BACKENDS)
def test_autosparse_jacobian_and_hessian_through_g(b):
    tol = 1e-6 if b == "finitediff" else 1e-12
    for name, g in kinds().items():
        J = ad.jacobian(vector_h(g), ad.AutoSparse(b), X)
        np.testing.assert_allclose(dense(J), jac_ref(X), rtol=tol, atol=tol, err_msg=name)
        if name != "custom":  # custom_derivative has no second-order rule
            H = ad.hessian(scalar_h(g), ad.AutoSparse(b), X)
            np.testing.assert_allclose(dense(H), hess_ref(X), rtol=tol, atol=tol, err_msg=name)
    with pytest.raises(ad.UnsupportedError, match="second derivatives through"):
        ad.hessian(scalar_h(kinds()["custom"]), ad.AutoSparse(b if b != "finitediff" else "engine"), X)


def test_sparsity_of_wrong_shape_names_the_expected_one():
    g = ad.differentiate_with(_f_xp, "engine", sparsity=np.ones((3, 4), dtype=bool))
    with pytest.raises(ad.AnydiffValueError, match=r"expected .*\(3, 3\)"):
        ad.jacobian(vector_h(g), ad.AutoSparse("engine"), X)
    with pytest.raises(ad.AnydiffValueError, match="2-D"):
        ad.differentiate_with(_f_xp, "engine", sparsity=np.ones(3))


PAIR_BACKENDS = {"jax": ad.AutoJax(), "torch": ad.AutoTorch(), "autograd": ad.AutoAutograd(),
                 "engine-fwd": ad.AutoEngine(mode="forward"), "engine-rev": ad.AutoEngine(mode="reverse"),
                 "fd": ad.AutoFiniteDiff()}


@pytest.mark.parametrize("outer", list(PAIR_BACKENDS))
def test_second_order_pairs_through_g(outer):
    g = ad.differentiate_with(_f_xp, "engine")
    h = scalar_h(g)
    for inner, ib in PAIR_BACKENDS.items():
        b = ad.SecondOrder(PAIR_BACKENDS[outer], ib)
        ok, _ = second_order_support(PAIR_BACKENDS[outer], ib)
        if not ok:
            with pytest.raises(ad.UnsupportedError):
                ad.hessian(h, b, X)
            continue
        tol = 1e-12 if "fd" not in (outer, inner) else (1e-4 if outer == inner else 1e-6)
        np.testing.assert_allclose(ad.hessian(h, b, X), hess_ref(X), rtol=tol, atol=tol,
                                   err_msg=f"SecondOrder({outer}, {inner})")
