"""The public API is typed: the checked-in stub matches the operator table, and mypy sees the
operators' real signatures in a user's file."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import anydiff as ad
from anydiff._operators import OPERATORS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import gen_stubs  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


def test_stub_is_up_to_date():
    stub = ROOT / "src" / "anydiff" / "__init__.pyi"
    assert stub.read_text() == gen_stubs.generate(), "stale stub: run python scripts/gen_stubs.py"
    assert (ROOT / "src" / "anydiff" / "py.typed").exists()


def test_stub_declares_every_public_name():
    text = (ROOT / "src" / "anydiff" / "__init__.pyi").read_text()
    for name in ad.__all__:
        assert f"def {name}(" in text or f"import {name} as {name}" in text, name


def test_runtime_signatures_accept_what_the_stub_declares():
    # The stub says tangent and contexts are positional and names prep/out/y/strict: the
    # runtime functions must accept exactly those keywords.
    for op in OPERATORS.values():
        params = inspect.signature(getattr(ad, op.name)).parameters
        assert {"prep", "out", "y", "strict"} <= set(params)
        params = inspect.signature(getattr(ad, f"prepare_{op.name}")).parameters
        assert {"y", "strict"} <= set(params)


USER_FILE = '''
import numpy as np
import anydiff as ad

def f(x):
    return np.sum(x ** 2)

x = np.ones(3)
g = ad.gradient(f, "engine", x)
y, g2 = ad.value_and_gradient(f, ad.AutoEngine(), x)
y3, g3, h3 = ad.value_gradient_and_hessian(f, "engine", x)
prep = ad.prepare_pushforward(f, "engine", x, x)
reveal_type(prep(x, ad.Batch(x, x)))
reveal_type(prep.value_and_pushforward(x, x))
reveal_type(ad.prepare_gradient(f, "jax", x).value_and_gradient(x))
ad.gradient(f)                              # line 16: too few arguments
ad.gradient(f, "engine", x, y=x)            # line 17: gradient has no in-place form
ad.hvp(f, "engine", x, x, prep=ad.prepare_gradient(f, "engine", x))   # line 18: wrong prep
'''


_NEEDS_MYPY = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                 reason="mypy is not installed")


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory) -> tuple[int, str]:
    """One mypy run over the user file and the stub itself (mypy's start-up and its analysis of
    NumPy and the standard library dominate a run: once for both checks). Files named on the
    command line are checked in full; the stub's own errors would be reported against it."""
    tmp_path = tmp_path_factory.mktemp("mypy")
    (tmp_path / "user.py").write_text(textwrap.dedent(USER_FILE))
    env = {"MYPYPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), "user.py",
         str(ROOT / "src" / "anydiff" / "__init__.pyi")],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=240,
    )
    return r.returncode, r.stdout + r.stderr


@pytest.mark.slow
@_NEEDS_MYPY
def test_mypy_sees_the_signatures(mypy_run):
    code, out = mypy_run
    assert code == 1, out
    assert 'user.py:13: note: Revealed type is "anydiff._contexts.Batch"' in out, out
    assert 'user.py:14: note: Revealed type is "tuple[Any, Any]"' in out, out
    assert 'user.py:15: note: Revealed type is "tuple[Any, Any]"' in out, out
    assert 'user.py:16: error: Too few arguments for "gradient"' in out, out
    assert 'user.py:17: error: Unexpected keyword argument "y" for "gradient"' in out, out
    assert "user.py:18: error: No overload variant of \"hvp\"" in out, out
    errors = [ln for ln in out.splitlines() if ln.startswith("user.py:") and ": error:" in ln]
    assert len(errors) == 3, out  # the correct calls above type-check


@pytest.mark.slow
@_NEEDS_MYPY
def test_the_stub_itself_type_checks(mypy_run):
    _, out = mypy_run
    # Every error is one of the three intended ones in user.py: the stub has none.
    errors = [ln for ln in out.splitlines() if ": error:" in ln]
    assert errors and all(ln.startswith("user.py:") for ln in errors), out
    assert "Found 3 errors in 1 file (checked 2 source files)" in out, out
