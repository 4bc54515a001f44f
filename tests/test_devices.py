"""Arrays stay where they are: sharded JAX arrays keep their sharding, torch tensors their device.

The JAX check runs in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(four virtual CPU devices; the flag must be set before jax is imported), for every operator,
its value form, its prepared form and batched tangents, on two AutoJax settings (jit, and
forward mode without jit).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import anydiff as ad
from anydiff._operators import OPERATORS

HERE = Path(__file__).resolve().parent
JAX_BACKENDS = ["AutoJax(mode=None, jit=True)", "AutoJax(mode='forward', jit=False)"]
CASES = ["1-D mesh, P('d')", "1-D mesh, 2-D x, P('d', None)",
         "2x2 mesh, P('a', 'b')"]
KNOWN_BAD: dict[str, str] = {}


@pytest.fixture(scope="module")
def sharding_report() -> dict[tuple[str, str], str]:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, str(HERE / "_sharding_check.py")], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    report = {}
    for line in r.stdout.splitlines():
        if line.startswith("CASE "):
            label, backend, result = (p.strip() for p in line[5:].split(" | ", 2))
            report[(label, backend)] = result
    return report


def _params() -> list:
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(reason=KNOWN_BAD[case], strict=True)] if case in KNOWN_BAD else []
        for b in JAX_BACKENDS:
            out.append(pytest.param(case, b, marks=marks, id=f"{case}-{b}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("case", "backend"), _params())
def test_jax_sharding_is_kept(sharding_report, case, backend):
    result = sharding_report[(case, backend)]
    assert result.startswith("OK"), result
    assert int(result.split()[1]) == 40  # 8 operators x (plain, prepared, value parts, batches)


def _torch_devices() -> list[str]:
    if importlib.util.find_spec("torch") is None:
        return []
    import torch

    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devs.append("mps")
    return devs


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
@pytest.mark.parametrize("device", _torch_devices())
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_torch_device_and_dtype_are_kept(device, dtype_name):
    import torch

    dtype = getattr(torch, dtype_name)
    if device == "mps" and dtype == torch.float64:
        pytest.skip("MPS has no float64")
    x = torch.linspace(0.1, 2.0, 6, dtype=dtype, device=device)
    t = torch.ones(6, dtype=dtype, device=device)
    s = torch.tensor(0.7, dtype=dtype, device=device)
    fs = lambda x: torch.sum(torch.sin(x) * x)  # noqa: E731
    fv = lambda x: torch.sin(x) * x  # noqa: E731
    args = {
        "derivative": (fv, s, ()), "second_derivative": (fv, s, ()),
        "gradient": (fs, x, ()), "hessian": (fs, x, ()), "hvp": (fs, x, (t,)),
        "jacobian": (fv, x, ()), "pushforward": (fv, x, (t,)), "pullback": (fv, x, (t,)),
    }
    xn = x.detach().cpu().double().numpy()
    for op in OPERATORS.values():
        f, x0, extra = args[op.name]
        prep = getattr(ad, f"prepare_{op.name}")(f, "torch", x0, *extra)
        results = [getattr(ad, op.name)(f, "torch", x0, *extra), prep(x0, *extra),
                   *getattr(ad, op.value_name)(f, "torch", x0, *extra)]
        if op.tangent is not None:
            results += list(getattr(ad, op.name)(f, "torch", x0, ad.Batch(*extra, *extra)))
        for r in results:
            assert isinstance(r, torch.Tensor), (op.name, type(r))
            assert r.device == x0.device, (op.name, r.device)
            assert r.dtype == dtype, (op.name, r.dtype)
    g = ad.gradient(fs, "torch", x).cpu().double().numpy()
    rtol = 1e-6 if dtype == torch.float32 else 1e-13
    np.testing.assert_allclose(g, np.sin(xn) + xn * np.cos(xn), rtol=rtol)
