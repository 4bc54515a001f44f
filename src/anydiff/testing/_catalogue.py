"""Scenario catalogues: small Array-API problems with analytic derivatives.

Every function here is written against the Array API (``xp = ad.array_namespace(x)``) with
operations that ``array_api_compat.numpy``, ``jax.numpy``, ``array_api_compat.torch``,
``autograd.numpy`` and the engine's namespace all share, so each backend runs it natively.
Each catalogue is built from :class:`~anydiff.testing.Problem` objects (analytic references).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import array_namespace
from .._contexts import Cache, Constant
from ._problem import Problem, flat, scenarios_of, unflat, upcast
from ._scenario import Scenario
from ._sparse import sparse_scenarios  # the harness runs these through AutoSparse

__all__ = ["Problem", "flat", "scenarios_of", "unflat", "upcast"]

# ---------------------------------------------------------------------------------------------
# Functions (Array API) and their analytic derivatives (NumPy)


def s2s(x: Any) -> Any:
    """scalar -> scalar: sin(x) exp(x/2)."""
    xp = array_namespace(x)
    return xp.sin(x) * xp.exp(0.5 * x)


def _s2s_d1(x: Any) -> Any:
    return np.exp(0.5 * x) * (np.cos(x) + 0.5 * np.sin(x))


def _s2s_d2(x: Any) -> Any:
    return np.exp(0.5 * x) * (np.cos(x) - 0.75 * np.sin(x))


def s2a(x: Any) -> Any:
    """scalar -> array (3,): sin(k x) + x^2 for k = 1, 2, 3."""
    xp = array_namespace(x)
    k = xp.arange(1, 4, dtype=x.dtype)
    return xp.sin(x * k) + x**2


def s2a_inplace(y: Any, x: Any) -> None:
    """In-place scalar -> array: fills y (3,) with sin(k x) + x^2."""
    xp = array_namespace(x)
    k = xp.arange(1, 4, dtype=x.dtype)
    y[...] = xp.sin(x * k) + x**2


_K = np.arange(1.0, 4.0)


def v2s(x: Any) -> Any:
    """vector -> scalar: sum(sin(x) exp(x)) + sum(x)^2 / 2."""
    xp = array_namespace(x)
    return xp.sum(xp.sin(x) * xp.exp(x)) + 0.5 * xp.sum(x) ** 2


def m2s(X: Any) -> Any:
    """matrix (2, 3) -> scalar: sum(X X^T) + sum(sin(X))."""
    xp = array_namespace(X)
    return xp.sum(X @ X.T) + xp.sum(xp.sin(X))


def _m2s_grad(X: np.ndarray) -> np.ndarray:
    return (2 * np.ones_like(X) * X.sum(axis=0, keepdims=True) + np.cos(X)).reshape(-1)


def _m2s_hess(X: np.ndarray) -> np.ndarray:
    r, c = X.shape
    H = 2 * np.kron(np.ones((r, r)), np.eye(c))
    return H - np.diag(np.sin(X).reshape(-1))


def v2v_shift(x: Any) -> Any:
    """vector (n,) -> vector (n-1,): sin(x[:-1]) x[1:]."""
    xp = array_namespace(x)
    return xp.sin(x[:-1]) * x[1:]


def _v2v_shift_jac(x: np.ndarray) -> np.ndarray:
    n = x.size
    J = np.zeros((n - 1, n), dtype=x.dtype)
    i = np.arange(n - 1)
    J[i, i] = np.cos(x[:-1]) * x[1:]
    J[i, i + 1] = np.sin(x[:-1])
    return J


def v2v(x: Any) -> Any:
    """vector -> vector: x sum(x) + cos(x) (dense Jacobian)."""
    xp = array_namespace(x)
    return x * xp.sum(x) + xp.cos(x)


def v2v_inplace(y: Any, x: Any) -> None:
    """In-place vector -> vector: y = x sum(x) + cos(x)."""
    xp = array_namespace(x)
    y[...] = x * xp.sum(x) + xp.cos(x)


def _v2v_jac(x: np.ndarray) -> np.ndarray:
    return np.diag(x.sum() - np.sin(x)) + np.outer(x, np.ones_like(x))


def m2m(X: Any) -> Any:
    """matrix (2, 3) -> matrix (2, 2): X X^T."""
    return X @ X.T


def _m2m_jac(X: np.ndarray) -> np.ndarray:
    r, c = X.shape
    J = np.zeros((r, r, r, c), dtype=X.dtype)
    for i in range(r):
        for j in range(r):
            J[i, j, i, :] += X[j]
            J[i, j, j, :] += X[i]
    return J.reshape(r * r, r * c)


def m2m_elementwise(X: Any) -> Any:
    """matrix -> matrix of the same shape: X tanh(X)."""
    xp = array_namespace(X)
    return X * xp.tanh(X)


def _m2m_elementwise_jac(X: np.ndarray) -> np.ndarray:
    t = np.tanh(X)
    return np.diag((t + X * (1 - t**2)).reshape(-1))


def v2s_constant(x: Any, c: Any) -> Any:
    """vector -> scalar with a Constant c: sum(c tanh(x)) + sum(x^2)."""
    xp = array_namespace(x)
    return xp.sum(c * xp.tanh(x)) + xp.sum(x * x)


def v2v_constant(x: Any, c: Any) -> Any:
    """vector -> vector with a Constant c: c sin(x) + sum(x)."""
    xp = array_namespace(x)
    return c * xp.sin(x) + xp.sum(x)


def v2s_cache(x: Any, buf: Any) -> Any:
    """vector -> scalar through a Cache buffer it overwrites: sum(x^2 sin(x))."""
    xp = array_namespace(x)
    buf[...] = x * x
    return xp.sum(buf * xp.sin(x))


def v2v_cache(x: Any, buf: Any) -> Any:
    """vector -> vector through a Cache buffer: exp(x) x."""
    xp = array_namespace(x)
    buf[...] = xp.exp(x)
    return buf * x


def _x(n: int, dtype: Any = np.float64, offset: float = 0.0) -> np.ndarray:
    """A fixed point with distinct entries in about [-1, 1.4]."""
    return (np.linspace(-0.8, 1.1, n) + 0.13 * np.sin(np.arange(n)) + offset).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Catalogues

FIRST = ("derivative",)
ALL_OPS = (
    "derivative", "second_derivative", "gradient", "hessian", "hvp", "jacobian", "pushforward",
    "pullback",
)
SCALAR_OUT = ("gradient", "hessian", "hvp", "jacobian", "pushforward", "pullback")
ARRAY_OUT = ("jacobian", "pushforward", "pullback")


def _v2s_problem(x: np.ndarray, label: str) -> Problem:
    return Problem(
        label, v2s, x,
        jac=lambda x: (np.exp(x) * (np.sin(x) + np.cos(x)) + x.sum())[None, :],
        hess=lambda x: np.diag(2 * np.exp(x) * np.cos(x)) + np.ones((x.size, x.size)),
    )


def _v2v_problem(x: np.ndarray, label: str) -> Problem:
    return Problem(label, v2v, x, jac=_v2v_jac)


def default_scenarios() -> list[Scenario]:
    """Every operator on small inputs (n <= 6): scalar -> scalar, scalar -> array,
    vector -> scalar, matrix -> scalar, vector -> vector, matrix -> matrix; in-place ``f(y, x)``,
    ``Constant`` and ``Cache`` contexts, ``Batch`` tangents and float32 inputs.

    Example:
        >>> from anydiff.testing import default_scenarios
        >>> len({s.op for s in default_scenarios()})
        8
    """
    d1 = lambda x: np.atleast_1d(_s2s_d1(x))[:, None]  # noqa: E731
    d2 = lambda x: np.atleast_1d(_s2s_d2(x))  # noqa: E731
    scalar = Problem(
        "s2s", s2s, np.asarray(0.7), jac=d1, hess=lambda x: d2(x)[:, None], d2=d2
    )
    scalar_py = Problem("s2s-float", s2s, 0.7, jac=d1, d2=d2)
    s2a_jac = lambda x: (_K * np.cos(_K * x) + 2 * x)[:, None]  # noqa: E731
    s2a_d2 = lambda x: -(_K**2) * np.sin(_K * x) + 2  # noqa: E731
    s2a_problem = Problem("s2a", s2a, 0.6, jac=s2a_jac, d2=s2a_d2)
    s2a_in = Problem("s2a", s2a_inplace, 0.6, jac=s2a_jac, y=np.zeros(3))
    vec = _v2s_problem(_x(4), "v2s")
    vec32 = _v2s_problem(_x(4, np.float32), "v2s-f32")
    X = _x(6).reshape(2, 3)
    mat = Problem("m2s", m2s, X, jac=lambda X: _m2s_grad(X)[None, :], hess=_m2s_hess)
    shift = Problem("v2v-shift", v2v_shift, _x(5), jac=_v2v_shift_jac)
    dense = _v2v_problem(_x(4), "v2v")
    dense32 = _v2v_problem(_x(4, np.float32), "v2v-f32")
    dense_in = Problem("v2v", v2v_inplace, _x(4), jac=_v2v_jac, y=np.zeros(4))
    mm = Problem("m2m", m2m, X, jac=_m2m_jac)
    mm_el = Problem("m2m-elementwise", m2m_elementwise, X[:, :2].copy(), jac=_m2m_elementwise_jac)
    c = np.array([0.5, -1.0, 2.0, 1.5])
    t = lambda x, c: np.tanh(x)  # noqa: E731
    vconst = Problem(
        "v2s", v2s_constant, _x(4), contexts=(Constant(c),),
        jac=lambda x, c: (c * (1 - t(x, c) ** 2) + 2 * x)[None, :],
        hess=lambda x, c: np.diag(-2 * c * t(x, c) * (1 - t(x, c) ** 2) + 2),
    )
    vvconst = Problem(
        "v2v", v2v_constant, _x(4), contexts=(Constant(c),),
        jac=lambda x, c: np.diag(c * np.cos(x)) + 1.0,
    )
    scache = Problem(
        "v2s", v2s_cache, _x(4), contexts=(Cache(np.zeros(4)),), requires=("mutation",),
        jac=lambda x, buf: (2 * x * np.sin(x) + x**2 * np.cos(x))[None, :],
    )
    vcache = Problem(
        "v2v", v2v_cache, _x(4), contexts=(Cache(np.zeros(4)),), requires=("mutation",),
        jac=lambda x, buf: np.diag(np.exp(x) * (1 + x)),
    )
    tags = ("default",)
    out: list[Scenario] = []
    out += scenarios_of(scalar, ALL_OPS, tags=tags)
    out += scenarios_of(scalar_py, ("derivative", "second_derivative"), tags=tags)
    out += scenarios_of(s2a_problem, ("derivative", "second_derivative", *ARRAY_OUT), tags=tags)
    out += scenarios_of(vec, SCALAR_OUT, tags=tags)
    out += scenarios_of(vec32, ("gradient", "hessian", "hvp"), tags=tags)
    out += scenarios_of(mat, ("gradient", "hessian", "hvp"), tags=tags)
    out += scenarios_of(shift, ARRAY_OUT, tags=tags)
    out += scenarios_of(dense, ARRAY_OUT, tags=tags)
    out += scenarios_of(dense32, ARRAY_OUT, tags=tags)
    out += scenarios_of(mm, ARRAY_OUT, tags=tags)
    out += scenarios_of(mm_el, ("jacobian",), tags=tags)
    out += scenarios_of(dense, ("pushforward", "pullback"), batch=2, tags=tags)
    out += scenarios_of(vec, ("hvp",), batch=3, tags=tags)
    out += scenarios_of(s2a_in, ("derivative",), name="s2a-inplace", tags=tags)
    out += scenarios_of(dense_in, ARRAY_OUT, name="v2v-inplace", tags=tags)
    out += scenarios_of(vconst, ("gradient", "hessian", "hvp"), name="v2s-constant", tags=tags)
    out += scenarios_of(vvconst, ("jacobian", "pullback"), name="v2v-constant", tags=tags)
    out += scenarios_of(scache, ("gradient",), name="v2s-cache", tags=tags)
    out += scenarios_of(vcache, ("jacobian", "pushforward"), name="v2v-cache", tags=tags)
    return out


# ---- pytrees ----------------------------------------------------------------------------------

Params = namedtuple("Params", ["w", "b"])


def tree_dict(d: dict) -> Any:
    """dict {"a": (2,), "b": (2, 2)} -> scalar: sum(sin(a)) + a[0] sum(b^2)."""
    a, b = d["a"], d["b"]
    xp = array_namespace(a)
    return xp.sum(xp.sin(a)) + a[0] * xp.sum(b * b)


def _tree_dict_grad(d: dict) -> np.ndarray:
    a, b = d["a"], d["b"]
    ga = np.cos(a)
    ga[0] += (b * b).sum()
    return np.concatenate([ga, (2 * a[0] * b).reshape(-1)])


def _tree_dict_hess(d: dict) -> np.ndarray:
    a, b = d["a"], d["b"]
    H = np.zeros((6, 6))
    H[0, 0], H[1, 1] = -np.sin(a[0]), -np.sin(a[1])
    H[0, 2:] = H[2:, 0] = 2 * b.reshape(-1)
    H[2:, 2:] = 2 * a[0] * np.eye(4)
    return H


def tree_list(xs: list) -> Any:
    """list [u (3,), v ()] -> vector (3,): u v + sin(u)."""
    u, v = xs
    xp = array_namespace(u)
    return u * v + xp.sin(u)


def _tree_list_jac(xs: list) -> np.ndarray:
    u, v = xs
    return np.concatenate([np.diag(v + np.cos(u)), u[:, None]], axis=1)


def tree_tuple(xs: tuple) -> Any:
    """tuple (u (2,), W (2, 2)) -> vector (2,): W u."""
    u, W = xs
    return W @ u


def _tree_tuple_jac(xs: tuple) -> np.ndarray:
    u, W = xs
    dW = np.zeros((2, 2, 2))
    for i in range(2):
        dW[i, i, :] = u
    return np.concatenate([W, dW.reshape(2, 4)], axis=1)


def tree_namedtuple(p: Params) -> Any:
    """Params(w (3,), b ()) -> scalar: b sum(tanh(w)) + b^2."""
    xp = array_namespace(p.w)
    return p.b * xp.sum(xp.tanh(p.w)) + p.b**2


def _tree_namedtuple_grad(p: Params) -> np.ndarray:
    t = np.tanh(p.w)
    return np.concatenate([p.b * (1 - t**2), [t.sum() + 2 * p.b]])


def _tree_namedtuple_hess(p: Params) -> np.ndarray:
    t = np.tanh(p.w)
    H = np.zeros((4, 4))
    H[:3, :3] = np.diag(-2 * p.b * t * (1 - t**2))
    H[:3, 3] = H[3, :3] = 1 - t**2
    H[3, 3] = 2.0
    return H


def tree_output(x: Any) -> Any:
    """vector (3,) -> dict {"p": x^2, "s": sin(x)} (pytree output)."""
    xp = array_namespace(x)
    return {"s": xp.sin(x), "p": x * x}


def pytree_scenarios() -> list[Scenario]:
    """dict, list, tuple and namedtuple inputs, and a dict output.

    Example:
        >>> from anydiff.testing import pytree_scenarios
        >>> any(s.name.startswith("gradient-dict") for s in pytree_scenarios())
        True
    """
    d = {"a": np.array([0.3, -0.6]), "b": np.array([[0.5, -0.2], [1.1, 0.4]])}
    tags = ("pytree",)
    out: list[Scenario] = []
    out += scenarios_of(
        Problem("dict", tree_dict, d, jac=lambda d: _tree_dict_grad(d)[None, :],
                hess=_tree_dict_hess),
        ("gradient", "hessian", "hvp", "pullback"), tags=tags,
    )
    out += scenarios_of(
        Problem("list", tree_list, [np.array([0.2, -0.5, 0.9]), np.asarray(1.3)],
                jac=_tree_list_jac),
        ARRAY_OUT, tags=tags,
    )
    out += scenarios_of(
        Problem("tuple", tree_tuple, (np.array([0.4, -1.2]), np.array([[1.0, 0.5], [-0.3, 2.0]])),
                jac=_tree_tuple_jac),
        ARRAY_OUT, tags=tags,
    )
    out += scenarios_of(
        Problem("namedtuple", tree_namedtuple,
                Params(np.array([0.1, -0.7, 0.5]), np.asarray(0.8)),
                jac=lambda p: _tree_namedtuple_grad(p)[None, :], hess=_tree_namedtuple_hess),
        ("gradient", "hessian", "hvp"), tags=tags,
    )
    x = _x(3)
    out += scenarios_of(
        Problem("dict-output", tree_output, x,
                jac=lambda x: np.concatenate([np.diag(2 * x), np.diag(np.cos(x))])),
        ARRAY_OUT, tags=tags,
    )
    return out


# ---- complex ----------------------------------------------------------------------------------


def holo_vec(z: Any) -> Any:
    """Holomorphic vector -> vector: sin(z) z."""
    xp = array_namespace(z)
    return xp.sin(z) * z


def holo_scalar(z: Any) -> Any:
    """Holomorphic scalar -> scalar: exp(z) z."""
    xp = array_namespace(z)
    return xp.exp(z) * z


def holo_coupled(z: Any) -> Any:
    """Holomorphic vector -> vector with a dense Jacobian: z sum(z)."""
    xp = array_namespace(z)
    return z * xp.sum(z)


def real_of_complex(z: Any) -> Any:
    """Real-valued f of complex z: sum(|z|^2) + sum(Re sin(z))."""
    xp = array_namespace(z)
    return xp.sum(xp.real(z * xp.conj(z))) + xp.sum(xp.real(xp.sin(z)))


def complex_scenarios() -> list[Scenario]:
    """Holomorphic functions (jacobian, pushforward J t, pullback J^H w, derivative) and the
    gradient ``df/dRe z + i df/dIm z`` of a real function of complex z.

    Example:
        >>> from anydiff.testing import complex_scenarios
        >>> all(s.is_complex for s in complex_scenarios())
        True
    """
    z = np.array([0.3 + 0.4j, -0.5 + 0.1j, 0.8 - 0.6j])
    tags = ("complex",)
    out: list[Scenario] = []
    vec = Problem("holo-vec", holo_vec, z, jac=lambda z: np.diag(np.cos(z) * z + np.sin(z)))
    out += scenarios_of(vec, ARRAY_OUT, tags=tags)
    vec64 = Problem(
        "holo-vec-c64", holo_vec, z.astype(np.complex64),
        jac=lambda z: np.diag(np.cos(z) * z + np.sin(z)),
    )
    out += scenarios_of(vec64, ("jacobian",), tags=tags)
    sc = Problem(
        "holo-scalar", holo_scalar, np.asarray(0.2 - 0.7j),
        jac=lambda z: np.atleast_2d(np.exp(z) * (z + 1)),
    )
    out += scenarios_of(sc, ("derivative", "jacobian", "pushforward", "pullback"), tags=tags)
    co = Problem(
        "holo-coupled", holo_coupled, z,
        jac=lambda z: np.diag(np.full(z.size, z.sum())) + np.outer(z, np.ones_like(z)),
    )
    out += scenarios_of(co, ("jacobian", "pullback"), tags=tags)
    re = Problem(
        "real-of-complex", real_of_complex, z, grad=lambda z: 2 * z + np.conj(np.cos(z)),
    )
    out += scenarios_of(re, ("gradient",), tags=tags)
    return out


from ._bridge_family import bridge_scenarios  # noqa: E402
from ._families import (  # noqa: E402  (the families build on the helpers above)
    closure_scenarios,
    edge_scenarios,
    error_scenarios,
    mutation_scenarios,
    raising_scenarios,
)
from ._implicit import implicit_scenarios  # noqa: E402

#: Every catalogue by name (``python -m anydiff compare --scenarios NAME``).
CATALOGUES: dict[str, Callable[[], list[Scenario]]] = {
    "default": default_scenarios,
    "pytree": pytree_scenarios,
    "complex": complex_scenarios,
    "sparse": sparse_scenarios,
    "mutation": mutation_scenarios,
    "closure": closure_scenarios,
    "errors": error_scenarios,
    "edge": edge_scenarios,
    "raising": raising_scenarios,
    "bridge": bridge_scenarios,
    "implicit": implicit_scenarios,
}


def all_scenarios() -> list[Scenario]:
    """Every catalogue together."""
    return [s for make in CATALOGUES.values() for s in make()]
