"""A prepared gradient inside a hand-written optimizer loop (Adam on a least-squares fit).

``prepare_gradient`` does the one-time work (tracing, compiling, recording a tape) once; each
step then only converts arrays and runs the prepared kernel. The data enter as ``ad.Constant``:
a prep may freeze what ``f`` reads from its closure, but a Constant may change on every call
(here: a new mini-batch each step).

Run: python examples/optimizer_loop.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]


def loss(w, a, b):
    xp = ad.array_namespace(w)
    r = a @ w - b
    return xp.sum(r * r) / r.shape[0]


def main(backend: str = "engine", steps: int = 300) -> np.ndarray:
    rng = np.random.default_rng(1)
    w_true = np.array([2.0, -1.0, 0.5])
    a_all = rng.standard_normal((1024, 3))
    b_all = a_all @ w_true
    batch = 64

    w = np.zeros(3)
    grad = ad.prepare_gradient(loss, backend, w, ad.Constant(a_all[:batch]), ad.Constant(b_all[:batch]))
    m, v = np.zeros(3), np.zeros(3)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    for k in range(1, steps + 1):
        idx = rng.integers(0, len(a_all), batch)
        g = grad(w, ad.Constant(a_all[idx]), ad.Constant(b_all[idx]))  # new data, same prep
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1**k)) / (np.sqrt(v / (1 - beta2**k)) + eps)
    print(f"{backend:>10}: w = {np.round(w, 4)} after {steps} Adam steps (true {w_true})")
    return w


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
