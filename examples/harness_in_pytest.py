"""The testing harness in your own pytest file: check your function on several backends.

Copy the part between the markers into ``tests/test_my_model.py``. ``Scenario`` states what
to differentiate and (optionally) the expected result; ``parametrize`` makes one pytest item per
backend x scenario (not-installed backends become skipped items); ``test_differentiation`` runs
every variant (plain, value form, ``out=``, prepared at another point, ...) and fails with a
readable table.

Run: python examples/harness_in_pytest.py [backend]   (runs pytest on this file)
"""

from __future__ import annotations

import os
import sys

import numpy as np

import anydiff as ad

BACKENDS = ["jax", "torch", "autograd", "finitediff", "engine"]

# ---- tests/test_my_model.py ------------------------------------------------------------------
from anydiff.testing import Scenario, parametrize, test_differentiation  # noqa: E402


def energy(x, k):
    """A spring chain's energy: my model, written once against the Array API."""
    xp = ad.array_namespace(x)
    d = x[1:] - x[:-1]
    return xp.sum(k * (d - 1.0) ** 2) / 2


X = np.array([0.0, 1.5, 2.0, 3.5])
K = np.array([1.0, 2.0, 3.0])
D = X[1:] - X[:-1] - 1.0
FORCE = np.concatenate([[0.0], K * D]) - np.concatenate([K * D, [0.0]])  # dE/dx by hand

SCENARIOS = [
    Scenario("gradient", energy, X, contexts=(ad.Constant(K),), reference=FORCE, name="energy"),
    Scenario("hvp", energy, X, tangent=np.ones(4), contexts=(ad.Constant(K),), name="energy-hvp"),
]
# Which backends to check: all five, or the one given on the command line.
CHECKED = os.environ.get("EXAMPLE_BACKEND", "").split(",") if os.environ.get("EXAMPLE_BACKEND") else BACKENDS


@parametrize(CHECKED, SCENARIOS)
def test_energy(backend, scenario):
    test_differentiation([backend], [scenario])
# ---- end of tests/test_my_model.py -----------------------------------------------------------


def main(backend: str | None = None) -> int:
    import pytest

    env = {"EXAMPLE_BACKEND": backend} if backend else {}
    os.environ.update(env)
    return pytest.main([__file__, "-q", "-p", "no:cacheprovider"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] not in BACKENDS:
        raise SystemExit(f"this example runs on {BACKENDS}, not {sys.argv[1]!r}")
    raise SystemExit(main(*sys.argv[1:]))
