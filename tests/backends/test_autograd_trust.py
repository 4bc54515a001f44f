"""autograd runs Array API code with right derivatives, and says what plain NumPy it runs
(issue 8, items 12 and 13).

``ad.array_namespace`` of autograd's boxes used to be ``autograd.numpy``, whose Array API names
(``concat``, ``vecdot``, ``cumulative_sum``, ``linalg.vector_norm``, ...) are NumPy's untraced
functions: ``xp.concat`` of traced arrays gave an object array (the standard ``vec_to_vec``
scenario failed on autograd). Every function here is checked against JAX (exact AD) to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("autograd")
jax = pytest.importorskip("jax")

import anydiff as ad  # noqa: E402

X = np.array([0.7, -1.3, 2.1, 0.4])
TIGHT = dict(rtol=1e-12, atol=1e-12)


def _m(v, xp):
    return xp.reshape(v, (2, 2))


ARRAY_API = {
    "concat": lambda v, xp: xp.concat([xp.sin(v), v**2, v[:1]]),
    "concat axis=None": lambda v, xp: xp.concat([_m(v, xp), _m(v, xp) * 2], axis=None),
    "concat axis=1": lambda v, xp: xp.reshape(xp.concat([_m(v, xp), xp.exp(_m(v, xp))], axis=1), (-1,)),
    "stack": lambda v, xp: xp.reshape(xp.stack([v, xp.cos(v)], axis=1), (-1,)),
    "unstack": lambda v, xp: xp.unstack(_m(v, xp))[1] * 3,
    "where": lambda v, xp: xp.where(v > 0.5, v**2, -v),
    "zeros +": lambda v, xp: xp.zeros(4, dtype=xp.float64) + v * 2 + xp.ones_like(v),
    "full_like *": lambda v, xp: xp.full_like(v, 3.0) * v,
    "asarray list": lambda v, xp: xp.asarray([v[0] * v[1], xp.sin(v[2])]),
    "astype": lambda v, xp: xp.astype(v, xp.float64) * v,
    "permute_dims": lambda v, xp: xp.reshape(xp.permute_dims(_m(v, xp), (1, 0)), (-1,)) * v,
    "matrix_transpose": lambda v, xp: xp.reshape(xp.matrix_transpose(_m(v, xp)) @ _m(v, xp), (-1,)),
    "matmul": lambda v, xp: xp.reshape(xp.matmul(_m(v, xp), _m(v, xp)), (-1,)),
    "tensordot": lambda v, xp: xp.reshape(xp.tensordot(_m(v, xp), _m(v, xp), axes=1), (-1,)),
    "vecdot": lambda v, xp: xp.vecdot(_m(v, xp), xp.sin(_m(v, xp))),
    "pow acos atan2": lambda v, xp: xp.pow(v, 2) + xp.acos(v / 3) + xp.atan2(v, v**2 + 1),
    "asinh acosh atanh": lambda v, xp: xp.asinh(v) + xp.acosh(v**2 + 2) + xp.atanh(v / 3),
    "sum/prod/mean keep": lambda v, xp: xp.concat(
        [xp.sum(_m(v, xp), axis=0), xp.prod(_m(v, xp), axis=1), xp.mean(_m(v, xp), axis=1)]
    ),
    "std var correction": lambda v, xp: xp.stack(
        [xp.std(v), xp.var(v, correction=1), xp.std(_m(v, xp), axis=0)[1]]
    ),
    "max min": lambda v, xp: xp.stack([xp.max(v), xp.min(v), xp.max(_m(v, xp), axis=1)[0]]),
    "cumulative_sum": lambda v, xp: xp.cumulative_sum(v**2),
    "cumulative_sum initial": lambda v, xp: xp.cumulative_sum(v, include_initial=True) * v[0],
    "sort descending": lambda v, xp: xp.sort(v**3, descending=True),
    "flip roll": lambda v, xp: xp.flip(v) * xp.roll(v, 1),
    "expand/squeeze": lambda v, xp: xp.squeeze(xp.expand_dims(v, axis=0), axis=0) ** 2,
    "take": lambda v, xp: xp.take(v, xp.asarray([2, 0, 0])) * v[:3],
    "clip": lambda v, xp: xp.clip(v, min=-1.0, max=1.0) * v,
    "copysign": lambda v, xp: xp.copysign(v, xp.asarray([1.0, -1.0, 1.0, -1.0])),
    "logaddexp maximum": lambda v, xp: xp.logaddexp(v, 2 * v) + xp.maximum(v, 0.5),
    "vector_norm": lambda v, xp: xp.stack(
        [xp.linalg.vector_norm(v), xp.linalg.vector_norm(v, ord=1), xp.linalg.vector_norm(v, ord=3)]
    ),
    "vector_norm axis": lambda v, xp: xp.linalg.vector_norm(_m(v, xp), axis=1),
    "matrix_norm fro": lambda v, xp: xp.linalg.matrix_norm(_m(v, xp)) * v,
    "det inv solve": lambda v, xp: xp.concat(
        [
            xp.reshape(xp.linalg.det(_m(v, xp)), (1,)),
            xp.reshape(xp.linalg.inv(_m(v, xp)), (-1,)),
            xp.linalg.solve(_m(v, xp), v[:2]),
        ]
    ),
    "linalg trace diagonal outer": lambda v, xp: xp.concat(
        [xp.reshape(xp.linalg.trace(_m(v, xp)), (1,)), xp.linalg.diagonal(_m(v, xp)),
         xp.reshape(xp.linalg.outer(v[:2], v[2:]), (-1,))]
    ),
}


@pytest.mark.parametrize("name", list(ARRAY_API))
def test_array_api_code_runs_on_autograd_with_right_derivatives(name):
    body = ARRAY_API[name]

    def f(v):
        return body(v, ad.array_namespace(v))

    J = ad.jacobian(f, "autograd", X)
    ref = ad.jacobian(f, ad.AutoJax(), X)
    assert np.asarray(J).dtype == np.float64
    np.testing.assert_allclose(J, ref, **TIGHT)
    y, J2 = ad.value_and_jacobian(f, "autograd", X)
    np.testing.assert_allclose(y, f(X), **TIGHT)
    np.testing.assert_allclose(J2, ref, **TIGHT)


def test_vec_to_vec_with_concat_and_its_gradients():
    def f(v):
        xp = ad.array_namespace(v)
        return xp.concat([xp.sin(v), xp.cos(v[:2]) * v[2:]])

    def fs(v):
        xp = ad.array_namespace(v)
        return xp.sum(f(v) ** 2)

    t = np.array([1.0, 0.5, -0.2, 2.0])
    for op, args in [("jacobian", ()), ("pushforward", (t,)), ("pullback", (np.ones(6),))]:
        np.testing.assert_allclose(
            getattr(ad, op)(f, "autograd", X, *args), getattr(ad, op)(f, "jax", X, *args), **TIGHT
        )
    np.testing.assert_allclose(ad.hessian(fs, "autograd", X), ad.hessian(fs, "jax", X), **TIGHT)
    np.testing.assert_allclose(ad.hvp(fs, "autograd", X, t), ad.hvp(fs, "jax", X, t), **TIGHT)


def test_namespace_falls_back_to_autograd_numpy_and_numpy():
    seen = {}

    def f(v):
        xp = ad.array_namespace(v)
        seen["xp"] = xp
        return xp.sum(xp.tanh(v) * xp.pi)

    ad.gradient(f, "autograd", X)
    xp = seen["xp"]
    assert xp.float64 is np.float64 and xp.pi == np.pi and xp.e == np.e
    assert callable(xp.sin) and callable(xp.linalg.eigh)
    with pytest.raises(AttributeError):
        _ = xp.no_such_function
    # Plain NumPy arrays still get array_api_compat's namespace.
    assert ad.array_namespace(X).__name__.startswith("array_api_compat")


# ---- plain NumPy code: what autograd runs, and that the trait and docs say so --------------------

PLAIN_RUNS = {
    "ufuncs": lambda v: np.sum(np.sin(v) * np.exp(v / 3) + np.maximum(v, 0.1) ** 2),
    "np.mean / np.prod": lambda v: np.mean(v**2) + np.prod(v),
    "np.concatenate(...).sum()": lambda v: np.concatenate([v, v**2]).sum(),
}
PLAIN_REFUSED = {
    "np.sin(np.where(...))": lambda v: np.sum(np.sin(np.where(v > 0, v, 2 * v))),
    "np.stack(...) @ v": lambda v: np.sum(np.stack([v, v]) @ v),
    "np.zeros buffer": lambda v: (lambda b: (b.__setitem__(slice(None), v), b.sum())[1])(np.zeros(4)),
}


@pytest.mark.parametrize("name", list(PLAIN_RUNS))
def test_plain_numpy_that_autograd_traces(name):
    f = PLAIN_RUNS[name]
    np.testing.assert_allclose(ad.gradient(f, "autograd", X), ad.gradient(f, "engine", X), **TIGHT)


@pytest.mark.parametrize("name", list(PLAIN_REFUSED))
def test_plain_numpy_that_autograd_does_not_trace_raises(name):
    with pytest.raises(ad.UnsupportedError, match="engine"):
        ad.gradient(PLAIN_REFUSED[name], "autograd", X)


def test_plain_numpy_jacobian_of_np_where_raises_not_zeros():
    with pytest.raises(ad.UnsupportedError, match="Array API"):
        ad.jacobian(lambda v: np.where(v > 0, v**2, -v), "autograd", X)


def test_plain_numpy_trait_and_docs_agree():
    from pathlib import Path

    assert ad.AutoAutograd().plain_numpy is False
    assert ad.AutoAutograd().traits["plain_numpy"] is False
    root = Path(__file__).resolve().parents[2]
    readme = next(
        line for line in (root / "README.md").read_text().splitlines()
        if line.startswith("| `AutoAutograd()`")
    )
    assert "partly" in readme and "np.where" in readme
    docs = (root / "docs" / "backends.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `AutoAutograd()`"))
    assert row.rstrip().endswith("✗ (partly: see below) |")


# ---- f's own exception: once (item 12) -------------------------------------------------------------


@pytest.mark.parametrize(
    "op,args",
    [("gradient", ()), ("jacobian", ()), ("hessian", ()), ("pushforward", (X,)),
     ("pullback", (X,)), ("hvp", (X,))],
)
def test_f_raising_in_a_prepared_call_runs_once(op, args):
    state = {"armed": False, "calls": 0}
    err = RuntimeError("my own failure")

    def f(v, c):
        if state["armed"]:
            state["calls"] += 1
            raise err
        y = ad.array_namespace(v).sin(v) * c
        return y.sum() if op in ("gradient", "hessian", "hvp") else y

    c = ad.Constant(2.0)  # the general path; the hot path's retry is _prep.py's
    prep = getattr(ad, f"prepare_{op}")(f, "autograd", X, *args, c)
    state["armed"] = True
    with pytest.raises(RuntimeError) as info:
        prep(X, *args, c)
    assert info.value is err and state["calls"] == 1
