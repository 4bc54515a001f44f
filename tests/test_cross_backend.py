"""Every backend, in every mode, on every scenario catalogue, through ``anydiff.testing``.

One pytest item per backend x scenario: AutoJax(mode=None / "forward" / "reverse"),
AutoTorch(None / "forward" / "reverse"), AutoAutograd(), AutoFiniteDiff(central / forward /
backward / complex) and AutoEngine(forward / reverse) each run the FULL catalogue
(``all_scenarios()``: default, pytree, complex, sparse and the defect-class families). Every
``SecondOrder(outer, inner)`` pair is checked in ``test_second_order_pairs.py`` (analytic
references, value forms, same-point preps, the pair rule written out independently) and by
``python -m anydiff compare --second-order`` (``test_cli.py``).

Compiling backends (JAX: ~0.1 s of XLA compilation per new kernel) share out the variants that
only add compilations: every JAX mode runs the variants that reach a different code path
(plain, prepared, same-point, the mismatch checks, the protocol variants), and the remaining
ones rotate over the three modes, so each scenario x variant runs on some JAX mode. ``--long``
runs every variant everywhere.
"""

from __future__ import annotations

import importlib.util

import pytest

import anydiff as ad
from anydiff.testing import (
    ALL_VARIANTS,
    all_scenarios,
    cases,
    compiles_on_prepare,
    installed,
    installed_backends,
    long_run,
    test_differentiation,
)
from anydiff.testing._protocols import PROTOCOL_VARIANTS

#: Every first-order backend in every mode / method.
FIRST_ORDER = [
    ad.AutoJax(), ad.AutoJax(mode="forward"), ad.AutoJax(mode="reverse"),
    ad.AutoTorch(), ad.AutoTorch(mode="forward"), ad.AutoTorch(mode="reverse"),
    ad.AutoAutograd(),
    ad.AutoFiniteDiff(), ad.AutoFiniteDiff(method="forward"),
    ad.AutoFiniteDiff(method="backward"), ad.AutoFiniteDiff(method="complex"),
    ad.AutoEngine(mode="forward"), ad.AutoEngine(mode="reverse"),
]
BACKENDS = [b for b in FIRST_ORDER if installed(b)[0]]
# The implicit family runs a black-box solver per call; tests/implicit/test_family.py runs it on
# every backend, so the 13-mode matrix leaves it out (it would add ~30 s and no new code path).
SCENARIOS = [s for s in all_scenarios() if "implicit" not in s.tags]

#: Variants every compiling-backend mode runs on every scenario: each reaches its own code
#: path (the same-point preps only exist for pushforward, pullback and hvp; the protocol
#: variants only run on the closure and raising scenarios).
COMPILED_CORE = (
    "plain", "prepared", "prepared_call", "mismatch", "mismatch_dtype", "mismatch_kind",
    "same_point", "same_point_mismatch", *PROTOCOL_VARIANTS,
)
#: The others cost one more compilation each and reach paths the core ones already do with
#: another calling convention: one of them per mode and scenario, in rotation, so that every
#: scenario gets three of them over the three JAX modes and every one of them runs on about a
#: quarter of the catalogue.
COMPILED_ROTATING = tuple(v for v in ALL_VARIANTS if v not in COMPILED_CORE)


#: The preparation checks (mismatch*) do not depend on the mode: the default mode runs them.
MODE_INDEPENDENT = ("mismatch", "mismatch_dtype", "mismatch_kind", "same_point_mismatch")


def _rotates(backend) -> bool:
    # JAX compiles (~0.1 s per kernel); the engine only records tapes, cheap enough for all.
    return compiles_on_prepare(backend) and backend.name == "jax"


def _variants(backend, index: int) -> tuple[str, ...] | None:
    if long_run() or not _rotates(backend):
        return None  # all of them
    modes = [b for b in BACKENDS if _rotates(b)]
    k = modes.index(backend) if backend in modes else 0
    core = COMPILED_CORE if k == 0 else tuple(v for v in COMPILED_CORE
                                              if v not in MODE_INDEPENDENT)
    return (*core, COMPILED_ROTATING[(index * len(modes) + k) % len(COMPILED_ROTATING)])


def _params():
    return list(cases(BACKENDS, SCENARIOS))


_INDEX = {s.name: k for k, s in enumerate(SCENARIOS)}


@pytest.mark.parametrize(("backend", "scenario"), _params())
def test_backend_scenario(backend, scenario):
    test_differentiation([backend], [scenario], variants=_variants(backend, _INDEX[scenario.name]))


def test_every_variant_runs_on_compiling_modes():
    # The rotation gives every variant to a good share of the catalogue on the JAX modes.
    jax_modes = [b for b in BACKENDS if _rotates(b)]
    if not jax_modes or long_run():
        pytest.skip("no compiling backend installed" if not jax_modes else "long run: all")
    count = {v: 0 for v in ALL_VARIANTS}
    for k in range(len(SCENARIOS)):
        for b in jax_modes:
            for v in _variants(b, k):
                count[v] += 1
    assert all(count[v] >= len(SCENARIOS) * len(jax_modes) // len(COMPILED_ROTATING)
               for v in COMPILED_ROTATING), count
    assert all(count[v] == len(SCENARIOS) * len(jax_modes) for v in COMPILED_CORE
               if v not in MODE_INDEPENDENT)
    assert all(count[v] == len(SCENARIOS) for v in MODE_INDEPENDENT)


def test_every_available_backend_is_tested():
    # A backend whose framework is installed but whose adapter fails to import would silently
    # drop out of BACKENDS: make that visible.
    missing = [
        b for b in ad.available_backends()
        if b not in installed_backends()
        and importlib.util.find_spec(f"anydiff.backends.{b}") is not None
    ]
    assert not missing, f"adapters present but not loadable: {missing}"
    names = {b.name for b in BACKENDS}
    assert names == set(installed_backends())


_THREAD_SCENARIOS = ("jacobian-s2a", "pushforward-v2v", "hvp-v2s", "jacobian-m2m")


@pytest.mark.parametrize("backend", installed_backends())
def test_prep_shared_between_threads(backend):
    # A documented guarantee: a prep may be used from several threads at once. Forward-mode operators
    # are the sharpest test (torch's forward-AD state is process-global; its adapter locks).
    scen = [s for s in SCENARIOS if s.name in _THREAD_SCENARIOS]
    test_differentiation([backend], scen, variants=("threads",))


def test_full_catalogue_reaches_jax():
    # JAX runs the full catalogue, not a reduced set (issue 8: a same-point pushforward that
    # answered the first tangent for every Batch element passed the reduced suite).
    jax_ids = [p.id for p in _params() if p.id.startswith("AutoJax(mode=None")]
    if not jax_ids:
        pytest.skip("jax not installed")
    assert len(jax_ids) == len(SCENARIOS)
    assert any("batch" in i for i in jax_ids)
    batch = [s for s in SCENARIOS if isinstance(s.tangent, ad.Batch) and s.op == "pushforward"]
    assert batch and all("same_point" in _variants(ad.AutoJax(), _INDEX[s.name]) for s in batch)
