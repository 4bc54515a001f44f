"""Cases of the broad gradient suite: small scalar functions written the way scientists write
NumPy/SciPy code (not the way an AD tool would like it).

Each case is ``(name, f, x)``: ``f(x)`` returns a scalar, ``x`` is the point (a float or complex
array).  The cases are registered with :func:`case`; :data:`CASES` holds them in order.  The
SciPy cases live in :mod:`broad_cases_scipy` (imported by the suite).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

CASES: list[tuple[str, Callable, np.ndarray]] = []
_rng = np.random.default_rng(20261202)


def pt(
    *shape: int, lo: float = -1.0, hi: float = 1.0, cplx: bool = False, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A random point of the given shape, entries in ``[lo, hi]`` (complex: both parts); from
    ``rng`` if given (a module with its own generator leaves the other modules' points alone)."""
    rng = _rng if rng is None else rng
    x = rng.uniform(lo, hi, shape)
    if cplx:
        x = x + 1j * rng.uniform(lo, hi, shape)
    return x


def case(x: np.ndarray, name: str | None = None) -> Callable:
    def deco(f: Callable) -> Callable:
        CASES.append((name or f.__name__, f, np.asarray(x)))
        return f

    return deco


# ---------------------------------------------------------------------------- fixed data
A34 = _rng.standard_normal((3, 4))
A33 = _rng.standard_normal((3, 3))
B43 = _rng.standard_normal((4, 3))
Y5 = _rng.standard_normal(5)
LAB5 = np.array([0, 1, 1, 0, 1])
W4 = np.abs(_rng.standard_normal(4)) + 0.5
IDX = np.array([2, 0, 3, 3, 1])


def _spd(x: Any, n: int) -> Any:
    M = np.reshape(x[: n * n], (n, n))
    return M @ M.T + n * np.eye(n)


# ---------------------------------------------------------------------------- losses
@case(pt(5))
def mse(x):
    return np.mean((x - Y5) ** 2)


@case(pt(5))
def mae_smooth(x):
    return np.mean(np.sqrt((x - Y5) ** 2 + 1e-3))


@case(pt(5))
def huber(x):
    r = x - Y5
    a = np.abs(r)
    return np.sum(np.where(a < 0.5, 0.5 * r**2, 0.5 * (a - 0.25)))


@case(pt(5))
def bce_logits(x):
    return np.mean(np.maximum(x, 0) - x * LAB5 + np.log1p(np.exp(-np.abs(x))))


@case(pt(5, lo=0.1, hi=0.9))
def bce_probs(x):
    p = np.clip(x, 1e-7, 1 - 1e-7)
    return -np.mean(LAB5 * np.log(p) + (1 - LAB5) * np.log(1 - p))


@case(pt(2, 4))
def softmax_xent(x):
    z = x - np.max(x, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(logp[np.arange(2), [1, 3]])


@case(pt(4))
def hinge(x):
    return np.sum(np.maximum(0.0, 1.0 - x * np.array([1, -1, 1, -1])))


@case(pt(4))
def l1_l2_reg(x):
    return 0.1 * np.sum(np.abs(x)) + 0.5 * np.dot(x, x)


@case(pt(4))
def log_cosh(x):
    return np.sum(np.log(np.cosh(x - W4)))


@case(pt(3))
def linreg_normal(x):
    r = A34.T @ x - np.arange(4.0)
    return r @ r


@case(pt(3))
def logistic_regression(x):
    z = B43 @ x
    return np.sum(np.log1p(np.exp(-z * np.array([1, -1, 1, 1]))))


@case(pt(3))
def poisson_nll(x):
    eta = B43 @ x
    return np.sum(np.exp(eta) - np.array([1, 0, 2, 1]) * eta)


@case(pt(4, lo=0.2, hi=2.0))
def kl_div(x):
    p = x / x.sum()
    q = W4 / W4.sum()
    return np.sum(p * np.log(p / q))


@case(pt(4))
def entropy_softmax(x):
    p = np.exp(x) / np.sum(np.exp(x))
    return -np.sum(p * np.log(p))


@case(pt(6))
def mlp_tiny(x):
    W = x[:4].reshape(2, 2)
    b = x[4:]
    h = np.tanh(W @ np.array([0.5, -1.0]) + b)
    return np.sum(h**2)


@case(pt(6))
def mlp_relu(x):
    W = x.reshape(2, 3)
    h = np.maximum(W @ np.array([0.3, -0.7, 1.1]), 0)
    return np.sum(h) + np.sum(W**2)


@case(pt(4))
def sigmoid_manual(x):
    s = 1 / (1 + np.exp(-x))
    return np.sum(s * (1 - s))


@case(pt(4))
def softplus(x):
    return np.sum(np.logaddexp(0, x))


@case(pt(4))
def gelu_tanh(x):
    return np.sum(0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))))


