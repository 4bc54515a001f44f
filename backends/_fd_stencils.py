"""Finite-difference stencils, Richardson extrapolation and error estimates (NumPy).

Used by :mod:`anydiff.backends.finitediff`; nothing here knows about preparations.

* :func:`weights` gives exact stencil weights (rational, from the Taylor conditions) for
  central stencils of order 2, 4, 6, 8 and one-sided stencils of order 1 to 6.
* :func:`stencil` evaluates one directional difference quotient and, when asked, its rounding
  scale ``sum |w_i| |f_i|``.
* :func:`richardson` runs a Romberg tableau over central quotients at steps ``h0 / 2^k``,
  for a whole block of directions at once, and returns per entry the extrapolated value with
  the smallest estimated error, and that estimate.
* :func:`kink` measures how far ``f`` is from smooth at ``x`` along a direction (a kink at x
  itself is invisible to central quotients, whose odd part may be smooth).

Error estimates (all elementwise, all in the result's units):

``truncation``  Richardson: ``|C_k - C_(k-1)| + |C_(k-1) - C_(k-2)| + |T[k,j] - T[k,j-1]|``
                (the last changes of the diagonal and the last correction, each an estimate of
                the error of a *less* extrapolated value, so the sum bounds the chosen one's on
                smooth f; two changes, because two values can agree by chance).
                Stencils (``error=True``): ``2 |D(h) - D(2h)| / (2^p - 1)``, the standard
                one-step estimate.
``rounding``    ``4 eps sum|w_i||f_i| / h`` times the tableau's amplification.
``kink``        ``|e|`` where e extrapolates ``g(h) = (f(x+h) - 2 f(x) + f(x-h)) / 2h`` to
                ``h -> 0`` (removing its ``h`` and ``h^3`` terms): ``0`` for smooth f, half the
                jump in slope at a kink. One extra evaluation, ``f(x)``.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

DEFAULT_ORDER = {"central": 2, "forward": 1, "backward": 1}

#: Richardson: first step (relative to max(1, |x|), a power of two), rows, extrapolation levels.
RICHARDSON_STEP = 2.0 ** -3
RICHARDSON_ROWS = 10
RICHARDSON_LEVELS = 6
#: steps without progress (no estimate halved) before the tableau stops.
STALL = 2
#: f's own relative rounding, in units of eps (a few ulps for ordinary code).
F_ULPS = 8.0


@cache
def weights(method: str, order: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Offsets (in steps) and weights of the stencil ``f'(x) ~ sum w_i f(x + o_i h) / h``.

    Central stencils of order p use offsets ``±1 .. ±p/2`` (p points, no centre); one-sided
    ones of order p use ``0 .. p`` (forward) or ``0 .. -p`` (backward): p + 1 points, the
    centre shared by all directions. Weights solve the Taylor conditions exactly in rationals.

    Example:
        >>> weights("central", 4)
        ((-2, -1, 1, 2), (0.08333333333333333, -0.6666666666666666, 0.6666666666666666, -0.08333333333333333))
    """
    if method == "central":
        half = order // 2
        offsets = [o for o in range(-half, half + 1) if o != 0]
    else:
        sign = 1 if method == "forward" else -1
        offsets = [sign * o for o in range(order + 1)]
    n = len(offsets)
    # Solve sum_i w_i o_i^k / k! = [k == 1], k = 0..n-1 (Gauss-Jordan in Fractions).
    A = [[Fraction(o) ** k for o in offsets] + [Fraction(int(k == 1))] for k in range(n)]
    for c in range(n):
        p = next(r for r in range(c, n) if A[r][c] != 0)
        A[c], A[p] = A[p], A[c]
        A[c] = [v / A[c][c] for v in A[c]]
        for r in range(n):
            if r != c and A[r][c] != 0:
                A[r] = [a - A[r][c] * b for a, b in zip(A[r], A[c])]
    return tuple(offsets), tuple(float(A[i][n]) for i in range(n))


def base_step(order: int, eps: float) -> float:
    """``eps^(1/(p+1))``: balances truncation (``~ h^p``) against rounding (``~ eps / h``) for a
    stencil of order p (``eps^(1/2)`` one-sided, ``eps^(1/3)`` central of order 2, ...)."""
    return float(eps ** (1.0 / (order + 1)))


