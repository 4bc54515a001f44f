"""Broad-suite cases, third batch (part 1): ODE loops, physics, finance, signals, probability,
geometry and losses written as scientists write them.  Names start with ``b2_``; part 2 is
:mod:`broad_cases_b2_idioms`."""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg as sla
import scipy.special as sps
import scipy.stats as st
from broad_cases import case, pt

_r = np.random.default_rng(777)
M33 = _r.standard_normal((3, 3))
M44 = _r.standard_normal((4, 4))
V6 = _r.standard_normal(6)
LAB6 = np.array([1, 0, 0, 1, 1, 0])
CNT6 = np.array([3, 0, 1, 4, 2, 1])
COV3 = M33 @ M33.T + 3 * np.eye(3)
IMG = _r.standard_normal((5, 5))


# ---------------------------------------------------------------------------- ODE integrators
@case(pt(2))
def b2_euler_buffer(x):
    n, dt = 20, 0.05
    ys = np.zeros((n + 1, 2))
    ys[0] = x
    for k in range(n):
        ys[k + 1] = ys[k] + dt * np.array([ys[k, 1], -ys[k, 0] - 0.1 * ys[k, 1]])
    return np.sum(ys[-1] ** 2) + 0.1 * ys[:, 0].sum()


@case(pt(3))
def b2_rk4_lotka(x):
    a, b = 1.0 + 0.1 * x[0], 0.5 + 0.1 * x[1]

    def f(y):
        return np.array([a * y[0] - b * y[0] * y[1], -y[1] + 0.3 * y[0] * y[1]])

    y, h = np.array([1.0, 0.5 + 0.1 * x[2]]), 0.1
    for _ in range(10):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y[0] * y[1]


@case(pt(3))
def b2_rk4_matrix_ode(x):
    A = np.array([[0.0, 1.0, 0.0], [-1.0, -0.2, 0.3], [0.1, 0.0, -0.5]])
    y = x.copy()
    h = 0.1
    for _ in range(8):
        k1 = A @ y
        k2 = A @ (y + 0.5 * h * k1)
        k3 = A @ (y + 0.5 * h * k2)
        k4 = A @ (y + h * k3)
        y += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
    return np.linalg.norm(y)


@case(pt(2, lo=0.5, hi=1.5))
def b2_verlet_oscillator(x):
    q, p, dt = x[0], x[1], 0.05
    traj = []
    for _ in range(15):
        p = p - 0.5 * dt * np.sin(q)
        q = q + dt * p
        p = p - 0.5 * dt * np.sin(q)
        traj.append(q)
    return np.mean(np.array(traj) ** 2)


@case(pt(4))
def b2_heat_implicit_loop(x):
    n = x.size
    L = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    M = np.eye(n) - 0.1 * L
    u = x
    for _ in range(5):
        u = np.linalg.solve(M, u)
    return np.sum(u**3)


@case(pt(2))
def b2_euler_while(x):
    t, y, k = 0.0, x.copy(), 0
    while k < 12:
        y = y + 0.1 * np.array([-y[1], y[0]]) * np.exp(-t)
        t += 0.1
        k += 1
    return y[0] - 2 * y[1] ** 2


# ---------------------------------------------------------------------------- physics
@case(pt(3, 3))
def b2_nbody_energy(x):
    m = np.array([1.0, 2.0, 1.5])
    v = 0.1 * np.arange(9.0).reshape(3, 3)
    kin = 0.5 * np.sum(m[:, None] * v**2)
    pot = 0.0
    for i in range(3):
        for j in range(i + 1, 3):
            r = np.linalg.norm(x[i] - x[j] + np.array([2.0 * (j - i), 0, 0]))
            pot -= m[i] * m[j] / r
    return kin + pot


@case(pt(3, 2))
def b2_nbody_vectorized(x):
    d = x[:, None, :] - x[None, :, :] + 3 * np.eye(3)[:, :, None]
    r = np.sqrt(np.sum(d**2, axis=-1) + 1e-2)
    iu = np.triu_indices(3, k=1)
    return np.sum(1.0 / r[iu])


@case(pt(6))
def b2_spring_chain_2d(x):
    p = x.reshape(3, 2) + np.array([[0, 0], [1, 0], [2, 0]])
    seg = np.diff(p, axis=0)
    ln = np.linalg.norm(seg, axis=1)
    return 0.5 * np.sum((ln - 1.0) ** 2) + 0.1 * np.sum(p[:, 1])


