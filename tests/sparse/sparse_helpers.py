"""Helpers for the sparsity tests: patterns read off dense engine Jacobians/Hessians."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

import anydiff as ad
import anydiff.engine as engine
from anydiff.engine._tracer import Prim


def dense_jacobian_pattern(f, x, *contexts):
    """Non-zeros of the dense Jacobian (engine, forward mode) as a (y.size, x.size) bool array."""
    J = np.asarray(ad.jacobian(f, "engine", x, *contexts))
    n = sum(np.size(leaf) for leaf in (x.values() if isinstance(x, dict) else [x]))
    return J.reshape(-1, n) != 0


def dense_hessian_pattern(f, x, *contexts):
    H = np.asarray(ad.hessian(f, "engine", x, *contexts))
    n = np.size(x)
    return H.reshape(n, n) != 0


def assert_superset(big, small):
    big = big.toarray() if hasattr(big, "toarray") else np.asarray(big)
    small = small.toarray() if hasattr(small, "toarray") else np.asarray(small)
    missing = small & ~big
    assert not missing.any(), f"pattern misses {int(missing.sum())} entries, e.g. {np.argwhere(missing)[:5]}"


def engine_prims() -> dict[str, Prim]:
    """Every Prim object reachable from the engine's modules (module globals and rule tables)."""
    from anydiff.engine import _numpy_api

    _numpy_api._scipy_rules()
    found: dict[str, Prim] = {}
    for m in pkgutil.iter_modules(engine.__path__):
        mod = importlib.import_module(f"anydiff.engine.{m.name}")
        for v in vars(mod).values():
            items = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else [v]
            for p in items:
                if isinstance(p, Prim):
                    found[p.name] = p
    return found
