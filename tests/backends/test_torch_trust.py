"""Torch never gives a silently wrong derivative (issue 8, items 7, 11, 12).

* ``float()``, ``.item()``, ``.tolist()``, ``complex()``, ``.numpy()`` / ``np.asarray`` of a tensor
  that depends on x raise ``UnsupportedError`` in every mode, operator and path (``torch.func``,
  the ``torch.autograd`` fallback, same-point preparations), prepared or not. They used to give
  zeros or a partial derivative. Values that do not depend on x convert freely, constant ``f``
  still gives zeros, and printing traced values works.
* NumPy data from f's closure combined with tensors: a clear error pointing to ``ad.Constant``.
* ``f``'s own exception propagates unchanged after one evaluation of ``f`` (it used to be retried
  on the ``torch.autograd`` path, running ``f`` 2-3 times); torch.func refusals still fall back.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import anydiff as ad  # noqa: E402

X = np.array([1.0, 2.0, 0.5])
T = np.array([0.3, -1.0, 2.0])
MODES = [ad.AutoTorch(), ad.AutoTorch("forward"), ad.AutoTorch("reverse")]
_BUFFER = torch.zeros(3, dtype=torch.float64)  # outside f: torch.func refuses writes into it

CONVERSIONS = {  # on v.reshape(-1): x is 0-d for derivative and second_derivative
    "float": lambda v: float(v.reshape(-1)[0]),
    "item": lambda v: v.reshape(-1)[0].item(),
    "tolist": lambda v: v.reshape(-1).tolist()[0],
    "complex": lambda v: complex(v.reshape(-1)[0]).real,
    "numpy": lambda v: v.numpy().reshape(-1)[0],
    "asarray": lambda v: np.asarray(v).reshape(-1)[0],
}


def make_f(conversion, op, fallback):
    """``sum(v^2) * c(v0)`` (scalar ops) or ``v^2 * c(v0)``: dropping ``c``'s derivative would
    give a partial result. With ``fallback``, x first goes through a buffer created outside f,
    which torch.func refuses and the torch.autograd path records."""
    convert = CONVERSIONS[conversion]

    def f(v):
        if fallback:
            _BUFFER[:] = v * 1.0
            v = _BUFFER * 1.0
        c = convert(v)
        if op in ("derivative", "second_derivative"):
            return v**2 * c
        y = v**2 * c
        return y.sum() if op in ("gradient", "hessian", "hvp") else y

    return f


OPS = {
    "gradient": (), "jacobian": (), "hessian": (), "pushforward": ("t",), "pullback": ("w",),
    "hvp": ("t",), "derivative": (), "second_derivative": (),
}


def point_and_args(op):
    if op in ("derivative", "second_derivative"):
        return np.asarray(1.5), ()
    extra = {"t": T, "w": T}
    return X, tuple(extra[a] for a in OPS[op])


@pytest.mark.parametrize("backend", MODES, ids=repr)
@pytest.mark.parametrize("fallback", [False, True], ids=["torch.func", "torch.autograd"])
@pytest.mark.parametrize("conversion", list(CONVERSIONS))
@pytest.mark.parametrize("op", list(OPS))
def test_conversions_of_traced_values_raise(op, conversion, fallback, backend):
    f = make_f(conversion, op, fallback)
    x, args = point_and_args(op)
    with pytest.raises(ad.UnsupportedError, match="finitediff") as info:
        getattr(ad, op)(f, backend, x, *args)
    msg = str(info.value)
    assert "Backends that can" in msg
    if conversion in ("numpy", "asarray"):
        assert "NumPy" in msg
    else:
        assert "depends on x" in msg and ".detach()" in msg
    with pytest.raises(ad.UnsupportedError):
        prep = getattr(ad, f"prepare_{op}")(f, backend, x, *args)
        prep(x, *args)


@pytest.mark.parametrize("conversion", ["float", "item", "tolist"])
@pytest.mark.parametrize("op", ["pushforward", "pullback", "hvp"])
def test_conversions_raise_in_same_point_preparations(op, conversion):
    f = make_f(conversion, op, False)
    x, args = point_and_args(op)
    with pytest.raises(ad.UnsupportedError, match="depends on x"):
        prep = getattr(ad, f"prepare_{op}_same_point")(f, ad.AutoTorch(), x, *args)
        prep(x, *args)


def test_the_old_silent_results_were_wrong():
    """What the check prevents: torch's own result through .item() is a partial derivative."""
    x = torch.tensor(X, requires_grad=True)
    ((x**2).sum() * x[0].item()).backward()
    full = 2 * X * X[0]
    full[0] += (X**2).sum()
    assert not np.allclose(x.grad.numpy(), full)  # torch alone: silently partial
    g = ad.gradient(lambda v: (v**2).sum() * v[0], ad.AutoTorch(), X)  # kept as a tensor: right
    np.testing.assert_allclose(g, full, rtol=1e-14)


