"""Types a derivative needs, dtypes of
``strict=False`` calls (section 3), and ``out=`` buffers (section 2 "In place").

No silently dropped imaginary part, no zero gradient of a boolean: a clear AnydiffTypeError
that names the dtypes. References are analytic.
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

X = np.array([1.0, 2.0, 3.0])
T = np.array([0.5, -1.0, 2.0])

ALL = [
    pytest.param(ad.AutoEngine(mode="reverse"), id="engine-reverse"),
    pytest.param(ad.AutoEngine(mode="forward"), id="engine-forward"),
    pytest.param(ad.AutoFiniteDiff(method="central"), id="fd-central"),
    pytest.param(ad.AutoFiniteDiff(method="complex"), id="fd-complex"),
    pytest.param("autograd", id="autograd"),
    pytest.param("jax", id="jax"),
    pytest.param(ad.AutoJax(mode="reverse"), id="jax-reverse"),
    pytest.param("torch", id="torch"),
]


def _sum(v):
    return ad.array_namespace(v).sum(v)


# ---------------------------------------------------------------------------------------------
# Tangents and cotangents


@pytest.mark.parametrize("backend", ALL)
def test_complex_tangent_for_real_x_is_a_type_error(backend):
    for call in (
        lambda: ad.pushforward(lambda v: v**2, backend, X, T + 1j),
        lambda: ad.value_and_pushforward(lambda v: v**2, backend, X, T + 1j),
        lambda: ad.hvp(lambda v: _sum(v**3), backend, X, T + 1j),
        lambda: ad.pushforward(lambda v: v**2, backend, X, ad.Batch(T, T + 1j)),
        lambda: ad.prepare_pushforward(lambda v: v**2, backend, X, T + 1j),  # at preparation
    ):
        with pytest.raises(ad.AnydiffTypeError, match="tangent .*complex128.*x has dtype float64"):
            call()


@pytest.mark.parametrize("backend", ALL)
def test_cotangent_must_match_the_realness_of_y(backend):
    with pytest.raises(ad.AnydiffTypeError, match="cotangent .*complex128.*y = f.x. has dtype float64"):
        ad.pullback(lambda v: v**2, backend, X, T + 1j)
    if backend == "jax" or getattr(backend, "method", None) == "complex":
        return  # complex y from real x: not a question of the cotangent here
    with pytest.raises(ad.AnydiffTypeError, match="cotangent .*float64.*has dtype complex128"):
        ad.pullback(lambda v: v * (1 + 1j), backend, X, T)


def test_complex_tangent_caught_on_a_non_strict_prepared_call():
    prep = ad.prepare_pushforward(lambda v: v**2, "engine", X, T, strict=False)
    with pytest.raises(ad.AnydiffTypeError, match="imaginary part would be lost"):
        prep(X, T + 1j)
    prep = ad.prepare_pullback(lambda v: v**2, "finitediff", X, T, strict=False)
    with pytest.raises(ad.AnydiffTypeError, match="imaginary part would be lost"):
        prep(X, T + 1j)


def test_tangent_checks_are_per_leaf_and_allow_real_tangents_of_complex_x():
    z = {"a": X + 1j, "b": X}
    f = lambda d: d["a"] * 2 + d["b"]  # noqa: E731
    r = ad.pushforward(f, "engine", z, {"a": T, "b": T})  # real tangent for complex x: fine
    np.testing.assert_allclose(r, 3 * T, rtol=1e-14)
    with pytest.raises(ad.AnydiffTypeError, match=r"leaf 1"):
        ad.pushforward(f, "engine", z, {"a": T + 1j, "b": T + 1j})


# ---------------------------------------------------------------------------------------------
# Outputs of gradient-type operators

BAD_OUTPUTS = [
    pytest.param(lambda v: _sum(v * (1 + 1j)), "complex128", id="complex"),
    pytest.param(lambda v: _sum(ad.array_namespace(v).astype(v > 1.5, ad.array_namespace(v).int64)),
                 "int64", id="int"),
    pytest.param(lambda v: ad.array_namespace(v).all(v > 0), "bool", id="bool"),
]


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("f, dtype", BAD_OUTPUTS)
def test_gradient_type_operators_need_a_real_floating_scalar(backend, f, dtype):
    for call in (
        lambda: ad.gradient(f, backend, X),
        lambda: ad.value_and_gradient(f, backend, X),
        lambda: ad.hessian(f, backend, X),
        lambda: ad.hvp(f, backend, X, T),
        # At preparation where it evaluates f, else at the first call (no new work either way).
        lambda: ad.prepare_gradient(f, backend, X)(X),
        lambda: ad.prepare_hvp(f, backend, X, T).gradient_and_hvp(X, T),
    ):
        with pytest.raises(ad.AnydiffTypeError, match=f"real floating-point scalar.*{dtype}") as info:
            call()
        assert "jacobian" in str(info.value)


def test_real_f_of_complex_x_still_has_a_gradient():
    z = np.array([1 + 2j, -0.5 + 1j])
    for backend in ("engine", "jax", "torch", "finitediff"):
        g = ad.gradient(lambda v: ad.array_namespace(v).sum(ad.array_namespace(v).abs(v) ** 2), backend, z)
        np.testing.assert_allclose(g, 2 * z, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# strict=False: results in the dtypes of the given arguments, at their precision

SCALAR = lambda v: ad.array_namespace(v).sum(v**3)  # noqa: E731
VECTOR = lambda v: v**3  # noqa: E731
ANALYTIC = {
    "gradient": (SCALAR, None, lambda x, t: 3 * x**2),
    "jacobian": (VECTOR, None, lambda x, t: np.diag(3 * x**2)),
    "pushforward": (VECTOR, "t", lambda x, t: 3 * x**2 * t),
    "pullback": (VECTOR, "t", lambda x, t: 3 * x**2 * t),
    "hvp": (SCALAR, "t", lambda x, t: 6 * x * t),
    "hessian": (SCALAR, None, lambda x, t: np.diag(6 * x)),
}
STRICT_BACKENDS = [
    pytest.param(ad.AutoEngine(mode="reverse"), 1e-13, id="engine"),
    pytest.param("finitediff", 1e-6, id="finitediff"),
    pytest.param("autograd", 1e-13, id="autograd"),
    pytest.param("jax", 1e-13, id="jax"),
    pytest.param("torch", 1e-13, id="torch"),
]


@pytest.mark.parametrize("backend, rtol", STRICT_BACKENDS)
@pytest.mark.parametrize("op", list(ANALYTIC))
def test_non_strict_prep_returns_the_given_dtype(backend, rtol, op):
    f, tan, ref = ANALYTIC[op]
    x1 = np.array([1.1, 1.7, 2.3])
    for prep_dtype, call_dtype in ((np.float64, np.float32), (np.float32, np.float64)):
        x0 = X.astype(prep_dtype)
        args0 = () if tan is None else (T.astype(prep_dtype),)
        prep = getattr(ad, f"prepare_{op}")(f, backend, x0, *args0, strict=False)
        x = x1.astype(call_dtype)
        args = () if tan is None else (T.astype(call_dtype),)
        from anydiff._operators import OPERATORS

        for result in (prep(x, *args), getattr(prep, OPERATORS[op].value_name)(x, *args)):
            parts = result if isinstance(result, tuple) else (result,)
            for part in parts:
                assert np.asarray(part).dtype == call_dtype, (prep_dtype, call_dtype, parts)
            expected = ref(x1, T)
            # float64 calls of a float32 prep still get float64 accuracy.
            tol = rtol if call_dtype == np.float64 else (1e-5 if rtol < 1e-9 else 1e-3)
            # Finite differences in float32 reach about sqrt(eps32) ~ 3e-4 of the result's
            # scale for second derivatives (nested differences), also where an entry is 0.
            atol = tol if rtol < 1e-9 or call_dtype == np.float64 else 3e-4 * np.abs(expected).max()
            np.testing.assert_allclose(np.asarray(parts[-1]), expected, rtol=tol, atol=max(tol, atol))


def test_non_strict_prep_for_another_dtype_is_made_once():
    calls = []

    def f(v):
        calls.append(v.dtype)
        return ad.array_namespace(v).sum(v**2)

    # The engine records a tape at preparation and replays it: f runs only when preparing.
    prep = ad.prepare_gradient(f, "engine", X, strict=False)
    prep(X.astype(np.float32))
    n = len(calls)
    assert n > 0
    g = prep(X.astype(np.float32))
    assert len(calls) == n, "the float32 preparation is kept, not made again"
    assert g.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# out= buffers


def test_out_with_an_integer_buffer_is_a_type_error_naming_it():
    f = lambda v: _sum(v**2)  # noqa: E731
    with pytest.raises(ad.AnydiffTypeError, match=r"out= buffer has dtype int64.*float64"):
        ad.gradient(f, "engine", X, out=np.zeros(3, dtype=int))
    with pytest.raises(ad.AnydiffTypeError, match=r"out\[1\]= buffer has dtype int64"):
        ad.value_gradient_and_hessian(f, "engine", X, out=(np.zeros(3), np.zeros((3, 3), dtype=int)))
    with pytest.raises(ad.AnydiffTypeError, match="imaginary part"):
        ad.jacobian(lambda v: v * 1j, "engine", X, out=np.zeros((3, 3)))


def test_out_with_a_read_only_buffer_is_a_value_error_naming_it():
    f = lambda v: _sum(v**2)  # noqa: E731
    buf = np.zeros(3)
    buf.flags.writeable = False
    with pytest.raises(ad.AnydiffValueError, match="out= buffer is read-only.*writeable"):
        ad.gradient(f, "engine", X, out=buf)
    with pytest.raises(ad.AnydiffValueError, match=r"out= \(leaf 1\) buffer is read-only"):
        ad.gradient(lambda d: _sum(d[0] ** 2) + _sum(d[1]), "engine", [X, X],
                    out=[np.zeros(3), np.broadcast_to(np.zeros(1), (3,))])


def test_out_buffers_are_checked_before_anything_is_written():
    f = lambda v: _sum(v**2)  # noqa: E731
    g, H = np.full(3, 7.0), np.zeros((3, 3), dtype=int)
    with pytest.raises(ad.AnydiffTypeError):
        ad.value_gradient_and_hessian(f, "engine", X, out=(g, H))
    # A wrong leaf in a pytree buffer leaves the other leaves untouched.
    a = np.full(3, 7.0)
    with pytest.raises(ad.AnydiffTypeError):
        ad.gradient(lambda d: _sum(d[0] ** 2) + _sum(d[1]), "engine", [X, X],
                    out=[a, np.zeros(3, dtype=int)])
    np.testing.assert_array_equal(a, 7.0)


def test_out_with_torch_buffers():
    torch = pytest.importorskip("torch")
    f = lambda v: _sum(v**2)  # noqa: E731
    with pytest.raises(ad.AnydiffTypeError, match="int64"):
        ad.gradient(f, "torch", X, out=torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ad.AnydiffValueError, match="requires grad"):
        ad.gradient(f, "torch", X, out=torch.zeros(3, dtype=torch.float64, requires_grad=True))
    out = torch.zeros(3, dtype=torch.float32)  # float64 into float32: a same-kind cast, allowed
    assert ad.gradient(f, "torch", X, out=out) is out
    np.testing.assert_allclose(out.numpy(), 2 * X, rtol=1e-7)


def test_read_only_y_buffer_is_named_y():
    def f(y, v):
        y[...] = v**2

    y = np.zeros(3)
    y.flags.writeable = False
    with pytest.raises(ad.AnydiffValueError, match="y= buffer is read-only"):
        ad.value_and_jacobian(f, "engine", X, y=y)


@pytest.mark.parametrize("backend", ALL)
def test_byte_swapped_arrays_are_float64(backend):
    # Before: a big-endian '>f8' x (as read from some files) reached JAX's kernels as it was,
    # and JAX read it as zeros: every derivative was silently 0 (prepared calls too).
    xb, tb = X.astype(">f8"), T.astype(">f8")

    def cubes(v):
        return ad.array_namespace(v).sum(v**3)

    np.testing.assert_allclose(ad.gradient(cubes, backend, xb), 3 * X**2, rtol=1e-6)
    prep = ad.prepare_gradient(cubes, backend, xb)
    for _ in range(2):  # the first prepared call and the specialised path after it
        np.testing.assert_allclose(prep(xb), 3 * X**2, rtol=1e-6)
    pp = ad.prepare_pushforward(lambda v: v**2, backend, xb, tb)
    for _ in range(2):
        np.testing.assert_allclose(pp(xb, tb), 2 * X * T, rtol=1e-6)
    c = ad.gradient(lambda v, a: ad.array_namespace(v).sum(a * v), backend, X, ad.Constant(tb))
    np.testing.assert_allclose(c, T, rtol=1e-6)


@pytest.mark.parametrize("backend", ["jax", "torch", "engine"])
def test_tangent_of_another_array_kind_than_x(backend):
    # Before: a NumPy x with a torch tangent (or cotangent) took the specialised path, which
    # handed the tensor to JAX's jitted kernel: a bare JAX TypeError.
    torch = pytest.importorskip("torch")
    t, w = torch.tensor(T), torch.tensor(T)
    for _ in range(2):  # unprepared calls reuse a stored preparation the second time
        np.testing.assert_allclose(ad.pushforward(lambda v: v**2, backend, X, t), 2 * X * T)
        np.testing.assert_allclose(ad.pullback(lambda v: v**2, backend, X, w), 2 * X * T)
    prep = ad.prepare_pushforward(lambda v: v**2, backend, X, t)
    for _ in range(2):
        np.testing.assert_allclose(prep(X, t), 2 * X * T)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("f, dtype", BAD_OUTPUTS[1:] + [
    pytest.param(lambda v: v > 1.5, "bool", id="bool-array"),
    pytest.param(lambda v: ad.array_namespace(v).astype(v * 10, ad.array_namespace(v).int64),
                 "int64", id="int-array"),
])
def test_integer_and_boolean_outputs_have_no_jacobian(backend, f, dtype):
    # Before: the "Jacobian" of astype(10 v, int64) was 0 (jax, torch, engine), the identity
    # times 10 (autograd's astype passes tangents through) or huge difference quotients of
    # rounded values (finite differences), and a boolean output crashed JAX and finite
    # differences with bare TypeErrors. Now the same clear error everywhere.
    for call in (
        lambda: ad.jacobian(f, backend, X),
        lambda: ad.pushforward(f, backend, X, T),
        lambda: ad.value_and_jacobian(f, backend, X),
    ):
        with pytest.raises(ad.AnydiffTypeError, match=f"dtype {dtype}.*piecewise constant"):
            call()
    with pytest.raises(ad.AnydiffTypeError, match="piecewise constant"):
        ad.derivative(lambda s: ad.array_namespace(s).astype(s * 10, ad.array_namespace(s).int64),
                      backend, np.array(1.5))
