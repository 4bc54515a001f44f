"""Every installed backend on every scenario catalogue, through ``anydiff.testing``.

One pytest item per backend x scenario. Backends that compile on preparation (JAX: about 0.1 s
of XLA compilation per new kernel, and each variant builds its own) run the prepared variants
here, and every variant on one scenario per operator; ``--long`` runs every variant everywhere.
"""

from __future__ import annotations

import importlib.util

import pytest

import anydiff as ad
from anydiff.testing import (
    ALL_VARIANTS,
    all_scenarios,
    compiles_on_prepare,
    installed_backends,
    long_run,
    parametrize,
    test_differentiation,
)

BACKENDS = installed_backends()
SCENARIOS = all_scenarios()
CORE_VARIANTS = ("prepared", "prepared_call", "mismatch")

# The first scenario of each operator gets every variant even on compiling backends.
_FULL = set()
_ops_seen: set[str] = set()
for _s in SCENARIOS:
    if _s.op not in _ops_seen and not _s.requires:
        _ops_seen.add(_s.op)
        _FULL.add(_s.name)


def _variants(backend: str, scenario_name: str) -> tuple[str, ...]:
    if long_run() or not compiles_on_prepare(backend) or scenario_name in _FULL:
        variants = ALL_VARIANTS
    else:
        variants = CORE_VARIANTS
    return variants


@parametrize(BACKENDS, SCENARIOS)
def test_backend_scenario(backend, scenario):
    test_differentiation([backend], [scenario], variants=_variants(backend, scenario.name))


def test_every_available_backend_is_tested():
    # A backend whose framework is installed but whose adapter fails to import would silently
    # drop out of BACKENDS: make that visible.
    missing = [
        b for b in ad.available_backends()
        if b not in BACKENDS and importlib.util.find_spec(f"anydiff.backends.{b}") is not None
    ]
    assert not missing, f"adapters present but not loadable: {missing}"


@pytest.mark.parametrize("inner", [b for b in BACKENDS if b != "finitediff"])
def test_second_order_with_finite_differences_outside(inner):
    # SecondOrder(finitediff, ad) differentiates the AD gradient kernel by finite differences.
    from anydiff.testing import default_scenarios

    second = [s for s in default_scenarios() if s.order == 2 and not s.requires][:4]
    test_differentiation(
        [ad.SecondOrder(ad.AutoFiniteDiff(), inner)], second, variants=("plain", "prepared")
    )


_THREAD_SCENARIOS = ("jacobian-s2a", "pushforward-v2v", "hvp-v2s", "jacobian-m2m")


@pytest.mark.parametrize("backend", BACKENDS)
def test_prep_shared_between_threads(backend):
    # A documented guarantee: a prep may be used from several threads at once. Forward-mode operators
    # are the sharpest test (torch's forward-AD state is process-global; its adapter locks).
    scen = [s for s in SCENARIOS if s.name in _THREAD_SCENARIOS]
    test_differentiation([backend], scen, variants=("threads",))
