"""``anydiff.optimize``: SciPy's optimisers and solvers fed by prepared anydiff operators.

- :func:`minimize`: ``scipy.optimize.minimize`` with one prepared ``value_and_gradient`` (``f`` is
  evaluated once per point), a prepared ``hvp`` as ``hessp`` or ``hessian`` as ``hess`` for the
  methods that use them (sparse with ``AutoSparse``), prepared constraint Jacobians.
- :func:`least_squares`: ``scipy.optimize.least_squares`` with a prepared Jacobian (sparse, with
  ``jac_sparsity`` and ``tr_solver="lsmr"``, under ``AutoSparse``).
- :func:`root`: ``scipy.optimize.root`` (``hybr``, ``lm``) with a prepared Jacobian.
- :class:`NonlinearConstraint`: a constraint whose function anydiff differentiates.

``x0`` may be an array of any type or a pytree; ``res.x`` comes back in its structure and types.
Loaded on first access (``ad.optimize``): ``import anydiff`` does not import ``scipy.optimize``.
"""

from __future__ import annotations

from ._constraints import NonlinearConstraint
from ._least_squares import least_squares
from ._minimize import minimize
from ._root import root

__all__ = ["NonlinearConstraint", "least_squares", "minimize", "root"]
