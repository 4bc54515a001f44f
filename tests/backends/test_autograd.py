"""AutoAutograd: every operator and variant against analytic derivatives, finite differences and
other AD backends; complex conventions; second order; limitation errors; array types."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import anydiff as ad
from anydiff import _generic as generic

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

B = ad.AutoAutograd()
FD = ad.AutoFiniteDiff()

# autograd warns when an output does not depend on x (constant parts of the tests).
pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")


# ---------------------------------------------------------------------------------------------
# Test functions written against the Array API, with analytic derivatives


def f_scal(x):
    xp = ad.array_namespace(x)
    return xp.sum(xp.log(1 + x**2)) + x[0] * x[-1]


def grad_scal(x):
    g = 2 * x / (1 + x**2)
    g[0] += x[-1]
    g[-1] += x[0]
    return g


def hess_scal(x):
    H = np.diag(2 * (1 - x**2) / (1 + x**2) ** 2)
    H[0, -1] += 1
    H[-1, 0] += 1
    return H


def f_vec(x):
    xp = ad.array_namespace(x)
    return xp.sin(x) * xp.exp(0.3 * x)


def jac_vec(x):
    return np.diag(np.exp(0.3 * x) * (np.cos(x) + 0.3 * np.sin(x)))


def f_wide(x):
    """R^2 -> R^5: more outputs than inputs (the Jacobian takes columns from JVPs)."""
    xp = ad.array_namespace(x)
    return xp.stack([x[0] * x[1], xp.sin(x[0]), x[1] ** 3, x[0] + x[1], xp.exp(x[0] - x[1])])


def jac_wide(x):
    a, b = x
    e = np.exp(a - b)
    return np.array([[b, a], [np.cos(a), 0], [0, 3 * b**2], [1, 1], [e, -e]])


def f_d(x):
    xp = ad.array_namespace(x)
    return xp.stack([xp.sin(x), x**3])


X0 = np.array([0.3, -1.2, 2.5, 0.8])
X1 = np.array([-0.7, 0.4, 1.1, -2.0])
T = np.array([1.0, -2.0, 0.5, 0.1])
T2 = np.array([0.3, 0.0, -1.0, 2.0])


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# Each case: operator name, f, x at preparation, x at the call, tangent (or None), and the
# expected value-form outputs at a point.
CASES = {
    "gradient": ("gradient", f_scal, X0, X1, None, lambda x, t: (f_np_scal(x), grad_scal(x))),
    "jacobian": ("jacobian", f_vec, X0, X1, None, lambda x, t: (f_np_vec(x), jac_vec(x))),
    "jacobian_wide": (
        "jacobian", f_wide, X0[:2], X1[:2], None, lambda x, t: (f_np_wide(x), jac_wide(x))
    ),
    "pushforward": (
        "pushforward", f_vec, X0, X1, T, lambda x, t: (f_np_vec(x), jac_vec(x) @ t)
    ),
    "pullback": ("pullback", f_vec, X0, X1, T, lambda x, t: (f_np_vec(x), jac_vec(x).T @ t)),
    "derivative": (
        "derivative", f_d, 0.7, -1.3, None,
        lambda x, t: (f_np_d(x), np.array([np.cos(x), 3 * x**2])),
    ),
    "second_derivative": (
        "second_derivative", f_d, 0.7, -1.3, None,
        lambda x, t: (f_np_d(x), np.array([np.cos(x), 3 * x**2]), np.array([-np.sin(x), 6 * x])),
    ),
    "hessian": (
        "hessian", f_scal, X0, X1, None, lambda x, t: (f_np_scal(x), grad_scal(x), hess_scal(x))
    ),
    "hvp": ("hvp", f_scal, X0, X1, T, lambda x, t: (grad_scal(x), hess_scal(x) @ t)),
}


def f_np_scal(x):
    return np.sum(np.log(1 + x**2)) + x[0] * x[-1]


def f_np_vec(x):
    return np.sin(x) * np.exp(0.3 * x)


def f_np_wide(x):
    return f_wide(np.asarray(x))


def f_np_d(x):
    return np.array([np.sin(x), x**3])


_VALUE_NAMES = {
    "gradient": "value_and_gradient",
    "jacobian": "value_and_jacobian",
    "pushforward": "value_and_pushforward",
    "pullback": "value_and_pullback",
    "derivative": "value_and_derivative",
    "second_derivative": "value_derivative_and_second_derivative",
    "hessian": "value_gradient_and_hessian",
    "hvp": "gradient_and_hvp",
}


def call_args(x, t):
    return (x,) if t is None else (x, t)


def check_all(got, expected, tol):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert rel_err(g, e) < tol, (g, e)


# ---------------------------------------------------------------------------------------------
# Every operator and variant, float64, against analytic derivatives


@pytest.mark.parametrize("case", list(CASES))
def test_plain_and_value(case):
    name, f, _, x, t, ref = CASES[case]
    expected = ref(np.asarray(x), t)
    got = getattr(ad, name)(f, B, *call_args(x, t))
    assert rel_err(got, expected[-1]) < 1e-12
    check_all(getattr(ad, _VALUE_NAMES[name])(f, B, *call_args(x, t)), expected, 1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_prepared_elsewhere(case):
    """Prepared at x0, used at x1: results are those at x1 (all three ways of calling)."""
    name, f, x0, x1, t, ref = CASES[case]
    expected = ref(np.asarray(x1), t)
    prep = getattr(ad, f"prepare_{name}")(f, B, *call_args(x0, t))
    assert rel_err(prep(*call_args(x1, t)), expected[-1]) < 1e-12
    assert rel_err(getattr(ad, name)(f, B, *call_args(x1, t), prep=prep), expected[-1]) < 1e-12
    check_all(getattr(prep, _VALUE_NAMES[name])(*call_args(x1, t)), expected, 1e-12)
    # And back at x0: nothing of x1 stuck in the preparation.
    assert rel_err(prep(*call_args(x0, t)), ref(np.asarray(x0), t)[-1]) < 1e-12


@pytest.mark.parametrize("case", [c for c in CASES if not c.endswith("derivative")])
def test_out(case):
    name, f, _, x, t, ref = CASES[case]
    expected = ref(np.asarray(x), t)
    out = np.zeros_like(expected[-1])
    res = getattr(ad, name)(f, B, *call_args(x, t), out=out)
    assert res is out and rel_err(out, expected[-1]) < 1e-12
    outs = tuple(np.zeros_like(e) for e in expected[1:])
    res = getattr(ad, _VALUE_NAMES[name])(
        f, B, *call_args(x, t), out=outs if len(outs) > 1 else outs[0]
    )
    for o, e in zip(outs, expected[1:]):
        assert rel_err(o, e) < 1e-12
    assert rel_err(res[0], expected[0]) < 1e-12


def test_out_scalar_x_operators():
    # derivative / second_derivative of a vector-valued f at a scalar x fill array buffers.
    out = np.zeros(2)
    assert ad.derivative(f_d, B, 0.7, out=out) is out
    assert rel_err(out, [np.cos(0.7), 3 * 0.7**2]) < 1e-12
    out1, out2 = np.zeros(2), np.zeros(2)
    ad.value_derivative_and_second_derivative(f_d, B, 0.7, out=(out1, out2))
    assert rel_err(out2, [-np.sin(0.7), 6 * 0.7]) < 1e-12


@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_finitediff(case):
    name, f, _, x, t, _ref = CASES[case]
    got = getattr(ad, name)(f, B, *call_args(x, t))
    fd = getattr(ad, name)(f, FD, *call_args(x, t))
    assert rel_err(got, fd) < 1e-6


@pytest.mark.parametrize("case", list(CASES))
def test_float32_stays_float32(case):
    name, f, _, x, t, ref = CASES[case]
    x32 = np.float32(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float32)
    t32 = None if t is None else t.astype(np.float32)
    expected = ref(np.asarray(x, dtype=np.float64), t)
    got = getattr(ad, _VALUE_NAMES[name])(f, B, *call_args(x32, t32))
    for g, e in zip(got, expected):
        assert np.asarray(g).dtype == np.float32, (case, np.asarray(g).dtype)
        assert rel_err(g, e) < 1e-5


# ---------------------------------------------------------------------------------------------
# Batches, contexts, same point, pytrees, array types


def test_batches():
    J = jac_vec(X1)
    pf = ad.pushforward(f_vec, B, X1, ad.Batch(T, T2))
    assert isinstance(pf, ad.Batch) and len(pf) == 2
    assert rel_err(pf[0], J @ T) < 1e-12 and rel_err(pf[1], J @ T2) < 1e-12
    pb = ad.pullback(f_vec, B, X1, ad.Batch(T, T2, -T))
    assert isinstance(pb, ad.Batch) and len(pb) == 3
    for r, w in zip(pb, (T, T2, -T)):
        assert rel_err(r, J.T @ w) < 1e-12
    g, hv = ad.gradient_and_hvp(f_scal, B, X1, ad.Batch(T, T2))
    assert rel_err(g, grad_scal(X1)) < 1e-12
    assert rel_err(hv[0], hess_scal(X1) @ T) < 1e-12 and rel_err(hv[1], hess_scal(X1) @ T2) < 1e-12
    # Prepared for a batch at x0, called at x1.
    prep = ad.prepare_pullback(f_vec, B, X0, ad.Batch(T, T2))
    r = prep(X1, ad.Batch(T2, T))
    assert rel_err(r[0], J.T @ T2) < 1e-12 and rel_err(r[1], J.T @ T) < 1e-12


def f_ctx(x, a, scale):
    xp = ad.array_namespace(x)
    return xp.sum(a * xp.sin(x)) * scale


def test_constant_changes_between_preparation_and_call():
    a0, a1 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([-1.0, 0.5, 2.0, 0.0])
    prep = ad.prepare_gradient(f_ctx, B, X0, ad.Constant(a0), ad.Constant(2.0))
    g = prep(X1, ad.Constant(a1), ad.Constant(3.0))
    assert rel_err(g, 3.0 * a1 * np.cos(X1)) < 1e-12
    H = ad.hessian(f_ctx, B, X1, ad.Constant(a1), ad.Constant(3.0))
    assert rel_err(H, np.diag(-3.0 * a1 * np.sin(X1))) < 1e-12


def test_cache_read_only_and_written():
    def f_read(x, c):
        return x * c

    c = np.array([2.0, 3.0, 4.0, 5.0])
    J = ad.jacobian(f_read, B, X0, ad.Cache(c))
    assert rel_err(J, np.diag(c)) < 1e-12

    def f_write(x, c):
        c[:] = x * 2  # writes traced values into the NumPy scratch buffer
        return c

    with pytest.raises(ad.UnsupportedError, match="in-place") as info:
        ad.jacobian(f_write, B, X0, ad.Cache(np.zeros(4)))
    assert info.value.__cause__ is not None


def test_same_point_preparations():
    pb = ad.prepare_pullback_same_point(f_vec, B, X1, T)
    assert rel_err(pb(X1, T2), jac_vec(X1).T @ T2) < 1e-12
    y, r = pb.value_and_pullback(X1, T)
    assert rel_err(y, f_np_vec(X1)) < 1e-15 and rel_err(r, jac_vec(X1).T @ T) < 1e-12
    pf = ad.prepare_pushforward_same_point(f_vec, B, X1, T)
    assert rel_err(pf(X1, T2), jac_vec(X1) @ T2) < 1e-12
    hv = ad.prepare_hvp_same_point(f_scal, B, X1, T)
    assert rel_err(hv(X1, T2), hess_scal(X1) @ T2) < 1e-12
    g, h = hv.gradient_and_hvp(X1, T)
    assert rel_err(g, grad_scal(X1)) < 1e-12 and rel_err(h, hess_scal(X1) @ T) < 1e-12
    with pytest.raises(ad.PreparationMismatchError):
        hv(X0, T)


def f_tree(p):
    xp = ad.array_namespace(p["w"])
    return xp.sum(p["w"] ** 2 * p["b"][0]) + xp.sum(xp.sin(p["b"][1]))


def f_tree_out(p):
    xp = ad.array_namespace(p["w"])
    return {"u": p["w"] * p["b"][1][0], "v": xp.cos(p["b"][1])}


TREE = {"w": np.array([[0.5, -1.0], [2.0, 0.3]]), "b": (np.array(1.5), np.array([0.2, -0.4, 0.9]))}


def test_pytrees_against_finitediff():
    g = ad.gradient(f_tree, B, TREE)
    g_fd = ad.gradient(f_tree, FD, TREE)
    assert set(g) == {"w", "b"} and g["w"].shape == (2, 2) and g["b"][0].shape == ()
    assert rel_err(g["w"], 2 * TREE["w"] * 1.5) < 1e-12
    assert rel_err(g["b"][0], np.sum(TREE["w"] ** 2)) < 1e-12
    assert rel_err(g["b"][1], g_fd["b"][1]) < 1e-8
    H, H_fd = ad.hessian(f_tree, B, TREE), ad.hessian(f_tree, FD, TREE)
    assert H.shape == (8, 8) and rel_err(H, H_fd) < 1e-6
    J, J_fd = ad.jacobian(f_tree_out, B, TREE), ad.jacobian(f_tree_out, FD, TREE)
    assert J.shape == (7, 8) and rel_err(J, J_fd) < 1e-8
    w = {"u": np.ones((2, 2)), "v": np.array([1.0, -1.0, 2.0])}
    pb, pb_fd = ad.pullback(f_tree_out, B, TREE, w), ad.pullback(f_tree_out, FD, TREE, w)
    assert rel_err(pb["w"], pb_fd["w"]) < 1e-8 and rel_err(pb["b"][1], pb_fd["b"][1]) < 1e-8


def test_jax_and_torch_arrays_in_same_type_out():
    jnp = pytest.importorskip("jax.numpy")
    torch = pytest.importorskip("torch")
    xj = jnp.asarray(X1, dtype=jnp.float32)
    gj = ad.gradient(f_scal, B, xj)
    assert type(gj).__module__.startswith("jax") and gj.dtype == jnp.float32
    assert rel_err(np.asarray(gj), grad_scal(X1)) < 1e-5
    xt = torch.from_numpy(X1.copy())
    gt = ad.gradient(f_scal, B, xt)
    assert isinstance(gt, torch.Tensor) and gt.dtype == torch.float64
    assert rel_err(gt.numpy(), grad_scal(X1)) < 1e-12
    Jt = ad.jacobian(f_vec, B, xt)
    assert isinstance(Jt, torch.Tensor) and rel_err(Jt.numpy(), jac_vec(X1)) < 1e-12
    Ht = ad.hessian(f_scal, B, torch.from_numpy(X1.astype(np.float32)))
    assert Ht.dtype == torch.float32 and rel_err(Ht.numpy(), hess_scal(X1)) < 1e-5


def test_python_float_in():
    d = ad.derivative(lambda x: x**3, B, 2.0)
    assert d == pytest.approx(12.0, rel=1e-15)
    assert ad.second_derivative(lambda x: x**3, B, 2.0) == pytest.approx(12.0, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# Kinds of user code: autograd.numpy, plain NumPy, primitives without JVP rules


def test_autograd_numpy_and_plain_numpy_code():
    def f_anp(x):
        return anp.sum(anp.tanh(x) * x)

    def f_np(x):
        return np.sum(np.tanh(x) * x) + x @ x + np.mean(x**2)

    ref = np.tanh(X1) + X1 / np.cosh(X1) ** 2
    assert rel_err(ad.gradient(f_anp, B, X1), ref) < 1e-12
    assert rel_err(ad.gradient(f_np, B, X1), ref + 2 * X1 + 2 * X1 / 4) < 1e-12
    assert rel_err(ad.hessian(f_np, B, X1), ad.hessian(f_np, FD, X1)) < 1e-6


def f_solve(x):
    # anp.linalg.solve has a VJP rule but no JVP rule: pushforwards use the transposed pullback.
    A = np.array([[3.0, 1.0, 0.0, 0.0], [1.0, 4.0, 1.0, 0.0], [0.0, 1.0, 5.0, 1.0],
                  [0.0, 0.0, 1.0, 6.0]])
    return anp.linalg.solve(A, x) * anp.sin(x)


def test_pushforward_without_jvp_rules():
    J_fd = ad.jacobian(f_solve, FD, X1)
    assert rel_err(ad.pushforward(f_solve, B, X1, T), J_fd @ T) < 1e-8
    prep = ad.prepare_pushforward(f_solve, B, X0, ad.Batch(T, T2))
    for _ in range(2):  # the second call takes the remembered reverse path directly
        pf = prep(X1, ad.Batch(T, T2))
        assert rel_err(pf[0], J_fd @ T) < 1e-8 and rel_err(pf[1], J_fd @ T2) < 1e-8
    assert rel_err(ad.jacobian(f_solve, B, X1), ad.jacobian(f_solve, B, X1)) == 0
    assert rel_err(ad.jacobian(f_solve, B, X1), J_fd) < 1e-8
    x = 0.6
    # hypot has no JVP rule either: second derivative through reverse-mode fallbacks.
    d2 = ad.second_derivative(lambda x: anp.hypot(x, 2.0), B, x)
    assert d2 == pytest.approx(4.0 / (x**2 + 4) ** 1.5, rel=1e-12)
    d = ad.derivative(lambda x: anp.hypot(x, 2.0), B, x)
    assert d == pytest.approx(x / np.sqrt(x**2 + 4), rel=1e-12)


def test_wide_jacobian_without_jvp_rules():
    def f(x):
        return anp.hypot(anp.stack([x[0], x[1], x[0]]), 1.0)

    x = np.array([0.5, -2.0])
    assert rel_err(ad.jacobian(f, B, x), ad.jacobian(f, FD, x)) < 1e-8


# ---------------------------------------------------------------------------------------------
# Complex numbers: pullback J^H w, steepest-ascent gradient


Z = np.array([0.3 + 0.4j, -1.0 + 0.5j, 0.7 - 0.2j])
WZ = np.array([1.0 + 1.0j, 0.5j, -2.0 + 0.1j])


def f_holo(z):
    xp = ad.array_namespace(z)
    return xp.sin(z) * z


def jac_holo(z):
    return np.diag(np.cos(z) * z + np.sin(z))


def f_real_of_complex(z):
    xp = ad.array_namespace(z)
    return xp.sum(xp.real(z * xp.conj(z))) + xp.real(z[0] * z[1]) + xp.sum(xp.imag(z) ** 3)


def test_complex_holomorphic():
    J = jac_holo(Z)
    assert rel_err(ad.jacobian(f_holo, B, Z), J) < 1e-12
    assert rel_err(ad.pushforward(f_holo, B, Z, WZ), J @ WZ) < 1e-12
    assert rel_err(ad.pullback(f_holo, B, Z, WZ), J.conj().T @ WZ) < 1e-12
    assert rel_err(ad.pullback(f_holo, B, Z, WZ), ad.pullback(f_holo, FD, Z, WZ)) < 1e-8
    pb = ad.prepare_pullback_same_point(f_holo, B, Z, WZ)
    assert rel_err(pb(Z, WZ), J.conj().T @ WZ) < 1e-12
    pf = ad.prepare_pushforward_same_point(f_holo, B, Z, WZ)
    assert rel_err(pf(Z, WZ), J @ WZ) < 1e-12


def test_complex_gradient_is_steepest_ascent():
    g = ad.gradient(f_real_of_complex, B, Z)
    # d/dRe + i d/dIm of |z|^2 + Re(z0 z1) + sum(Im z^3)
    x, y = Z.real, Z.imag
    ref = 2 * Z + 3j * y**2
    ref[0] += x[1] - 1j * y[1]
    ref[1] += x[0] - 1j * y[0]
    assert rel_err(g, ref) < 1e-12
    assert rel_err(g, ad.gradient(f_real_of_complex, FD, Z)) < 1e-8


def test_complex_hvp_and_hessian_vs_forward_over_autograd():
    so = ad.SecondOrder(FD, B)
    hv = ad.hvp(f_real_of_complex, B, Z, WZ)
    assert rel_err(hv, ad.hvp(f_real_of_complex, so, Z, WZ)) < 1e-7
    H = ad.hessian(f_real_of_complex, B, Z)
    assert rel_err(H, ad.hessian(f_real_of_complex, so, Z)) < 1e-7
    assert rel_err(H @ WZ.real, ad.hvp(f_real_of_complex, B, Z, WZ.real + 0j)) < 1e-12


def test_real_x_complex_y():
    def f(x):
        xp = ad.array_namespace(x)
        return xp.exp(1j * x) * x

    J = np.diag(np.exp(1j * X1) * (1j * X1 + 1))
    assert rel_err(ad.jacobian(f, B, X1), J) < 1e-12
    assert rel_err(ad.pushforward(f, B, X1, T), J @ T) < 1e-12
    w = T + 1j * T2
    # Pullback of a real-linear map into C^m: Re(J^H w).
    assert rel_err(ad.pullback(f, B, X1, w), (J.conj().T @ w).real) < 1e-12
    assert rel_err(ad.pullback(f, B, X1, w), ad.pullback(f, FD, X1, w)) < 1e-8


def test_complex_scalar_output_for_gradient_is_refused():
    # A TypeError on every backend, raised by the interface before autograd.
    with pytest.raises(ad.AnydiffTypeError, match="real floating-point scalar.*complex128"):
        ad.gradient(lambda z: anp.sum(z**2), B, Z)


# ---------------------------------------------------------------------------------------------
# Second order through the generic paths


def test_second_order_finitediff_over_autograd():
    so = ad.SecondOrder(FD, B)
    assert rel_err(ad.hvp(f_scal, so, X1, T), hess_scal(X1) @ T) < 1e-7
    assert rel_err(ad.hessian(f_scal, so, X1), hess_scal(X1)) < 1e-7
    assert rel_err(ad.second_derivative(f_d, so, 0.7), [-np.sin(0.7), 4.2]) < 1e-7
    # First-order operators of a SecondOrder backend are the inner backend's (exact).
    assert rel_err(ad.gradient(f_scal, so, X1), grad_scal(X1)) < 1e-12


def test_second_order_autograd_over_autograd_generic():
    """The generic derivations nest this adapter's kernels in its own traces."""
    prep = ad.prepare_hvp(f_scal, B, X0, ad.Batch(T, T2))
    a, F, spec = prep.adapter, prep.F, prep.spec
    Ts = np.stack([T, T2])
    g, HT = generic.hvp(a, a, F, spec, True)(X1, Ts, ())
    assert rel_err(g, grad_scal(X1)) < 1e-12
    assert rel_err(HT, Ts @ hess_scal(X1)) < 1e-12
    hp = ad.prepare_hessian(f_scal, B, X0)
    y, g, H = generic.hessian(a, a, hp.F, hp.spec, True)(X1, None, ())
    assert rel_err(H, hess_scal(X1)) < 1e-12 and rel_err(y, f_np_scal(X1)) < 1e-15
    dp = ad.prepare_second_derivative(f_d, B, 0.7)
    _, dy, d2y = generic.second_derivative(a, a, dp.F, dp.spec, False)(np.array([0.7]), None, ())
    assert rel_err(d2y, [-np.sin(0.7), 4.2]) < 1e-12


