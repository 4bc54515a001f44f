"""More NumPy entry points (handlers registered into :data:`._numpy_api.HANDLERS`).

Composites of other NumPy calls, so they need no rules of their own and work in both modes
and nested; new primitives live in topic modules (``_rules_fft``, ``_rules_linalg2``).
"""

from __future__ import annotations

import numpy as np

from ._numpy_api import implements
from ._scipy_linalg import np_convolve, np_correlate

implements(np.convolve)(np_convolve)
implements(np.correlate)(np_correlate)
