"""ODE solvers, ``logm``, complex ``svd``/``qr`` vectors and lists of traced values: both modes,
prepared (tape replay at a new point) and not, against analytic values or finite differences.

Each of these raised ``EngineError`` before: ``scipy.integrate.odeint``/``solve_ivp`` (compiled
solver), ``scipy.linalg.logm`` (no rule), complex ``svd``/``qr`` with vectors (no rule),
``np.mean([a, b])`` (NumPy converted the list in C).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sla

import anydiff as ad
from anydiff import engine as E
from anydiff.engine import EngineError

MODES = ("reverse", "forward")
rng = np.random.default_rng(7)
TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def _grads(f: Callable, x: np.ndarray) -> dict[str, np.ndarray]:
    """The engine's gradient in both modes, unprepared and replayed from a tape recorded at a
    nearby point."""
    out = {}
    for mode in MODES:
        b = ad.AutoEngine(mode)
        out[mode] = np.asarray(ad.gradient(f, b, x))
        out[mode + " prepared"] = np.asarray(ad.prepare_gradient(f, b, x + 1e-2)(x))
    return out


def _check(f: Callable, x: np.ndarray, ref: np.ndarray, rtol: float = 1e-9, atol: float = 1e-10) -> None:
    for label, g in _grads(f, x).items():
        np.testing.assert_allclose(g, ref, rtol=rtol, atol=atol, err_msg=label)


def _fd(f: Callable, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Fourth-order central differences of real ``f`` (complex x: d/dRe + i d/dIm)."""
    cplx = np.iscomplexobj(x)
    v0 = np.concatenate([x.real.ravel(), x.imag.ravel()]) if cplx else x.ravel().astype(float)
    n = x.size

    def fr(v: np.ndarray) -> float:
        z = (v[:n] + 1j * v[n:]) if cplx else v
        return float(f(z.reshape(x.shape)))

    g = np.zeros_like(v0)
    for k in range(v0.size):
        e = np.zeros_like(v0)
        e[k] = h
        g[k] = (8 * (fr(v0 + e) - fr(v0 - e)) - (fr(v0 + 2 * e) - fr(v0 - 2 * e))) / (12 * h)
    return ((g[:n] + 1j * g[n:]) if cplx else g).reshape(x.shape)


# ---------------------------------------------------------------------------- odeint / solve_ivp

T3 = np.array([0.0, 0.4, 1.1, 2.0])
W3 = np.array([0.3, -1.0, 0.7, 2.0])


def _decay(y, t, k):
    return -k * y


def test_odeint_decay_in_y0_and_args_matches_the_analytic_derivative() -> None:
    # y(t) = y0 exp(-k t): d/dy0 = exp(-k t), d/dk = -t y(t)
    def f(x):
        return np.sum(W3 * si.odeint(_decay, x[:1], T3, args=(x[1],), **TIGHT)[:, 0])

    x = np.array([1.3, 0.8])
    e = np.exp(-x[1] * T3)
    _check(f, x, np.array([np.sum(W3 * e), np.sum(W3 * -T3 * x[0] * e)]))
    # the whole solution's Jacobian, (len(t), 1, 2), in both modes
    J = np.stack([e, -T3 * x[0] * e], axis=-1)[:, None, :]
    for mode in MODES:
        Jm = E.jacobian(lambda z: si.odeint(_decay, z[:1], T3, args=(z[1],), **TIGHT), x, mode=mode)
        np.testing.assert_allclose(Jm, J, rtol=1e-9, atol=1e-11)


def test_odeint_parameter_in_the_closure_and_vector_state_match_finite_differences() -> None:
    def f(x):  # a damped oscillator; stiffness from the closure, damping through args
        k = np.exp(x[2])

        def rhs(y, t, c):
            return np.array([y[1], -k * y[0] - c * y[1]])

        Y = si.odeint(rhs, x[:2], T3, args=(x[3],), **TIGHT)
        return np.sum(np.cos(Y) * W3[:, None])

    x = np.array([1.0, 0.5, 0.6, 0.3])
    _check(f, x, _fd(f, x), rtol=1e-7, atol=1e-8)