def test_same_backend_second_order_uses_native_path():
    so = ad.SecondOrder(B, B)
    assert rel_err(ad.hessian(f_scal, so, X1), hess_scal(X1)) < 1e-12
    assert rel_err(ad.hvp(f_scal, so, X1, T), hess_scal(X1) @ T) < 1e-12


# ---------------------------------------------------------------------------------------------
# Agreement with other AD backends (float64): only those whose adapter exists


def _ad_backends():
    names = []
    for name in ("jax", "torch", "engine"):
        if importlib.util.find_spec(f"anydiff.backends.{name}") is not None and ad.check_available(
            name
        ):
            names.append(name)
    return names


@pytest.mark.parametrize("other", _ad_backends() or [pytest.param("none", marks=pytest.mark.skip(
    reason="no other AD adapter (jax/torch/engine) is present in anydiff.backends yet"))])
@pytest.mark.parametrize("case", ["gradient", "jacobian", "pullback", "hvp", "hessian"])
def test_agrees_with_other_ad_backends(other, case):
    name, f, _, x, t, _ = CASES[case]
    ours = getattr(ad, name)(f, B, *call_args(x, t))
    theirs = getattr(ad, name)(f, other, *call_args(x, t))
    assert rel_err(ours, np.asarray(theirs)) < 1e-10