# ---- what must keep working ----------------------------------------------------------------------

_WEIGHT = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
_PARAM = torch.nn.Parameter(torch.tensor(3.0, dtype=torch.float64))  # requires grad, not x


def f_free_conversions(v, c):
    """Conversions of values that do not depend on x: closure data, a Constant, a detached
    copy, a Parameter of the user's own model, values under no_grad, and prints."""
    a = float(_WEIGHT[0]) + _WEIGHT.tolist()[1] + c[0].item() + float(_PARAM)
    b = v.detach()[0].item()
    with torch.no_grad():
        b += float(v[1])
    print(v, repr(v[0]), f"{v[0]:.3f}")  # printing drops nothing
    return (v**2).sum() * a + b


def test_conversions_of_values_independent_of_x_are_fine(capsys):
    c = np.array([4.0, 5.0])
    a = 2.0 - 1.0 + 4.0 + 3.0
    for backend in MODES:
        for fallback in (False, True):

            def f(v, c, fallback=fallback):
                if fallback:
                    _BUFFER[:] = v * 1.0
                    v = _BUFFER * 1.0
                return f_free_conversions(v, c)

            g = ad.gradient(f, backend, X, ad.Constant(c))
            np.testing.assert_allclose(g, 2 * X * a, rtol=1e-13)
            H = ad.hessian(f, backend, X, ad.Constant(c))
            np.testing.assert_allclose(H, 2 * a * np.eye(3), rtol=1e-13)
    assert "tensor" in capsys.readouterr().out


def test_constant_f_gives_zeros():
    def f(v):
        return torch.tensor(3.0, dtype=torch.float64) + 0 * float(_WEIGHT[1])

    def fv(v):
        return _WEIGHT * 2.0

    for backend in MODES:
        np.testing.assert_array_equal(ad.gradient(f, backend, X), np.zeros(3))
        np.testing.assert_array_equal(ad.hvp(f, backend, X, T), np.zeros(3))
        np.testing.assert_array_equal(ad.jacobian(fv, backend, X), np.zeros((3, 3)))
        np.testing.assert_array_equal(ad.pushforward(fv, backend, X, T), np.zeros(3))


def test_conversions_outside_anydiff_are_untouched():
    t = torch.tensor([1.5, 2.5], dtype=torch.float64, requires_grad=True)
    y = (t**2).sum()
    assert float(y) == 8.5 and y.item() == 8.5 and (t * 1).tolist() == [1.5, 2.5]


def test_the_check_is_per_thread():
    """While one thread is inside an anydiff call, another thread's conversions are its own."""
    inside, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def f(v):
        inside.set()
        release.wait(10)
        return (v**2).sum()

    def worker():
        try:
            ad.gradient(f, ad.AutoTorch(), X)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=worker)
    th.start()
    assert inside.wait(10)
    try:
        t = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
        assert float(t * 2) == 3.0 and (t * 2).item() == 3.0  # this thread: no anydiff call
    finally:
        release.set()
        th.join(10)
    assert not errors


# ---- NumPy data from the closure (item 11) ---------------------------------------------------------

_A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])


@pytest.mark.parametrize("backend", MODES, ids=repr)
@pytest.mark.parametrize(
    "combine",
    [lambda v: _A @ v, lambda v: _A * v[:2, None], lambda v: torch.sin(_A) * v],
    ids=["A@v", "A*v", "torch.sin(A)"],
)
def test_numpy_closure_data_gives_a_clear_error(combine, backend):
    with pytest.raises(ad.AnydiffError) as info:
        ad.jacobian(combine, backend, X)
    err = info.value
    assert isinstance(err, TypeError)
    msg = str(err)
    assert "ad.Constant" in msg and "tensor" in msg and "NumPy" in msg
    assert isinstance(err.__cause__, TypeError)


