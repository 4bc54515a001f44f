"""Engine derivative rules at the edges of their domains (issue 8 item 8), in both modes.

Warnings NumPy raises while evaluating infinite partials (``0 ** -0.5``) are expected here.

References are exact: functions linear in each entry (prod, cumprod, det, einsum in each
operand) have Jacobian columns ``f(x | x_i = 1) - f(x | x_i = 0)``; the others are compared
with closed forms, or with finite differences only where the value itself is NumPy's.
Conventions chosen at kinks (documented in docs/engine.md):

* ``x ** 0`` has derivative 0 everywhere, also at ``x = 0``; ``d(x ** y)/dy = 0`` at ``x = 0``;
* a norm, ``std`` and ``hypot`` at a zero argument have derivative 0 (minimal-norm subgradient);
* a repeated eigenvalue contributes nothing to the gradient of a function of eigenvalues only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

import anydiff as ad
from anydiff import engine as E

pytestmark = pytest.mark.filterwarnings(
    "ignore:divide by zero:RuntimeWarning",
    "ignore:invalid value:RuntimeWarning",
    "ignore:overflow encountered:RuntimeWarning",
)

MODES = ("forward", "reverse")
TOL = 1e-12


def multilinear_jacobian(f: Callable, x: np.ndarray) -> np.ndarray:
    """Exact Jacobian (shape ``y.shape + x.shape``) of ``f`` affine in each entry of ``x``."""
    cols = []
    for i in range(x.size):
        hi, lo = x.copy().ravel(), x.copy().ravel()
        hi[i], lo[i] = 1.0, 0.0
        cols.append(np.asarray(f(hi.reshape(x.shape))) - np.asarray(f(lo.reshape(x.shape))))
    y = np.asarray(f(x))
    return np.stack(cols, axis=-1).reshape(y.shape + x.shape)


def assert_both_modes(f: Callable, x: np.ndarray, ref: np.ndarray, tol: float = TOL) -> None:
    for mode in MODES:
        J = E.jacobian(f, x, mode=mode)
        assert J.shape == ref.shape, mode
        np.testing.assert_allclose(J, ref, rtol=tol, atol=tol, err_msg=mode)


# ---------------------------------------------------------------------------- prod / cumprod


X3 = np.array([1.5, 0.0, -2.0, 4.0, 0.0, 0.5, 3.0, 0.0, 1.0, 2.0, 0.0, 0.0]).reshape(2, 3, 2)
PROD_CASES = [
    (np.array([2.0, 0.0, 3.0]), {}),
    (np.array([0.0, 0.0, 3.0]), {}),
    (np.array([0.0, 2.0, 3.0, 0.0]).reshape(2, 2), {"axis": 0}),
    (np.array([0.0, 2.0, 3.0, 0.0]).reshape(2, 2), {"axis": -1, "keepdims": True}),
    (X3, {"axis": (0, 2)}),
    (X3, {"axis": 1}),
    (np.array(0.0), {}),
]


@pytest.mark.parametrize("x, kw", PROD_CASES)
def test_prod_at_zeros_is_exact(x: np.ndarray, kw: dict) -> None:
    f = lambda v: np.prod(v, **kw)  # noqa: E731
    assert_both_modes(f, x, multilinear_jacobian(f, x))


@pytest.mark.parametrize("x", [np.array([1e-200, 1e-200, 1e10]), np.array([1e103, 2e103, 3e103])])
def test_prod_gradient_when_the_product_underflows_or_overflows(x: np.ndarray) -> None:
    ref = np.array([np.prod(np.delete(x, i)) for i in range(3)])  # 1e-190 / 6e206: representable
    for mode in MODES:  # relative accuracy (the entries are far below any absolute tolerance)
        np.testing.assert_allclose(E.jacobian(np.prod, x, mode=mode), ref, rtol=TOL, atol=0)


def test_prod_of_complex_with_a_zero() -> None:
    c = np.array([1 + 2j, 0.5 - 1j, 2.0 + 0j])
    f = lambda v: np.real(np.prod(v * c)) + np.imag(np.prod(v * c))  # noqa: E731
    x = np.array([0.0, 2.0, 3.0])
    assert_both_modes(f, x, multilinear_jacobian(f, x))


@pytest.mark.parametrize("x", [np.array([2.0, 0.0, 3.0, 0.0, 5.0]), np.array([0.0, 1.5, -2.0])])
def test_prod_hessian_at_zeros(x: np.ndarray) -> None:
    n = x.size
    ref = np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)] for i in range(n)])
    np.testing.assert_allclose(E.hessian(np.prod, x), ref, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_with_zeros(axis: int | None) -> None:
    x = np.array([1.5, 0.0, -2.0, 4.0, 0.5, 0.0, 3.0, 0.0, 1.0, 2.0, -1.0, 0.0]).reshape(3, 4)
    f = lambda v: np.cumprod(v, axis=axis)  # noqa: E731
    assert_both_modes(f, x, multilinear_jacobian(f, x))


def test_cumprod_method_and_dtype() -> None:
    x = np.array([0.5, 0.0, 2.0])
    ref = multilinear_jacobian(np.cumprod, x)
    assert_both_modes(lambda v: v.cumprod(), x, ref)
    y, pull = E.vjp(lambda v: np.cumprod(v, dtype=np.float32), x)
    assert y.dtype == np.float32 and pull(np.ones(3, np.float32)).dtype == np.float64


def test_cumprod_hessian_at_zeros() -> None:
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    n = x.size
    ref = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                ref[i, j] = sum(
                    np.prod([x[m] for m in range(k + 1) if m not in (i, j)]) for k in range(max(i, j), n)
                )
    np.testing.assert_allclose(E.hessian(lambda v: np.sum(np.cumprod(v)), x), ref, rtol=TOL, atol=TOL)


# ---------------------------------------------------------------------------- einsum

RNG = np.random.default_rng(0)
EINSUM_CASES = [
    ("i...,i...->...", [(2, 3), (2, 3)]),
    ("i...j->j...", [(2, 3, 1)]),
    ("i...j,j->...", [(2, 1, 3), (3,)]),
    ("a...b,b...c->...ac", [(2, 3, 4), (4, 1, 5)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("...i,...i->...", [(3,), (2, 3)]),
    ("i...k,k->i...", [(2, 1, 3), (3,)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,jj->i", [(2, 3), (3, 3)]),
    ("i...i->...", [(3, 2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
]


@pytest.mark.parametrize("spec, shapes", EINSUM_CASES)
def test_einsum_every_operand_both_modes(spec: str, shapes: list) -> None:
    ops = [RNG.standard_normal(s) for s in shapes]
    for k in range(len(ops)):

        def f(v: np.ndarray, k: int = k) -> np.ndarray:
            o = list(ops)
            o[k] = v
            return np.einsum(spec, *o)

        assert_both_modes(f, ops[k], multilinear_jacobian(f, ops[k]))


@pytest.mark.parametrize("mode", MODES)
def test_einsum_with_zero_size_axes(mode: str) -> None:
    b = np.ones((2, 3))
    J = E.jacobian(lambda v: np.einsum("ij,jk->ik", b, v.reshape(3, 0)), np.zeros(0), mode=mode)
    assert J.shape == (2, 0, 0)

    def f(v: np.ndarray) -> np.ndarray:
        return np.einsum("ij,j->i", v.reshape(2, 2), np.ones(2)) + np.einsum("i,i->", v[:0], v[:0])

    J = E.jacobian(f, np.arange(4.0), mode=mode)
    np.testing.assert_array_equal(J, np.kron(np.eye(2), np.ones((1, 2))))


def test_jvp_with_no_tangents_returns_the_value() -> None:
    y, ts = E.jvp(lambda v: np.sin(v), np.zeros(0), [])
    assert y.shape == (0,) and ts == []


# ---------------------------------------------------------------------------- eigh


A_SYM = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])
A_U = A_SYM + np.tril(np.full((3, 3), 7.0), -1)  # garbage below the diagonal: UPLO="U" ignores it


@pytest.mark.parametrize("uplo", ["U", "L", "u"])
def test_eigh_values_and_vectors_are_numpys(uplo: str) -> None:
    a = A_U if uplo.upper() == "U" else A_U.T
    w, v = np.linalg.eigh(a, UPLO=uplo)
    for mode in MODES:
        if mode == "forward":
            y, _ = E.jvp(lambda x: np.linalg.eigh(x, UPLO=uplo)[1], a, [np.ones_like(a)])
        else:
            y, _ = E.vjp(lambda x: np.linalg.eigh(x, UPLO=uplo)[1], a)
        np.testing.assert_array_equal(y, v)  # the same signs, bit for bit
        y, _ = E.vjp(lambda x: np.linalg.eigh(x, UPLO=uplo)[0], a)
        np.testing.assert_array_equal(y, w)


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_eigh_eigenvector_derivative_follows_numpys_signs(uplo: str) -> None:
    a = A_U if uplo == "U" else A_U.T
    f = lambda x: np.linalg.eigh(x, UPLO=uplo)[1]  # noqa: E731
    h = 1e-6
    fd = np.zeros((3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = h
            fd[:, :, i, j] = (f(a + e) - f(a - e)) / (2 * h)
    for mode in MODES:
        np.testing.assert_allclose(E.jacobian(f, a, mode=mode), fd, rtol=1e-6, atol=1e-8, err_msg=mode)


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_eigenvalue_gradient_is_the_projector_on_the_read_triangle(uplo: str) -> None:
    a = A_U if uplo == "U" else A_U.T
    _, v = np.linalg.eigh(a, UPLO=uplo)
    read = np.triu(np.ones((3, 3)), 1) if uplo == "U" else np.tril(np.ones((3, 3)), -1)
    for k in range(3):
        P = np.outer(v[:, k], v[:, k])
        ref = P * np.eye(3) + 2 * P * read
        assert_both_modes(lambda x, k=k: np.linalg.eigvalsh(x, UPLO=uplo)[k], a, ref)


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_eigenvalues_at_a_repeated_eigenvalue(uplo: str) -> None:
    # sum(w ** 2) = ||A||_F^2 of the matrix eigh reads: smooth, also where eigenvalues repeat
    a = np.eye(3)
    read = np.triu(np.ones((3, 3)), 1) if uplo == "U" else np.tril(np.ones((3, 3)), -1)
    ref = 2 * a * np.eye(3) + 4 * a * read
    assert_both_modes(lambda x: np.sum(np.linalg.eigvalsh(x, UPLO=uplo) ** 2), a, ref)


# ---------------------------------------------------------------------------- det


@pytest.mark.parametrize(
    "a",
    [
        np.array([[1.0, 2.0], [2.0, 4.0]]),
        np.zeros((2, 2)),
        np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.5]]),
        np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]]),
        np.array([[1 + 1j, 2.0, 0.5j], [2 + 2j, 4 + 2j, 1.0], [(1 + 1j) * (1 + 1j), 2 + 2j, -0.5 + 0.5j]]),
    ],
)
def test_det_gradient_is_the_cofactor_matrix_also_when_singular(a: np.ndarray) -> None:
    assert_both_modes(np.linalg.det, a, multilinear_jacobian(np.linalg.det, a), tol=1e-11)


def test_slogdet_at_a_singular_matrix_is_infinite_not_an_error() -> None:
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    y, pull = E.vjp(lambda v: np.linalg.slogdet(v)[1], a)
    assert y == np.linalg.slogdet(a)[1] == -np.inf
    np.testing.assert_array_equal(pull(1.0), [[np.inf, -np.inf], [-np.inf, np.inf]])  # adj(a) / 0
    _, [d] = E.jvp(lambda v: np.linalg.slogdet(v)[1], a, [np.eye(2)])
    assert not np.isfinite(d)  # inf * t, where t's zero entries make it nan


# ---------------------------------------------------------------------------- std / var / norms


@pytest.mark.parametrize("fn", [np.std, np.var])
def test_std_and_var_over_one_element(fn: Callable) -> None:
    assert_both_modes(fn, np.array([1.5]), np.zeros(1))
    assert_both_modes(lambda x: fn(x.reshape(3, 1), axis=1), np.arange(3.0), np.zeros((3, 3)))
    assert_both_modes(lambda x: fn(x * (1 + 1j)), np.array([2.0]), np.zeros(1))


def test_std_matches_its_closed_form() -> None:
    x = np.array([1.0, 2.5, -0.5, 4.0])
    for ddof in (0, 1, 2):
        n = x.size
        s = np.std(x, ddof=ddof)
        assert_both_modes(lambda v, d=ddof: np.std(v, ddof=d), x, (x - x.mean()) / ((n - ddof) * s))


def test_var_with_ddof_at_least_n_is_numpys_value() -> None:
    x = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for ddof in (2, 3):
            for fn in (np.var, np.std):
                y, _ = E.value_and_grad(lambda v, fn=fn, d=ddof: fn(v, ddof=d), x)
                assert y == fn(x, ddof=ddof) == np.inf


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.linalg.norm(x),
        lambda x: np.linalg.norm(x.reshape(2, 2), "fro"),
        lambda x: np.linalg.norm(x.reshape(2, 2), axis=(0, 1)),
        lambda x: np.linalg.norm(x, 3),
        lambda x: np.linalg.norm(x * (1 - 2j)),
        lambda x: np.std(np.full(4, 2.0) + 0 * x),
        lambda x: np.hypot(x[0], x[1]),
    ],
)
def test_norms_at_zero_have_derivative_zero(f: Callable) -> None:
    x = np.zeros(4)
    assert_both_modes(f, x, np.zeros(np.shape(f(x)) + (4,)))


def test_row_norms_with_one_zero_row() -> None:
    x = np.array([0.0, 0.0, 3.0, 4.0])
    ref = np.zeros((2, 4))
    ref[1, 2:] = [0.6, 0.8]
    assert_both_modes(lambda v: np.linalg.norm(v.reshape(2, 2), axis=1), x, ref)


# ---------------------------------------------------------------------------- power at 0

# d(x ** c)/dx at x = 0: c * x ** (c - 1) and its limits; 0 for c = 0 (x ** 0 is constant)
POW_AT_ZERO = [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (0.5, np.inf), (3.0, 0.0)]


@pytest.mark.parametrize("c, d", POW_AT_ZERO)
@pytest.mark.parametrize("kind", [float, np.float64, np.array, "traced"])
def test_power_derivative_at_zero(c: float, d: float, kind: object) -> None:
    x = np.zeros(1)
    if kind == "traced":  # the exponent is part of x, held at c
        f = lambda v: v[:1] ** (v[1:] + c)  # noqa: E731
        x = np.zeros(2)
        # d/dy: x ** y log x -> 0 at x = 0 (log taken at 1 there), as JAX and autograd
        np.testing.assert_allclose(E.jacobian(f, x, mode="reverse"), [[d, 0.0]], rtol=TOL, atol=TOL)
        # forward mode pushes the direction (0, 1) through d = inf: inf * 0 = nan, as in JAX
        ref = [[d, np.nan if np.isinf(d) else 0.0]]
        np.testing.assert_allclose(E.jacobian(f, x, mode="forward"), ref, rtol=TOL, atol=TOL)
        return
    e = kind(c) if kind is not np.array else np.array([c])  # type: ignore[operator]
    assert_both_modes(lambda v: v**e, x, np.array([[d]]))
    assert_both_modes(lambda v: np.power(v, e), x, np.array([[d]]))


@pytest.mark.parametrize("c", [0.0, 1.0, 2.0, 0.5, 3.0])
def test_power_convention_agrees_with_autograd(c: float) -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    for x0 in (0.0, 1.5):
        x, y = np.array([x0]), np.array([c])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref_x = autograd.grad(lambda v, y=y: anp.sum(v**y))(x)
            ref_y = autograd.grad(lambda w, x=x: anp.sum(x**w))(y)
            for mode in MODES:
                gx = E.jacobian(lambda v, y=y: np.sum(v**y), x, mode=mode)
                gy = E.jacobian(lambda w, x=x: np.sum(x**w), y, mode=mode)
                np.testing.assert_allclose(gx, ref_x, rtol=TOL, atol=TOL)
                np.testing.assert_allclose(gy, ref_y, rtol=TOL, atol=TOL)


def test_second_derivative_of_x_to_the_zero() -> None:
    np.testing.assert_array_equal(E.hessian(lambda v: np.sum(v**0.0 + v ** np.zeros(2)), np.zeros(2)), 0)


# ---------------------------------------------------------------------------- real / imag / conj


@pytest.mark.parametrize(
    "f, ref",
    [
        (lambda x: x * np.imag(x[0] * 0 + 2.0), np.zeros((2, 2))),
        (lambda x: np.imag(x[0]) + 3.0 * np.real(x[1]) + np.conj(x[0]), np.array([1.0, 3.0])),
        (lambda x: x[0].imag + x[1].real + x[1].conj(), np.array([0.0, 2.0])),
        (lambda x: np.imag(np.sum(x) * 1j), np.ones(2)),
        (lambda x: np.real(x) + np.imag(2.0) + np.real(1.5), np.eye(2)),
    ],
)
def test_real_imag_conj_of_scalars(f: Callable, ref: np.ndarray) -> None:
    assert_both_modes(f, np.array([1.0, 2.0]), ref)


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_eigh_directional_derivatives_match_autograd(uplo: str) -> None:
    # along symmetric directions both read the same matrix; the projectors v v^T make f
    # independent of eigenvector signs (autograd decomposes with UPLO="L")
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    a = a + a.T
    W = rng.standard_normal((4, 4, 4))
    t = rng.standard_normal((4, 4))
    t = t + t.T

    def f(m: object, x: np.ndarray, **kw: str) -> object:
        w, v = m.linalg.eigh(x, **kw)  # type: ignore[attr-defined]
        return m.sum(W * (v[:, None, :] * v[None, :, :])) + m.sum(w**3)  # type: ignore[attr-defined]

    ref = np.sum(autograd.grad(lambda x: f(anp, x))(a) * t)
    g = E.grad(lambda x: f(np, x, UPLO=uplo), a)
    _, [d] = E.jvp(lambda x: f(np, x, UPLO=uplo), a, [t])
    np.testing.assert_allclose([np.sum(g * t), d], [ref, ref], rtol=TOL)


# ---------------------------------------------------------------------------- second order


SECOND_ORDER = {
    "norm": (lambda m, v: m.linalg.norm(v), None),
    "std": (lambda m, v: m.std(v), None),
    "3-norm": (lambda m, v: m.linalg.norm(v, 3), lambda m, v: m.sum(m.abs(v) ** 3) ** (1 / 3)),
    "hypot": (lambda m, v: m.hypot(v[0], v[1]), None),
    "det": (lambda m, v: m.linalg.det(m.outer(v, v) + m.eye(3)), None),
    "prod": (lambda m, v: m.prod(v) * m.sum(v), None),
    "cumprod": (
        lambda m, v: m.sum(m.cumprod(v) ** 2),
        lambda m, v: m.sum(m.array([m.prod(v[: k + 1]) for k in range(3)]) ** 2),
    ),
    "eigvalsh": (
        lambda m, v: m.sum(m.linalg.eigvalsh(m.outer(v, v) + m.diag(v)) ** 3),
        lambda m, v: m.sum(m.linalg.eigh(m.outer(v, v) + m.diag(v))[0] ** 3),
    ),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_hessians_of_the_touched_rules_match_autograd(name: str) -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    f, f_ref = SECOND_ORDER[name]
    f_ref = f_ref or f
    x = np.array([0.3, -1.2, 2.0])
    ref = autograd.hessian(lambda v: f_ref(anp, v))(x)
    np.testing.assert_allclose(E.hessian(lambda v: f(np, v), x), ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize(
    "fn",
    [
        lambda x: np.reshape(x, (3, 2), order="F") * np.arange(6.0).reshape(3, 2),
        lambda x: x.reshape((3, 2), order="F")[:, 0] * x[:3],
        lambda x: np.ravel(x.reshape(2, 3), order="F") * np.arange(6.0),
        lambda x: x.reshape(2, 3).flatten(order="F") ** 2,
        lambda x: np.reshape(np.asfortranarray(np.ones((2, 3))) * 0 + x.reshape(2, 3), -1, order="A"),
    ],
    ids=["np.reshape-F", "method-F", "ravel-F", "flatten-F", "order-A"],
)
def test_reshape_in_column_major_order_follows_numpy(mode, fn):
    # order="F" was ignored: the value and the Jacobian were those of a row-major reshape.
    x = np.linspace(0.3, 1.8, 6)
    J = ad.jacobian(fn, ad.AutoEngine(mode=mode), x)
    np.testing.assert_allclose(ad.jacobian(fn, "engine", x).reshape(J.shape), J, rtol=1e-14)
    y = fn(x)
    np.testing.assert_array_equal(np.asarray(ad.value_and_jacobian(fn, ad.AutoEngine(mode=mode), x)[0]), y)
    Jfd = ad.jacobian(fn, "finitediff", x)
    np.testing.assert_allclose(J, Jfd, rtol=1e-7, atol=1e-8)
