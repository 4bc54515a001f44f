"""Sparse scenarios: Jacobians and Hessians with known sparsity, for ``AutoSparse``.

Every function is written against the Array API, so dense backends run the same scenarios; the
harness runs them through ``AutoSparse(dense)`` (see :mod:`._sparse_runner`), compares the
``scipy.sparse`` results with the analytic dense references and checks the pattern and the
colouring at the prepared point. References are closed forms computed with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import array_namespace
from ._problem import Problem, scenarios_of
from ._scenario import Scenario

# ---------------------------------------------------------------------------------------------
# Jacobians


def stencil(x: Any) -> Any:
    """Banded Jacobian (n -> n-2): x[:-2] - 2 sin(x[1:-1]) + x[2:]^2."""
    xp = array_namespace(x)
    return x[:-2] - 2.0 * xp.sin(x[1:-1]) + x[2:] ** 2


def _stencil_jac(x: np.ndarray) -> np.ndarray:
    n = x.size
    J = np.zeros((n - 2, n))
    i = np.arange(n - 2)
    J[i, i] = 1.0
    J[i, i + 1] = -2 * np.cos(x[1:-1])
    J[i, i + 2] = 2 * x[2:]
    return J


def diagonal(x: Any) -> Any:
    """Diagonal Jacobian: exp(x) sin(x)."""
    xp = array_namespace(x)
    return xp.exp(x) * xp.sin(x)


def _shift(a: Any, k: int, axis: int) -> Any:
    """Periodic shift by one (``k = ±1``) with slices and ``concat`` (every namespace has them)."""
    xp = array_namespace(a)
    if axis == 0:
        parts = [a[-1:, ...], a[:-1, ...]] if k > 0 else [a[1:, ...], a[:1, ...]]
    else:
        parts = [a[:, -1:], a[:, :-1]] if k > 0 else [a[:, 1:], a[:, :1]]
    return xp.concat(parts, axis=axis)


_BRUSS_ALPHA = 0.7


def brusselator(x: Any) -> Any:
    """2-D periodic Brusselator right-hand side, x of shape (N, N, 2) (u and v on the grid):
    du = 1 + u^2 v - 4.4 u + a lap(u), dv = 3.4 u - u^2 v + a lap(v); 6 non-zeros per row."""
    xp = array_namespace(x)
    u, v = x[..., 0], x[..., 1]

    def lap(a: Any) -> Any:
        return (_shift(a, 1, 0) + _shift(a, -1, 0) + _shift(a, 1, 1) + _shift(a, -1, 1)
                - 4.0 * a)

    du = 1.0 + u * u * v - 4.4 * u + _BRUSS_ALPHA * lap(u)
    dv = 3.4 * u - u * u * v + _BRUSS_ALPHA * lap(v)
    return xp.stack([du, dv], axis=-1)


def _brusselator_jac(x: np.ndarray) -> np.ndarray:
    N = x.shape[0]
    u, v = x[..., 0], x[..., 1]
    idx = np.arange(N * N * 2).reshape(N, N, 2)  # flat position of (i, j, component)
    J = np.zeros((N * N * 2, N * N * 2))
    for i in range(N):
        for j in range(N):
            ru, rv = idx[i, j, 0], idx[i, j, 1]
            J[ru, idx[i, j, 0]] += 2 * u[i, j] * v[i, j] - 4.4 - 4 * _BRUSS_ALPHA
            J[ru, idx[i, j, 1]] += u[i, j] ** 2
            J[rv, idx[i, j, 0]] += 3.4 - 2 * u[i, j] * v[i, j]
            J[rv, idx[i, j, 1]] += -u[i, j] ** 2 - 4 * _BRUSS_ALPHA
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                ni, nj = (i + di) % N, (j + dj) % N
                J[ru, idx[ni, nj, 0]] += _BRUSS_ALPHA
                J[rv, idx[ni, nj, 1]] += _BRUSS_ALPHA
    return J


def block_diagonal(x: Any) -> Any:
    """Block-diagonal Jacobian (2 x 2 blocks): for each pair (a, b) of x, (a b, sin(a) + b^2)."""
    xp = array_namespace(x)
    X = xp.reshape(x, (-1, 2))
    a, b = X[:, 0], X[:, 1]
    return xp.reshape(xp.stack([a * b, xp.sin(a) + b * b], axis=1), (-1,))


def _block_diagonal_jac(x: np.ndarray) -> np.ndarray:
    a, b = x[0::2], x[1::2]
    J = np.zeros((x.size, x.size))
    for k in range(a.size):
        J[2 * k: 2 * k + 2, 2 * k: 2 * k + 2] = [[b[k], a[k]], [np.cos(a[k]), 2 * b[k]]]
    return J


def complex_chain(x: Any) -> Any:
    """Real x, complex y (banded, n -> n-1): (1 + 2i) x[1:] x[:-1] + x[1:]^2. Pullbacks of a
    real x give only Re(J^H w), so its rows must not be read from pullbacks."""
    return x[1:] * x[:-1] * (1 + 2j) + x[1:] ** 2


def _complex_chain_jac(x: np.ndarray) -> np.ndarray:
    n = x.size
    J = np.zeros((n - 1, n), dtype=complex)
    i = np.arange(n - 1)
    J[i, i] = (1 + 2j) * x[1:]
    J[i, i + 1] = (1 + 2j) * x[:-1] + 2 * x[1:]
    return J


def tree_jacobian(d: dict) -> dict:
    """dict -> dict: {"u": a[1:] a[:-1], "v": b exp(a[:3])} with a (4,), b (3,)."""
    xp = array_namespace(d["a"])
    a, b = d["a"], d["b"]
    return {"u": a[1:] * a[:-1], "v": b * xp.exp(a[:3])}


def _tree_jacobian_jac(d: dict) -> np.ndarray:
    # Flat order (keys sorted): x = (a0..a3, b0..b2), y = (u0..u2, v0..v2).
    a, b = d["a"], d["b"]
    J = np.zeros((6, 7))
    for k in range(3):
        J[k, k], J[k, k + 1] = a[k + 1], a[k]
        J[3 + k, k] = b[k] * np.exp(a[k])
        J[3 + k, 4 + k] = np.exp(a[k])
    return J


# ---------------------------------------------------------------------------------------------
# Hessians


def arrowhead(x: Any) -> Any:
    """Arrowhead Hessian: sum(x[0] x[1:]^2) + sum(cos(x))."""
    xp = array_namespace(x)
    return xp.sum(x[0] * x[1:] ** 2) + xp.sum(xp.cos(x))


def _arrowhead_grad(x: np.ndarray) -> np.ndarray:
    g = -np.sin(x)
    g[0] += (x[1:] ** 2).sum()
    g[1:] += 2 * x[0] * x[1:]
    return g


def _arrowhead_hess(x: np.ndarray) -> np.ndarray:
    H = np.diag(-np.cos(x))
    H[0, 1:] = H[1:, 0] = 2 * x[1:]
    H[np.arange(1, x.size), np.arange(1, x.size)] += 2 * x[0]
    return H


def chain(x: Any) -> Any:
    """Tridiagonal Hessian (Rosenbrock chain): sum((x[1:] - x[:-1]^2)^2)."""
    xp = array_namespace(x)
    return xp.sum((x[1:] - x[:-1] ** 2) ** 2)


def _chain_grad(x: np.ndarray) -> np.ndarray:
    r = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[1:] += 2 * r
    g[:-1] += -4 * x[:-1] * r
    return g


def _chain_hess(x: np.ndarray) -> np.ndarray:
    n = x.size
    r = x[1:] - x[:-1] ** 2
    H = np.zeros((n, n))
    H[np.arange(1, n), np.arange(1, n)] += 2.0
    H[np.arange(n - 1), np.arange(n - 1)] += -4 * r + 8 * x[:-1] ** 2
    H[np.arange(n - 1), np.arange(1, n)] = H[np.arange(1, n), np.arange(n - 1)] = -4 * x[:-1]
    return H


def block_hessian(x: Any) -> Any:
    """Block-diagonal Hessian (2 x 2 blocks): sum over pairs (a, b) of a^2 b + exp(b)."""
    xp = array_namespace(x)
    X = xp.reshape(x, (-1, 2))
    a, b = X[:, 0], X[:, 1]
    return xp.sum(a * a * b + xp.exp(b))


def _block_hessian_grad(x: np.ndarray) -> np.ndarray:
    a, b = x[0::2], x[1::2]
    g = np.empty_like(x)
    g[0::2], g[1::2] = 2 * a * b, a * a + np.exp(b)
    return g


def _block_hessian_hess(x: np.ndarray) -> np.ndarray:
    a, b = x[0::2], x[1::2]
    H = np.zeros((x.size, x.size))
    for k in range(a.size):
        H[2 * k: 2 * k + 2, 2 * k: 2 * k + 2] = [[2 * b[k], 2 * a[k]], [2 * a[k], np.exp(b[k])]]
    return H


def tree_hessian(d: dict) -> Any:
    """dict -> scalar: sum(a[1:] a[:-1]) + sum(b^2 sin(a)) with a, b of shape (3,)."""
    xp = array_namespace(d["a"])
    a, b = d["a"], d["b"]
    return xp.sum(a[1:] * a[:-1]) + xp.sum(b * b * xp.sin(a))


def _tree_hessian_grad(d: dict) -> np.ndarray:
    a, b = d["a"], d["b"]
    ga = b * b * np.cos(a)
    ga[1:] += a[:-1]
    ga[:-1] += a[1:]
    return np.concatenate([ga, 2 * b * np.sin(a)])


def _tree_hessian_hess(d: dict) -> np.ndarray:
    a, b = d["a"], d["b"]
    H = np.zeros((6, 6))
    i = np.arange(3)
    H[i, i] = -b * b * np.sin(a)
    H[i[:-1], i[1:]] = H[i[1:], i[:-1]] = 1.0
    H[i, 3 + i] = H[3 + i, i] = 2 * b * np.cos(a)
    H[3 + i, 3 + i] = 2 * np.sin(a)
    return H


def _point(n: int, offset: float = 0.0) -> np.ndarray:
    """A fixed point with distinct entries, none of them zero or at a zero of cos."""
    return np.linspace(-0.8, 1.1, n) + 0.13 * np.sin(np.arange(n)) + 0.05 + offset


def sparse_scenarios() -> list[Scenario]:
    """Sparse Jacobians (banded, diagonal, 2-D periodic Brusselator with N = 3, block-diagonal,
    dict -> dict, complex of a real x) and Hessians (arrowhead, tridiagonal, block-diagonal,
    dict input), each as a ``jacobian`` / ``hessian`` scenario with an analytic reference.
    Inputs have at most 18 entries: enough for colourings with fewer colours than columns.

    The harness runs them through ``ad.AutoSparse(backend)`` and also checks, at the prepared
    point, that the pattern covers every non-zero of the dense derivative and that the
    colouring is valid (``python -m anydiff compare --scenarios sparse``).

    Example:
        >>> from anydiff.testing import sparse_scenarios
        >>> sorted({s.op for s in sparse_scenarios()})
        ['hessian', 'jacobian']
    """
    tags = ("sparse",)
    out: list[Scenario] = []

    def jac(label: str, f: Any, x: Any, J: Any) -> None:
        out.extend(scenarios_of(Problem(label, f, x, jac=J), ("jacobian",), tags=tags))

    def hess(label: str, f: Any, x: Any, g: Any, H: Any) -> None:
        p = Problem(label, f, x, jac=lambda x: g(x)[None, :], hess=H)
        out.extend(scenarios_of(p, ("hessian",), tags=tags))

    jac("banded", stencil, _point(8), _stencil_jac)
    jac("diagonal", diagonal, _point(6),
        lambda x: np.diag(np.exp(x) * (np.sin(x) + np.cos(x))))
    bx = 0.8 + 0.3 * np.cos(np.arange(18.0)).reshape(3, 3, 2)
    jac("brusselator", brusselator, bx, _brusselator_jac)
    jac("block-diagonal", block_diagonal, _point(8), _block_diagonal_jac)
    out.extend(scenarios_of(Problem("complex-of-real", complex_chain, _point(6),
                                    jac=_complex_chain_jac, requires=("complex_numbers",)),
                            ("jacobian",), tags=tags))
    tree = {"a": _point(4), "b": _point(3, 0.2)}
    jac("tree", tree_jacobian, tree, _tree_jacobian_jac)
    hess("arrowhead", arrowhead, _point(6), _arrowhead_grad, _arrowhead_hess)
    hess("tridiagonal", chain, _point(8), _chain_grad, _chain_hess)
    hess("block-diagonal", block_hessian, _point(8), _block_hessian_grad, _block_hessian_hess)
    hess("tree", tree_hessian, {"a": _point(3), "b": _point(3, 0.3)}, _tree_hessian_grad,
         _tree_hessian_hess)
    return out
