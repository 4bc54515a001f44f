"""Randomized comparison against HIPS autograd: many small programs mixing supported ops."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from anydiff import engine as E

# each op maps a list of live arrays (all shaped (n,)) to a new (n,) array, for np or anp
UNARY = [
    lambda m, a: m.sin(a),
    lambda m, a: m.cos(a),
    lambda m, a: m.tanh(a),
    lambda m, a: m.exp(0.3 * a),
    lambda m, a: m.log1p(a * a),
    lambda m, a: m.sqrt(1.0 + a * a),
    lambda m, a: m.arctan(a),
    lambda m, a: a**2,
    lambda m, a: m.abs(a) + 1.0,
    lambda m, a: m.maximum(a, 0.1),
    lambda m, a: m.cumsum(a),
    lambda m, a: m.flip(a, 0) if m is np else a[::-1],
    lambda m, a: m.where(a > 0, a, 0.5 * a),
    lambda m, a: m.clip(a, -0.7, 0.7),
    lambda m, a: m.sort(a),
    lambda m, a: a - m.mean(a),
    lambda m, a: a / m.sqrt(m.sum(a * a) + 1.0),
    lambda m, a: m.concatenate([a[1:], a[:1]]),
    lambda m, a: m.reshape(m.reshape(a, (2, -1)).T, (-1,)),
    lambda m, a: m.dot(m.outer(a, a), a) * 0.1,
    lambda m, a: m.exp(a - m.max(a)),
]
BINARY = [
    lambda m, a, b: a + b,
    lambda m, a, b: a - 2.0 * b,
    lambda m, a, b: a * b,
    lambda m, a, b: a / (1.5 + b * b),
    lambda m, a, b: m.minimum(a, b),
    lambda m, a, b: m.arctan2(a, 1.0 + b * b),
    lambda m, a, b: m.where(a > b, a * b, a + b),
    lambda m, a, b: m.einsum("i,j->ij", a, b).sum(axis=1),
    lambda m, a, b: m.stack([a, b]).sum(axis=0),
    lambda m, a, b: m.reshape(m.reshape(a, (2, -1)).T @ m.reshape(b, (2, -1)), (-1,))[: a.shape[0]],
    lambda m, a, b: a * m.sum(b),
    lambda m, a, b: m.logaddexp(a, b),
]


def make_program(seed: int):
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(rng.integers(3, 9)):
        if rng.random() < 0.55:
            steps.append(("u", int(rng.integers(len(UNARY))), int(rng.integers(100))))
        else:
            steps.append(
                (
                    "b",
                    int(rng.integers(len(BINARY))),
                    int(rng.integers(100)),
                    int(rng.integers(100)),
                )
            )
    reduce_kind = int(rng.integers(3))

    def f(m, x):
        live = [x, m.sin(x)]
        for st in steps:
            if st[0] == "u":
                live.append(UNARY[st[1]](m, live[st[2] % len(live)]))
            else:
                live.append(BINARY[st[1]](m, live[st[2] % len(live)], live[st[3] % len(live)]))
        out = live[-1] + 0.1 * live[-2]
        if reduce_kind == 0:
            return m.sum(out * out)
        if reduce_kind == 1:
            return m.sum(m.tanh(out)) + m.max(out)
        return m.log(m.sum(m.exp(out - m.max(out))))

    return f


def _n_programs() -> int:
    try:
        from anydiff.testing import long_run
    except ImportError:  # the engine tests also run without the rest of the package
        return 120
    return 1000 if long_run() else 120


@pytest.mark.parametrize("seed", range(_n_programs()))
def test_random_program(seed: int) -> None:
    f = make_program(seed)
    x = np.random.default_rng(1000 + seed).standard_normal(6)
    g_ref = autograd.grad(lambda z: f(anp, z))(x)
    v, g = E.value_and_grad(lambda z: f(np, z), x)
    np.testing.assert_allclose(v, f(np, x), rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)
    # forward mode gives the same gradient (as a Jacobian row)
    np.testing.assert_allclose(E.jacobian(lambda z: f(np, z), x), g_ref, rtol=1e-10, atol=1e-12)
    # and a replayed tape at another point equals autograd there
    tape = E.record(lambda z: f(np, z), x)
    x2 = x + 0.01 * np.arange(6)
    if tape.replayable:
        _, g2 = tape.value_and_grad(x2)
        np.testing.assert_allclose(g2, autograd.grad(lambda z: f(anp, z))(x2), rtol=1e-10, atol=1e-12)
