"""The examples run and reach the right answers."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart(capsys):
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "finitediff: max error" in out and "engine: max error" in out


def test_optimize_rosenbrock():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import optimize_rosenbrock
    finally:
        sys.path.remove(str(EXAMPLES))
    x = optimize_rosenbrock.main("engine")
    np.testing.assert_allclose(x, np.ones(8), atol=1e-5)
