"""The wheel holds the package (engine, testing, backends, typing files) and nothing else, and a
fresh environment with only that wheel (and the core dependencies) works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import anydiff as ad

ROOT = Path(__file__).resolve().parent.parent
CORE_DEPS = ["numpy", "scipy", "array_api_compat", "tqdm"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (keeps build/ and *.egg-info out of the tree)."""
    pytest.importorskip("setuptools")
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, work / name)
    # src/anydiff/backends may be a development symlink to backends/: the wheel takes backends/.
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "backends", "*.egg-info"))
    shutil.copytree(ROOT / "backends", work / "backends", ignore=shutil.ignore_patterns("__pycache__"))
    dist = work / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(dist), str(work)],
        capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = dist.glob("anydiff-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name.startswith(f"anydiff-{ad.__version__}-py3-none-any"), wheel.name
    for required in ("anydiff/__init__.py", "anydiff/__init__.pyi", "anydiff/py.typed",
                     "anydiff/_operators.py", "anydiff/engine/__init__.py",
                     "anydiff/testing/__init__.py", "anydiff/backends/__init__.py",
                     "anydiff/optimize/__init__.py", "anydiff/optimize/_minimize.py",
                     "anydiff/backends/jax.py", "anydiff/backends/engine.py"):
        assert required in names, required
    # every module of the source tree ships (a subpackage missing from pyproject's list would not)
    src = ROOT / "src" / "anydiff"
    for module in src.rglob("*.py"):
        rel = module.relative_to(src)
        if rel.parts[0] != "backends" and "__pycache__" not in rel.parts:
            assert f"anydiff/{rel.as_posix()}" in names, rel
    for module in (ROOT / "backends").glob("*.py"):
        assert f"anydiff/backends/{module.name}" in names, module.name
    tops = {n.split("/")[0] for n in names}
    assert tops == {"anydiff", f"anydiff-{ad.__version__}.dist-info"}, tops  # no tests, benchmarks, ...
    meta = zipfile.ZipFile(wheel).read(f"anydiff-{ad.__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta
    assert "Provides-Extra: jax" in meta and "Provides-Extra: docs" in meta
    assert f"Version: {ad.__version__}" in meta
    assert any(n.endswith("licenses/LICENSE") for n in names)


CHECK = """
import sys
import numpy as np
import anydiff as ad
assert "site-packages" in ad.__file__ and "{root}" not in ad.__file__, ad.__file__
x = np.array([1.0, 2.0])
f = lambda x: np.sum(x ** 3)
for b in ("engine", "finitediff"):
    g = ad.gradient(f, b, x)
    assert np.allclose(g, 3 * x ** 2, rtol=1e-8), (b, g)
assert ad.available_backends() == ["finitediff", "engine"], ad.available_backends()
for b in ("jax", "torch", "autograd"):
    try:
        ad.gradient(f, b, x)
    except ad.BackendUnavailableError as e:
        assert isinstance(e, ImportError)
        assert 'pip install "anydiff[%s]"' % b in str(e), str(e)
    else:
        raise AssertionError(b + " did not raise")
assert not any(m in sys.modules for m in ("jax", "torch", "autograd"))
print("FRESH OK", ad.__version__)
"""


@pytest.mark.slow
def test_fresh_environment_with_only_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # The core dependencies come from this environment, linked one by one (not jax, torch, ...).
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    here = Path(sysconfig.get_paths()["purelib"])
    for dep in CORE_DEPS:
        for entry in [here / dep, *here.glob(f"{dep}-*.dist-info"), *here.glob(f"{dep}.libs")]:
            if entry.exists():
                (site / entry.name).symlink_to(entry)
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(py), "-c", CHECK.replace("{root}", str(ROOT))], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"FRESH OK {ad.__version__}" in r.stdout
    r = subprocess.run([str(py), "-m", "anydiff", "info"], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