# ---------------------------------------------------------------------------------------------
# Limitations: UnsupportedError naming the cause, the capable backends, the chained cause


def _assert_unsupported(info, *words, cause=BaseException):
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)
    assert "Backends that can:" in msg
    assert isinstance(info.value.__cause__, cause), info.value.__cause__


def test_inplace_assignment_into_traced_array():
    def f(x):
        x[0] = 1.0
        return np.sum(x**2)

    with pytest.raises(ad.UnsupportedError) as info:
        ad.gradient(f, B, X1.copy())
    _assert_unsupported(info, "in-place", "engine", "finitediff", "torch")
    assert "ArrayBox" in str(info.value.__cause__)


def test_traced_values_written_into_numpy_buffer():
    def f(x):
        y = np.zeros(4)
        y[1:] = x[:3] ** 2
        return y

    x = X1.copy()
    # Raised at preparation already (the output layout is learnt by a traced evaluation).
    with pytest.raises(ad.UnsupportedError) as info:
        ad.prepare_jacobian(f, B, x)
    _assert_unsupported(info, "in-place", "engine", cause=ValueError)
    np.testing.assert_array_equal(x, X1)


def test_float_of_traced_value():
    def f(x):
        return np.sum(x) * float(x[0])

    with pytest.raises(ad.UnsupportedError) as info:
        ad.gradient(f, B, X1)
    _assert_unsupported(info, "float(x)", "finitediff", cause=TypeError)