@case(pt(9))
def b2_ising_smooth(x):
    s = np.tanh(x).reshape(3, 3)
    e = -np.sum(s[:-1, :] * s[1:, :]) - np.sum(s[:, :-1] * s[:, 1:])
    return e + 0.3 * np.sum(s)


@case(pt(8))
def b2_ising_roll(x):
    s = np.tanh(x)
    return -np.sum(s * np.roll(s, 1)) - 0.5 * np.sum(s * np.roll(s, -2))


@case(pt(4, lo=0.5, hi=1.5))
def b2_morse_potential(x):
    r = np.abs(np.diff(np.cumsum(x))) + 1.0
    return np.sum((1 - np.exp(-1.5 * (r - 1.2))) ** 2)


@case(pt(3))
def b2_rigid_rotation_energy(x):
    w = x
    inertia = np.diag([1.0, 2.0, 3.0])
    L = inertia @ w
    return 0.5 * w @ L + np.linalg.norm(np.cross(w, L))


@case(pt(4, lo=0.2, hi=1.0))
def b2_ideal_chain_entropy(x):
    p = x / x.sum()
    return -np.sum(p * np.log(p)) + np.log(x.sum())


# ---------------------------------------------------------------------------- finance
def _bs_call(S, K, T, r, sig):
    d1 = (np.log(S / K) + (r + 0.5 * sig**2) * T) / (sig * np.sqrt(T))
    d2 = d1 - sig * np.sqrt(T)
    return S * st.norm.cdf(d1) - K * np.exp(-r * T) * st.norm.cdf(d2)


@case(np.array([100.0, 0.2, 1.0]))
def b2_black_scholes(x):
    return _bs_call(x[0], 95.0, x[2], 0.03, x[1])


@case(np.array([90.0, 100.0, 110.0]))
def b2_black_scholes_strip(x):
    return np.sum(_bs_call(x, 100.0, 0.5, 0.01, 0.25))


@case(np.array([100.0, 0.25]))
def b2_put_parity(x):
    S, sig, K, T, r = x[0], x[1], 100.0, 1.0, 0.05
    c = _bs_call(S, K, T, r, sig)
    d1 = (np.log(S / K) + (r + sig**2 / 2) * T) / (sig * np.sqrt(T))
    d2 = d1 - sig * np.sqrt(T)
    p = K * np.exp(-r * T) * st.norm.cdf(-d2) - S * st.norm.cdf(-d1)
    return c + 2 * p


@case(pt(3, lo=0.1, hi=1.0))
def b2_portfolio_variance(x):
    w = x / np.sum(x)
    return w @ COV3 @ w - 0.5 * w.dot(np.array([0.1, 0.2, 0.15]))


@case(pt(3, lo=0.1, hi=1.0))
def b2_sharpe(x):
    w = sps.softmax(x)
    mu = np.array([0.05, 0.08, 0.12])
    return (w @ mu) / np.sqrt(w.T @ COV3 @ w)


@case(np.array([0.04, 0.05]))
def b2_bond_price(x):
    t = np.arange(1, 6)
    rates = x[0] + (x[1] - x[0]) * t / 5
    cf = np.full(5, 3.0)
    cf[-1] += 100
    return np.sum(cf * np.exp(-rates * t))


@case(np.array([0.1, 0.2]))
def b2_binomial_tree(x):
    r, sig, n, S0, K = x[0], x[1], 6, 100.0, 100.0
    dt = 1.0 / n
    u = np.exp(sig * np.sqrt(dt))
    d = 1 / u
    q = (np.exp(r * dt) - d) / (u - d)
    j = np.arange(n + 1)
    v = np.maximum(S0 * u**j * d ** (n - j) - K, 0.0)
    for _ in range(n):
        v = np.exp(-r * dt) * (q * v[1:] + (1 - q) * v[:-1])
    return v[0]


# ---------------------------------------------------------------------------- signals / images
@case(pt(6))
def b2_convolve_full(x):
    return np.sum(np.convolve(x, [0.25, 0.5, 0.25], mode="full") ** 2)


@case(pt(6))
def b2_convolve_valid(x):
    return np.sum(np.sin(np.convolve(x, np.array([1.0, -2.0, 1.0]), mode="valid")))