def _closure_ode(x):
    a = x[0]
    b = a  # one value in two closure cells; a helper sharing the scope's cell

    def helper(y):
        return -a * y

    def rhs(y, t):
        return helper(y) - 0.5 * b * y + x[1]

    return si.odeint(rhs, 1.0, [0.0, 1.0], **TIGHT)[-1, 0]


def test_odeint_closure_through_helpers_matches_the_analytic_derivative() -> None:
    # y' = -1.5 a y + c: y(1) = c/k + (1 - c/k) e^{-k}, k = 1.5 a
    x = np.array([0.4, 0.3])
    k, c = 1.5 * x[0], x[1]
    e = np.exp(-k)
    _check(_closure_ode, x, np.array([1.5 * (-c / k**2 * (1 - e) - (1 - c / k) * e), (1 - e) / k]))


def test_odeint_traced_output_times_and_tfirst() -> None:
    # y' = -k y: dY_j/dt_j = -k Y_j (j >= 1), dY_j/dt_0 = k Y_j, dY_0/dt_0 = 0
    k = 0.9

    def f(x):
        Y = si.odeint(lambda t, y: -k * y, 2.0, x, tfirst=True, **TIGHT)[:, 0]
        return np.sum(W3 * Y)

    x = T3 + 0.05
    Y = 2.0 * np.exp(-k * (x - x[0]))
    ref = -k * W3 * Y
    ref[0] = k * np.sum(W3[1:] * Y[1:])
    _check(f, x, ref)


def test_odeint_at_default_tolerances_is_accurate_to_them() -> None:
    # the derivative of the exact solution, to the solver's tolerance (rtol = atol = 1.5e-8)
    f = lambda x: si.odeint(lambda y, t: -np.exp(x[0]) * y, 1.0, [0.0, 1.0])[-1, 0]  # noqa: E731
    x = np.array([-0.7])
    ref = -np.exp(x) * np.exp(-np.exp(x))
    _check(f, x, ref, rtol=1e-6, atol=0)


def test_solve_ivp_in_y0_args_and_closure_at_t_eval() -> None:
    def f(x):
        c = x[2]
        sol = si.solve_ivp(
            lambda t, y, k: -k * y + c, (0.0, 2.0), x[:2], t_eval=T3, args=(x[3],), method="LSODA", **TIGHT
        )
        return np.sum(sol.y * W3)

    # y = c/k + (y0 - c/k) e^{-k t}
    x = np.array([1.0, -0.5, 0.4, 1.2])
    c, k = x[2], x[3]
    e = np.exp(-k * T3)
    dk = np.sum(W3 * (-c / k**2 * (1 - e) - (x[:2, None] - c / k) * T3 * e), axis=1)
    ref = np.array([np.sum(W3 * e), np.sum(W3 * e), 2 * np.sum(W3 * (1 - e)) / k, np.sum(dk)])
    _check(f, x, ref, rtol=1e-8, atol=1e-9)
    sol = E.value_and_grad(f, x)  # the value is SciPy's own (plain run)
    assert np.isclose(sol[0], f(x))


def test_ode_solvers_refuse_what_they_cannot_differentiate() -> None:
    x = np.array([0.5])
    refusals = {
        r"odeint with Dfun=": lambda x: si.odeint(_decay, x, T3, args=(1.0,), Dfun=lambda y, t, k: -k)[-1, 0],
        r"odeint with full_output": lambda x: si.odeint(_decay, x, T3, args=(1.0,), full_output=True)[0][
            -1, 0
        ],
        r"solve_ivp without t_eval": lambda x: si.solve_ivp(lambda t, y: -x * y, (0, 1), [1.0]).y[0, -1],
        r"complex state": lambda x: np.real(si.odeint(lambda y, t: -y, x + 0j, T3)[-1, 0]),
        r"second derivatives": None,
    }
    for pattern, f in refusals.items():
        with pytest.raises(EngineError, match=pattern):
            if f is None:
                E.hessian(lambda z: si.odeint(_decay, z, T3, args=(1.0,))[-1, 0], x)
            else:
                E.grad(f, x)
    hidden = {}

    def g(z):  # a traced value the solver cannot see: neither in args= nor in the closure
        hidden["k"] = z[0]
        return si.odeint(lambda y, t: -hidden["k"] * y, z, T3)[-1, 0]

    with pytest.raises(EngineError, match="args="):
        E.grad(g, x)


