"""Every example runs on every backend it claims, reaches the right answer, and anydiff's own
code emits no warning while it runs (framework warnings are the framework's)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

import anydiff as ad

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))
TOL = {"finitediff": 1e-8}  # central differences: ~7-8 digits; exact AD: rounding only


def _load(name: str) -> dict:
    sys.path.insert(0, str(EXAMPLES))
    try:
        return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")
    finally:
        sys.path.remove(str(EXAMPLES))


def _cases() -> list:
    params = []
    for name in NAMES:
        if name == "harness_in_pytest":  # one pytest run covers all its backends
            params.append(pytest.param(name, None, id=name))
            continue
        for backend in _load(name)["BACKENDS"]:
            skip = pytest.mark.skip(reason=f"{backend} not installed")
            marks = () if ad.check_available(backend) else (skip,)
            params.append(pytest.param(name, backend, id=f"{name}-{backend}", marks=marks))
    return params


def _no_anydiff_warnings():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.filterwarnings("error", module=r"anydiff(\.|$)")  # anydiff.*, anydiff.backends.*
    return ctx


def _logistic_reference() -> tuple[np.ndarray, np.ndarray]:
    """Score at beta0 and the MLE, with the analytic gradient."""
    ns = _load("logistic_regression")
    x, y, beta0 = ns["simulate"]()
    yf = y.astype(float)

    def neg(b):
        z = x @ b
        return -np.sum(yf * z - np.log1p(np.exp(z))), -x.T @ (yf - expit(z))

    return x.T @ (yf - expit(x @ beta0)), minimize(neg, np.zeros(3), jac=True, method="BFGS").x


def _check(name: str, backend: str, ns: dict, result) -> None:
    tol = TOL.get(backend, 1e-12)
    if name in ("quickstart", "swap_backends", "mutation_buffers", "sparse_jacobian"):
        assert result < tol
    elif name == "optimize_rosenbrock":
        np.testing.assert_allclose(result, np.ones(8), atol=1e-6)
    elif name == "optimizer_loop":
        np.testing.assert_allclose(result, [2.0, -1.0, 0.5], atol=1e-3)
    elif name == "logistic_regression":
        score, mle = _logistic_reference()
        g, estimate = result
        np.testing.assert_allclose(g, score, rtol=0, atol=tol * 100)
        np.testing.assert_allclose(estimate, mle, atol=1e-5)
    elif name == "implicit_root":  # dy/da = -y³ / (3 a y² - 1) at a = 2, y³ = (y + 2) / 2
        y = ns["solver"](2.0)
        np.testing.assert_allclose(result, -(y**3) / (6 * y**2 - 1), rtol=tol)
        assert round(result, 4) == -0.2214
    elif name == "logistic_lbfgs":
        np.testing.assert_allclose(result, _logistic_reference()[1], atol=1e-5)
    elif name == "brusselator_least_squares":  # the homogeneous steady state u = 1, v = 3.4
        np.testing.assert_allclose(result[..., 0], 1.0, atol=1e-9)
        np.testing.assert_allclose(result[..., 1], 3.4, atol=1e-9)
    elif name == "harness_in_pytest":
        assert result == 0
    elif name == "mixing_frameworks":  # finite differences through quad: ~1e-11 here
        assert result < 1e-7
    else:  # a new example needs its check here
        raise AssertionError(f"no check for example {name}")


@pytest.mark.parametrize(("name", "backend"), _cases())
def test_example(name, backend, capsys):
    ns = _load(name)
    if name == "harness_in_pytest":
        # Runs pytest itself: in a subprocess, not nested in ours, and as a user types it
        # (``python examples/harness_in_pytest.py``, all backends) with warnings raised in
        # anydiff's modules as errors: this one subprocess is also the example's "runs as a
        # script" check (see test_example_runs_as_a_script).
        r = _as_script(name)
        assert r.returncode == 0, r.stdout + r.stderr
        installed = [b for b in ns["BACKENDS"] if ad.check_available(b)]
        assert f"{2 * len(installed)} passed" in r.stdout, r.stdout
        return
    ctx = _no_anydiff_warnings()
    try:
        sys.path.insert(0, str(EXAMPLES))
        result = ns["main"](backend)
    finally:
        sys.path.remove(str(EXAMPLES))
        ctx.__exit__(None, None, None)
    _check(name, backend, ns, result)
    assert backend in capsys.readouterr().out


def test_mutation_example_names_the_backends_that_can():
    messages = _load("mutation_buffers")["refusals"]()
    for backend in ("jax", "torch"):
        if ad.check_available(backend):
            assert "engine" in messages[backend], messages


def _run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )


def _as_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """``python examples/NAME.py ARGS`` as a user types it, warnings raised in anydiff's modules
    turned into errors (``-W`` matches one module name exactly, hence the filter in code)."""
    path = EXAMPLES / f"{name}.py"
    code = (
        "import runpy, sys, warnings\n"
        "warnings.filterwarnings('error', module=r'anydiff(\\.|$)')\n"
        f"sys.argv = [{str(path)!r}, *{list(args)!r}]\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_example_runs_as_a_script(name, monkeypatch):
    """``python examples/NAME.py engine`` as a user types it (see _as_script)."""
    if name == "harness_in_pytest":
        # Its script run (all backends, the same warnings filter) is test_example's: a second
        # pytest subprocess for the engine alone would repeat it. What the argument adds is the
        # backend selection, checked here without a subprocess.
        monkeypatch.setenv("EXAMPLE_BACKEND", "engine")
        assert _load(name)["CHECKED"] == ["engine"]
        return
    r = _as_script(name, "engine")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "engine" in r.stdout, r.stdout


def test_unclaimed_backend_is_refused():
    r = _run_script("mutation_buffers", "jax")
    assert r.returncode != 0 and "runs on" in r.stderr
