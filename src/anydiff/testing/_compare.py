"""Comparing results with references: elementwise and normwise, structure, shape and dtype."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._contexts import Batch
from .._pytree import tree_flatten


def expected_dtype(ref_leaf: Any, single: bool) -> np.dtype:
    """Floating dtype a result leaf must have: the caller's precision, complex if the
    reference is complex."""
    if np.iscomplexobj(np.asarray(ref_leaf)):
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def _is_result_array(a: Any) -> bool:
    return isinstance(a, (np.ndarray, np.generic, float, complex))


def _leaf_pairs(result: Any, expected: Any) -> tuple[list, list] | str:
    if isinstance(expected, Batch) and not isinstance(result, Batch):
        return f"expected an ad.Batch, got {type(result).__name__}"
    if isinstance(expected, Batch):
        if len(result) != len(expected):
            return f"a Batch of {len(result)}, expected {len(expected)}"
        rl, el = [], []
        for r, e in zip(result, expected):
            pair = _leaf_pairs(r, e)
            if isinstance(pair, str):
                return pair
            rl += pair[0]
            el += pair[1]
        return rl, el
    rl, rtd = tree_flatten(result)
    el, etd = tree_flatten(expected)
    if rtd != etd:
        return f"structure {rtd} differs from the reference's {etd}"
    return rl, el


def compare(
    result: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    single: bool,
    check_dtype: bool = True,
    scaled_atol: float = 0.0,
) -> tuple[bool, float, float, str]:
    """Compare a result pytree (or ``Batch``, element by element) with the reference.

    Every entry must satisfy ``|r - e| <= rtol * |e| + atol + scaled_atol * max|e_leaf|``
    (elementwise, ``max|e_leaf|`` the largest reference entry of that leaf, so a small entry
    that is 1 % wrong fails even next to large ones); the normwise error is reported too.

    Returns:
        ``(ok, max_abs_err, max_rel_err, message)``: the relative error is normwise (largest
        error over largest reference entry); the message names the worst entry when it fails.
    """
    pair = _leaf_pairs(result, expected)
    if isinstance(pair, str):
        return False, np.nan, np.nan, pair
    abs_err, scale, worst, worst_text = 0.0, 0.0, 0.0, ""
    for k, (r, e) in enumerate(zip(*pair)):
        if not _is_result_array(r):
            return False, np.nan, np.nan, f"returned a {type(r).__name__}, expected NumPy arrays"
        ra, ea = np.asarray(r), np.asarray(e)
        if ra.shape != ea.shape:
            return False, np.nan, np.nan, f"shape {ra.shape}, expected {ea.shape}"
        want = expected_dtype(e, single)
        if check_dtype and ra.dtype != want:
            return False, np.nan, np.nan, f"dtype {ra.dtype}, expected {want}"
        if not ra.size:
            continue
        rc, ec = ra.astype(np.complex128), ea.astype(np.complex128)
        # NaN where the reference has NaN is right (NaN propagates; NaN
        # anywhere else, or a number where NaN was due (masking), is wrong.
        rnan, enan = np.isnan(rc), np.isnan(ec)
        if (enan != rnan).any():
            return False, np.nan, np.nan, f"NaN pattern differs from the reference's (leaf {k})"
        # An infinite reference entry (inf propagates too) needs exactly that infinity; it
        # neither scales the tolerance of the other entries (that would be infinite) nor
        # makes inf - inf a NaN.
        einf = np.isinf(ec) & ~enan
        with np.errstate(invalid="ignore"):
            diff = np.abs(rc - ec)
        diff = np.where(enan | (einf & (rc == ec)), 0.0, diff)
        diff = np.where(einf & (rc != ec), np.inf, diff)
        mag = np.where(enan | einf, 0.0, np.abs(ec))
        leaf_scale = float(np.max(mag))
        tol = rtol * mag + atol + scaled_atol * leaf_scale
        abs_err = max(abs_err, float(np.max(diff)))
        scale = max(scale, leaf_scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(diff == 0, 0.0, diff / np.where(tol > 0, tol, np.inf))
            ratio = np.where((diff > 0) & (tol == 0), np.inf, ratio)
        i = int(np.argmax(ratio))
        if ratio.flat[i] > worst:
            worst = float(ratio.flat[i])
            idx = tuple(int(j) for j in np.unravel_index(i, ra.shape)) if ra.ndim else ()
            worst_text = (
                f"entry {idx} of leaf {k}: got {ra.flat[i].item()!r}, "
                f"expected {ea.flat[i].item()!r} "
                f"(|err| {diff.flat[i]:.2e} > {tol.flat[i]:.2e})"
            )
    rel = abs_err / scale if scale > 0 else (0.0 if abs_err == 0 else np.inf)
    ok = worst <= 1.0
    return ok, float(abs_err), float(rel), "" if ok else worst_text


def compare_parts(
    result: Any, expected: tuple, names: Sequence[str], **kw: Any
) -> tuple[bool, float, float, str]:
    """Compare a value form's tuple part by part (``names`` label the parts in messages)."""
    if not isinstance(result, tuple) or isinstance(result, Batch) or len(result) != len(expected):
        return False, np.nan, np.nan, (
            f"value form returned {type(result).__name__}, expected a tuple of {len(expected)}"
        )
    worst_abs, worst_rel, msgs = 0.0, 0.0, []
    for part, exp, name in zip(result, expected, names):
        ok, a, r, m = compare(part, exp, **kw)
        worst_abs = a if np.isnan(a) else max(worst_abs, a)
        worst_rel = r if np.isnan(r) else max(worst_rel, r)
        if not ok:
            msgs.append(f"{name}: {m}")
    return not msgs, worst_abs, worst_rel, "; ".join(msgs)


PART_NAMES = {
    "derivative": ("y", "dy"),
    "gradient": ("y", "grad"),
    "jacobian": ("y", "jac"),
    "pushforward": ("y", "Jt"),
    "pullback": ("y", "JTw"),
    "second_derivative": ("y", "dy", "d2y"),
    "hessian": ("y", "grad", "hess"),
    "hvp": ("grad", "Ht"),
}