@case(pt(3))
def b2_convolve_kernel(x):
    return np.sum(np.convolve(V6, x, mode="same") ** 2)


@case(pt(5, 5))
def b2_stencil_laplace(x):
    lap = x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:] - 4 * x[1:-1, 1:-1]
    return np.sum(lap**2)


@case(pt(4, 4))
def b2_stencil_buffer(x):
    out = np.zeros_like(x)
    out[1:-1, 1:-1] = 0.25 * (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
    out[0, :] = x[0, :]
    return np.sum(out * IMG[:4, :4])


@case(pt(7))
def b2_np_gradient_spacing(x):
    g = np.gradient(x, 0.5)
    return np.sum(g**2)


@case(pt(4, 5))
def b2_np_gradient_2d(x):
    gy, gx = np.gradient(x)
    return np.sum(gx**2 + gy**2)


@case(pt(7))
def b2_gradient_edge2(x):
    return np.sum(np.gradient(x, edge_order=2) * np.arange(7))


@case(pt(7))
def b2_diff_n2(x):
    return np.sum(np.diff(x, n=2) ** 2)


@case(pt(3, 4))
def b2_diff_axis0_prepend(x):
    return np.sum(np.diff(x, axis=0, prepend=0.0) ** 2)


@case(pt(3, 4))
def b2_roll_2d(x):
    return np.sum(x * np.roll(x, shift=(1, -1), axis=(0, 1)))


@case(pt(8))
def b2_fft_abs(x):
    return np.sum(np.abs(np.fft.fft(x)))


@case(pt(8))
def b2_rfft_lowpass(x):
    X = np.fft.rfft(x)
    X[3:] = 0
    return np.sum(np.fft.irfft(X, n=8) ** 2)


@case(pt(8))
def b2_spectral_derivative(x):
    k = np.fft.fftfreq(8) * 8
    d = np.fft.ifft(1j * k * np.fft.fft(x)).real
    return np.sum(d**2)


@case(pt(4, 4))
def b2_box_blur_loop(x):
    out = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            out[i, j] = x[i : i + 3, j : j + 3].mean()
    return np.sum(out**2)


@case(pt(6))
def b2_moving_average_cumsum(x):
    c = np.cumsum(np.insert(x, 0, 0.0))
    ma = (c[3:] - c[:-3]) / 3
    return np.sum(ma**2)


@case(pt(4, 4))
def b2_sobel_edges(x):
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    g = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            g[i, j] = np.sum(kx * x[i : i + 3, j : j + 3])
    return np.sum(np.sqrt(g**2 + 1e-3))


# ---------------------------------------------------------------------------- probabilistic
@case(pt(2, lo=0.5, hi=2.0))
def b2_gamma_loglik(x):
    a, b = x
    y = np.array([0.5, 1.2, 2.0, 0.8])
    return np.sum(a * np.log(b) - sps.gammaln(a) + (a - 1) * np.log(y) - b * y)


@case(pt(2, lo=0.5, hi=3.0))
def b2_beta_binomial(x):
    a, b = x
    k, n = np.array([2, 5, 1]), 6
    return np.sum(sps.betaln(k + a, n - k + b) - sps.betaln(a, b))


@case(pt(3, lo=0.0, hi=1.0))
def b2_xlogy_entropy(x):
    p = sps.softmax(x)
    return -np.sum(sps.xlogy(p, p)) + np.sum(sps.xlog1py(p, -p))


@case(pt(4))
def b2_logsumexp_axis(x):
    m = x.reshape(2, 2) + M33[:2, :2]
    return np.sum(sps.logsumexp(m, axis=1)) - sps.logsumexp(m)


@case(pt(5))
def b2_softmax_maxsub(x):
    z = x - np.max(x)
    e = np.exp(z)
    p = e / e.sum()
    return -np.log(p[2]) + np.sum(p**2)


@case(pt(2, 3))
def b2_softmax_keepdims(x):
    z = x - x.max(axis=1, keepdims=True)
    lp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(lp[np.arange(2), [0, 2]])


@case(pt(3))
def b2_gmm_loglik(x):
    mu = x
    y = np.array([-1.0, 0.2, 0.9, 1.5])
    ll = -0.5 * (y[:, None] - mu[None, :]) ** 2 - 0.5 * np.log(2 * np.pi)
    return -np.sum(sps.logsumexp(ll + np.log(1 / 3), axis=1))


@case(pt(2))
def b2_poisson_counts(x):
    lam = np.exp(x[0] + x[1] * np.linspace(0, 1, 6))
    return -np.sum(CNT6 * np.log(lam) - lam - sps.gammaln(CNT6 + 1))


@case(pt(3, lo=0.5, hi=2.0))
def b2_dirichlet_logpdf(x):
    p = np.array([0.2, 0.5, 0.3])
    return np.sum(sps.gammaln(x)) - sps.gammaln(np.sum(x)) - np.sum((x - 1) * np.log(p))


@case(pt(4))
def b2_log_softmax_scipy(x):
    return -sps.log_softmax(x)[1] + sps.softmax(2 * x)[0]


@case(pt(3))
def b2_hmm_forward(x):
    T = sps.softmax(np.array([[1.0, 0.0], [0.0, 1.0]]) + x[0], axis=1)
    em = np.array([[0.9, 0.1], [0.2, 0.8]])
    obs = [0, 1, 1, 0]
    alpha = np.array([0.5 + 0.1 * x[1], 0.5 - 0.1 * x[1]]) * em[:, obs[0]]
    for o in obs[1:]:
        alpha = (alpha @ T) * em[:, o] * (1 + 0.1 * x[2])
    return np.log(alpha.sum())


@case(pt(4, lo=0.1, hi=0.9))
def b2_erf_probit(x):
    p = 0.5 * (1 + sps.erf(x / np.sqrt(2)))
    return -np.sum(LAB6[:4] * np.log(p) + (1 - LAB6[:4]) * np.log1p(-p))


@case(pt(2, lo=0.5, hi=1.5))
def b2_student_t_manual(x):
    nu, s = x[0] + 2, x[1]
    y = np.array([0.3, -1.2, 2.0])
    return -np.sum(sps.gammaln((nu + 1) / 2) - sps.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi * s**2)
                   - (nu + 1) / 2 * np.log1p(y**2 / (nu * s**2)))


