"""``import anydiff`` loads no AD framework and is fast (measured in fresh interpreters)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parent.parent / "src")

# NumPy is timed apart: every user has imported it anyway, and on a shared machine its import
# (hundreds of shared-library pages) dominates and varies most.
CODE = """
import sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import anydiff
t2 = time.perf_counter()
loaded = sorted(m for m in ("jax", "jaxlib", "torch", "autograd", "anydiff.engine", "anydiff.testing",
                            "pandas", "matplotlib", "hypothesis", "scipy") if m in sys.modules)
print(t1 - t0, t2 - t1, ",".join(loaded) or "-")
"""


def _run() -> tuple[float, float, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    numpy_s, own_s, loaded = r.stdout.split()
    return float(numpy_s), float(own_s), loaded


def test_import_is_light_and_fast():
    runs = [_run() for _ in range(3)]
    for _, _, loaded in runs:
        assert loaded == "-", f"import anydiff loaded {loaded}"
    # Target: < 100 ms in all (about 50-70 ms of anydiff's own on top of numpy here). The bounds
    # are generous because CI machines are shared.
    own = min(r[1] for r in runs)
    total = min(r[0] + r[1] for r in runs)
    assert own < 0.25, f"import anydiff took {own * 1000:.0f} ms after numpy (best of 3)"
    assert total < 1.0, f"import numpy + anydiff took {total * 1000:.0f} ms (best of 3)"
