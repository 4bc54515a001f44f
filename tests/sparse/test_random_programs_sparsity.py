"""Random Array-API programs (anydiff.testing's generator): global ⊇ local ⊇ dense non-zeros.

Patterns are compared with the dense engine Jacobian / Hessian at the program's point and at a
second random point (a global pattern holds at every x).  Programs the engine cannot run densely
(or the tracer refuses, naming the cause) are counted, and most programs must be checked.
"""

from __future__ import annotations

import numpy as np
from sparse_helpers import assert_superset

import anydiff as ad
from anydiff.testing import random_program

LOCAL = ad.TracerSparsityDetector(local=True)


def _dense(f, x, hessian=False):
    n = x.size
    if hessian:
        return np.asarray(ad.hessian(f, "engine", x)).reshape(n, n) != 0
    return np.asarray(ad.jacobian(f, "engine", x)).reshape(-1, n) != 0


def test_random_programs_jacobian_and_hessian():
    checked = refused = 0
    rng = np.random.default_rng(7)
    for seed in range(120):
        prog = random_program(seed)
        for p in (prog, prog.scalar()):
            hess = p.scalar_output
            detect = ad.hessian_sparsity if hess else ad.jacobian_sparsity
            try:
                G = detect(p, p.x)
            except ad.UnsupportedError:
                refused += 1
                continue
            with np.errstate(all="ignore"):
                for x in (p.x, p.x + 0.3 * rng.normal(size=p.x.shape)):
                    D = _dense(p, x, hess)
                    if not np.isfinite(np.asarray(ad.jacobian(p, "engine", x))).all():
                        continue  # the point left the domain (log of a negative...)
                    L = detect(p, x, LOCAL)
                    assert_superset(G, L)
                    assert_superset(L, D)
            checked += 1
    assert checked >= 200, (checked, refused)
