"""The torch kernels' single-tangent entry (``kernel.one``), which prepared plain-array calls of
pushforward, pullback and hvp take (``Prep.make_hot``): the same results and guarantees as the
batched entry. Results never alias the caller's x or tangent, an ``f`` that mutates its input
leaves the caller's arrays alone, torch.func refusals fall back to torch.autograd (and the two
entries share that decision), and f's own exception propagates after one evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import anydiff as ad  # noqa: E402

X = np.array([1.0, 2.0, 0.5])
T = np.array([0.3, -1.0, 2.0])
MODES = [ad.AutoTorch(), ad.AutoTorch("forward"), ad.AutoTorch("reverse")]
_BUFFER = torch.zeros(3, dtype=torch.float64)  # outside f: torch.func refuses writes into it


def fv(v):
    """sin(v) v: J = diag(cos(v) v + sin(v))."""
    return torch.sin(v) * v


def fs(v):
    """sum(v^3): H = diag(6 v)."""
    return (v**3).sum()


def jac(v):
    return np.cos(v) * v + np.sin(v)


# op -> (f, analytic result at X along T)
CASES = {
    "pushforward": (fv, jac(X) * T),
    "pullback": (fv, jac(X) * T),
    "hvp": (fs, 6 * X * T),
}


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("op", list(CASES))
def test_single_tangent_entry_matches_analytic(op, kind):
    f, expected = CASES[op]
    x, t = (X, T) if kind == "numpy" else (torch.from_numpy(X.copy()), torch.from_numpy(T.copy()))
    prep = getattr(ad, f"prepare_{op}")(f, "torch", x, t)
    assert callable(getattr(prep.kernel(False), "one", None))  # the hot call has the entry
    for _ in range(2):  # the hot call (second call included: no state carried over)
        r = prep(x, t)
        assert type(r) is type(x) and tuple(r.shape) == (3,)
        np.testing.assert_allclose(np.asarray(r), expected, rtol=1e-14, atol=1e-15)
    # The batched entry (the general path's) gives the same numbers.
    _, R = prep.kernel(False)(torch.from_numpy(X), torch.from_numpy(T[None]), ())
    np.testing.assert_allclose(R.numpy()[0], expected, rtol=1e-14, atol=1e-15)
    # The value form through the hot call too.
    v, r = getattr(prep, prep.op.value_name)(x, t)
    np.testing.assert_allclose(np.asarray(r), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("op", ["pushforward", "pullback"])
def test_results_never_alias_the_callers_arrays(op):
    # f is the identity: torch's jvp / vjp return the tangent itself, and the value is x.
    x, t = X.copy(), T.copy()
    prep = getattr(ad, f"prepare_{op}")(lambda v: v, "torch", x, t)
    y, r = getattr(prep, prep.op.value_name)(x, t)
    r2 = prep(x, t)
    np.testing.assert_array_equal(r, T)
    for out in (y, r, r2):
        out[...] = 99.0
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(t, T)
    np.testing.assert_array_equal(prep(x, t), T)


@pytest.mark.parametrize("op", list(CASES))
def test_f_mutating_its_input_leaves_the_callers_arrays_alone(op):
    f0, expected = CASES[op]

    def f(v):
        v *= 2.0  # f(v) = f0(v) still, but the write must reach neither x nor the tangent
        return f0(v * 0.5)

    x, t = X.copy(), T.copy()
    prep = getattr(ad, f"prepare_{op}")(f, "torch", x, t)
    for _ in range(2):
        np.testing.assert_allclose(prep(x, t), expected, rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(x, X)
        np.testing.assert_array_equal(t, T)


@pytest.mark.parametrize("backend", MODES, ids=repr)
@pytest.mark.parametrize("op", list(CASES))
def test_refusals_fall_back_through_the_single_entry(op, backend):
    f0, expected = CASES[op]

    def f(v):
        _BUFFER[:] = v * 1.0  # torch.func: "mutate a captured Tensor"; torch.autograd records it
        return f0(_BUFFER * 1.0)

    prep = getattr(ad, f"prepare_{op}")(f, backend, X, T)
    np.testing.assert_allclose(prep(X, T), expected, rtol=1e-14, atol=1e-15)
    kernel = prep.kernel(False)
    assert kernel.uses_autograd()  # decided by the single entry, kept by the batched one
    np.testing.assert_allclose(prep(X, T), expected, rtol=1e-14, atol=1e-15)
    _, R = kernel(torch.from_numpy(X), torch.from_numpy(np.stack([T, 2 * T])), ())
    np.testing.assert_allclose(R.numpy(), [expected, 2 * expected], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("op", list(CASES))
def test_f_raising_in_the_hot_call_runs_once(op):
    f0, _ = CASES[op]
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("my own failure")
        return f0(v)

    prep = getattr(ad, f"prepare_{op}")(f, "torch", X, T)
    calls[:] = [1]  # armed: the next evaluation raises
    with pytest.raises(RuntimeError, match="my own failure") as info:
        prep(X, T)
    assert type(info.value) is RuntimeError
    assert len(calls) == 2  # one evaluation in the call, no retry on another path
