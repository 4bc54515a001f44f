"""Backends compared with each other on random Array-API programs nobody wrote by hand.

Every program's gradient (of its summed output), Jacobian, pushforward and pullback is computed by
each installed backend and compared with the reference computed by another backend (torch or
autograd first, see ``anydiff.testing.REFERENCE_ORDER``); finite differences take part with
their looser tolerance, so an error shared by all AD systems is still caught. ``--long`` (or
``ANYDIFF_LONG=1``) runs many more programs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import anydiff as ad
from anydiff.testing import (
    compiles_on_prepare,
    installed_backends,
    long_run,
    program_scenarios,
    random_program,
    random_programs,
    test_differentiation,
)
from anydiff.testing._random_programs import programs

LONG = long_run()
N_PROGRAMS = 2000 if LONG else 400
# Compiling backends pay ~0.1 s per new function: fewer programs outside long runs.
N_COMPILED = N_PROGRAMS if LONG else 60
N_SECOND_ORDER = 300 if LONG else 80

PROGRAMS = random_programs(N_PROGRAMS, seed=20_240)
BACKENDS = installed_backends()


def _run(backend: str, scenarios: list) -> None:
    try:
        test_differentiation([backend], scenarios, variants=("plain",), prep=False)
    except AssertionError as err:
        # Put the failing programs' code into the report, so a failure can be reproduced.
        text = str(err)
        failing = [p for p in PROGRAMS if f"{p.name} " in text or f"{p.name}-" in text]
        sources = "\n\n".join(p.source() + f"\n# x = {p.x.tolist()!r}" for p in failing[:5])
        raise AssertionError(f"{text}\n\nPrograms:\n{sources}") from None


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_order_agrees(backend):
    count = N_COMPILED if compiles_on_prepare(backend) else N_PROGRAMS
    _run(backend, program_scenarios(PROGRAMS[:count]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_order_agrees(backend):
    count = min(N_SECOND_ORDER, 20 if compiles_on_prepare(backend) and not LONG else 10**9)
    _run(backend, program_scenarios(PROGRAMS[:count], ops=("hessian", "hvp")))


def test_generator_is_reproducible_and_shapes_are_right():
    for seed in range(100):
        p, q = random_program(seed), random_program(seed)
        assert p.source() == q.source()
        np.testing.assert_array_equal(p.x, q.x)
        y = np.asarray(p(p.x))
        assert y.shape == p.output_shape
        assert np.all(np.isfinite(y)), p.source()
        assert np.asarray(p.scalar()(p.x)).shape == ()


def test_generator_has_no_constant_programs_and_no_dead_code():
    # The old `v - v` guard let `-v0 + v0` (and v - v through aliases) through: 12 of 2000
    # programs were constant in x, so every backend "agreed" on a zero derivative.
    from anydiff.testing._random_programs import Instr, Program

    zero = Program(0, np.ones(3), [Instr("neg", (0,)), Instr("add", (1, 0))], [(3,)] * 3)
    assert zero.is_constant() and zero.is_affine()
    linear = Program(0, np.ones(3), [Instr("scale", (0,), 2.0), Instr("add", (1, 0))], [(3,)] * 3)
    assert not linear.is_constant() and linear.is_affine()
    curved = Program(0, np.ones(3), [Instr("sin", (0,))], [(3,), (3,)])
    assert not curved.is_constant() and not curved.is_affine()
    for p in PROGRAMS:
        assert not p.is_constant() and not p.scalar().is_constant(), p.source()
        used = {a for ins in p.instrs for a in ins.args}
        # every value but the output feeds a later instruction: no dead code
        assert set(range(len(p.instrs))) <= used, p.source()


def test_program_scenarios_drop_what_tests_nothing():
    scen = program_scenarios(PROGRAMS[:200], ops=("jacobian", "hessian"))
    by_name = {p.name: p for p in PROGRAMS[:200]}
    for s in scen:
        p = by_name[s.f.name.replace("-scalar", "")]
        if s.op == "jacobian":
            assert p.output_shape != (), s.name  # a scalar output's Jacobian is a gradient
        else:
            assert not p.scalar().is_affine(), s.name  # affine: a zero Hessian
    assert {s.op for s in scen} == {"jacobian", "hessian"}


def test_generator_covers_the_operation_families():
    ops = {ins.op for p in PROGRAMS for ins in p.instrs}
    expected = {"sin", "cos", "tanh", "exp", "add", "mul", "div", "sum", "sum_axis", "matmul",
                "reshape", "transpose", "head", "tail", "scale", "log1p_sq", "prod"}
    assert expected <= ops, expected - ops
    # broadcasting: a binary op whose operands have different shapes
    assert any(
        len(ins.args) == 2 and p.shapes[ins.args[0]] != p.shapes[ins.args[1]]
        for p in PROGRAMS for ins in p.instrs if ins.op in ("add", "sub", "mul", "div")
    )


@settings(max_examples=25, deadline=None)
@given(programs(scalar_output=True))
def test_hypothesis_gradients_match_finite_differences(p):
    g_fd = ad.gradient(p, "finitediff", p.x)
    for b in BACKENDS:
        if b == "finitediff" or compiles_on_prepare(b):
            continue
        g = ad.gradient(p, b, p.x)
        scale = max(1.0, float(np.max(np.abs(g_fd))))
        assert np.max(np.abs(g - g_fd)) <= 1e-5 * scale, (b, p.source())
