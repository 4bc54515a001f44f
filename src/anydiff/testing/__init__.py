"""``anydiff.testing``: the cross-backend test and benchmark harness.

Scenarios (an operator, a function, a point and the expected result) are backend-free; the
harness runs them on any backend and explains every disagreement::

    from anydiff.testing import test_differentiation, default_scenarios, parametrize

    @parametrize(["jax", "torch"], default_scenarios())
    def test_backends(backend, scenario):
        test_differentiation([backend], [scenario])

``benchmark_differentiation`` times the same scenarios, and ``random_program`` builds random
Array-API programs for property tests.
"""

from __future__ import annotations

from ._benchmark import BenchmarkRow, BenchmarkTable, benchmark_differentiation
from ._catalogue import (
    CATALOGUES,
    Problem,
    all_scenarios,
    bridge_scenarios,
    closure_scenarios,
    complex_scenarios,
    default_scenarios,
    edge_scenarios,
    error_scenarios,
    mutation_scenarios,
    pytree_scenarios,
    raising_scenarios,
    scenarios_of,
    sparse_scenarios,
)
from ._check import CheckReport, check_derivatives
from ._compare import compare
from ._implicit import implicit_scenarios
from ._random_programs import Program, program_scenarios, random_program, random_programs
from ._reference import (
    TOLERANCES,
    accuracy_class,
    compiles_on_prepare,
    default_tolerances,
    installed,
    installed_backends,
)
from ._report import CaseResult, DifferentiationReport
from ._runner import (
    ALL_VARIANTS,
    cases,
    parametrize,
    run_differentiation,
    test_differentiation,
)
from ._scenario import OPERATORS, FailingFunction, FunctionError, Scenario

__all__ = [
    "ALL_VARIANTS", "BenchmarkRow", "BenchmarkTable", "CATALOGUES", "CaseResult", "CheckReport",
    "DifferentiationReport", "FailingFunction", "FunctionError", "OPERATORS", "Problem",
    "Program", "Scenario", "TOLERANCES", "accuracy_class", "all_scenarios",
    "benchmark_differentiation", "bridge_scenarios", "check_derivatives", "cases",
    "closure_scenarios", "compare",
    "compiles_on_prepare",
    "complex_scenarios", "default_scenarios", "default_tolerances", "edge_scenarios",
    "error_scenarios", "implicit_scenarios", "installed", "installed_backends", "long_run",
    "mutation_scenarios",
    "parametrize", "program_scenarios", "pytree_scenarios", "raising_scenarios",
    "random_program", "random_programs", "run_differentiation", "scenarios_of",
    "sparse_scenarios", "test_differentiation",
]


def long_run() -> bool:
    """Whether long test runs were asked for (``ANYDIFF_LONG=1``, which ``pytest --long`` sets
    in anydiff's own test suite)."""
    import os

    return os.environ.get("ANYDIFF_LONG", "") not in ("", "0")


def __getattr__(name: str) -> object:
    # The hypothesis strategy loads hypothesis only when asked for.
    if name == "programs":
        from ._random_programs import programs

        return programs
    raise AttributeError(f"module 'anydiff.testing' has no attribute {name!r}")
