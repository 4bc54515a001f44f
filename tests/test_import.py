"""``import anydiff`` loads no AD framework and is fast (measured in fresh interpreters)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parent.parent / "src")

CODE = """
import sys, time
t = time.perf_counter()
import anydiff
dt = time.perf_counter() - t
loaded = sorted(m for m in ("jax", "jaxlib", "torch", "autograd", "anydiff.engine", "anydiff.testing",
                            "pandas", "matplotlib", "hypothesis") if m in sys.modules)
print(dt, ",".join(loaded))
"""


def _run() -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    dt, loaded = r.stdout.split()[0], (r.stdout.split() + [""])[1]
    return float(dt), loaded


def test_import_is_light_and_fast():
    runs = [_run() for _ in range(3)]
    for _, loaded in runs:
        assert loaded == "", f"import anydiff loaded {loaded}"
    # The target is < 100 ms (about 60 ms here, most of it numpy and scipy); the bound is generous
    # because CI machines are shared.
    best = min(dt for dt, _ in runs)
    assert best < 0.5, f"import anydiff took {best * 1000:.0f} ms (best of 3)"
