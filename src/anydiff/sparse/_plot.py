"""``plot_sparsity``: the pattern of a sparse prep, non-zeros coloured by their colour group."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import AnydiffTypeError, BackendUnavailableError


def plot_sparsity(obj: Any, ax: Any = None, markersize: float | None = None) -> Any:
    """Draw the sparsity pattern of ``obj`` with each non-zero coloured by its colour group.

    ``obj``: a prep of ``AutoSparse`` (``ad.prepare_jacobian(f, ad.AutoSparse(b), x)``) or a colouring
    result. Column colourings colour entry ``(i, j)`` by column ``j``'s colour, row colourings by row
    ``i``'s, star / acyclic colourings by column ``j``'s; bicolourings by the pushforward colour of
    column ``j`` or the pullback colour of row ``i`` (after the pushforward colours), whichever the
    entry is read from. Needs matplotlib; returns the matplotlib ``Axes``.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import numpy as np, anydiff as ad
        >>> prep = ad.prepare_jacobian(lambda x: x[1:] * x[:-1], ad.AutoSparse("engine"), np.ones(5))
        >>> ad.plot_sparsity(prep).get_title()
        '4×5, 8 non-zeros, 2 colours (row)'
    """
    result = getattr(obj, "coloring_result", obj)
    if not hasattr(result, "pattern") or not hasattr(result, "kind"):
        raise AnydiffTypeError(f"plot_sparsity needs an AutoSparse prep or a colouring result, got {obj!r}")
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BackendUnavailableError("plot_sparsity needs matplotlib: pip install matplotlib") from exc
    p = result.pattern
    m, n = p.shape
    rows = np.repeat(np.arange(m), np.diff(p.indptr))
    cols = p.indices
    if result.kind == "row":
        group = result.colors[rows]
    elif result.kind == "bidirectional":
        src = result._src
        fwd = src < result.nforward * m
        group = np.where(fwd, result.column_colors[cols], result.nforward + result.row_colors[rows])
    elif result.kind == "star":
        group = result._src // n  # the colour each entry is read from (neutral spokes included)
    else:
        group = result.colors[cols]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5 * m / max(n, 1) if n else 5))
    size = markersize if markersize is not None else max(0.5, min(30.0, 3000.0 / max(m, n, 1)))
    ax.scatter(cols, rows, c=group, cmap="tab10" if result.ncolors <= 10 else "tab20", s=size,
               marker="s", linewidths=0)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(m - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_title(f"{m}×{n}, {p.nnz} non-zeros, {result.ncolors} colours ({result.kind})")
    return ax
