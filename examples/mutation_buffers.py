"""NumPy code that fills a buffer in a loop: the engine differentiates it, JAX cannot.

``f`` below is ordinary NumPy: it allocates a work array with ``np.zeros_like(x)`` and assigns
into it element by element (an explicit recurrence). JAX traces only ``jax.numpy`` code on
immutable arrays and torch only torch operations, so those backends raise ``ad.UnsupportedError``
naming the cause and the backends that can; the engine, finite differences and (as far as it
traces NumPy) HIPS autograd run the code as written.

Run: python examples/mutation_buffers.py [backend]
"""

from __future__ import annotations

import numpy as np
from _common import backends_from_argv

import anydiff as ad

BACKENDS = ["engine", "finitediff", "autograd"]  # the backends this code runs on
REFUSING = ["jax", "torch"]  # shown raising UnsupportedError when installed


def f(x):
    # s[i] = 0.5 * s[i-1] + sin(x[i]): a running, damped sum kept in a buffer.
    s = np.zeros_like(x)
    s[0] = np.sin(x[0])
    for i in range(1, x.shape[0]):
        s[i] = 0.5 * s[i - 1] + np.sin(x[i])
    return np.sum(s**2)


def exact_gradient(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    s = np.zeros(n)
    s[0] = np.sin(x[0])
    for i in range(1, n):
        s[i] = 0.5 * s[i - 1] + np.sin(x[i])
    # ds_i/dx_j = 0.5**(i-j) cos(x_j) for i >= j
    dsdx = np.tril(0.5 ** (np.arange(n)[:, None] - np.arange(n)[None, :])) * np.cos(x)[None, :]
    return 2 * s @ dsdx


def main(backend: str = "engine") -> float:
    x = np.linspace(0.0, 1.0, 6)
    g = ad.gradient(f, backend, x)
    err = float(np.max(np.abs(g - exact_gradient(x))))
    print(f"{backend:>10}: gradient {np.round(g, 4)}, max error {err:.1e}")
    return err


def refusals() -> dict[str, str]:
    """The error each backend that cannot run ``f`` gives (first line of the message)."""
    x = np.linspace(0.0, 1.0, 6)
    messages = {}
    for name in REFUSING:
        if not ad.check_available(name):
            continue
        try:
            ad.gradient(f, name, x)
        except ad.UnsupportedError as e:
            messages[name] = str(e).splitlines()[0]
            print(f"{name:>10}: UnsupportedError: {messages[name]}")
    return messages


if __name__ == "__main__":
    for name in backends_from_argv(BACKENDS):
        main(name)
    refusals()