def stencil(
    at: Callable[[int], Any], h: Any, method: str, order: int, stretch: int = 1,
    with_scale: bool = False,
) -> tuple[Any, Any]:
    """``(D, s)``: the order-``order`` quotient along one direction with step ``stretch * h``,
    and (when ``with_scale``) ``sum |w_i| |f_i|``, its rounding scale times the step.

    ``at(o)`` returns ``f(x + o h d)`` for an integer multiple o of the base step (``at(0)`` is
    f(x)); callers memoise it, so D(h) and D(2h) share their common points."""
    offsets, ws = weights(method, order)
    acc: Any = 0
    scale: Any = 0
    # Weights sum to zero (and are odd for central stencils): summing weighted *differences*
    # keeps entries f does not change at exactly zero, and rounds less in low precision.
    f0 = None if method == "central" else at(0)
    for o, w in zip(offsets, ws):
        if o < 0 and method == "central" or o == 0:
            continue
        fo = at(o * stretch)
        other = at(-o * stretch) if method == "central" else f0
        acc = acc + w * (fo - other)
        if with_scale:
            scale = scale + abs(w) * (np.abs(fo) + np.abs(other))
    return acc / (stretch * h), scale


def stencil_error(
    D1: Any, D2: Any, s1: Any, h: Any, order: int, eps: float, kink_est: Any = 0.0
) -> Any:
    """Error estimate of ``D1 = D(h)`` from ``D2 = D(2h)``: truncation ``2|D1 - D2| / (2^p - 1)``
    (the usual one-step estimate, doubled), rounding ``F_ULPS eps s1 / h`` and the kink term."""
    trunc = 2.0 * np.abs(D1 - D2) / (2.0 ** order - 1.0)
    return trunc + F_ULPS * eps * s1 / np.abs(h) + kink_est


def kink(g: list[Any], eps_term: Any) -> Any:
    """Kink measure from ``g_k = (f(x+h_k) - 2f(x) + f(x-h_k)) / 2h_k`` at steps halving with k
    (two or three values, coarse to fine): extrapolating ``g`` to ``h = 0`` removes the smooth
    ``h`` (and ``h^3``) terms and leaves half the jump of f' at a kink. ``eps_term``: the rounding
    scale of the finest g, subtracted so that smooth f gives (almost) zero."""
    e1 = [2.0 * g[i + 1] - g[i] for i in range(len(g) - 1)]
    e = e1[-1] if len(e1) == 1 else (8.0 * e1[-1] - e1[-2]) / 7.0
    return np.maximum(np.abs(e) - eps_term, 0.0)


def _amplification(levels: int) -> float:
    """Sum of |coefficients| of the level-j Romberg combination (how it amplifies noise)."""
    a = 1.0
    for i in range(1, levels + 1):
        a *= (4.0 ** i + 1.0) / (4.0 ** i - 1.0)
    return a


