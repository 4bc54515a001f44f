"""The dependency-rule table: one rule per engine primitive, keyed by the primitive's name.

The engine's derivative rules (:mod:`anydiff.engine._rules`) define ``Prim`` objects; this table
gives each differentiable one its dependency rule, grouped by kind next to the tables it derives
from (elementwise traits, data movement, reductions, linear algebra).  Non-differentiable
primitives (``diff=False``: comparisons, ``sign``, ``floor``, ``argmax``...) need no entry: their
results carry no dependency (the trace only records that their value depends on x).  A test walks
the engine's rule table and fails when a differentiable primitive has no entry here, so a new
engine rule cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import UnsupportedError
from ..engine._tracer import Prim
from . import _rules_elementwise, _rules_linalg, _rules_reduce, _rules_shape

RULES: dict[str, Callable[..., Any]] = {
    **_rules_elementwise.RULES,
    **_rules_shape.RULES,
    **_rules_reduce.RULES,
    **_rules_linalg.RULES,
}


def _bridged(c: Any) -> Any:  # a differentiate_with / custom_derivative call: its rule is the bridge's
    from ..bridge._sparsity import dependency

    return dependency(c)


RULES["anydiff_bridge"] = _bridged


def rule_for(prim: Prim) -> Callable[..., Any]:
    """The dependency rule of ``prim``; an :class:`UnsupportedError` naming it when there is none."""
    rule = RULES.get(prim.name)
    if rule is None and "[" in prim.name:  # a family built per parameter, e.g. "polygamma[2]"
        rule = RULES.get(prim.name.split("[", 1)[0])
    if rule is None:
        raise UnsupportedError(
            f"{prim.name} has no sparsity (dependency) rule in anydiff's sparsity tracer; use "
            "DenseSparsityDetector(backend) to read the pattern off a dense Jacobian, or "
            "KnownSparsity(pattern) if you know it"
        )
    return rule