def test_numpy_closure_data_as_constant_works():
    J = ad.jacobian(lambda v, A: A @ v, ad.AutoTorch(), X, ad.Constant(_A))
    np.testing.assert_allclose(J, _A, rtol=1e-15)


def test_numpy_array_on_the_right_names_the_constant_fix():
    with pytest.raises(ad.UnsupportedError, match="ad.Constant"):
        ad.jacobian(lambda v: v[:2] * _A[:, 0], ad.AutoTorch(), X)


# ---- f's own exception: once, unchanged (item 12) ---------------------------------------------------


class Counter:
    def __init__(self, exc):
        self.exc, self.calls, self.armed = exc, 0, False

    def fv(self, v, c):
        if self.armed:
            self.calls += 1
            if self.exc == "shape":
                return v + torch.ones(7, dtype=v.dtype)  # torch's own RuntimeError
            raise self.exc
        return torch.sin(v) * c

    def fs(self, v, c):
        return self.fv(v, c).sum()


CALLS = [
    ("gradient", "fs", ()), ("jacobian", "fv", ()), ("hessian", "fs", ()),
    ("pushforward", "fv", (T,)), ("pullback", "fv", (T,)), ("hvp", "fs", (T,)),
]


@pytest.mark.parametrize("backend", MODES, ids=repr)
@pytest.mark.parametrize(
    "exc", [RuntimeError("my own failure"), ValueError("bad value"), "shape"],
    ids=["RuntimeError", "ValueError", "torch-shape-error"],
)
@pytest.mark.parametrize("op,which,args", CALLS, ids=[c[0] for c in CALLS])
def test_f_raising_in_a_prepared_call_runs_once(op, which, args, exc, backend):
    # With a Constant the call takes the general path; the preparation-level retry of the
    # plain-array hot path is _prep.py's (issue 8 item 12, handled there).
    counter = Counter(exc)
    f = getattr(counter, which)
    c = ad.Constant(2.0)
    prep = getattr(ad, f"prepare_{op}")(f, backend, X, *args, c)
    counter.armed = True
    with pytest.raises(Exception) as info:
        prep(X, *args, c)
    assert counter.calls == 1
    if exc == "shape":
        assert type(info.value) is RuntimeError and "size of tensor" in str(info.value)
    else:
        assert info.value is exc  # the very exception: same class and message, not re-wrapped
    counter.calls = 0
    with pytest.raises(type(info.value)):
        getattr(ad, op)(f, backend, X, *args, c)  # unprepared: once too
    assert counter.calls == 1


@pytest.mark.parametrize("op", ["pullback", "hvp"])
def test_f_raising_in_a_same_point_preparation_runs_once(op):
    counter = Counter(RuntimeError("my own failure"))
    counter.armed = True
    f = counter.fv if op == "pullback" else counter.fs
    with pytest.raises(RuntimeError, match="my own failure"):
        getattr(ad, f"prepare_{op}_same_point")(f, ad.AutoTorch(), X, T, ad.Constant(2.0))
    assert counter.calls == 1


def test_torch_func_refusals_still_fall_back():
    def f(v):
        _BUFFER[:] = v * 2.0  # torch.func: "mutate a captured Tensor"; torch.autograd records it
        return (_BUFFER**2).sum() / 4

    for backend in MODES:
        prep = ad.prepare_gradient(f, backend, X)
        np.testing.assert_allclose(prep(X), 2 * X, rtol=1e-14)
        assert prep.kernel(False).uses_autograd()
        np.testing.assert_allclose(ad.hvp(f, backend, X, T), 2 * T, rtol=1e-14)


def test_gradient_penalty_reaches_x_only_through_the_torch_backend():
    """What the FAQ states: "torch" keeps the graph (d/dx sum((3x^2)^2) = 36 x^3), the other
    backends return tensors detached from it (requires_grad False, so never a silent zero)."""
    import torch

    import anydiff as ad

    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)

    def f(v):
        return (v**3).sum()

    ad.gradient(f, "torch", x).pow(2).sum().backward()
    torch.testing.assert_close(x.grad, 36 * x.detach() ** 3)
    for b in ("finitediff", "engine"):
        assert not ad.gradient(f, b, x).requires_grad
