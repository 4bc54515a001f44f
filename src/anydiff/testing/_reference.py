"""Backends as seen by the harness: labels, availability, tolerances and reference results."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

import anydiff as ad

from .._registry import get_adapter, resolve
from ._catalogue import upcast
from ._scenario import TANGENT_OPS, VALUE_FORMS, Scenario

#: Order in which backends are tried for references: exact AD systems first (eager ones
#: before JAX, whose compilations cost ~0.1 s per new function), the in-house engine next,
#: finite differences last (first order only while an AD system is installed).
REFERENCE_ORDER = ("torch", "autograd", "jax", "engine", "finitediff")


def label(backend: Any) -> str:
    """Short readable name: the string itself, else the backend's repr (``AutoJax(...)``);
    ``AutoSparse(<dense label>)`` for an ``AutoSparse`` with default options."""
    if isinstance(backend, str):
        return backend
    if getattr(backend, "name", None) == "sparse":
        from ._sparse_runner import sparse_label

        return sparse_label(backend)
    return repr(backend)


def installed(backend: Any) -> tuple[bool, str]:
    """Whether the backend can run here, and why not: its framework and its adapter module must
    both import (adapters are optional modules ``anydiff.backends.<name>``)."""
    try:
        b = resolve(backend)
    except Exception as exc:
        return False, str(exc)
    if not ad.check_available(b):
        return False, f"{label(backend)}: AD system not installed"
    for sub in _leaves(b):
        if importlib.util.find_spec(f"anydiff.backends.{sub.name}") is None:
            return False, f"{label(backend)}: no adapter module anydiff.backends.{sub.name}"
    try:
        get_adapter(b)
    except Exception as exc:  # an adapter that fails to import is unavailable, not a crash
        return False, f"{label(backend)}: adapter failed to load ({type(exc).__name__}: {exc})"
    return True, ""


def _leaves(b: Any) -> list[Any]:
    subs = [getattr(b, a) for a in ("outer", "inner", "dense", "forward", "reverse")
            if hasattr(b, a) and isinstance(getattr(b, a), ad.AbstractBackend)]
    if not subs:
        return [b]
    return [leaf for s in subs for leaf in _leaves(s)]


def frameworks_of(backend: Any) -> tuple[str, ...]:
    """Names of the AD systems a backend runs on (both parts of a ``SecondOrder``)."""
    return tuple(sorted({leaf.name for leaf in _leaves(resolve(backend))}))


def installed_backends() -> list[str]:
    """Names of the backends whose AD system and adapter are both importable."""
    return [n for n in ad.available_backends() if installed(n)[0]]


def compiles_on_prepare(backend: Any) -> bool:
    """Whether preparing this backend compiles (JAX): each new preparation costs time, which
    test suites may want to budget."""
    try:
        return bool(getattr(get_adapter(resolve(backend)), "compile_on_prepare", False))
    except Exception:
        return False


def uses_finite_differences(backend: Any, order: int) -> bool:
    """Whether the derivative of this order is computed (partly) by finite differences
    (complex step excluded: it is exact to rounding)."""
    kind = accuracy_class(backend, order)
    return kind != "exact" and kind != "fd1:complex"


def _fd_method(b: Any) -> str | None:
    return getattr(b, "method", "central") if getattr(b, "name", "") == "finitediff" else None


def accuracy_class(backend: Any, order: int) -> str:
    """How a backend computes derivatives of this order: ``"exact"`` (AD, exact to rounding),
    ``"fd1:<method>"`` (one finite-difference step of that method) or ``"fd2"`` (finite
    differences of finite differences, or AD through a finite-difference formula)."""
    b = resolve(backend)
    if getattr(b, "name", None) == "sparse":  # AutoSparse computes what its dense backend does
        dense = b.dense
        if isinstance(dense, ad.MixedMode):
            kinds = [accuracy_class(d, order) for d in (dense.forward, dense.reverse)]
            return next((k for k in kinds if k != "exact"), "exact")
        return accuracy_class(dense, order)
    if isinstance(b, ad.SecondOrder):
        if order == 1:
            return accuracy_class(b.inner, 1)
        outer, inner = _fd_method(resolve(b.outer)), _fd_method(resolve(b.inner))
        if inner is not None:
            # a one-sided difference (error ~ sqrt(eps)) differentiated again by a finite
            # difference loses about half of the remaining digits: measured 2.7e-3
            one_sided = {"forward", "backward"} & {outer, inner}
            return "fd2:one-sided" if one_sided else "fd2"
        return "exact" if outer is None else f"fd1:{outer}"
    method = _fd_method(b)
    if method is None:
        return "exact"
    return "fd2" if order == 2 else f"fd1:{method}"


#: ``(rtol, scaled_atol)`` per accuracy class and precision (measured on the catalogues: exact
#: AD is right to ~3e-16 normwise in float64 and ~1e-7 in float32; central differences to
#: ~4e-11 normwise / ~6e-9 elementwise; one-sided ones to ~5e-8 / ~5e-7; second-order finite
#: differences to ~2e-8 / ~6e-6; finite differences over one-sided finite differences, in a
#: ``SecondOrder``, to ~3e-3), with a margin of 3-100.
TOLERANCES: dict[tuple[str, bool], tuple[float, float]] = {
    ("exact", False): (1e-12, 1e-13),
    ("exact", True): (1e-5, 1e-6),
    ("fd1:complex", False): (1e-10, 1e-12),
    ("fd1:complex", True): (1e-5, 1e-6),
    ("fd1:central", False): (1e-7, 1e-9),
    ("fd1:central", True): (3e-3, 1e-4),
    ("fd1:forward", False): (5e-6, 1e-7),
    ("fd1:forward", True): (5e-2, 2e-3),
    ("fd1:backward", False): (5e-6, 1e-7),
    ("fd1:backward", True): (5e-2, 2e-3),
    ("fd2", False): (1e-4, 1e-6),
    ("fd2", True): (5e-3, 1e-3),
    ("fd2:one-sided", False): (1e-2, 1e-2),
    ("fd2:one-sided", True): (1e-1, 1e-1),
}


def single_precision(dtype: np.dtype) -> bool:
    return np.finfo(np.dtype(dtype)).dtype == np.float32


def default_tolerances(backend: Any, dtype: np.dtype, order: int) -> tuple[float, float]:
    """``(rtol, scaled_atol)`` for results of a backend, checked elementwise: every entry must
    satisfy ``|r - e| <= rtol * |e| + scaled_atol * max|e|`` (``max`` over the result leaf).

    Exact AD: 1e-12 in float64, 1e-5 in float32 (relative to each entry). Finite differences
    per method and order (see ``TOLERANCES``): central 1e-7, forward / backward 5e-6, complex
    step 1e-10, second order 1e-4 in float64.
    """
    return TOLERANCES[(accuracy_class(backend, order), single_precision(dtype))]


def reference_backends(order: int, exclude: tuple = ()) -> list[str]:
    """Installed backends usable as references, most accurate first."""
    names = [n for n in REFERENCE_ORDER if n not in exclude and installed(n)[0]]
    ad_names = [n for n in names if n != "finitediff"]
    if ad_names and order == 1:
        return ad_names + (["finitediff"] if "finitediff" in names else [])
    return names


def expected_value(scenario: Scenario) -> Any:
    """f at x, evaluated with NumPy in double precision (scalars as 0-d arrays)."""
    x = upcast(scenario.x)
    ctx = tuple(type(c)(upcast(c.value)) for c in scenario.contexts)
    return scenario.evaluate(x, ctx)


def compute_reference(scenario: Scenario, exclude: tuple[str, ...] = ()) -> tuple[Any, Any, str]:
    """``(result, first, source)`` for a scenario without an analytic reference: the value form
    of its operator at x (in double precision) by the most accurate backend that runs it.

    Backends in ``exclude`` (the frameworks under test) are never used: a backend is not
    checked against itself (a shared defect would pass). When no other backend runs the
    scenario, this raises and the case fails ("no reference") instead of passing by
    comparing a backend with itself."""
    cache = scenario.__dict__.setdefault("_computed_reference", {})
    if exclude in cache:
        return cache[exclude]
    errors = []
    names = reference_backends(scenario.order)
    names = [n for n in names if n not in exclude]
    for name in names:
        b = resolve(name)
        if any(not getattr(b, req, True) for req in scenario.requires):
            continue
        x = upcast(scenario.x)
        t = upcast(scenario.tangent) if scenario.tangent is not None else None
        args = (x, t) if scenario.op in TANGENT_OPS else (x,)
        ctx = tuple(type(c)(upcast(c.value)) for c in scenario.contexts)
        kw = {"y": upcast(scenario.fresh_y())} if scenario.y is not None else {}
        try:
            out = getattr(ad, VALUE_FORMS[scenario.op])(scenario.f, name, *args, *ctx, **kw)
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        first = out[-2] if scenario.op in ("second_derivative", "hessian", "hvp") else None
        result = (out[-1], first, name)
        cache[exclude] = result
        return result
    raise RuntimeError(
        f"No backend could compute a reference for {scenario.name}: " + "; ".join(errors)
    )