@case(pt(4))
def elu(x):
    return np.sum(np.where(x > 0, x, np.expm1(x)))


# ---------------------------------------------------------------------------- physics
@case(pt(6))
def spring_chain(x):
    d = np.diff(x)
    return 0.5 * np.sum((d - 0.3) ** 2)


@case(pt(3, 2))
def lennard_jones(x):
    E = 0.0
    n = x.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            r2 = np.sum((x[i] - x[j] + np.array([2.0 * (j - i), 0.0])) ** 2)
            E = E + 4 * (r2**-6 - r2**-3)
    return E


@case(pt(3, 2))
def coulomb(x):
    P = x + np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    D = P[:, None, :] - P[None, :, :]
    r = np.sqrt(np.sum(D**2, axis=-1) + np.eye(3))
    return np.sum(np.triu(1.0 / r, 1))


@case(pt(2))
def pendulum_energy(x):
    theta, omega = x
    return 0.5 * omega**2 + 9.81 * (1 - np.cos(theta))


@case(pt(4))
def harmonic_euler(x):
    q, p = x[0], x[1]
    dt = 0.1
    for _ in range(10):
        p = p - dt * q * x[2]
        q = q + dt * p * x[3]
    return q**2 + p**2


@case(pt(2))
def rk4_decay(x):
    k, y = x[0] + 1.5, x[1] + 1.0
    h = 0.1
    for _ in range(5):
        k1 = -k * y
        k2 = -k * (y + h / 2 * k1)
        k3 = -k * (y + h / 2 * k2)
        k4 = -k * (y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


@case(pt(5))
def heat_explicit(x):
    u = x.copy()
    for _ in range(4):
        u[1:-1] = u[1:-1] + 0.2 * (u[2:] - 2 * u[1:-1] + u[:-2])
    return np.sum(u**2)


@case(pt(4))
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@case(pt(2))
def himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


@case(pt(3))
def rastrigin(x):
    return 10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x))


@case(pt(4))
def ackley(x):
    n = x.size
    return (
        -20 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / n)) - np.exp(np.sum(np.cos(2 * np.pi * x)) / n) + 20 + np.e
    )