# ---------------------------------------------------------------------------- logm

A_POS = np.eye(3) * 2 + 0.3 * rng.standard_normal((3, 3))  # real logarithm
A_NEG = -np.eye(3) * 2 + 0.3 * rng.standard_normal((3, 3))  # real negative eigenvalues: complex log
A_CPLX = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
W33 = rng.standard_normal((3, 3))


@pytest.mark.parametrize("A", [A_POS, A_NEG, A_CPLX], ids=["real", "negative-eigenvalues", "complex"])
def test_logm_tangent_inverts_the_expm_frechet_derivative_and_reverse_is_its_adjoint(A) -> None:
    dA = rng.standard_normal(A.shape)
    F, (dF,) = E.jvp(sla.logm, A, [dA])
    np.testing.assert_allclose(F, sla.logm(A), rtol=1e-13, atol=1e-14)
    # exp(logm(A)) = A: L_exp(logm A, L_log(A, E)) = E
    np.testing.assert_allclose(sla.expm_frechet(F, dF, compute_expm=False), dA, atol=1e-12)
    G = rng.standard_normal(A.shape) + 1j * rng.standard_normal(A.shape)
    _, pull = E.vjp(sla.logm, A)
    lhs = np.real(np.vdot(G, dF)) if np.iscomplexobj(F) else np.vdot(np.real(G), dF)
    assert abs(lhs - np.real(np.vdot(pull(G if np.iscomplexobj(F) else np.real(G)), dA))) < 1e-12


#: 2 x 2 (SciPy's logm takes milliseconds): a real log, and real negative eigenvalues (complex
#: log); complex matrices are checked exactly by the identities above
A2 = [np.array([[2.0, 0.3], [-0.4, 1.5]]), np.array([[-2.0, 0.3], [0.2, -1.4]])]


@pytest.mark.parametrize("A", A2, ids=["real", "negative-eigenvalues"])
def test_logm_gradients_match_finite_differences(A) -> None:
    def f(x):
        L = sla.logm(A + 0.1 * x)
        return np.sum(W33[:2, :2] * np.real(L)) + np.sum(np.imag(L) ** 2)

    x = 0.3 * rng.standard_normal((2, 2))
    _check(f, x, _fd(f, x, h=1e-3), rtol=1e-7, atol=1e-8)


def test_logm_second_derivative_and_a_tape_that_turns_complex() -> None:
    f = lambda z: np.sum(np.real(sla.logm(A2[0] + 0.1 * z.reshape(2, 2))) ** 2)  # noqa: E731
    x = rng.standard_normal(4)
    H = E.hessian(f, x)
    Hfd = np.array([(E.grad(f, x + 1e-5 * e) - E.grad(f, x - 1e-5 * e)) / 2e-5 for e in np.eye(4)])
    np.testing.assert_allclose(H, Hfd, atol=1e-7)
    g = lambda z: np.sum(np.real(sla.logm(z)))  # noqa: E731
    tape = E.record(g, A2[0])
    with pytest.raises(EngineError, match="record the tape at this point"):
        tape.value_and_grad(A2[1])


# ---------------------------------------------------------------------------- complex svd / qr

WC = rng.standard_normal((5, 5))
BC = rng.standard_normal(5) + 1j * rng.standard_normal(5)


def _svd(x):
    return np.linalg.svd(x, full_matrices=False)


