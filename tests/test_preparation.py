"""Preparation: reuse at new points, strict checks for every argument, same-point preps, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import anydiff as ad

FD = ad.AutoFiniteDiff()


def f(x, a):
    return np.sum(a * np.sin(x))


def f_vec(x):
    return np.sin(x) * x


X0 = np.array([0.1, 0.2, 0.3])
X1 = np.array([1.0, -2.0, 0.5])
A = ad.Constant(np.array([1.0, 2.0, 3.0]))


def test_prep_valid_at_another_point_and_constant():
    prep = ad.prepare_gradient(f, FD, X0, A)
    a1 = ad.Constant(np.array([-1.0, 0.5, 4.0]))
    expected = a1.value * np.cos(X1)
    for result in (
        prep(X1, a1),
        prep.gradient(X1, a1),
        prep.value_and_gradient(X1, a1)[1],
        ad.gradient(f, FD, X1, a1, prep=prep),
    ):
        np.testing.assert_allclose(result, expected, rtol=1e-8)


def test_value_form_and_out_through_prep():
    prep = ad.prepare_jacobian(f_vec, FD, X0)
    out = np.empty((3, 3))
    y, J = prep.value_and_jacobian(X1, out=out)
    assert J is out
    np.testing.assert_allclose(y, f_vec(X1))
    np.testing.assert_allclose(J, np.diag(np.cos(X1) * X1 + np.sin(X1)), atol=1e-8)


def _mismatch(prep_fn, call):
    with pytest.raises(ad.PreparationMismatchError) as info:
        call(prep_fn)
    return str(info.value)


@pytest.mark.parametrize(
    "label, call",
    [
        ("f", lambda p: ad.gradient(lambda x, a: 0.0, FD, X0, A, prep=p)),
        ("backend", lambda p: ad.gradient(f, ad.AutoFiniteDiff("forward"), X0, A, prep=p)),
        ("x", lambda p: ad.gradient(f, FD, np.ones(4), A, prep=p)),
        ("x", lambda p: ad.gradient(f, FD, X0.astype(np.float32), A, prep=p)),
        ("x", lambda p: ad.gradient(f, FD, [X0], A, prep=p)),
        ("contexts[0]", lambda p: ad.gradient(f, FD, X0, ad.Constant(np.ones(2)), prep=p)),
        ("contexts[0]", lambda p: ad.gradient(f, FD, X0, ad.Cache(A.value), prep=p)),
        ("contexts", lambda p: ad.gradient(f, FD, X0, prep=p)),
    ],
)
def test_strict_mismatch_names_the_argument(label, call):
    prep = ad.prepare_gradient(f, FD, X0, A)
    msg = _mismatch(prep, call)
    assert f"✗ {label}" in msg and "prepared" in msg and "given" in msg
    # Arguments that match are listed too, marked as such.
    assert "✓" in msg or label == "contexts"


def test_mismatch_of_type_torch_vs_numpy():
    torch = pytest.importorskip("torch")
    prep = ad.prepare_gradient(f, FD, X0, A)
    msg = _mismatch(prep, lambda p: p(torch.tensor(X0), A))
    assert "✗ x: prepared numpy float64[3], given torch float64[3]" in msg


def test_tangent_and_y_mismatch():
    prep = ad.prepare_pushforward(f_vec, FD, X0, np.ones(3))
    assert "✗ tangent" in _mismatch(prep, lambda p: p(X0, np.ones(3, np.float32)))
    assert "✗ tangent" in _mismatch(prep, lambda p: p(X0, ad.Batch(np.ones(3), np.ones(3))))

    def g(y, x):
        y[:] = x**2

    prep = ad.prepare_jacobian(g, FD, X0, y=np.zeros(3))
    assert "✗ y" in _mismatch(prep, lambda p: p(X0, y=np.zeros(4)))
    assert "✗ y" in _mismatch(prep, lambda p: p(X0))


def test_non_strict_skips_types_but_not_shapes():
    prep = ad.prepare_gradient(f, FD, X0, A, strict=False)
    g = prep(X1.astype(np.float32), A)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, A.value * np.cos(X1), rtol=1e-3)
    msg = _mismatch(prep, lambda p: p(np.ones(5), A))
    assert "✗ x" in msg
    # strict=False on the call overrides a strict prep, shape checks stay.
    strict_prep = ad.prepare_gradient(f, FD, X0, A)
    ad.gradient(f, FD, X1.astype(np.float32), A, prep=strict_prep, strict=False)
    with pytest.raises(ad.PreparationMismatchError):
        ad.gradient(f, FD, np.ones(2), A, prep=strict_prep, strict=False)


def test_non_strict_other_function_gives_its_own_derivative():
    prep = ad.prepare_gradient(f, FD, X0, A, strict=False)

    def other(x, a):
        return np.sum(a * x**2)

    g = ad.gradient(other, FD, X1, A, prep=prep)
    np.testing.assert_allclose(g, 2 * A.value * X1, rtol=1e-8)


def test_inline_lambda_recreated_in_loop_matches():
    preps = []
    for _ in range(2):
        preps.append(lambda x, a: np.sum(a * np.sin(x)))
    prep = ad.prepare_gradient(preps[0], FD, X0, A)
    ad.gradient(preps[1], FD, X1, A, prep=prep)  # same code, same captures: accepted


def test_wrong_operator_prep():
    prep = ad.prepare_jacobian(f_vec, FD, X0)
    with pytest.raises(ad.PreparationMismatchError, match="prepare_gradient"):
        ad.gradient(f_vec, FD, X0, prep=prep)


@pytest.mark.parametrize("op", ["pushforward", "pullback"])
def test_same_point_preps(op):
    prepare = getattr(ad, f"prepare_{op}_same_point")
    prep = prepare(f_vec, FD, X1, np.ones(3))
    t = np.array([1.0, 0.0, 2.0])
    expected = np.diag(np.cos(X1) * X1 + np.sin(X1)) @ t
    np.testing.assert_allclose(prep(X1, t), expected, atol=1e-8)
    with pytest.raises(ad.PreparationMismatchError, match="only at the x"):
        prep(X0, t)


def test_hvp_same_point_checks_constants():
    prep = ad.prepare_hvp_same_point(f, FD, X1, np.ones(3), A)
    np.testing.assert_allclose(prep(X1, np.ones(3), A), -A.value * np.sin(X1), rtol=1e-5)
    with pytest.raises(ad.PreparationMismatchError):
        prep(X1, np.ones(3), ad.Constant(A.value + 1))


def test_prep_repr_and_attributes():
    prep = ad.prepare_hessian(lambda x: np.sum(x**4), FD, X0)
    assert prep.operator == "hessian" and prep.backend == FD
    assert "hessian" in repr(prep)
    np.testing.assert_allclose(prep.value_gradient_and_hessian(X1)[2], np.diag(12 * X1**2), rtol=1e-5)


def test_prep_from_several_threads():
    prep = ad.prepare_jacobian(f_vec, FD, X0)
    points = [np.linspace(-1, 1, 3) * k for k in range(1, 9)]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i):
        try:
            for _ in range(20):
                results[i] = prep(points[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(points))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, x in enumerate(points):
        np.testing.assert_allclose(results[i], np.diag(np.cos(x) * x + np.sin(x)), atol=1e-7)


@pytest.mark.parametrize("backend", ["finitediff", "engine"])
def test_hot_path_value_forms_and_fallbacks(backend):
    """The specialised call for plain arrays gives the same results as the general path."""
    f2 = lambda x: np.sum(np.sin(x) ** 2)  # noqa: E731
    prep = ad.prepare_gradient(f2, backend, X0)
    y, g = prep.value_and_gradient(X1)
    np.testing.assert_allclose(y, f2(X1))
    np.testing.assert_allclose(g, np.sin(2 * X1), rtol=1e-7)
    np.testing.assert_allclose(prep(X1), g)
    # Not the prepared type: falls back to the general path (and its checks).
    with pytest.raises(ad.PreparationMismatchError):
        prep(X1.astype(np.float32))
    # Tangent operators too.
    hv = ad.prepare_hvp(f2, backend, X0, np.ones(3))
    g, h = hv.gradient_and_hvp(X1, np.ones(3))
    np.testing.assert_allclose(h, 2 * np.cos(2 * X1), rtol=1e-5)
    np.testing.assert_allclose(hv(X1, np.ones(3)), h)
    pb = ad.prepare_pullback(f_vec, backend, X0, np.ones(3))
    np.testing.assert_allclose(pb(X1, np.ones(3)), np.cos(X1) * X1 + np.sin(X1), rtol=1e-7)
