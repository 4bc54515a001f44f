"""``progress=True`` (a tqdm bar of iterations with the objective) and the caller's ``callback``,
which receives ``x`` in ``x0``'s structure."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._flat import FlatProblem


class Progress:
    """A tqdm bar counting iterations, showing the objective of the last iterate."""

    def __init__(self, total: int | None, desc: str) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # tqdm is a dependency; a stripped environment may lack it
            from .._errors import BackendUnavailableError

            raise BackendUnavailableError(
                "progress=True needs tqdm: pip install tqdm (or drop progress=True)."
            ) from exc
        self.bar = tqdm(total=total, desc=desc, unit="it", leave=True)

    def update(self, fun: float | None) -> None:
        if fun is not None:
            self.bar.set_postfix_str(f"f={fun:.6g}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _takes_intermediate_result(callback: Callable) -> bool:
    # SciPy's own rule (scipy.optimize._optimize._wrap_callback).
    try:
        return set(inspect.signature(callback).parameters) == {"intermediate_result"}
    except (TypeError, ValueError):
        return False


def wrap_callback(
    callback: Callable | None,
    progress: Progress | None,
    problem: FlatProblem,
    method: str,
    last_value: Callable[[Any], float | None],
) -> Callable | None:
    """A SciPy callback that updates the bar and calls ``callback`` with ``x`` in ``x0``'s
    structure; None when there is neither. ``last_value(x)`` is the objective at ``x`` if known."""
    if callback is None and progress is None:
        return None
    new_style = _takes_intermediate_result(callback) if callback is not None else False

    def caller_result(res: Any) -> Any:
        from scipy.optimize import OptimizeResult

        r = OptimizeResult(res)
        r.x = problem.to_caller(res.x)
        return r

    if method == "tnc":  # SciPy calls TNC's callback(xk) only
        def old(xk: Any) -> Any:
            if progress is not None:
                progress.update(last_value(xk))
            if callback is not None:
                return callback(problem.to_caller(xk))
            return None

        return old

    def cb(intermediate_result: Any) -> Any:
        res = intermediate_result
        if progress is not None:
            fun = res.get("fun")
            progress.update(float(fun) if fun is not None else last_value(res.x))
        if callback is None:
            return None
        if new_style:
            return callback(intermediate_result=caller_result(res))
        if method == "trust-constr":
            return callback(problem.to_caller(res.x), caller_result(res))
        return callback(problem.to_caller(res.x))

    return cb