def richardson(
    row: Callable[[int], tuple[Any, Any, Any]], h0: np.ndarray, eps: float,
    rows: int = RICHARDSON_ROWS, levels: int = RICHARDSON_LEVELS,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Romberg tableau of central quotients at steps ``h0 / 2^k``, batched over directions.

    Args:
        row: ``row(k) -> (D_k, s_k, g_k)``, each of shape ``(ndir, m)``: the central quotients
            at step ``h0 / 2^k`` along every direction of the block, their rounding scales
            ``(|f(x+h)| + |f(x-h)|) / 2`` and the kink sequence ``g_k`` (see :func:`kink`).
            Each call evaluates f twice per direction (one vectorised sweep per step).
        h0: first step per direction, shape ``(ndir,)``.
        eps: machine epsilon of the working dtype.
        rows / levels: at most this many steps / extrapolation levels.

    Returns:
        ``(value, error, k)``: per entry the tableau value with the smallest estimated error,
        that estimate (truncation + rounding + kink), and the number of steps used. Rows stop
        when no entry's error estimate improved over two consecutive steps (rounding has taken
        over), as numdifftools and ``scipy.differentiate`` do. NaN anywhere in an entry's
        sequence propagates to its value and estimate.
    """
    h0 = np.asarray(h0, dtype=float).reshape(-1, 1)
    prev: list[Any] = []  # the previous tableau row T[k-1, 0..]
    best_err = None
    nan_seen = None
    cand_prev = None
    gs: list[Any] = []
    cands: list[Any] = []
    diffs: list[Any] = []
    truncs: list[Any] = []
    rounds: list[Any] = []
    stall, k = 0, 0
    for k in range(rows):
        D, s, g = row(k)
        h = h0 / 2.0 ** k
        cur = [D]
        for j in range(1, min(k, levels) + 1):
            cur.append(cur[j - 1] + (cur[j - 1] - prev[j - 1]) / (4.0 ** j - 1.0))
        j = len(cur) - 1
        cand = cur[j]
        nan = np.isnan(cand) | np.isnan(D)
        nan_seen = nan if nan_seen is None else (nan_seen | nan)
        rounding = F_ULPS * eps * np.abs(s) / np.abs(h) * _amplification(j)
        gs = (gs + [g])[-3:]
        if k >= 1:
            diff = np.abs(cand - cand_prev)
            diffs.append(diff)
        if k >= 2:
            # Two successive changes, not one: two tableau values can agree by chance (a
            # Taylor coefficient near zero at this x), three hardly ever.
            trunc = diff + diffs[-2] + np.abs(cur[j] - cur[j - 1])
            cands.append(cand)
            truncs.append(trunc)
            rounds.append(rounding)
            err = np.where(np.isnan(trunc), np.inf, trunc + rounding)
            if best_err is None:
                best_err = err
                progress = np.ones(err.shape, dtype=bool)
            else:
                # Progress means some entry's estimate at least halved: once rounding dominates
                # (it doubles per step), estimates only wobble, and the tableau is done.
                progress = err < 0.5 * best_err
                best_err = np.minimum(best_err, err)
            stall = 0 if np.any(progress) else stall + 1
            if k >= 3 and stall >= STALL:
                break
        prev, cand_prev = cur, cand
    assert best_err is not None, "richardson needs at least three rows"
    # Calibrate the rounding bound on f's actual noise: at the last step rounding dominates
    # every entry, so the observed corrections there measure it. f computed with more than
    # F_ULPS ulps of error (long sums with cancellation, iterative solvers) raises the bound,
    # which keeps the per-entry choice from picking a small step whose noise cancelled by
    # chance.
    ratio = truncs[-1] / np.where(rounds[-1] > 0, rounds[-1], np.inf)
    ratio = ratio[np.isfinite(ratio)]
    rho = max(1.0, float(np.median(ratio))) if ratio.size else 1.0
    C, T, R = np.stack(cands), np.stack(truncs), np.stack(rounds)
    E = np.where(np.isnan(T), np.inf, T + rho * R)
    pick = np.argmin(E, axis=0)[None]
    best = np.take_along_axis(C, pick, axis=0)[0]
    best_err = np.take_along_axis(E, pick, axis=0)[0]
    finest_round = rho * F_ULPS * eps * np.abs(s) / np.abs(h0 / 2.0 ** k) * 8.0
    if len(gs) >= 2:
        best_err = best_err + kink(gs, finest_round)
    best = np.where(nan_seen, np.nan, best)
    best_err = np.where(nan_seen, np.nan, best_err)
    return best, best_err, k + 1


# ---- steps for a less precise output -------------------------------------------------------


def step_dtype(real: np.dtype, F: Any) -> np.dtype:
    """The dtype whose epsilon sizes the steps: x's working dtype ``real``, or the least precise
    floating leaf of y (``F.out_layout``, once f has run) when f returns less precision than x
    (float32 from a float64 x, a float32 ``y=`` buffer): steps sized for float64 would drown in
    float32 rounding (or vanish, for one-sided differences)."""
    out = getattr(F, "out_layout", None)
    for dt in out.dtypes if out is not None else ():
        if dt.kind in "fc" and np.finfo(dt).eps > np.finfo(real).eps:
            real = np.empty(0, dtype=dt).real.dtype
    return real


def sized(F: Any, x: Any, compute: Any) -> Any:
    """``compute()``, whose steps follow :func:`step_dtype`. y's dtypes are known once f has
    run: a first run that finds f less precise than x runs again with the right steps (once
    per preparation; the common case costs nothing)."""
    if getattr(F, "out_layout", None) is not None:
        return compute()
    r = compute()
    real = np.empty(0, dtype=x.dtype).real.dtype
    return compute() if step_dtype(real, F) != real else r
