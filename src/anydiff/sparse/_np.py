"""NumPy's array creators, bound once at import, for this package's own work arrays.

While a trace runs, the engine may swap ``numpy.zeros``, ``numpy.ones``, ``numpy.asarray`` ... for
wrappers that return traced buffers to *user* code (so ``y = np.zeros(n); y[i] = ...`` works).  The
sparsity rules build index and position arrays with these creators and must get plain ndarrays
whatever the engine decides about callers, so they use the originals bound here (``from numpy
import zeros`` binds the function itself, which such swaps leave alone).
"""

from numpy import array, asarray, ones, zeros

__all__ = ["array", "asarray", "ones", "zeros"]
