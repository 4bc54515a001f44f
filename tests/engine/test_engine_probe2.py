"""Results belong to the caller on the engine (probe of silent wrong numbers through the interface).

An ``f`` that returns its argument, a view of it, or an array that does not depend on x gave a
value that aliased the caller's ``x`` (writing into ``x`` afterwards changed the returned value)
or the tape's stored output (writing into one result changed every later prepared result).
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

BACKENDS = [ad.AutoEngine("reverse"), ad.AutoEngine("forward")]
IDS = ["reverse", "forward"]
X = np.array([0.3, -0.7, 1.1])


def f_identity(v):
    return v


def f_view(v):
    return v[1:]


def f_const(v):
    return np.array([1.0, 2.0, 3.0])


def _value(op, f, be, x, prepared):
    w = np.ones_like(f(X))
    args = {"jacobian": (), "pushforward": (np.ones(3),), "pullback": (w,)}[op]
    if prepared:
        prep = getattr(ad, f"prepare_{op}")(f, be, x, *args)
        return lambda: getattr(prep, f"value_and_{op}")(x, *args)[0]
    return lambda: getattr(ad, f"value_and_{op}")(f, be, x, *args)[0]


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
@pytest.mark.parametrize("op", ["jacobian", "pushforward", "pullback"])
@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.parametrize("f", [f_identity, f_view])
def test_value_does_not_alias_the_callers_x(be, op, prepared, f):
    x = X.copy()
    y = _value(op, f, be, x, prepared)()
    expected = f(X).copy()
    x[:] = 99.0  # an optimizer updating x in place
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
@pytest.mark.parametrize("op", ["jacobian", "pullback"])
def test_constant_output_of_a_prep_is_not_shared_between_calls(be, op):
    call = _value(op, f_const, be, X.copy(), True)
    first = call()
    first[:] = 777.0
    np.testing.assert_array_equal(call(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
def test_zero_dimensional_identity_value_is_the_callers(be):
    x = np.array(2.0)
    prep = ad.prepare_gradient(f_identity, be, x)
    y, g = prep.value_and_gradient(x)
    x[...] = 5.0
    assert float(y) == 2.0 and float(g) == 1.0


# ---- a mutable Constant changed in place between prepared calls ----------------------------


class Params:
    def __init__(self) -> None:
        self.w = np.array([1.0, 2.0, 3.0])
        self.k = 2.0


def f_params(v, p):
    return np.sum(v**2 * p.w) * p.k


@pytest.mark.parametrize("op", ["gradient", "jacobian"])
def test_object_constant_mutated_between_prepared_calls_is_used(op):
    # The tape compared the object by identity and replayed with the recorded p.k baked in.
    be = ad.AutoEngine("reverse")
    p = Params()
    prep = getattr(ad, f"prepare_{op}")(f_params, be, X, ad.Constant(p))
    p.w = np.array([5.0, 5.0, 5.0])
    p.k = 3.0
    got = getattr(ad, op)(f_params, be, X, ad.Constant(p), prep=prep)
    np.testing.assert_allclose(np.ravel(got), 2 * X * 5.0 * 3.0, rtol=1e-13)


# ---- views that must see later writes into their base (NumPy semantics) -----------------------

VIEWS = {
    "diagonal": np.diagonal,
    "diag": np.diag,
    "broadcast_to": lambda A: np.broadcast_to(A, (2, 3, 3)),
    "squeeze of a view": lambda A: np.squeeze(A[None]),
    "rot90": np.rot90,
    "real": lambda A: A.real,
}


def _writes_after_view(view):
    def f(v):
        A = np.outer(v, v) + 0.0
        d = view(A)
        A[0, 0] = 0.0
        A[1, :] *= v[2]
        w = np.arange(1.0, np.size(d) + 1).reshape(np.shape(d))
        return np.sum(d * w) + np.sum(A)

    return f


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
@pytest.mark.parametrize("name", list(VIEWS))
def test_view_sees_later_writes_into_its_base(be, name):
    # The engine's result was a copy taken when the view was made (a silently stale value
    # and gradient); chained views (a view of a view) did not see writes into the root either.
    f = _writes_after_view(VIEWS[name])
    y, g = ad.value_and_gradient(f, be, X)
    np.testing.assert_allclose(y, f(X.copy()), rtol=1e-13)
    np.testing.assert_allclose(g, ad.gradient(f, "finitediff", X), rtol=1e-6, atol=1e-8)


def test_writing_into_a_diagonal_raises_as_numpy():
    def f(v):
        d = np.diagonal(np.outer(v, v))
        d[0] = 1.0
        return np.sum(d)

    with pytest.raises(ValueError, match="read-only"):
        f(X.copy())
    with pytest.raises(ValueError, match="read-only"):
        ad.gradient(f, "engine", X)


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
def test_writes_through_real_and_imag_change_the_complex_array(be):
    # z.real[0] = ... was dropped (z unchanged), a silently wrong value and gradient.
    def f(v):
        z = v * (1 + 2j)
        r = z.real
        r[0] = 5.0 * v[1]
        i = z.imag
        i[1] = v[2] ** 2
        z[2] *= v[0]
        return np.sum(np.abs(z) ** 2) + np.sum(r * v) + np.sum(i**2)

    y, g = ad.value_and_gradient(f, be, X)
    np.testing.assert_allclose(y, f(X.copy()), rtol=1e-13)
    np.testing.assert_allclose(g, ad.gradient(f, "finitediff", X), rtol=1e-6, atol=1e-8)


VIEWS_OF_VIEWS = {
    "A.T.T": lambda A: A.T.T,
    "A.T[1]": lambda A: A.T[1],
    "A[:, 0].reshape": lambda A: A[:, 0].reshape(3, 1),
    "np.diagonal(A.T)": lambda A: np.diagonal(A.T),
    "expand_dims(A.T)": lambda A: np.expand_dims(A.T, 0),
}
# NumPy copies here (the layout does not allow a view): later writes into A must not show
COPIES = {
    "A.T.reshape(-1)": lambda A: A.T.reshape(-1),
    "A.T.ravel()": lambda A: A.T.ravel(),
    "A.ravel(order=F)": lambda A: A.ravel(order="F"),
    "A[::2].reshape(-1)": lambda A: A[::2].reshape(-1),
    "np.moveaxis(A, 0, -1).ravel()": lambda A: np.moveaxis(A, 0, -1).ravel(),
    "np.ascontiguousarray(A.T)": lambda A: np.ascontiguousarray(A.T),
}


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
@pytest.mark.parametrize("name", list(VIEWS_OF_VIEWS) + list(COPIES))
def test_views_of_views_and_copies_follow_numpy(be, name):
    f = _writes_after_view({**VIEWS_OF_VIEWS, **COPIES}[name])
    y, g = ad.value_and_gradient(f, be, X)
    np.testing.assert_allclose(y, f(X.copy()), rtol=1e-13)
    np.testing.assert_allclose(g, ad.gradient(f, "finitediff", X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
@pytest.mark.parametrize("name", list(COPIES))
def test_writing_into_a_reshaped_copy_leaves_the_base(be, name):
    # A.T.reshape(-1) was treated as a view: writing into it changed A (NumPy: a copy).
    def f(v):
        A = np.outer(v, v) + 0.0
        d = COPIES[name](A)
        d[...] = d * v[0] + 1.0
        return np.sum(A * np.arange(9.0).reshape(3, 3)) + np.sum(d)

    y, g = ad.value_and_gradient(f, be, X)
    np.testing.assert_allclose(y, f(X.copy()), rtol=1e-13)
    np.testing.assert_allclose(g, ad.gradient(f, "finitediff", X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "name", ["np.ascontiguousarray(A.T)", "A.T.reshape(-1)", "A.T[1]", "diagonal", "real"]
)
def test_hessian_of_views_and_copies(name):
    # forward over reverse: np.ascontiguousarray(A.T) was still a view one level down
    f = _writes_after_view({**VIEWS, **VIEWS_OF_VIEWS, **COPIES}[name])
    H = ad.hessian(f, "engine", X)
    np.testing.assert_allclose(H, ad.hessian(f, "finitediff", X), atol=1e-5)


# ---- Python builtins on traced scalars ----------------------------------------------------


def f_builtins(v):
    q, r = divmod(v[1], 0.5)
    k = round(v[2])  # an index computed from x: the prep must re-trace where it changes
    return r * v[0] + q + v[int(k) % 3] ** 2 + round(v[0], 1) * v[2]


@pytest.mark.parametrize("be", BACKENDS, ids=IDS)
def test_divmod_and_round_of_traced_scalars(be):
    # both raised a bare TypeError ("unsupported operand type(s) for divmod()", "type Traced
    # doesn't define __round__")
    x0, x1 = np.array([0.37, 1.3, 0.2]), np.array([0.71, 1.6, 1.2])
    prep = ad.prepare_gradient(f_builtins, be, x0)
    for x in (x1, x0):
        g = ad.gradient(f_builtins, be, x, prep=prep)
        np.testing.assert_allclose(g, ad.gradient(f_builtins, "finitediff", x), rtol=1e-6)


def test_view_of_x_edge_scenarios_pass_on_the_engine():
    from anydiff.testing import edge_scenarios, run_differentiation

    scen = [s for s in edge_scenarios() if s.name.endswith("view-of-x")]
    assert len(scen) == 3
    report = run_differentiation(BACKENDS, scen)
    assert not report.failed, report.failure_text()
