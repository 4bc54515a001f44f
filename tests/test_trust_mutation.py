"""Results belong to the caller and f's exceptions (section 4).

An ``f`` that mutates its argument works on a private copy: the caller's x and tangents are
never modified, and the derivatives are those of the function as written
(``v *= 2; return sum(v**2)`` has gradient ``8 v``). An ``f`` that raises propagates its own
exception, unchanged, after ONE evaluation, unprepared and prepared, in every variant.
References are analytic.
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

X = np.array([1.0, 2.0, 3.0])
T = np.array([0.5, -1.0, 2.0])
W = np.array([1.5, 0.25, -1.0])

# (backend, relative tolerance): exact AD to rounding; finite differences to their error.
MUTATING = [
    pytest.param(ad.AutoEngine(mode="reverse"), 1e-12, id="engine-reverse"),
    pytest.param(ad.AutoEngine(mode="forward"), 1e-12, id="engine-forward"),
    pytest.param(ad.AutoFiniteDiff(method="central"), 1e-6, id="fd-central"),
    pytest.param(ad.AutoFiniteDiff(method="forward"), 1e-5, id="fd-forward"),
    pytest.param(ad.AutoFiniteDiff(method="backward"), 1e-5, id="fd-backward"),
    pytest.param(ad.AutoFiniteDiff(method="complex"), 1e-6, id="fd-complex"),
    pytest.param("torch", 1e-12, id="torch"),
]


def scalar_f(v):
    v *= 2.0
    return ad.array_namespace(v).sum(v**2)


def vector_f(v):
    v *= 2.0
    return v**2


def cubic_f(v):  # scalar x: 0-d arrays are mutable too
    v *= 2.0
    return v**3


# operator -> (f, extra args, analytic result at X, index of the derivative in a value form)
CASES = {
    "gradient": (scalar_f, (), 8 * X),
    "value_and_gradient": (scalar_f, (), 8 * X),
    "hessian": (scalar_f, (), 8 * np.eye(3)),
    "value_gradient_and_hessian": (scalar_f, (), 8 * np.eye(3)),
    "hvp": (scalar_f, (T,), 8 * T),
    "gradient_and_hvp": (scalar_f, (T,), 8 * T),
    "jacobian": (vector_f, (), np.diag(8 * X)),
    "value_and_jacobian": (vector_f, (), np.diag(8 * X)),
    "pushforward": (vector_f, (T,), 8 * X * T),
    "value_and_pushforward": (vector_f, (T,), 8 * X * T),
    "pullback": (vector_f, (W,), 8 * X * W),
    "value_and_pullback": (vector_f, (W,), 8 * X * W),
}
_PLAIN = {
    "value_and_gradient": "gradient", "value_gradient_and_hessian": "hessian",
    "gradient_and_hvp": "hvp", "value_and_jacobian": "jacobian",
    "value_and_pushforward": "pushforward", "value_and_pullback": "pullback",
}


def _call(op: str, variant: str, f, backend, x, args):
    """Run ``op`` in one of the ways a user can: unprepared, prepared (at another point, then
    called at x, twice), through prep=, or same-point."""
    plain = _PLAIN.get(op, op)
    if variant == "unprepared":
        return getattr(ad, op)(f, backend, x, *args)
    if variant == "same_point":
        prep = getattr(ad, f"prepare_{plain}_same_point")(f, backend, x, *args)
        getattr(prep, op)(x, *args)
        return getattr(prep, op)(x, *args)
    prep = getattr(ad, f"prepare_{plain}")(f, backend, x + 0.25, *args)
    if variant == "prep_kw":
        getattr(ad, op)(f, backend, x, *args, prep=prep)
        return getattr(ad, op)(f, backend, x, *args, prep=prep)
    getattr(prep, op)(x, *args)
    return getattr(prep, op)(x, *args)


def _variants(op: str) -> list[str]:
    out = ["unprepared", "prepared", "prep_kw"]
    if _PLAIN.get(op, op) in ("pushforward", "pullback", "hvp"):
        out.append("same_point")
    return out


@pytest.mark.parametrize("backend, rtol", MUTATING)
@pytest.mark.parametrize("op", list(CASES))
def test_mutating_f_leaves_caller_arrays_and_gets_right_derivatives(backend, rtol, op):
    f, extra, expected = CASES[op]
    for variant in _variants(op):
        x = X.copy()
        args = tuple(a.copy() for a in extra)
        r = _call(op, variant, f, backend, x, args)
        r = r[-1] if isinstance(r, tuple) else r
        np.testing.assert_array_equal(x, X, err_msg=f"{variant}: the caller's x was modified")
        for a, a0 in zip(args, extra):
            np.testing.assert_array_equal(a, a0, err_msg=f"{variant}: a tangent was modified")
        np.testing.assert_allclose(np.asarray(r), expected, rtol=rtol, atol=rtol, err_msg=variant)


@pytest.mark.parametrize("backend, rtol", MUTATING)
def test_mutating_f_value_forms_return_the_value_of_f_as_written(backend, rtol):
    x = X.copy()
    y, g = ad.value_and_gradient(scalar_f, backend, x)
    assert np.isclose(float(y), 4 * np.sum(X**2), rtol=1e-12)
    y, J = ad.value_and_jacobian(vector_f, backend, x)
    np.testing.assert_allclose(np.asarray(y), 4 * X**2, rtol=1e-12)
    np.testing.assert_array_equal(x, X)


@pytest.mark.parametrize("backend, rtol", MUTATING)
def test_mutating_f_scalar_x(backend, rtol):
    for x in (np.array(1.5), 1.5):
        d = ad.derivative(cubic_f, backend, x)
        d2 = ad.second_derivative(cubic_f, backend, x)
        # np.asarray, not float(): the result's dtype is not what this test is about.
        assert np.isclose(np.asarray(d), 24 * 1.5**2, rtol=rtol)
        assert np.isclose(np.asarray(d2), 48 * 1.5, rtol=max(rtol, 1e-5))
        if isinstance(x, np.ndarray):
            assert float(x) == 1.5


@pytest.mark.parametrize(
    "backend", [ad.AutoEngine(mode="reverse"), ad.AutoEngine(mode="forward"), "finitediff", "torch"]
)
def test_mutating_f_pytree_x(backend):
    def f(d):
        d["a"] *= 2.0
        d["b"] *= 3.0
        xp = ad.array_namespace(d["a"])
        return xp.sum(d["a"] ** 2) + xp.sum(d["b"] ** 2)

    x = {"a": X.copy(), "b": X[:2].copy()}
    g = ad.gradient(f, backend, x)
    np.testing.assert_allclose(g["a"], 8 * X, rtol=1e-6)
    np.testing.assert_allclose(g["b"], 18 * X[:2], rtol=1e-6)
    np.testing.assert_array_equal(x["a"], X)
    np.testing.assert_array_equal(x["b"], X[:2])


@pytest.mark.parametrize("backend", [ad.AutoEngine(mode="reverse"), "finitediff", "torch"])
def test_mutating_inplace_form(backend):
    def f(y, v):
        v *= 2.0
        y[...] = v**2

    x = X.copy()
    prep = ad.prepare_pullback(f, backend, x, W, y=np.zeros(3))
    r = prep(x, W, y=np.zeros(3))
    np.testing.assert_allclose(np.asarray(r), 8 * X * W, rtol=1e-6)
    np.testing.assert_array_equal(x, X)


def test_torch_tensor_x_is_not_modified():
    torch = pytest.importorskip("torch")
    x = torch.tensor(X)
    for backend in ("torch", "engine", "finitediff"):
        g = ad.gradient(scalar_f, backend, x)
        assert torch.equal(x, torch.tensor(X))
        np.testing.assert_allclose(np.asarray(g), 8 * X, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# f's own exceptions: one evaluation, unchanged


class Boom(Exception):
    pass


class Counted:
    """f that counts its evaluations and raises Boom while ``fail`` is set."""

    def __init__(self, vector: bool) -> None:
        self.calls, self.fail, self.vector = 0, False, vector

    def __call__(self, v):
        self.calls += 1
        if self.fail:
            raise Boom("f failed on purpose")
        return v**2 if self.vector else ad.array_namespace(v).sum(v**3)


RAISING = [
    pytest.param(ad.AutoEngine(mode="reverse"), id="engine-reverse"),
    pytest.param(ad.AutoEngine(mode="forward"), id="engine-forward"),
    pytest.param(ad.AutoFiniteDiff(method="central"), id="fd-central"),
    pytest.param(ad.AutoFiniteDiff(method="forward"), id="fd-forward"),
    pytest.param("autograd", id="autograd"),
    pytest.param("jax", id="jax"),
    pytest.param(ad.AutoJax(jit=False), id="jax-nojit"),
    pytest.param("torch", id="torch"),
]
OPS = [
    ("gradient", False, None), ("jacobian", True, None), ("pushforward", True, T),
    ("pullback", True, W), ("hvp", False, T), ("hessian", False, None),
]


@pytest.mark.parametrize("backend", RAISING)
@pytest.mark.parametrize("op, vector, t", OPS, ids=[o[0] for o in OPS])
def test_f_exception_propagates_after_one_evaluation(backend, op, vector, t):
    _check_one_evaluation(backend, op, vector, t, same_point=True)


@pytest.mark.parametrize(
    "op, vector, t", [o for o in OPS if o[0] in ("pullback", "hvp")], ids=["pullback", "hvp"]
)
def test_f_exception_torch_same_point(op, vector, t):
    _check_one_evaluation("torch", op, vector, t, same_point=True)


def _check_one_evaluation(backend, op, vector, t, same_point: bool) -> None:
    args = () if t is None else (t,)
    from anydiff._operators import OPERATORS

    spec = OPERATORS[op]
    f = Counted(vector)
    f.fail = True
    # str(), not match=: pytest's match also sees __notes__, to which JAX adds a line.
    with pytest.raises(Boom) as info:
        getattr(ad, op)(f, backend, X, *args)
    assert type(info.value) is Boom and str(info.value) == "f failed on purpose"
    assert f.calls == 1, "unprepared"
    with pytest.raises(Boom) as info:
        getattr(ad, spec.value_name)(f, backend, X, *args)
    assert type(info.value) is Boom and str(info.value) == "f failed on purpose"
    assert f.calls == 2, "unprepared value form"

    preps = [("prepared", getattr(ad, f"prepare_{op}"))]
    if spec.has_same_point and same_point:
        preps.append(("same_point", getattr(ad, f"prepare_{op}_same_point")))
    for kind, make in preps:
        for call in ("call", "value", "prep_kw"):
            f.fail = False
            prep = make(f, backend, X, *args)
            f.fail, f.calls = True, 0
            try:
                if call == "call":
                    prep(X, *args)
                elif call == "value":
                    getattr(prep, spec.value_name)(X, *args)
                else:
                    getattr(ad, op)(f, backend, X, *args, prep=prep)
            except Boom as exc:
                assert type(exc) is Boom and str(exc) == "f failed on purpose"
                assert f.calls == 1, f"{kind} {call}: f ran {f.calls} times"
            else:
                # A prep may replay a tape or a compiled program without running f at all.
                assert f.calls == 0, f"{kind} {call}: f ran {f.calls} times and raised nothing"