# ---------------------------------------------------------------------------- geometry
@case(pt(3, 3))
def b2_triangle_area(x):
    return 0.5 * np.linalg.norm(np.cross(x[1] - x[0] + [1, 0, 0], x[2] - x[0] + [0, 1, 0]))


@case(pt(2, 3))
def b2_angle_arctan2(x):
    a, b = x[0] + [1, 0, 0], x[1] + [0, 1, 0]
    return np.arctan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b))


@case(pt(1))
def b2_rotation_matrix(x):
    c, s = np.cos(x[0]), np.sin(x[0])
    R = np.array([[c, -s], [s, c]])
    p = np.array([[1.0, 0.5], [0.2, -0.3]])
    return np.sum((R @ p.T).T * np.array([1.0, 2.0]))


@case(pt(3))
def b2_rodrigues(x):
    th = np.linalg.norm(x)
    k = x / th
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    R = np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K
    return np.trace(R @ M33)


@case(pt(4, 2))
def b2_polygon_area_shoelace(x):
    p = x + np.array([[0, 0], [2, 0], [2, 2], [0, 2]])
    xs, ys = p[:, 0], p[:, 1]
    return 0.5 * np.abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))


@case(pt(4, 3))
def b2_pairwise_dists(x):
    d2 = np.sum(x**2, 1)[:, None] + np.sum(x**2, 1)[None, :] - 2 * x @ x.T
    return np.sum(np.sqrt(d2[np.triu_indices(4, 1)] + 0.1))


@case(pt(3))
def b2_norm_ords(x):
    return np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, 3) + np.linalg.norm(x, -1)


@case(pt(2, 3))
def b2_norm_axis_keepdims(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    u = x / n
    return np.sum(u[0] * u[1])


@case(pt(4))
def b2_quaternion_rotate(x):
    q = x / np.linalg.norm(x)
    w, a, b, c = q
    R = np.array([[1 - 2 * (b * b + c * c), 2 * (a * b - c * w), 2 * (a * c + b * w)],
                  [2 * (a * b + c * w), 1 - 2 * (a * a + c * c), 2 * (b * c - a * w)],
                  [2 * (a * c - b * w), 2 * (b * c + a * w), 1 - 2 * (a * a + b * b)]])
    return np.sum(R @ np.array([1.0, 2.0, 3.0]) * np.array([0.3, -0.1, 0.5]))


@case(pt(2, 2))
def b2_polar_angles(x):
    ang = np.arctan2(x[:, 1] + 1.5, x[:, 0] + 1.5)
    return np.sum(np.sin(ang) ** 2 + ang)


# ---------------------------------------------------------------------------- losses
@case(pt(6))
def b2_huber_where(x):
    r = x - V6
    d = 0.7
    return np.mean(np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d)))