def test_untraced_numpy_function_object_array():
    def f_solve_np(x):  # np.linalg.solve does not know ArrayBoxes
        return np.linalg.solve(np.eye(4) * 2.0, x)

    with pytest.raises(ad.UnsupportedError) as info:
        ad.jacobian(f_solve_np, B, X1)
    _assert_unsupported(info, "autograd.numpy", "finitediff", cause=Exception)


def test_escaped_output_is_an_error_not_zero():
    def f(x):  # np.tensordot returns an object array that autograd no longer sees
        return np.tensordot(x, x, 1)

    ad.gradient(f_scal, B, X1)  # warm the registry
    with pytest.raises(ad.UnsupportedError, match="object array"):
        ad.gradient(f, B, X1)
    with pytest.raises(ad.UnsupportedError, match="object array"):
        ad.prepare_gradient(f, B, X0)(X1)


def test_missing_vjp_rule():
    from autograd.extend import primitive

    @primitive
    def opaque(x):
        return x * 2.0

    with pytest.raises(ad.UnsupportedError) as info:
        ad.gradient(lambda x: anp.sum(opaque(x)), B, X1)
    _assert_unsupported(info, "derivative rule", "jax", cause=NotImplementedError)


def test_non_scalar_gradient_is_value_error():
    with pytest.raises(ValueError, match="jacobian"):
        ad.gradient(f_vec, B, X1)


