"""Rules added for the third broad-suite batch (``broad_cases_b2*``), in both modes and prepared.

* ``np.diff(prepend=, append=)``: the extra values used to be dropped silently (wrong gradient);
* ``np.roll`` with tuple ``shift`` / ``axis`` (was a TypeError);
* ``np.heaviside`` (derivative 0 in x, the value ``h`` where ``x == 0``), ``np.digitize``
  (integer bins, a constant), ``ufunc.outer``, ``np.bincount(weights=)``, ``np.fill_diagonal``
  (were EngineError "no rule");
* a NumPy reduction of a *list* of traced values raises an error that says how to build it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from engine_helpers import check_both_modes

import anydiff as ad
from anydiff.engine import EngineError

X34 = np.random.default_rng(5).uniform(-1, 1, (3, 4))
X6 = np.array([0.3, -0.8, 0.0, 1.2, -0.1, 0.6])


def _check_prepared(f: Callable, x: np.ndarray, expected: np.ndarray) -> None:
    """The prepared gradient (taped at a nearby point, replayed at ``x``) in both modes."""
    for mode in ("reverse", "forward"):
        near = x + 1e-3 * np.cos(np.arange(x.size)).reshape(x.shape)
        prep = ad.prepare_gradient(f, ad.AutoEngine(mode), near)
        np.testing.assert_allclose(prep(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kw", [{"prepend": 0.5}, {"append": [[1.0, 2.0, 3.0, 4.0]]}, {"prepend": 1.0, "append": -2.0, "n": 2}]
)
def test_diff_prepend_append(kw: dict) -> None:
    check_both_modes(lambda x: np.diff(x, axis=0, **kw), X34, rtol_fd=1e-8, atol_fd=1e-9)


def test_diff_prepend_exact_gradient() -> None:
    # sum(diff(x, prepend=0)) telescopes to x[-1]: gradient e_last (the old rule gave e_last - e_0)
    f = lambda x: np.sum(np.diff(x, prepend=0.0))  # noqa: E731
    expected = np.eye(6)[-1]
    for mode in ("reverse", "forward"):
        np.testing.assert_array_equal(ad.gradient(f, ad.AutoEngine(mode), X6), expected)
    _check_prepared(f, X6, expected)


def test_roll_tuple_shift_axis() -> None:
    check_both_modes(lambda x: np.roll(x, (1, -1), axis=(0, 1)) * np.arange(12.0).reshape(3, 4), X34)
    check_both_modes(lambda x: np.roll(x, 2, axis=(0, 1)), X34)


def test_heaviside_and_digitize() -> None:
    # derivative 0 in x; exactly 1 in h at the entry where x == 0 (X6[2])
    f = lambda v: np.sum(np.heaviside(v[:6], v[6]) * np.exp(v[:6]))  # noqa: E731
    x = np.concatenate([X6, [0.25]])
    h0 = (X6 > 0).astype(float) + 0.25 * (X6 == 0)
    expected = np.concatenate([h0 * np.exp(X6), [np.exp(0.0)]])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(ad.gradient(f, ad.AutoEngine(mode), x), expected, rtol=1e-14)
    _check_prepared(f, x, expected)
    g = lambda v: np.sum(v**2 * np.digitize(v, [-0.5, 0.0, 0.5]))  # noqa: E731
    expected = 2 * X6 * np.digitize(X6, [-0.5, 0.0, 0.5])
    np.testing.assert_allclose(ad.gradient(g, ad.AutoEngine("reverse"), X6), expected, rtol=1e-14)


@pytest.mark.parametrize("uf", [np.multiply, np.add, np.subtract, np.arctan2])
def test_ufunc_outer(uf: np.ufunc) -> None:
    check_both_modes(lambda x: uf.outer(x[0, :2], x[1:, :]), X34)


def test_bincount_weights() -> None:
    bins = np.array([0, 3, 1, 3, 0, 1])
    f = lambda v: np.bincount(bins, weights=v**2, minlength=6)  # noqa: E731
    assert f(X6).shape == (6,)
    check_both_modes(f, X6)
    g = lambda v: np.sum(np.bincount(bins, weights=v**2) * np.arange(1.0, 5.0))  # noqa: E731
    expected = 2 * X6 * (bins + 1.0)
    np.testing.assert_allclose(ad.gradient(g, ad.AutoEngine("forward"), X6), expected, rtol=1e-14)
    _check_prepared(g, X6, expected)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_fill_diagonal(shape: tuple) -> None:
    def f(v: np.ndarray) -> np.ndarray:
        y = np.outer(v[: shape[0]], v[-shape[1] :])
        np.fill_diagonal(y, v[:2] ** 3)  # shorter value: repeated cyclically, as NumPy
        return y

    x = np.linspace(-1.0, 1.0, 6)
    check_both_modes(f, x)
    m = np.outer(x[: shape[0]], x[-shape[1] :])
    np.fill_diagonal(m, x[:2] ** 3)
    np.testing.assert_allclose(f(x), m)


def test_reduction_of_list_names_the_fix() -> None:
    # np.mean([...]) stacks the list (tests/engine/test_engine_gaps.py); NumPy's own function,
    # bound before any trace, still converts it in C and must raise naming the fix
    from numpy import mean as numpy_mean

    with pytest.raises(EngineError, match=r"numpy\.fromnumeric\.mean.*list or tuple.*np\.stack"):
        ad.gradient(lambda x: numpy_mean([x[0] ** 2, x[1]]), ad.AutoEngine("reverse"), X6)


# options of reductions and products that were accepted and silently ignored (wrong gradients)
MASK = np.array([[1, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]], bool)
_DROPPED_OPTIONS: dict[str, Callable] = {
    "mean_where": lambda x: np.mean(x**2, axis=0, where=MASK),
    "var_where": lambda x: np.var(x, axis=1, where=MASK, ddof=1),
    "std_where": lambda x: np.std(x, where=MASK),
    "var_correction": lambda x: np.var(x, axis=0, correction=1),
    "std_positional_ddof": lambda x: np.std(x, 1, None, None, 1),
    "var_mean": lambda x: np.var(x, axis=1, mean=np.full((3, 1), 0.5)),  # a given (not the true) mean
    "average_keepdims": lambda x: x - np.average(x, axis=1, weights=[1.0, 2.0, 3.0, 4.0], keepdims=True),
    "average_returned": lambda x: np.stack(np.average(x * x, axis=0, weights=[1.0, 2.0, 3.0], returned=True)),
    "einsum_out": lambda x: (lambda o: (np.einsum("ij->i", x**2, out=o), o)[1])(np.zeros(3)),
    "take_out": lambda x: (lambda o: (np.take(x, [0, 5], out=o), o)[1])(np.zeros(2)),
    "take_wrap": lambda x: np.take(x, [0, 13, -15], mode="wrap"),
    "take_clip": lambda x: np.take(x, [-1, 20], axis=1, mode="clip"),
}


@pytest.mark.parametrize("name", sorted(_DROPPED_OPTIONS))
def test_reduction_options_are_honoured(name: str) -> None:
    f = _DROPPED_OPTIONS[name]
    check_both_modes(f, X34, rtol_fd=1e-8, atol_fd=1e-9)


def test_unknown_reduction_option_raises() -> None:
    with pytest.raises(EngineError, match=r"np\.einsum with \['bogus'\]"):
        ad.gradient(lambda x: np.sum(np.einsum("i->", x, bogus=1)), ad.AutoEngine("reverse"), X6)


def _into(make_out: Callable, call: Callable) -> Callable:
    """``f(x)`` that writes ``call(x, out=buf)`` into a buffer created inside f, returns the buffer."""

    def f(x: np.ndarray) -> np.ndarray:
        buf = make_out()
        call(x, buf)
        return buf

    return f


_OUT_CASES: dict[str, Callable] = {
    "cumsum": _into(lambda: np.zeros(12), lambda x, o: np.cumsum(x**2, out=o)),
    "method_cumprod": _into(lambda: np.zeros((3, 4)), lambda x, o: x.cumprod(axis=1, out=o)),
    "outer": _into(lambda: np.zeros((3, 4)), lambda x, o: np.outer(x[0, :3], x[1], out=o)),
    "concatenate": _into(lambda: np.zeros((6, 4)), lambda x, o: np.concatenate([x, x**2], out=o)),
    "median": _into(lambda: np.zeros(4), lambda x, o: np.median(x * x, axis=0, out=o)),
    "fft_abs": _into(lambda: np.zeros((3, 4), complex), lambda x, o: np.fft.fft(x, out=o)),
    "ptp": _into(lambda: np.zeros(3), lambda x, o: np.ptp(x, axis=1, out=o)),
}


@pytest.mark.parametrize("name", sorted(_OUT_CASES))
def test_out_argument_written_for_every_function(name: str) -> None:
    f = _OUT_CASES[name]
    if name == "fft_abs":
        f = (lambda g: lambda x: np.abs(g(x)))(f)
    check_both_modes(f, X34, rtol_fd=1e-7, atol_fd=1e-8)


def test_quantile_weights_raise_not_ignored() -> None:
    with pytest.raises(EngineError, match=r"np\.quantile with weights="):
        ad.gradient(lambda x: np.quantile(x, 0.3, weights=np.ones(6), method="inverted_cdf"),
                    ad.AutoEngine("reverse"), X6)
