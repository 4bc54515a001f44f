"""Honest failures: unsupported operations and derivative-dropping conversions."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff import engine as E

x0 = np.array([0.5, 1.5, 2.5])
_np_asarray = np.asarray  # bound at import, outside any trace: NumPy's own function
_GLOBAL = np.zeros(3)  # created outside f: cannot hold derivatives


def _write_global(x):
    _GLOBAL[0] = x[0]
    return np.sum(x)


@pytest.mark.parametrize(
    "f, pattern",
    [
        (
            lambda x: np.sum(np.linalg.qr(np.outer(x, x)[:2])[0]),
            r"np\.linalg\.qr of a wide matrix .*has no derivative rule in anydiff\.engine",
        ),
        (lambda x: np.sum(np.linalg.qr(np.outer(x, x))[0]), r"np\.linalg\.qr of a rank-deficient"),
        (lambda x: np.sum(np.spacing(x)), r"np\.spacing has no derivative rule"),
        (lambda x: np.sum(np.hypot.accumulate(x)), r"np\.hypot\.accumulate"),
        (lambda x: np.sum(_np_asarray(x)), r"`_np_asarray\(x\)`.*converts a traced value to a plain ndarray"),
        (_write_global, r"writing a traced value into a plain NumPy array at `_GLOBAL\[0\]`"),
        (lambda x: float(x[0]) * np.sum(x), r"float\(traced\) at `float\(x\[0\]\)`.*dropped a derivative"),
        (lambda x: np.sum(x.tolist()), r"tolist"),
        (lambda x: x[0].item() * np.sum(x), r"item"),
        (lambda x: np.sum(np.linalg.svd(np.outer(x, x)[:2])[0]), r"np\.linalg\.svd\(full_matrices=True\)"),
    ],
)
def test_unsupported_raises_engine_error(f, pattern) -> None:
    with pytest.raises(E.EngineError, match=pattern) as info:
        E.grad(f, x0)
    assert isinstance(info.value, NotImplementedError)
    with pytest.raises(E.EngineError, match=pattern):
        E.jacobian(f, x0)
    with pytest.raises(E.EngineError, match=pattern):
        E.record(f, x0)


def test_message_suggests_other_backends() -> None:
    with pytest.raises(E.EngineError) as info:
        E.grad(lambda x: np.sum(np.linalg.qr(np.outer(x, x))[1]), x0)
    msg = str(info.value)
    assert "'jax'" in msg and "'torch'" in msg and "'finitediff'" in msg


def test_derives_from_package_unsupported_error() -> None:
    from anydiff._errors import UnsupportedError

    assert issubclass(E.EngineError, UnsupportedError)
    assert issubclass(E.EngineError, NotImplementedError)


def test_integer_x_rejected() -> None:
    with pytest.raises(TypeError):
        E.grad(lambda x: np.sum(x), np.arange(3))


def test_non_scalar_grad_rejected() -> None:
    with pytest.raises(ValueError):
        E.grad(lambda x: x * 2, x0)
