"""The ``implicit`` scenario family through the harness, on every installed backend."""

from __future__ import annotations

import pytest

from anydiff.testing import implicit_scenarios, installed_backends, test_differentiation

#: JAX compiles a kernel per variant: the variants that reach distinct code paths
JAX_VARIANTS = ("plain", "native", "prepared", "threads")


@pytest.mark.parametrize("backend", installed_backends())
def test_implicit_family(backend):
    variants = JAX_VARIANTS if backend == "jax" else None
    report = test_differentiation([backend], implicit_scenarios(), variants=variants)
    assert not report.failed
    # every scenario really ran (passed) in its plain and prepared forms
    ran = {(r.scenario, r.variant) for r in report.passed}
    for s in implicit_scenarios():
        assert (s.name, "plain") in ran and (s.name, "prepared") in ran, report.table()
