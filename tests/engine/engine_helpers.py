"""Shared checks for the engine tests: finite differences and HIPS autograd as references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from anydiff import engine as E


def fd_jacobian(f: Callable, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences, shape ``y.shape + x.shape`` (real x)."""
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    flat = J.reshape(y0.size, x.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h * max(1.0, abs(x.flat[k]))
        e = e.reshape(x.shape)
        flat[:, k] = ((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * e.flat[k])).ravel()
    return J


def ag_jacobian(f_anp: Callable, x: np.ndarray) -> np.ndarray:
    import autograd

    return np.asarray(autograd.jacobian(f_anp)(x))


def check_both_modes(
    f: Callable,
    x: np.ndarray,
    f_ag: Callable | None = None,
    fd: bool = True,
    rtol_fd: float = 1e-6,
    atol_fd: float = 1e-7,
) -> None:
    """Engine Jacobian (forward and reverse) against central differences and autograd."""
    Jf = E.jacobian(f, x, mode="forward")
    Jr = E.jacobian(f, x, mode="reverse")
    y = np.asarray(f(x))
    assert Jf.shape == y.shape + x.shape
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)
    if fd:
        np.testing.assert_allclose(Jf, fd_jacobian(f, x), rtol=rtol_fd, atol=atol_fd)
    if f_ag is not None:
        np.testing.assert_allclose(Jf, ag_jacobian(f_ag, x), rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(Jr, ag_jacobian(f_ag, x), rtol=1e-11, atol=1e-12)


def as_np(f: Callable) -> Callable[[Any], Any]:
    return lambda x: f(np, x)


def as_anp(f: Callable) -> Callable[[Any], Any]:
    import autograd.numpy as anp

    return lambda x: f(anp, x)
