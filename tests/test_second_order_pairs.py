"""Every ordered SecondOrder(outer, inner) pair of backends and modes: right numbers, or an
UnsupportedError raised by prepare_*. Never a wrong number (today's main
returned zeros for SecondOrder("torch", "jax") and for the complex step as outer)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anydiff as ad
from anydiff._second_order import second_order_support

xp = ad.array_namespace

BACKENDS = {
    "jax": ad.AutoJax(), "jax-fwd": ad.AutoJax(mode="forward"), "jax-rev": ad.AutoJax(mode="reverse"),
    "torch": ad.AutoTorch(), "torch-fwd": ad.AutoTorch(mode="forward"),
    "torch-rev": ad.AutoTorch(mode="reverse"),
    "autograd": ad.AutoAutograd(),
    "fd-central": ad.AutoFiniteDiff(), "fd-forward": ad.AutoFiniteDiff(method="forward"),
    "fd-backward": ad.AutoFiniteDiff(method="backward"),
    "fd-complex": ad.AutoFiniteDiff(method="complex"),
    "engine-fwd": ad.AutoEngine(mode="forward"), "engine-rev": ad.AutoEngine(mode="reverse"),
}
PAIRS = [(o, i) for o in BACKENDS for i in BACKENDS]


def framework(name: str) -> str:
    return name.split("-")[0]


def expected_support(o: str, i: str) -> bool:
    """The documented SecondOrder rule, written out independently of the implementation."""
    if o == i or (framework(o) == framework(i) and framework(o) != "fd"):
        return True
    if framework(o) == "fd":
        if o != "fd-complex":
            return True
        return framework(i) == "fd" and i != "fd-complex"
    return framework(o) == "engine" and framework(i) == "fd"


def tolerance(o: str, i: str) -> float:
    """Relative accuracy each pair reaches on the functions below (float64)."""
    exact = {"jax", "torch", "autograd", "engine"}
    fo, fi = framework(o), framework(i)
    if fo in exact and fi in exact:
        return 1e-12
    if i == "fd-complex" and fo == "engine":
        return 1e-12  # the engine differentiates the complex-step quotient exactly
    if fo == "fd" and fi == "fd" and o == i:
        return 1e-6  # finite differences' own four-point stencils
    one_sided = {"fd-forward", "fd-backward"}
    if o in one_sided and i in one_sided:
        return 3e-3  # first order in a step sized eps^(1/4): the method's limit
    if fi == "fd" and i != "fd-complex":
        return 1e-4  # an inner finite difference differentiated (noisy) by an outer one
    return 1e-6  # a finite-difference outer over an exact (or complex-step) inner


def f(v):
    return xp(v).sum(xp(v).sin(v) * v**3) + v[0] * v[1] * v[2]


def grad_f(x):
    return np.cos(x) * x**3 + 3 * x**2 * np.sin(x) + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])


def hess_f(x):
    H = np.diag(6 * x * np.sin(x) + 6 * x**2 * np.cos(x) - x**3 * np.sin(x))
    H[0, 1] = H[1, 0] = x[2]
    H[0, 2] = H[2, 0] = x[1]
    H[1, 2] = H[2, 1] = x[0]
    return H


def s(z):
    return z**4 + xp(z).exp(-z)


def ds(z):
    return 4 * z**3 - np.exp(-z)


def d2s(z):
    return 12 * z**2 + np.exp(-z)


X0 = np.array([0.5, -1.2, 2.0])
X1 = np.array([0.9, 0.4, -1.7])  # preps are valid at any x: call them elsewhere
T = np.array([1.0, 0.3, -0.7])
Z0, Z1 = 0.7, -0.4


def close(a, b, tol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == np.float64 and a.shape == b.shape
    err = np.max(np.abs(a - b)) / np.max(np.abs(b))
    assert err < tol, f"relative error {err:.2e} > {tol:.0e}"


def available(*names: str) -> None:
    for n in names:
        if not ad.check_available(BACKENDS[n]):
            pytest.skip(f"{n} is not installed")


def test_rule_matches_the_contract():
    for o, i in PAIRS:
        ok, reason = second_order_support(BACKENDS[o], BACKENDS[i])
        assert ok == expected_support(o, i), (o, i)
        assert (reason == "") == ok


@pytest.mark.parametrize("o, i", PAIRS, ids=[f"{o}/{i}" for o, i in PAIRS])
def test_pair(o, i):
    available(o, i)
    b = ad.SecondOrder(BACKENDS[o], BACKENDS[i])
    prepares = [
        lambda: ad.prepare_hvp(f, b, X0, T),
        lambda: ad.prepare_hvp_same_point(f, b, X0, T),
        lambda: ad.prepare_hessian(f, b, X0),
        lambda: ad.prepare_second_derivative(s, b, Z0),
    ]
    if not expected_support(o, i):
        for prepare in prepares:
            with pytest.raises(ad.UnsupportedError) as info:
                prepare()
            msg = str(info.value)
            assert repr(BACKENDS[o]) in msg and repr(BACKENDS[i]) in msg
            assert "Pairs that work" in msg and "differentiate_with" not in msg
        with pytest.raises(ad.UnsupportedError):  # unprepared calls too
            ad.hvp(f, b, X0, T)
        # First-order operators run on the inner backend and still work.
        close(ad.gradient(f, b, X0), grad_f(X0), 1e-5)
        return
    tol = tolerance(o, i)
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)  # no dropped imaginary part
        p_hvp, p_same, p_hess, p_d2 = (prepare() for prepare in prepares)
        close(p_hvp(X1, T), hess_f(X1) @ T, tol)
        g, hv = p_hvp.gradient_and_hvp(X1, T)
        close(g, grad_f(X1), max(tol, 1e-9))
        close(hv, hess_f(X1) @ T, tol)
        close(ad.hvp(f, b, X1, T, prep=p_hvp), hess_f(X1) @ T, tol)
        close(p_same(X0, T), hess_f(X0) @ T, tol)
        close(p_same.gradient_and_hvp(X0, T)[1], hess_f(X0) @ T, tol)
        close(p_hess(X1), hess_f(X1), tol)
        y, g, H = p_hess.value_gradient_and_hessian(X1)
        close(y, f(X1), 1e-14)
        close(g, grad_f(X1), max(tol, 1e-9))
        close(H, hess_f(X1), tol)
        close(p_d2(Z1), d2s(Z1), tol)
        y, dy, d2y = p_d2.value_derivative_and_second_derivative(Z1)
        close(y, s(Z1), 1e-14)
        close(dy, ds(Z1), max(tol, 1e-9))
        close(d2y, d2s(Z1), tol)
        if framework(o) != "jax":  # (unprepared calls prepare as above; JAX would recompile)
            close(ad.hvp(f, b, X1, T), hess_f(X1) @ T, tol)


def test_issue_reproducer_raises_instead_of_zeros():
    available("torch", "jax")
    with pytest.raises(ad.UnsupportedError, match="cannot trace"):
        ad.hvp(lambda v: xp(v).sum(v**4), ad.SecondOrder("torch", "jax"), np.ones(3), np.ones(3))


def test_engine_over_finite_differences_far_from_the_prepared_point():
    # The engine's tape replays the finite-difference kernel at a new point: the steps must
    # follow the new x (they are computed by traced, piecewise-constant NumPy code).
    x1 = 1e4 * X1
    for mode in ("forward", "reverse"):
        b = ad.SecondOrder(ad.AutoEngine(mode=mode), "finitediff")
        prep = ad.prepare_hessian(lambda v: np.sum(v**4) + v[0] * v[1] * v[2], b, X0)
        H = np.diag(12 * x1**2) + np.array([[0, x1[2], x1[1]], [x1[2], 0, x1[0]], [x1[1], x1[0], 0]])
        close(prep(x1), H, 1e-7)


def test_engine_derivative_of_the_quotient_has_no_step_derivative():
    # Plain NumPy code inside f; the engine traces the finite-difference gradient around it.
    def f_np(v):
        out = np.zeros_like(v)
        out[:] = np.exp(v)
        return np.sum(out) * v[0]

    x = np.array([1.5, -0.5])
    b = ad.SecondOrder(ad.AutoEngine(), ad.AutoFiniteDiff())
    H = np.array([[np.exp(1.5) * (x[0] + 2), np.exp(-0.5)], [np.exp(-0.5), np.exp(-0.5) * x[0]]])
    close(ad.hessian(f_np, b, x), H, 1e-6)


@pytest.mark.parametrize(
    "outer, inner",
    [("fd-complex", "fd-central"), ("fd-complex", "fd-forward"), ("engine-rev", "fd-complex"),
     ("engine-fwd", "fd-complex"), ("fd-central", "fd-complex")],
)
def test_complex_step_pairs_reject_non_analytic_f_at_preparation(outer, inner):
    b = ad.SecondOrder(BACKENDS[outer], BACKENDS[inner])
    with pytest.raises(ad.UnsupportedError, match="real-analytic"):
        ad.prepare_hvp(lambda v: np.sum(np.abs(v) * v**2), b, X0, T)
    with pytest.raises(ad.UnsupportedError, match="real-analytic"):
        ad.prepare_second_derivative(lambda z: np.abs(z) * z**2, b, Z0)


def test_complex_step_outer_propagates_nan():
    b = ad.SecondOrder(ad.AutoFiniteDiff(method="complex"), ad.AutoFiniteDiff())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        prep = ad.prepare_second_derivative(lambda z: np.sqrt(z) ** 3, b, 2.0)
        assert np.isnan(prep(-1.0))
    close(prep(4.0), 0.75 / 2.0, 1e-6)


def test_mixed_mode_is_not_a_backend():
    with pytest.raises(TypeError, match="future feature") as info:
        ad.gradient(np.sum, ad.MixedMode("engine", "engine"), np.ones(2))
    assert isinstance(info.value, ad.AnydiffError)
    assert "AutoSparse" not in (ad.MixedMode.__doc__ or "")
