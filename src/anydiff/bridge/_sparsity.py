"""Sparsity detection through a bridged function (``AutoSparse`` with the tracer detector).

anydiff's sparsity tracer runs ``h`` on the engine's index-set tracers; a bridged ``g`` inside it
is one engine primitive (``anydiff_bridge``) whose body the tracer cannot see. Its dependency
rule is therefore

* ``g``'s own Jacobian pattern when the user gave one (``sparsity=`` of
  :func:`~anydiff.differentiate_with` / :func:`~anydiff.custom_derivative`): a boolean
  ``(m, n)`` matrix, flat output ``i`` of ``g`` depends on flat input ``j`` where it is true;
* otherwise a **dense block**: every output of ``g`` depends on every input ``g`` receives
  (conservative, so always valid; the pattern is only as sparse as ``g``'s surroundings make it).

For Hessians, the inputs each output depends on are taken to interact pairwise (a clique per
output row), which holds for any twice-differentiable ``g`` with that Jacobian pattern.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import AnydiffValueError
from ._core import Signature


def as_pattern(sparsity: Any) -> Any:
    """``sparsity`` (dense array-like or scipy sparse, 2-D) as a boolean CSR array."""
    import scipy.sparse as sp

    if sp.issparse(sparsity):
        S = sp.csr_array(sp.csr_array(sparsity) != 0)
    else:
        a = np.asarray(sparsity)
        if a.ndim != 2:
            raise AnydiffValueError(
                f"sparsity= of a bridged function must be a 2-D (outputs, inputs) pattern; got shape "
                f"{a.shape}"
            )
        S = sp.csr_array(a != 0)
    S.sum_duplicates()
    S.eliminate_zeros()
    S.sort_indices()
    return S


def checked_pattern(rule: Any, sig: Signature, osig: Signature) -> Any:
    """The rule's pattern (``None`` if none was given) after checking it against the signature."""
    S = getattr(rule, "sparsity", None)
    if S is None:
        return None
    if S.shape != (osig.size, sig.size):
        raise AnydiffValueError(
            f"sparsity= of {rule.fname} has shape {S.shape}; expected (flat outputs, flat inputs) = "
            f"{(osig.size, sig.size)} for input {sig.describe()} and output {osig.describe()}"
        )
    return S


def dependency(c: Any) -> Any:
    """Dependency rule of the ``anydiff_bridge`` engine primitive (``c``: a sparse-tracer call
    with operand 0 the flat ``x`` of ``g`` and its pattern ``c.Ps[0]`` of shape ``(n, n_in)``);
    returns the ``(m, n_in)`` pattern of ``g``'s flat output."""
    from ..sparse import _index as ix

    rule, sig, osig = c.params["rule"], c.params["sig"], c.params["osig"]
    P = c.Ps[0]
    S = checked_pattern(rule, sig, osig)
    if S is None:
        U = ix.any_rows(P)  # (1, n_in): everything x depends on
        c.pair(U, U)
        return ix.gather(U, np.zeros(osig.size, dtype=np.int64))
    Y = ix.matmul(S, P)
    c.pair(Y, Y)
    return Y
