"""Steady state of the 2-D Brusselator (N = 32, 2048 unknowns) by sparse least squares.

``ad.AutoSparse(backend)`` detects the Jacobian's pattern (6 non-zeros a row), colours it, and
computes each Jacobian with a handful of pushforwards; ``anydiff.optimize.least_squares`` passes
the sparse Jacobian to SciPy's trust-region solver with ``tr_solver="lsmr"``. The steady state is
the homogeneous one, u = 1, v = 3.4, which the solver reaches from a perturbed start.

Run: python examples/brusselator_least_squares.py [backend]
"""

from __future__ import annotations

import time

import numpy as np
from _common import backends_from_argv

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]
N = 32


def brusselator(x):
    """du = 1 + u²v - 4.4u + α Δu, dv = 3.4u - u²v + α Δv on a periodic N×N grid; x is (N, N, 2)."""
    xp = ad.array_namespace(x)
    n = x.shape[0]
    alpha = 10.0 * (n - 1) ** 2  # diffusion 10 on the unit square: 10 / h², h = 1 / (N - 1)
    u, v = x[..., 0], x[..., 1]

    def lap(a):
        # Periodic neighbours by slicing (the Array API has roll, the engine's namespace does not).
        up = xp.concat([a[-1:, :], a[:-1, :]], axis=0)
        down = xp.concat([a[1:, :], a[:1, :]], axis=0)
        left = xp.concat([a[:, -1:], a[:, :-1]], axis=1)
        right = xp.concat([a[:, 1:], a[:, :1]], axis=1)
        return up + down + left + right - 4.0 * a

    du = 1.0 + u * u * v - 4.4 * u + alpha * lap(u)
    dv = 3.4 * u - u * u * v + alpha * lap(v)
    return xp.stack([du, dv], axis=-1)


def start(n: int = N) -> np.ndarray:
    g = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    bump = 0.3 * np.sin(g)[:, None] * np.cos(g)[None, :]
    return np.stack([1.0 + bump, 3.4 - bump], axis=-1)


def main(backend: str = "engine") -> np.ndarray:
    """Returns the steady state, shaped (N, N, 2)."""
    t = time.perf_counter()
    # The diffusion term makes the system stiff (alpha ~ 10^4): lsmr, which solves each
    # trust-region step iteratively, needs tight tolerances of its own to give exact steps.
    res = ad.optimize.least_squares(
        brusselator, start(), ad.AutoSparse(backend), xtol=1e-12, ftol=1e-12,
        tr_options={"atol": 1e-12, "btol": 1e-12},
    )
    J = res.jac
    print(f"{backend:>10}: cost {res.cost:.1e} after {res.nfev} evaluations, Jacobian "
          f"{J.shape[0]}x{J.shape[1]} with {J.nnz} non-zeros ({type(J).__name__}), "
          f"max |u - 1| = {np.max(np.abs(res.x[..., 0] - 1.0)):.1e}, {time.perf_counter() - t:.2f} s")
    return res.x


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
