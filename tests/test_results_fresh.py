"""Results belong to the caller and 0-d stays 0-d ("Edge shapes").

* Every array an operator returns is fresh or read-only: writing into it (value and derivative
  parts, plain and value forms, ``Batch`` elements) changes neither later results nor the
  caller's ``x`` and tangents. The cases that used to fail: same-point preparations handing out
  their stored value (torch, autograd; JAX results converted to torch tensors), and outputs that
  are views of the inputs (``x -> x.reshape(-1)`` gives the tangent itself as its pushforward
  and ``x`` itself as its value).
* A torch ``x`` on a non-torch backend gets 0-d tensors for scalar results, not shape ``(1,)``.
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

torch = pytest.importorskip("torch")
pytest.importorskip("jax")
pytest.importorskip("autograd")

X = np.array([0.3, -0.7, 1.1])
T = np.array([1.0, 0.5, -2.0])
T2 = np.array([-0.4, 2.0, 0.25])


def f_vec(v):
    xp = ad.array_namespace(v)
    return xp.sin(v) * 2.0


def f_view(v):
    """Linear and a view of its input: pushforward / pullback return the tangent itself."""
    return v.reshape(-1)


def f_scalar(v):
    xp = ad.array_namespace(v)
    return xp.sum(v**4) / 4 + xp.sum(xp.sin(v))


def f_quadratic(v):
    """Its gradient is x itself and its hvp is the tangent itself."""
    xp = ad.array_namespace(v)
    return xp.sum(v * v) / 2


def as_kind(a, kind):
    return torch.tensor(a, dtype=torch.float64) if kind == "torch" else np.array(a)


def leaves(result):
    if isinstance(result, (tuple, list, ad.Batch)):
        return [leaf for r in result for leaf in leaves(r)]
    return [result]


def snapshot(result):
    return [np.array(np.asarray(r), copy=True) for r in leaves(result)]


def scribble(result):
    """Write into every writable returned array (read-only ones are allowed by the contract)."""
    for r in leaves(result):
        if isinstance(r, torch.Tensor):
            r.fill_(777.0)
        elif isinstance(r, np.ndarray) and r.flags.writeable:
            r[...] = 777.0


# (operator, value-form name, f, number of tangent arguments, has a same-point form)
OPS = [
    ("gradient", "value_and_gradient", f_scalar, 0, False),
    ("gradient", "value_and_gradient", f_quadratic, 0, False),
    ("jacobian", "value_and_jacobian", f_vec, 0, False),
    ("jacobian", "value_and_jacobian", f_view, 0, False),
    ("hessian", "value_gradient_and_hessian", f_quadratic, 0, False),
    ("pushforward", "value_and_pushforward", f_vec, 1, True),
    ("pushforward", "value_and_pushforward", f_view, 1, True),
    ("pullback", "value_and_pullback", f_vec, 1, True),
    ("pullback", "value_and_pullback", f_view, 1, True),
    ("hvp", "gradient_and_hvp", f_scalar, 1, True),
    ("hvp", "gradient_and_hvp", f_quadratic, 1, True),
]
CASES = [
    (op, vname, f, nt, sp, batch)
    for op, vname, f, nt, has_sp in OPS
    for sp in ((False, True) if has_sp else (False,))
    for batch in ((False, True) if nt else (False,))
]


# JAX compiles each preparation (slow), and its NumPy results are read-only views: it runs the
# same-point cases with a torch x, where results used to share the stored buffers.
RUNS = [
    (backend, kind, case)
    for backend, kind in [
        ("torch", "numpy"), ("torch", "torch"), ("autograd", "numpy"), ("autograd", "torch"),
        ("jax", "torch"), ("finitediff", "numpy"), ("engine", "numpy"),
    ]
    for case in CASES
    if backend != "jax" or case[4]
]


@pytest.mark.parametrize(
    "backend,kind,case", RUNS,
    ids=[
        f"{b}-{k}-{c[0]}-{c[2].__name__}{'-same_point' if c[4] else ''}{'-Batch' if c[5] else ''}"
        for b, k, c in RUNS
    ],
)
def test_writing_into_results_changes_nothing(backend, kind, case):
    op, vname, f, ntan, same_point, batch = case
    x = as_kind(X, kind)
    x_before = X.copy()
    args = ()
    if ntan:
        t, t2 = as_kind(T, kind), as_kind(T2, kind)
        args = (ad.Batch(t, t2),) if batch else (t,)
    prepare = getattr(ad, f"prepare_{op}" + ("_same_point" if same_point else ""))
    prep = prepare(f, backend, x, *args)
    for form in (op, vname):
        call = getattr(prep, form)
        first = call(x, *args)
        expected = snapshot(first)
        scribble(first)
        again = call(x, *args)
        for got, want in zip(snapshot(again), expected):
            np.testing.assert_array_equal(got, want)
        scribble(again)  # the unprepared operator must not be affected either
        np.testing.assert_array_equal(np.asarray(x), x_before)
        if ntan:
            np.testing.assert_array_equal(np.asarray(t), T)
            np.testing.assert_array_equal(np.asarray(t2), T2)
    unprepared = getattr(ad, vname)(f, backend, x, *args)
    for got, want in zip(snapshot(unprepared), expected):
        np.testing.assert_array_equal(got, want)


# ---- 0-d stays 0-d for a torch x on every backend ---------------------------------------------

X0 = torch.tensor(0.7, dtype=torch.float64)
X1 = torch.tensor([0.7, 0.2], dtype=torch.float64)
ONE = torch.tensor(1.0, dtype=torch.float64)


def _sq_sum(v):
    return (v**2).sum()


def _cube(v):
    return v**3


SCALAR_CALLS = {
    "value_and_gradient": lambda b: ad.value_and_gradient(_sq_sum, b, X1)[:1],
    "gradient 0-d": lambda b: (ad.gradient(_cube, b, X0),),
    "derivative": lambda b: (ad.derivative(_cube, b, X0),),
    "value_and_derivative": lambda b: ad.value_and_derivative(_cube, b, X0),
    "second_derivative": lambda b: ad.value_derivative_and_second_derivative(_cube, b, X0),
    "hessian 0-d": lambda b: ad.value_gradient_and_hessian(_cube, b, X0),
    "hvp 0-d": lambda b: ad.gradient_and_hvp(_cube, b, X0, ONE),
    "jacobian 0-d": lambda b: ad.value_and_jacobian(_cube, b, X0),
    "pushforward to a scalar": lambda b: ad.value_and_pushforward(_sq_sum, b, X1, X1),
    "pullback 0-d": lambda b: ad.value_and_pullback(_cube, b, X0, ONE),
    "prepared derivative": lambda b: ad.prepare_derivative(_cube, b, X0).value_and_derivative(X0),
    "prepared gradient value": lambda b: ad.prepare_gradient(_sq_sum, b, X1).value_and_gradient(
        X1
    )[:1],
}


@pytest.mark.parametrize("backend", ["jax", "autograd", "finitediff", "engine", "torch"])
@pytest.mark.parametrize("call", list(SCALAR_CALLS))
def test_scalar_results_stay_zero_dimensional_for_torch_x(backend, call):
    results = SCALAR_CALLS[call](backend)
    for r in results:
        assert isinstance(r, torch.Tensor), type(r)
        assert tuple(r.shape) == (), (call, tuple(r.shape))
        assert r.dtype == torch.float64


def test_zero_dimensional_values_are_right():
    # The shapes are right and so are the numbers (d/dx x^3 = 3x^2, d2 = 6x).
    for backend in ("jax", "autograd", "finitediff", "engine"):
        y, dy, d2y = ad.value_derivative_and_second_derivative(_cube, backend, X0)
        tol = 1e-6 if backend == "finitediff" else 1e-12
        np.testing.assert_allclose(float(y), 0.7**3, rtol=1e-14)
        np.testing.assert_allclose(float(dy), 3 * 0.7**2, rtol=tol)
        np.testing.assert_allclose(float(d2y), 6 * 0.7, rtol=max(tol, 1e-5 if tol > 1e-12 else 0))