@case(pt(3))
def gravity_potential(x):
    m = np.array([1.0, 2.0])
    pos = np.array([[3.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    return -np.sum(m / np.linalg.norm(pos - x, axis=1))


@case(pt(3, 3))
def stress_energy(x):
    eps = 0.5 * (x + x.T)
    return 0.5 * 2.0 * np.sum(eps * eps) + 0.5 * 1.0 * np.trace(eps) ** 2


@case(pt(4, lo=0.5, hi=1.5))
def ideal_gas_mix(x):
    n = x / np.sum(x)
    return np.sum(n * np.log(n)) + np.dot(n, W4)


@case(pt(3))
def projectile(x):
    v0, ang, g = 10 + x[0], 0.7 + 0.1 * x[1], 9.8 + x[2]
    return v0**2 * np.sin(2 * ang) / g


# ---------------------------------------------------------------------------- statistics
@case(pt(6))
def sample_var(x):
    return np.var(x, ddof=1)


@case(pt(6))
def sample_std(x):
    return np.std(x)


@case(pt(3, 4))
def zscore_sum(x):
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return np.sum(z * np.arange(12.0).reshape(3, 4))


@case(pt(4, 3))
def covariance(x):
    C = np.cov(x, rowvar=False)
    return np.sum(C * A33)


@case(pt(2, 5))
def corrcoef(x):
    return np.corrcoef(x)[0, 1]


@case(pt(2))
def gaussian_nll(x):
    mu, log_s = x
    return np.sum(0.5 * ((Y5 - mu) / np.exp(log_s)) ** 2 + log_s + 0.5 * np.log(2 * np.pi))


@case(pt(5))
def weighted_mean(x):
    w = np.array([1.0, 2, 3, 2, 1])
    return np.average(x**2, weights=w)


@case(pt(6))
def median_like(x):
    return np.median(x)


@case(pt(6))
def percentile(x):
    return np.percentile(x, 30)


@case(pt(5, lo=0.1, hi=2))
def geometric_mean(x):
    return np.exp(np.mean(np.log(x)))


@case(pt(5, lo=0.1, hi=2))
def harmonic_mean(x):
    return len(x) / np.sum(1.0 / x)


@case(pt(3))
def mixture_loglik(x):
    mus = x
    ll = 0.0
    for y in Y5:
        ll = ll + np.log(np.sum(np.exp(-0.5 * (y - mus) ** 2)) / 3)
    return ll


@case(pt(4))
def ar1_loglik(x):
    phi = 0.5 * np.tanh(x[0])
    e = Y5[1:] - phi * Y5[:-1] - x[1]
    return -0.5 * np.sum(e**2) * np.exp(x[2]) + x[3] ** 2


@case(pt(5))
def moments(x):
    m = x.mean()
    return np.mean((x - m) ** 3) / np.mean((x - m) ** 2) ** 1.5


# ---------------------------------------------------------------------------- loops, buffers
@case(pt(5))
def buffer_loop(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] += x[i] * i
    return np.sum(y**2)


@case(pt(5))
def buffer_recurrence(x):
    y = np.empty(5)
    y[0] = x[0]
    for i in range(1, 5):
        y[i] = 0.5 * y[i - 1] + x[i]
    return np.sum(y * y)


@case(pt(4))
def buffer_2d(x):
    M = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            M[i, j] = x[i] * x[j] + (i == j)
    return np.linalg.det(M)


@case(pt(4))
def buffer_slices(x):
    y = np.ones(6)
    y[1:5] = x**2
    y[::2] *= 3.0
    return np.sum(y * np.arange(6))


@case(pt(4))
def buffer_fancy(x):
    y = np.zeros(6)
    y[[0, 2, 4, 5]] = x
    y[np.array([1, 3])] += x[:2] * 2
    return np.sum(np.sin(y))


@case(pt(4))
def buffer_boolean(x):
    y = np.zeros(4)
    m = np.array([True, False, True, True])
    y[m] = x[m] ** 2
    y[~m] = -x[~m]
    return np.sum(y * W4)


@case(pt(3))
def buffer_list_of_scalars(x):
    v = np.array([x[0] * x[1], x[1] ** 2, np.sin(x[2]), 1.0])
    return np.sum(v**2)


@case(pt(3))
def buffer_full(x):
    y = np.full(3, 2.0)
    y[1] = x[1]
    return np.prod(y + x)


@case(pt(3))
def comprehension_sum(x):
    return sum(x[i] ** (i + 1) for i in range(3))


@case(pt(3))
def list_comprehension_array(x):
    return np.sum(np.array([np.exp(xi) for xi in x]) * np.array([1.0, 2.0, 3.0]))


@case(pt(4))
def tuple_unpacking(x):
    a, b, c, d = x
    return a * b - c / (2 + d)


@case(pt(2, 3))
def row_unpacking(x):
    r0, r1 = x
    return np.dot(r0, r1)


@case(pt(4))
def inplace_ops(x):
    y = x.copy()
    y += 1.0
    y *= x
    y /= 2.0
    y -= x**3
    return np.sum(y)


@case(pt(4))
def inplace_pow(x):
    y = np.array(x)
    y **= 2
    return np.sum(y)


@case(pt(5))
def running_max_loop(x):
    best = x[0]
    for v in x[1:]:
        best = np.maximum(best, v)
    return best


@case(pt(5))
def while_loop(x):
    s = 0.0
    k = 0
    while k < len(x):
        s = s + x[k] * np.exp(-k)
        k += 1
    return s


@case(pt(4))
def if_branch(x):
    s = np.sum(x)
    if s > 0:
        return s**2
    return -s


@case(pt(4))
def append_list_stack(x):
    out = []
    for i in range(3):
        out.append(x[i] * x[i + 1])
    return np.sum(np.stack(out) ** 2)


@case(pt(3))
def vander_poly(x):
    V = np.vander(np.array([0.1, 0.5, 0.9]), 3)
    return np.sum((V @ x - 1.0) ** 2)


@case(pt(3))
def polyval_coeffs(x):
    return np.sum(np.polyval(x, np.array([0.5, 1.5, -1.0])) ** 2)


@case(pt(1))
def polyval_point(x):
    return np.polyval(np.array([1.0, -2.0, 0.5, 3.0]), x[0])


@case(pt(3))
def horner_loop(x):
    c = [1.0, -2.0, 3.0, 0.5]
    out = 0.0
    for ck in c:
        out = out * x + ck
    return np.sum(out)


# ---------------------------------------------------------------------------- math module
@case(pt(3))
def math_scalar(x):
    return math.sin(x[0]) * math.exp(x[1]) + math.sqrt(2 + x[2])


@case(pt(2))
def math_log_tanh(x):
    return math.log(1.5 + x[0]) + math.tanh(x[1]) + math.cos(x[0] * x[1])


@case(pt(2))
def math_pow_hypot(x):
    return math.pow(1.2 + x[0], 2.5) + math.hypot(x[0], x[1]) + math.atan2(x[1], 2 + x[0])


@case(pt(2))
def math_fabs_erf(x):
    return math.fabs(x[0] - 3) + math.erf(x[1]) + math.log1p(x[0] ** 2) + math.expm1(x[1])
