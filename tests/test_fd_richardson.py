"""AutoFiniteDiff(method="richardson") and error estimates (prep.error_estimate)."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import _fd_stencils as st

RICH = ad.AutoFiniteDiff(method="richardson")

# name -> (g, g') for the building blocks of random smooth functions.
BLOCKS = {
    "sin": (np.sin, np.cos),
    "exp": (np.exp, np.exp),
    "tanh": (np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    "log1p2": (lambda u: np.log1p(u * u), lambda u: 2 * u / (1 + u * u)),
    "cube": (lambda u: u ** 3, lambda u: 3 * u * u),
}


def random_function(rng, n=3, m=3):
    """y_i = sum_k a_ik g_ik(b_ik . x + c_ik), with its analytic Jacobian."""
    K = 2
    names = rng.choice(list(BLOCKS), size=(m, K))
    a = rng.standard_normal((m, K))
    B = rng.standard_normal((m, K, n)) * rng.uniform(0.3, 2.0)
    c = rng.standard_normal((m, K))

    def f(x):
        return np.array([sum(a[i, k] * BLOCKS[names[i, k]][0](B[i, k] @ x + c[i, k])
                             for k in range(K)) for i in range(m)])

    def jac(x):
        return np.array([sum(a[i, k] * BLOCKS[names[i, k]][1](B[i, k] @ x + c[i, k]) * B[i, k]
                             for k in range(K)) for i in range(m)])

    return f, jac


@pytest.mark.parametrize("backend", [RICH, ad.AutoFiniteDiff(error=True),
                                     ad.AutoFiniteDiff(order=4, error=True),
                                     ad.AutoFiniteDiff("forward", order=2, error=True)])
def test_error_estimate_covers_true_error(backend):
    # Over 200 random smooth functions, >= 95 % of entries have |J - J_exact| <= estimate
    # (measured: Richardson 100 %, stencils 99 %).
    rng = np.random.default_rng(11)
    hit = total = 0
    for _ in range(200):
        f, jac = random_function(rng)
        x = rng.uniform(-1.5, 1.5, 3)
        prep = ad.prepare_jacobian(f, backend, x)
        J = prep(x)
        E = prep.error_estimate
        assert E.shape == J.shape and np.all(E >= 0)
        hit += int(np.sum(np.abs(J - jac(x)) <= E))
        total += J.size
    assert hit / total >= 0.95


def test_richardson_accuracy_and_tight_estimates():
    rng = np.random.default_rng(5)
    worst = worst_est = 0.0
    for _ in range(50):
        f, jac = random_function(rng, n=4, m=4)
        x = rng.uniform(-1.5, 1.5, 4)
        prep = ad.prepare_jacobian(f, RICH, x)
        J0 = jac(x)
        scale = np.max(np.abs(J0))
        worst = max(worst, np.max(np.abs(prep(x) - J0)) / scale)
        worst_est = max(worst_est, np.max(prep.error_estimate) / scale)
    assert worst < 1e-12  # measured ~4e-14
    assert worst_est < 1e-9  # the estimate is useful, not just safe (measured ~1e-11)


def test_error_estimate_for_every_first_order_operator():
    x = np.array([0.3, -0.8, 1.2])
    t = np.array([1.0, 0.5, -2.0])
    vec = lambda v: np.sin(v) * v[0]  # noqa: E731
    scal = lambda v: np.sum(np.sin(v) * v[0])  # noqa: E731
    cases = [
        ("jacobian", vec, (), (3, 3)),
        ("gradient", scal, (), (3,)),
        ("pushforward", vec, (t,), (3,)),
        ("pullback", vec, (t,), (3,)),
    ]
    for op, fn, args, shape in cases:
        prep = getattr(ad, f"prepare_{op}")(fn, RICH, x, *args)
        r = prep(x, *args)
        assert prep.error_estimate.shape == shape == np.shape(r)
        y, r2 = getattr(prep, {"jacobian": "value_and_jacobian", "gradient": "value_and_gradient",
                               "pushforward": "value_and_pushforward",
                               "pullback": "value_and_pullback"}[op])(x, *args)
        assert np.max(prep.error_estimate) < 1e-10
    prep = ad.prepare_derivative(np.sin, RICH, 0.4)
    assert abs(prep(0.4) - np.cos(0.4)) < 1e-13 and np.shape(prep.error_estimate) == ()
    # A Batch of tangents gives a Batch of estimates; pytrees give pytrees.
    prep = ad.prepare_pushforward(vec, RICH, x, ad.Batch(t, 2 * t))
    prep(x, ad.Batch(t, 2 * t))
    assert isinstance(prep.error_estimate, ad.Batch) and len(prep.error_estimate) == 2
    tree = {"a": np.array([0.2, 0.4]), "b": np.array(1.5)}
    prep = ad.prepare_gradient(lambda d: np.sum(np.sin(d["a"])) * d["b"], RICH, tree)
    g = prep(tree)
    e = prep.error_estimate
    assert set(e) == {"a", "b"} and e["a"].shape == (2,) and e["b"].shape == ()
    assert abs(g["b"] - np.sum(np.sin(tree["a"]))) < 1e-12


def test_error_estimate_errors_are_clear():
    x = np.array([0.3, 0.2])
    with pytest.raises(ad.AnydiffValueError, match="richardson"):
        prep = ad.prepare_jacobian(np.sin, "finitediff", x)
        prep(x)
        _ = prep.error_estimate
    with pytest.raises(ad.AnydiffValueError, match="call it first"):
        _ = ad.prepare_jacobian(np.sin, RICH, x).error_estimate
    with pytest.raises(ad.AnydiffValueError, match="first-order"):
        prep = ad.prepare_hessian(lambda v: np.sum(v ** 3), RICH, x)
        prep(x)
        _ = prep.error_estimate


class Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


def test_richardson_cost_is_a_small_multiple_of_central():
    n = 30
    g = Counter(lambda v: np.sin(v) * np.sum(v))
    x = np.linspace(-1, 1, n)
    prep = ad.prepare_jacobian(g, RICH, x)
    g.calls = 0
    prep(x)
    rows = (g.calls - 1) // (2 * n)
    assert g.calls == 1 + 2 * n * rows  # f(x) once, then one sweep over all directions per step
    assert 3 <= rows <= st.RICHARDSON_ROWS


def test_kinks_and_jumps_give_large_estimates():
    for fn in (np.abs, lambda v: np.maximum(v, 0.0), lambda v: np.where(v > 0, 1.0, 0.0)):
        prep = ad.prepare_jacobian(fn, RICH, np.array([0.0, 0.7]))
        prep(np.array([0.0, 0.7]))
        E = prep.error_estimate
        assert E[0, 0] > 0.1 and E[1, 1] < 1e-12  # the kink's entry, a smooth entry
    # Stencils with error=True see a kink at x too (central ones: via f(x)).
    prep = ad.prepare_jacobian(np.abs, ad.AutoFiniteDiff(error=True), np.array([0.0]))
    prep(np.array([0.0]))
    assert prep.error_estimate[0, 0] > 0.1


def test_nan_propagates_with_nan_estimate():
    prep = ad.prepare_jacobian(np.log, RICH, np.array([-1.0, 2.0]))
    with np.errstate(invalid="ignore"):
        J = prep(np.array([-1.0, 2.0]))
    E = prep.error_estimate
    assert np.isnan(J[0, 0]) and np.isnan(E[0, 0]) and abs(J[1, 1] - 0.5) < 1e-13


def test_richardson_as_outer_and_refused_under_tracing():
    x = np.array([0.3, -0.7])
    fn = lambda v: np.sum(np.sin(v) * v[0])  # noqa: E731
    Href = np.diag(-np.sin(x) * x[0])
    Href[0, :] += np.cos(x)
    Href[:, 0] += np.cos(x)
    H = ad.hessian(fn, ad.SecondOrder(RICH, "engine"), x)
    assert np.max(np.abs(H - Href)) < 1e-10
    with pytest.raises(ad.UnsupportedError, match="richardson"):
        ad.hessian(fn, ad.SecondOrder(ad.AutoEngine(), RICH), x)


def test_float32_richardson():
    x = np.array([0.3, -0.7], dtype=np.float32)
    J = ad.jacobian(np.sin, RICH, x)
    assert J.dtype == np.float32 and np.max(np.abs(J - np.diag(np.cos(x)))) < 1e-5


def test_error_estimate_is_per_thread():
    import threading

    prep = ad.prepare_jacobian(lambda v: np.sin(v) * np.exp(v), RICH, np.array([0.1, 0.2]))
    seen = {}
    first, second = threading.Event(), threading.Event()

    def work(scale, wait, signal):
        # Both threads call the prep before either reads: a shared "last estimate" would
        # give one of them the other's.
        if wait is not None:
            wait.wait(10)
        prep(np.array([0.1, 0.2]) * scale)
        signal.set()
        if wait is None:
            second.wait(10)
        seen[scale] = prep.error_estimate.copy()

    args = [(1.0, None, first), (40.0, first, second)]
    threads = [threading.Thread(target=work, args=a) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each thread read the estimate of its own point (the larger point has larger entries).
    assert np.max(seen[40.0]) > 100 * np.max(seen[1.0])
