"""The list of supported functions, generated from the rule tables (the documentation page
"supported operations" is built from it, so it cannot drift)."""

from __future__ import annotations

from typing import Any


def _name(func: Any) -> str:
    mod = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    if mod.startswith("numpy"):
        sub = [p for p in mod.split(".")[1:] if not p.startswith("_")]
        return ".".join(["np", *sub, name])
    return f"{mod}.{name}"


def supported() -> dict[str, list[str]]:
    """``{"NumPy functions": [...], "NumPy ufuncs": [...], "scipy.special ufuncs": [...],
    "SciPy functions": [...]}``, each sorted."""
    import numpy as np

    from . import _numpy_api as A
    from ._rules import NONDIFF_UFUNCS
    from ._rules_linalg2 import NO_RULE

    funcs = sorted({_name(f) for f in A.HANDLERS if f not in NO_RULE})
    ufuncs = sorted(
        {f"np.{u.__name__}" for u in A._UFUNCS if getattr(np, u.__name__, None) is u}
        | {f"np.{u.__name__}" for u in NONDIFF_UFUNCS}
    )
    from ._intercept_math import ORIGINAL as MATH

    out = {
        "NumPy functions": funcs,
        "NumPy ufuncs": ufuncs,
        "math module (on traced scalars)": sorted(f"math.{n}" for n in MATH),
    }
    try:
        import scipy.special as sp

        from ._scipy_special import ufunc_rules
        from ._scipy_special_more import more_composites, more_rules
        from ._scipy_stats import _TABLES, DISCRETE, discrete_methods_of, methods_of
        from ._scipy_stats_mv import multivariate_methods
        from ._scipy_tables import function_tables
    except ImportError:  # pragma: no cover - SciPy absent
        return out
    ufuncs = {**ufunc_rules(sp), **more_rules(sp), **more_composites(sp)}
    out["scipy.special ufuncs"] = sorted(f"scipy.special.{u.__name__.lstrip('_')}" for u in ufuncs)
    out["SciPy functions"] = sorted(
        [f"{sub}.{n}" for sub, table in function_tables().items() for n in table]
        + [f"scipy.stats.{d}.{m}" for d in _TABLES for m in methods_of(d)]
        + [f"scipy.stats.{d}.{m}" for d in DISCRETE for m in discrete_methods_of(d)]
        + sorted({f"scipy.stats.{c[:-4]}.{m}" for c, m, _, fz in multivariate_methods() if fz is None})
        + ["scipy.stats.gaussian_kde (at traced points)"]
    )
    return out


def unsupported() -> list[str]:
    """Functions registered only to raise a clear ``EngineError``."""
    from ._rules_linalg2 import NO_RULE

    return sorted(_name(f) for f in NO_RULE)


#: where the derivative of a decomposition exists, and what the engine does elsewhere
DECOMPOSITIONS: dict[str, str] = {
    "np.linalg.svd": "vectors with full_matrices=False (or a square matrix), real or complex matrices; "
    "distinct nonzero singular values (a repeated or zero one gives inf/NaN in the vectors' "
    "derivatives; functions of the singular values only stay finite); complex vectors: exact for "
    "functions invariant under their phases (the gauge), see the engine page; full_matrices=True "
    "on a non-square matrix raises",
    "np.linalg.qr": "modes 'reduced' and 'r', real or complex matrices with m >= n and full column "
    "rank (LAPACK's complex R has a real diagonal, so the factors are unique); wide or "
    "rank-deficient matrices raise",
    "np.linalg.eig": "distinct eigenvalues; the vectors' derivatives follow LAPACK's normalisation "
    "(unit norm, largest component real); a real matrix whose eigenvalues were real when traced "
    "gives real outputs, and a tape replayed where they turn complex raises",
    "np.linalg.eigh": "real symmetric and complex Hermitian; distinct eigenvalues for the vectors "
    "(complex vectors keep LAPACK's phase: row 0 real for UPLO='L', the last row for 'U')",
    "np.linalg.pinv": "the derivative at constant rank (the rank rcond finds)",
    "np.linalg.lstsq": "pinv(a) @ b, so the same as pinv",
}


def markdown() -> str:
    """The supported functions as Markdown (the docs' "supported operations" page)."""
    lines = []
    for title, names in supported().items():
        lines.append(f"**{title}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names))
        lines.append("")
    lines.append("**Matrix decompositions: where the derivative exists**")
    lines.append("")
    lines.extend(f"- `{name}`: {text}." for name, text in DECOMPOSITIONS.items())
    lines.append("")
    if unsupported():
        lines.append("**Registered to raise a clear error:** " + ", ".join(f"`{n}`" for n in unsupported()))
    return "\n".join(lines).rstrip() + "\n"
