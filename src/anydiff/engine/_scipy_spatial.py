"""``scipy.spatial.distance`` for traced points: ``cdist``, ``pdist``, ``squareform``.

Metrics ``euclidean`` (``np.linalg.norm`` of the differences, so the derivative at a zero
distance is 0, the smallest subgradient), ``sqeuclidean``, ``cityblock``, ``chebyshev``,
``minkowski`` (``p``) and ``cosine``; others raise ``EngineError`` naming the metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rules as R
from ._errors import no_rule


def _metric(diff: Any, metric: str, kw: dict, a: Any = None, b: Any = None) -> Any:
    if metric == "euclidean":
        return np.linalg.norm(diff, axis=-1)
    if metric == "sqeuclidean":
        return np.sum(diff * diff, axis=-1)
    if metric == "cityblock":
        return np.sum(np.abs(diff), axis=-1)
    if metric == "chebyshev":
        return np.max(np.abs(diff), axis=-1)
    if metric == "minkowski":
        return np.linalg.norm(diff, ord=float(kw.get("p", 2.0)), axis=-1)
    if metric == "cosine":
        num = np.sum(a * b, axis=-1)
        return 1.0 - num / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    raise no_rule(f"scipy.spatial.distance with metric={metric!r}")


def cdist(XA: Any, XB: Any, metric: Any = "euclidean", **kw: Any) -> Any:
    """``D[i, j] = d(XA[i], XB[j])``, shape ``(len(XA), len(XB))``."""
    if not isinstance(metric, str) or set(kw) - {"p"}:
        raise no_rule(f"scipy.spatial.distance.cdist with metric={metric!r} / {sorted(kw)}")
    a, b = XA[:, None, :], XB[None, :, :]
    return _metric(a - b, metric, kw, a, b)


def pdist(X: Any, metric: Any = "euclidean", **kw: Any) -> Any:
    """The condensed distances ``d(X[i], X[j])`` for ``i < j`` (SciPy's order)."""
    if not isinstance(metric, str) or set(kw) - {"p"}:
        raise no_rule(f"scipy.spatial.distance.pdist with metric={metric!r} / {sorted(kw)}")
    i, j = np.triu_indices(R.shape_of(X)[0], 1)
    a, b = X[i], X[j]
    return _metric(a - b, metric, kw, a, b)


def squareform(X: Any, force: str = "no", checks: bool = True) -> Any:
    """Condensed vector <-> square symmetric matrix with a zero diagonal (gathers)."""
    if R.ndim_of(X) == 1:
        m = R.shape_of(X)[0]
        n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
        i, j = np.triu_indices(n, 1)
        pos = np.zeros((n, n), dtype=np.int64)
        pos[i, j] = pos[j, i] = np.arange(m) + 1  # 0 marks the diagonal
        vals = np.concatenate([np.zeros(1, dtype=R.dtype_of(X)), X])
        return np.reshape(np.take(vals, pos.ravel()), (n, n))
    n = R.shape_of(X)[0]
    i, j = np.triu_indices(n, 1)
    return X[i, j]


SPATIAL = {"cdist": cdist, "pdist": pdist, "squareform": squareform}