#: gauge-invariant functions of the complex singular vectors (the phases of u_j, v_j cancel)
SVD_CASES: dict[str, Callable] = {
    "abs2_U": lambda x: np.sum(np.abs(_svd(x)[0]) ** 2 * WC[: x.shape[0], : min(x.shape)]),
    "abs2_Vh": lambda x: np.sum(np.abs(_svd(x)[2]) ** 2 * WC[: min(x.shape), : x.shape[1]]),
    "rank1": lambda x: np.sum(
        WC[: x.shape[0], : x.shape[1]] * np.imag((lambda u, s, vh: s[0] * np.outer(u[:, 0], vh[0]))(*_svd(x)))
    ),
    "projection": lambda x: np.sum(np.abs(np.conj(_svd(x)[0]).T @ BC[: x.shape[0]])),
    "scipy_USVh": lambda x: np.sum(
        WC[: x.shape[0], : x.shape[1]]
        * np.real((lambda u, s, vh: (u[:, :2] * s[:2]) @ vh[:2])(*sla.svd(x, full_matrices=False)))
    ),
}


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4)])
@pytest.mark.parametrize("name", sorted(SVD_CASES))
def test_complex_svd_vectors_gauge_invariant_functions_match_finite_differences(name, shape) -> None:
    f = SVD_CASES[name]
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    _check(f, x, _fd(f, x, h=1e-4), rtol=1e-7, atol=1e-8)


QR_CASES: dict[str, Callable] = {  # LAPACK's complex R has a real diagonal: Q and R are unique
    "Q_parts": lambda x: np.sum(
        WC[: x.shape[0], : x.shape[1]] * np.real(np.linalg.qr(x)[0])
        + WC[1:, : x.shape[1]][: x.shape[0]] * np.imag(np.linalg.qr(x)[0])
    ),
    "R_parts": lambda x: np.sum(np.real(np.linalg.qr(x)[1]) ** 3 + WC[:3, :3] * np.imag(np.linalg.qr(x)[1])),
    "scipy_Q": lambda x: np.sum(WC[: x.shape[0], : x.shape[1]] * np.imag(sla.qr(x, mode="economic")[0])),
}


@pytest.mark.parametrize("shape", [(3, 3), (4, 3)])
@pytest.mark.parametrize("name", sorted(QR_CASES))
def test_complex_qr_matches_finite_differences(name, shape) -> None:
    f = QR_CASES[name]
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    _check(f, x, _fd(f, x, h=1e-4), rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------------------- lists of traced values

LIST_CASES: dict[str, Callable] = {
    "mean_max_of_list": lambda x: (
        np.mean([np.sum(p**2) for p in np.split(x, 3)]) + np.max([p.sum() for p in np.split(x, 3)])
    ),
    "std_of_tuple": lambda x: np.std((x[0], x[1] ** 2, np.sin(x[2]))),
    "sum_nested_list": lambda x: np.sum([[x[0], x[1]], [x[2] * x[3], 1.0]]),
    "mean_of_arrays_axis": lambda x: np.sum(np.mean([x[:3], x[3:] ** 2], axis=0)),
    "dot_list_array": lambda x: np.dot([x[0], x[1]], np.array([2.0, 3.0])),
    "norm_of_list": lambda x: np.linalg.norm([x[0], x[1], 3.0]),
    "polyval_coefficients": lambda x: np.polyval([x[0], x[1], x[2]], 0.7),
    "median_of_list": lambda x: np.median([x[0], x[1], x[4]]),
}


@pytest.mark.parametrize("name", sorted(LIST_CASES))
def test_numpy_functions_of_lists_of_traced_values(name) -> None:
    f = LIST_CASES[name]
    x = np.array([0.3, -1.2, 2.0, 0.5, 0.1, 0.9])
    _check(f, x, _fd(f, x, h=1e-3), rtol=1e-8, atol=1e-9)


def test_list_wrappers_are_numpy_outside_a_trace() -> None:
    from anydiff.engine import _intercept_lists as L

    E.grad(LIST_CASES["mean_max_of_list"], np.ones(6))
    for name, orig in L.ORIGINAL.items():
        ns, attr = L._namespace(name)
        assert getattr(ns, attr) is orig, name


def test_float64_of_traced_names_the_fix() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(EngineError, match=r"np\.asarray\(x, dtype=np\.float64\)"):
            E.grad(lambda x: np.float64(np.sum(x.astype(np.float32))) + np.sum(x), np.ones(2))
        with pytest.raises(EngineError, match=r"float\(traced\).*use the value itself"):
            E.grad(lambda x: float(np.sum(x)), np.ones(2))
    # the fix works: a traced dtype change keeps the derivative
    g = E.grad(lambda x: np.sum(np.asarray(x.astype(np.float32) ** 2, dtype=np.float64)), np.ones(2))
    np.testing.assert_allclose(g, [2.0, 2.0])