def test_inplace_form_refused():
    with pytest.raises(ad.UnsupportedError):
        ad.jacobian(lambda y, x: None, B, X1, y=np.zeros(4))


def test_traits():
    assert B.reverse_fast and not B.forward_fast
    assert not B.mutation and not B.inplace_function and B.complex_numbers


# ---------------------------------------------------------------------------------------------
# Threads and imports


def test_prep_shared_between_threads():
    prep = ad.prepare_hvp(f_scal, B, X0, T)
    points = [X1 + 0.1 * i for i in range(8)]
    results: dict[int, np.ndarray] = {}

    def work(i):
        for _ in range(5):
            results[i] = prep(points[i], T)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, p in enumerate(points):
        assert rel_err(results[i], hess_scal(p) @ T) < 1e-12


def test_import_anydiff_does_not_import_autograd():
    code = (
        "import sys, anydiff; "
        "assert 'autograd' not in sys.modules, 'autograd imported'; "
        "anydiff.AutoAutograd(); assert 'autograd' not in sys.modules; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_no_warning_leak_for_ordinary_functions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.gradient(f_scal, B, X1)
        ad.jacobian(f_vec, B, X1)


def f_mixed_complex(z):
    """Mixes Re and Im parts (d2f/dRe dIm != 0), which exposes conjugation mistakes."""
    xp = ad.array_namespace(z)
    return xp.sum(xp.real(z) * xp.imag(z)) + xp.sum(xp.imag(z**2) * xp.real(z))


def test_complex_hvp_reverse_over_reverse_generic_and_native():
    t = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.2 - 1.0j])
    ref = ad.hvp(f_mixed_complex, ad.SecondOrder(FD, B), Z, t)
    assert rel_err(ad.hvp(f_mixed_complex, B, Z, t), ref) < 1e-7
    prep = ad.prepare_hvp(f_mixed_complex, B, Z, t)
    a = prep.adapter
    _, HT = generic.hvp(a, a, prep.F, prep.spec, False)(Z, t[None], ())
    assert rel_err(HT[0], ref) < 1e-7


def test_complex_non_holomorphic_jacobian_matches_forward_convention():
    """Columns J e_j along real unit vectors (as finite differences and forward mode see them)."""

    def f(z):
        xp = ad.array_namespace(z)
        return 1j * xp.conj(z) * z[0] + xp.sin(z) * xp.real(z)

    def f_real(z):
        xp = ad.array_namespace(z)
        return xp.real(z * xp.conj(z)) + xp.imag(z) * xp.real(z[0] * z[1])

    for g in (f, f_real):
        J = ad.jacobian(g, B, Z)
        assert rel_err(J, ad.jacobian(g, FD, Z)) < 1e-8
        cols = np.stack([ad.pushforward(g, B, Z, e) for e in np.eye(3, dtype=complex)], axis=1)
        assert rel_err(J, cols) < 1e-12
    # Wide case (columns from JVPs) agrees as well.
    z2 = Z[:2]
    wide = lambda z: ad.array_namespace(z).stack([z[0] * xp_conj(z[1]), z[1] ** 2, z[0]])  # noqa: E731
    assert rel_err(ad.jacobian(wide, B, z2), ad.jacobian(wide, FD, z2)) < 1e-8


def xp_conj(a):
    return ad.array_namespace(a).conj(a)