@case(pt(6))
def b2_hinge_maximum(x):
    y = 2 * LAB6 - 1
    return np.mean(np.maximum(0, 1 - y * x)) + 0.01 * x @ x


@case(pt(6))
def b2_squared_hinge(x):
    y = 2 * LAB6 - 1
    return np.sum(np.maximum(0.0, 1.0 - y * x) ** 2)


@case(pt(6))
def b2_log_cosh_loss(x):
    r = x - V6
    return np.sum(r + np.logaddexp(0.0, -2.0 * r) - np.log(2.0))


@case(pt(6, lo=-2.0, hi=2.0))
def b2_focal_loss(x):
    p = sps.expit(x)
    pt_ = np.where(LAB6 == 1, p, 1 - p)
    return -np.sum((1 - pt_) ** 2 * np.log(pt_))


@case(pt(2, 3))
def b2_multiclass_hinge(x):
    y = np.array([2, 0])
    correct = x[np.arange(2), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(2), y] = 0
    return margins.sum()


@case(pt(6))
def b2_quantile_loss(x):
    r = V6 - x
    q = 0.3
    return np.sum(np.maximum(q * r, (q - 1) * r))


@case(pt(6))
def b2_smooth_l1(x):
    r = np.abs(x - V6)
    return np.sum(np.where(r < 1, 0.5 * r**2, r - 0.5))


@case(pt(3, 2))
def b2_contrastive(x):
    d = np.linalg.norm(x[:, None, :] - x[None, :, :] + 0.5 * np.eye(3)[:, :, None], axis=-1)
    same = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    return np.sum(same * d**2 + (1 - same) * np.maximum(0, 2.0 - d) ** 2)


@case(pt(4))
def b2_kl_gaussians(x):
    mu, logs = x[:2], x[2:]
    return 0.5 * np.sum(np.exp(2 * logs) + mu**2 - 1 - 2 * logs)


@case(pt(5))
def b2_elastic_net(x):
    A = M44[:, :4]
    r = A @ x[:4] + x[4] - V6[:4]
    return 0.5 * r @ r + 0.1 * np.sum(np.abs(x)) + 0.05 * np.sum(x**2)


@case(pt(6))
def b2_cosine_embedding(x):
    a, b = x[:3], x[3:]
    return 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


# ---------------------------------------------------------------------------- scipy linalg / special
@case(pt(2, 2))
def b2_expm_trace(x):
    return np.trace(sla.expm(0.5 * x)) + np.sum(sla.expm(x - x.T)[0])


@case(pt(3, 3))
def b2_solve_triangular_lower(x):
    L = np.tril(x) + 3 * np.eye(3)
    return np.sum(sla.solve_triangular(L, np.array([1.0, 2.0, 3.0]), lower=True) ** 2)


@case(pt(3, 3))
def b2_solve_triangular_trans(x):
    U = np.triu(x) + 3 * np.eye(3)
    return np.sum(sla.solve_triangular(U, V6[:3], trans="T") * V6[3:])


@case(pt(3, 3))
def b2_cho_solve(x):
    A = x @ x.T + 3 * np.eye(3)
    c = sla.cho_factor(A)
    return V6[:3] @ sla.cho_solve(c, V6[3:])


@case(pt(3, 3))
def b2_cholesky_logdet(x):
    A = x @ x.T + 3 * np.eye(3)
    L = np.linalg.cholesky(A)
    return 2 * np.sum(np.log(np.diag(L)))


@case(pt(5))
def b2_special_mix(x):
    return np.sum(sps.erf(x) * sps.expit(x)) + np.sum(sps.erfc(x) ** 2) + np.sum(sps.log_expit(x))


@case(pt(4, lo=0.5, hi=2.0))
def b2_digamma_polygamma(x):
    return np.sum(sps.digamma(x) + sps.polygamma(1, x) + sps.gamma(x))


@case(pt(3, lo=0.5, hi=2.0))
def b2_multivariate_gamma(x):
    return functools.reduce(lambda acc, v: acc + sps.gammaln(v) * v, x, 0.0)
