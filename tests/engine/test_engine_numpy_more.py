"""More NumPy (issue 9 item 3), table-driven: each function in forward and reverse mode against
central differences, at several shapes (0-d, broadcasting) where it applies, on complex data
where NumPy supports it (built from real x inside f), and against autograd where autograd
implements the function.  Also: the value the engine returns is NumPy's own.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import check_both_modes, fd_jacobian

from anydiff import engine as E

rng = np.random.default_rng(5)
X12 = rng.uniform(-1, 1, 12)


def M(z):
    return np.reshape(z, (3, 4))


def C(z):
    """A complex array from a real one (first half real parts, second half imaginary)."""
    n = z.shape[0] // 2
    return z[:n] + 1j * z[n:]


def same_value(f, x) -> None:
    y_f, _ = E.jvp(f, x, [np.ones_like(x)])
    y_r, _ = E.vjp(f, x)
    np.testing.assert_allclose(y_f, f(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y_r, f(x), rtol=1e-12, atol=1e-14)


def _add_at(z):
    y = np.zeros(5)
    np.add.at(y, [0, 1, 1, 4], z[:4])  # repeated index: contributions add up
    np.subtract.at(y, np.array([2, 2]), z[4:6] ** 2)
    return y


# name, f(z) on a real (12,) vector, autograd reference written with `anp` (or None)
CASES = [
    ("fft", lambda z: np.abs(np.fft.fft(z)) ** 2, "lambda z: anp.abs(anp.fft.fft(z)) ** 2"),
    ("fft complex n", lambda z: np.fft.fft(C(z), n=8).imag, None),
    ("ifft ortho", lambda z: np.fft.ifft(C(z), norm="ortho").real, None),
    ("fft2", lambda z: np.fft.fft2(M(z)).real, "lambda z: anp.real(anp.fft.fft2(anp.reshape(z, (3, 4))))"),
    ("ifft2 forward", lambda z: np.fft.ifft2(M(z), norm="forward").imag, None),
    ("fftn s", lambda z: np.abs(np.fft.fftn(M(z), s=(4, 5), axes=(0, 1))), None),
    ("rfft", lambda z: np.abs(np.fft.rfft(z)), "lambda z: anp.abs(anp.fft.rfft(z))"),
    ("rfft ortho n", lambda z: np.fft.rfft(z, n=9, norm="ortho").imag, None),
    ("irfft", lambda z: np.fft.irfft(z[:7] + 1j * z[5:]), None),
    ("irfft n odd", lambda z: np.fft.irfft(z[:7] + 1j * z[5:], n=11, norm="ortho"), None),
    ("rfftn", lambda z: np.abs(np.fft.rfftn(M(z))), None),
    ("irfftn", lambda z: np.fft.irfftn(M(z) + 0.5j * M(z) ** 2, s=(3, 6), axes=(0, 1)), None),
    ("rfft2 irfft2", lambda z: np.fft.irfft2(np.fft.rfft2(M(z)) * 2.0), None),
    ("hfft", lambda z: np.fft.hfft(C(z)), None),
    ("ihfft", lambda z: np.fft.ihfft(z).real, None),
    ("fftshift", lambda z: np.fft.fftshift(M(z)) * np.reshape(np.fft.ifftshift(z), (3, 4)), None),
    ("flip family", lambda z: np.fliplr(M(z)) * np.flipud(M(z)) + np.rot90(M(z), 2), None),
    (
        "rot90",
        lambda z: np.rot90(M(z)) ** 2 + np.rot90(M(z), 3),
        "lambda z: anp.rot90(anp.reshape(z, (3, 4))) ** 2 + anp.rot90(anp.reshape(z, (3, 4)), 3)",
    ),
    ("rot90 complex", lambda z: np.abs(np.rot90(np.reshape(C(z), (2, 3)), 1, axes=(1, 0))), None),
    ("rollaxis", lambda z: np.rollaxis(np.reshape(z, (2, 3, 2)), 2) ** 2, None),
    ("atleast_3d", lambda z: np.atleast_3d(M(z)) * np.atleast_3d(z[0]), None),
    ("cumprod", lambda z: np.concatenate([np.cumprod(z), np.cumprod(M(z), axis=0).ravel()]), None),
    ("cumprod at a zero", lambda z: np.cumprod(z * (np.arange(12) != 1)), None),
    ("cumprod complex", lambda z: np.abs(np.cumprod(C(z))), None),
    ("partition", lambda z: np.partition(z, 4) * np.arange(12.0), None),
    ("select", lambda z: np.select([z < -0.3, z > 0.3], [z**2, np.sin(z)], default=z), None),
    ("append", lambda z: np.append(z[:3], z[5:] * 2), None),
    ("append axis", lambda z: np.append(M(z), M(z)[:1] ** 2, axis=0), None),
    ("insert", lambda z: np.insert(z[:5], [1, 3], z[8:10] ** 2) * np.insert(z[:6], 2, 7.0), None),
    (
        "hsplit",
        lambda z: np.concatenate([a * (i + 1) for i, a in enumerate(np.hsplit(M(z), 2))], axis=1),
        None,
    ),
    ("vsplit", lambda z: np.vsplit(M(z), [1])[1] ** 2, None),
    ("dsplit", lambda z: np.dsplit(np.reshape(z, (1, 3, 4)), 2)[0] ** 2, None),
    ("array_split", lambda z: np.array_split(z, 5)[4] ** 2, None),
    ("linspace", lambda z: np.linspace(z[0], z[1] * 3, 7) ** 2, None),
    ("linspace vector ends", lambda z: np.linspace(z[:2], z[2:4], 4, endpoint=False), None),
    ("linspace retstep", lambda z: np.linspace(z[0], z[1], 5, retstep=True)[1] * z[2], None),
    ("real_if_close", lambda z: np.real_if_close(z + 0j) ** 2, None),
    ("gradient", lambda z: np.gradient(z, 0.5) * np.gradient(z, edge_order=2), None),
    ("gradient 2-D", lambda z: np.gradient(M(z))[0] + np.gradient(M(z), axis=1), None),
    (
        "einsum sublists",
        lambda z: np.einsum(M(z), [0, 1], M(z), [2, 1], [0, 2]),
        "lambda z: anp.einsum('ij,kj->ik', anp.reshape(z, (3, 4)), anp.reshape(z, (3, 4)))",
    ),
    ("einsum sublists implicit", lambda z: np.einsum(M(z), [0, 1], z[:4], [1]), None),
    ("add.at", _add_at, None),
    ("convolve", lambda z: np.convolve(z[:5], z[5:], "same"), None),
    ("stacked inv", lambda z: np.linalg.inv(np.reshape(z[:8], (2, 2, 2)) + 2 * np.eye(2)), None),
    ("stacked det", lambda z: np.linalg.det(np.reshape(z[:8], (2, 2, 2))), None),
    ("stacked slogdet", lambda z: np.linalg.slogdet(np.reshape(z[:8], (2, 2, 2)) + 3 * np.eye(2))[1], None),
    (
        "stacked solve",
        lambda z: np.linalg.solve(np.reshape(z[:8], (2, 2, 2)) + 3 * np.eye(2), np.reshape(z[8:], (2, 2, 1))),
        None,
    ),
    (
        "stacked solve vec",
        lambda z: np.linalg.solve(np.reshape(z[:8], (2, 2, 2)) + 3 * np.eye(2), z[8:10]),
        None,
    ),
    (
        "stacked cholesky",
        lambda z: np.linalg.cholesky(
            np.einsum("bij,bkj->bik", np.reshape(z[:8], (2, 2, 2)), np.reshape(z[:8], (2, 2, 2))) + np.eye(2)
        ),
        None,
    ),
    (
        "stacked eigh",
        lambda z: np.linalg.eigh(
            np.einsum("bij,bkj->bik", np.reshape(z[:8], (2, 2, 2)), np.reshape(z[:8], (2, 2, 2)))
        )[0],
        None,
    ),
    ("svd values", lambda z: np.linalg.svd(M(z), compute_uv=False), None),
    ("norm nuc", lambda z: np.linalg.norm(M(z), "nuc"), None),
    ("norm 2 and -2", lambda z: np.linalg.norm(M(z), 2) + np.linalg.norm(M(z).T, -2), None),
    ("eigvals", lambda z: np.abs(np.linalg.eigvals(np.reshape(z[:9], (3, 3)))), None),
    ("matrix_power", lambda z: np.linalg.matrix_power(np.reshape(z[:9], (3, 3)), 5), None),
    (
        "matrix_power negative",
        lambda z: np.linalg.matrix_power(np.reshape(z[:9], (3, 3)) + 3 * np.eye(3), -2),
        None,
    ),
    ("matrix_power 0", lambda z: np.linalg.matrix_power(np.reshape(z[:9], (3, 3)), 0), None),
    (
        "interp",
        lambda z: np.interp(z * 2.0, np.linspace(-1.5, 1.5, 7), np.sin(np.arange(7.0))),
        None,
    ),
    (
        "interp traced fp",
        lambda z: np.interp(np.linspace(-1, 1, 5), np.linspace(-1.2, 1.2, 12), z, left=0.0),
        None,
    ),
    ("polyval", lambda z: np.polyval(z[:4], z[4:]), None),
    ("trapezoid", lambda z: np.trapezoid(M(z) ** 2, axis=0) + np.trapezoid(z, dx=0.3), None),
    ("trapezoid x", lambda z: np.trapezoid(np.sin(z), np.cumsum(z * z + 0.1)), None),
    (
        "predicates",
        lambda z: z * (1.0 + np.iscomplex(z) + np.isreal(z) + np.isposinf(z) + np.isneginf(z)),
        None,
    ),
]


@pytest.mark.parametrize("name, f, ag", CASES, ids=[c[0] for c in CASES])
def test_numpy_more(name, f, ag) -> None:
    ref = None
    if ag is not None:
        import autograd.numpy as anp

        ref = eval(ag, {"anp": anp})
    same_value(f, X12)
    check_both_modes(f, X12, ref, rtol_fd=1e-5, atol_fd=1e-7)


SHAPES = [(), (4,), (2, 3)]
ELEMENTWISE = [
    ("sinc", np.sinc, "sinc"),
    ("logaddexp2", lambda z: np.logaddexp2(z, 0.3 - z), "logaddexp2"),
    ("degrees radians", lambda z: np.degrees(z) + np.radians(z) ** 2, None),
    ("nan_to_num (finite)", lambda z: np.nan_to_num(z * 2.0), None),
    ("sinc at 0", lambda z: np.sinc(z * 0.0 + 0.0 * z) + np.sinc(z), None),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, f, ag", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_shapes(name, f, ag, shape) -> None:
    x = rng.uniform(-1.5, 1.5, shape)
    ref = None
    if ag is not None:
        import autograd.numpy as anp

        ref = {"sinc": anp.sinc, "logaddexp2": lambda z: anp.logaddexp2(z, 0.3 - z)}[ag]
    same_value(f, x)
    check_both_modes(f, x, ref, rtol_fd=1e-5, atol_fd=1e-7)


@pytest.mark.parametrize("shape", [(4,), (2, 3)], ids=str)
def test_angle(shape) -> None:
    # 0-d is left out: reverse mode of imag() on a 0-d cotangent crashes in _rules (issue 9 item 4)
    x = rng.uniform(-1.5, 1.5, shape)
    f = lambda z: np.angle(z + 1j * (z * z + 0.1), deg=True)  # noqa: E731
    same_value(f, x)
    check_both_modes(f, x, rtol_fd=1e-5, atol_fd=1e-7)
    check_both_modes(lambda z: np.angle(z), x)  # real input: piecewise constant, derivative 0


def test_logaddexp2_broadcasting() -> None:
    check_both_modes(lambda z: np.logaddexp2(np.reshape(z[:3], (3, 1)), z[3:]), X12[:7])


def test_sinc_derivatives_at_zero() -> None:
    # sinc'(0) = 0, sinc''(0) = -pi^2/3: the second derivative through the nested rules
    d1 = E.grad(lambda z: np.sum(np.sinc(z)), np.zeros(1))
    h = E.hessian(lambda z: np.sum(np.sinc(z)), np.zeros(1))
    assert d1[0] == 0.0
    np.testing.assert_allclose(h[0, 0], -(np.pi**2) / 3, rtol=1e-14)
    with pytest.raises(E.EngineError, match="third derivative of np.sinc"):
        E.jacobian(lambda z: E.hessian(lambda w: np.sum(np.sinc(w)), z).ravel(), np.zeros(1))


def test_nan_to_num_derivative_is_one_at_finite_entries_zero_at_replaced() -> None:
    def f(z):
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(np.log(z), nan=-7.0)  # log(-1) is nan: replaced, constant

    x = np.array([1.0, -1.0, 2.0])
    for mode in ("forward", "reverse"):
        J = E.jacobian(f, x, mode=mode)
        np.testing.assert_array_equal(J, np.diag([1.0, 0.0, 0.5]))
        np.testing.assert_array_equal(E.jvp(f, x, [x])[0], [0.0, -7.0, np.log(2.0)])


def test_add_at_into_preexisting_array_raises() -> None:
    y = np.zeros(3)
    with pytest.raises(E.EngineError, match="np.add.at"):
        E.grad(lambda z: (np.add.at(y, [0, 0], z[:2]), np.sum(z))[1], X12[:3])


def test_eigvals_and_svdvals_second_derivatives_use_the_vectors_rules() -> None:
    # (they used to raise: a constant V would be wrong; now the vectors have rules)
    def f(z):
        return np.sum(np.abs(np.linalg.eigvals(np.reshape(z, (2, 2)) + np.array([[0.0, 1], [-1, 0]]))) ** 3)

    def g(z):
        return np.sum(np.linalg.svd(np.reshape(z, (3, 2)), compute_uv=False) ** 3)

    for fn, x in ((f, X12[:4] * 0.3), (g, X12[:6])):
        ref = fd_jacobian(lambda z, fn=fn: E.grad(fn, z), x)
        np.testing.assert_allclose(E.hessian(fn, x), ref, rtol=1e-6, atol=1e-7)


def test_svd_full_vectors_of_non_square_raise_naming_them() -> None:
    with pytest.raises(E.EngineError, match="full_matrices=True"):
        E.grad(lambda z: np.sum(np.linalg.svd(M(z))[0]), X12)


def test_fft_hessian_matches_finite_differences_of_the_gradient() -> None:
    f = lambda z: np.sum(np.abs(np.fft.rfft(z)) ** 4)  # noqa: E731
    x = X12[:6]
    np.testing.assert_allclose(E.hessian(f, x), fd_jacobian(lambda z: E.grad(f, z), x), rtol=1e-6, atol=1e-6)


def test_tape_replays_fft_and_cumprod() -> None:
    f = lambda z: np.sum(np.abs(np.fft.fft(np.cumprod(z))) ** 2)  # noqa: E731
    tape = E.record(f, X12)
    assert tape.replayable
    x1 = X12[::-1] * 0.9
    np.testing.assert_allclose(tape.grad(x1), fd_jacobian(f, x1), rtol=1e-6, atol=1e-8)


def test_docs_support_list_comes_from_the_rule_tables() -> None:
    import importlib.util
    import pathlib

    from anydiff.engine import _support

    hook = pathlib.Path(__file__).parents[2] / "docs" / "hooks" / "generated.py"
    spec = importlib.util.spec_from_file_location("_docs_generated", hook)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = mod.engine_operations()
    assert page == _support.markdown().rstrip()
    for name in ("np.zeros", "np.fft.fft", "np.cumprod", "scipy.special.logsumexp"):
        assert f"`{name}`" in page, name
