"""``benchmark_differentiation``: time every backend on every scenario, prepared or not."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import anydiff as ad

from .._errors import BackendUnavailableError, UnsupportedError
from .._registry import resolve
from ._reference import installed, label
from ._report import render_table
from ._scenario import Scenario


class CountingFunction:
    """Wraps ``f`` and counts its evaluations (traced ones included: a JIT backend that traces
    once and replays compiled code shows 0 calls in its prepared runs)."""

    def __init__(self, f: Callable) -> None:
        self.f = f
        self.calls = 0
        self.__name__ = getattr(f, "__name__", "f")
        self.__qualname__ = getattr(f, "__qualname__", self.__name__)

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.f(*args)


@dataclass
class BenchmarkRow:
    """One backend x scenario x operator x prepared measurement.

    Attributes:
        calls: evaluations of f during one (warm) operator call.
        time: median seconds of one call over ``samples`` runs (NaN when skipped).
        prep_calls / prep_time: evaluations and seconds spent in ``prepare_<op>`` (prepared
            rows only; 0 otherwise).
        status: ``"ok"``, ``"skipped"`` (unsupported) or ``"error"``; ``message`` says why.
    """

    backend: str
    scenario: str
    operator: str
    prepared: bool
    calls: int
    time: float
    samples: int
    prep_calls: int = 0
    prep_time: float = 0.0
    status: str = "ok"
    message: str = ""


class BenchmarkTable(list):
    """A list of :class:`BenchmarkRow` that renders as Markdown and converts to pandas."""

    columns = tuple(f.name for f in fields(BenchmarkRow))

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` with one row per measurement (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pandas is optional
            raise ImportError("to_pandas() needs pandas: pip install pandas") from exc
        return pd.DataFrame([asdict(r) for r in self], columns=list(self.columns))

    def to_markdown(self) -> str:
        """A Markdown table (times in microseconds)."""
        head = ("backend", "scenario", "operator", "prepared", "calls", "time [µs]", "samples",
                "status")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self:
            t = "-" if r.status != "ok" else f"{r.time * 1e6:.1f}"
            cells = (r.backend, r.scenario, r.operator, str(r.prepared), str(r.calls), t,
                     str(r.samples), r.status)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return render_table(
            ("backend", "scenario", "operator", "prepared", "calls", "time [µs]", "samples",
             "status"),
            [
                (r.backend, r.scenario, r.operator, r.prepared, r.calls,
                 "-" if r.status != "ok" else f"{r.time * 1e6:.1f}", r.samples, r.status)
                for r in self
            ],
        )


def _time_calls(call: Callable[[], Any], samples: int | None, budget: float) -> list[float]:
    """Per-call seconds: exactly ``samples`` runs, or adaptively up to ``budget`` seconds
    (at least 3 and at most 100 runs)."""
    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if samples is not None:
            if len(times) >= samples:
                return times
        elif len(times) >= 3 and (time.perf_counter() - start > budget or len(times) >= 100):
            return times


def benchmark_differentiation(
    backends: Sequence[Any],
    scenarios: Sequence[Scenario],
    *,
    prepared: Sequence[bool] = (True, False),
    samples: int | None = None,
    budget: float = 0.05,
    progress: bool | None = None,
) -> BenchmarkTable:
    """Time each operator of each scenario on each backend.

    Args:
        backends: backend names or objects.
        scenarios: e.g. ``default_scenarios()``.
        prepared: which modes to time: ``True`` (``prepare_<op>`` once, then calls with
            ``prep=``; the preparation is timed separately) and/or ``False`` (plain calls).
        samples: runs per row; None times adaptively for about ``budget`` seconds per row.
        budget: seconds per row when ``samples`` is None.
        progress: show a tqdm progress bar on stderr (None: when there are more than 20 rows
            and stderr is a terminal).

    Returns:
        A :class:`BenchmarkTable` with columns ``backend, scenario, operator, prepared, calls,
        time, samples, prep_calls, prep_time, status, message``. Pairs a backend cannot run are
        rows with status ``"skipped"``.

    Example:
        >>> from anydiff.testing import benchmark_differentiation, default_scenarios
        >>> table = benchmark_differentiation(["finitediff"], default_scenarios()[:1], samples=3)
        >>> table[0].calls > 0
        True
    """
    from tqdm.auto import tqdm

    jobs = [(b, s, p) for b in backends for s in scenarios for p in prepared]
    show = progress if progress is not None else (len(jobs) > 20 and sys.stderr.isatty())
    table = BenchmarkTable()
    for b, s, p in tqdm(jobs, disable=not show, file=sys.stderr, leave=False,
                        desc="benchmark", unit="row"):
        table.append(_measure(b, s, p, samples, budget))
    return table


def _measure(
    backend: Any, s: Scenario, prepared: bool, samples: int | None, budget: float
) -> BenchmarkRow:
    base = dict(backend=label(backend), scenario=s.name, operator=s.op, prepared=prepared)
    ok, why = installed(backend)
    if ok:
        b = resolve(backend)
        missing = [r for r in s.requires if not getattr(b, r, True)]
        if missing:
            ok, why = False, f"{type(b).__name__} declares {missing[0]}=False"
    if not ok:
        return BenchmarkRow(**base, calls=0, time=float("nan"), samples=0, status="skipped",
                            message=why)
    f = CountingFunction(s.f)
    x, t, ctx = s.point("eval")
    args = (x, t, *ctx) if t is not None else (x, *ctx)
    kw = {"y": s.fresh_y()} if s.y is not None else {}
    op = getattr(ad, s.op)
    try:
        prep_calls, prep_time = 0, 0.0
        if prepared:
            t0 = time.perf_counter()
            p = getattr(ad, f"prepare_{s.op}")(f, backend, *args, **kw)
            prep_time = time.perf_counter() - t0
            prep_calls = f.calls

            def call() -> Any:
                return op(f, backend, *args, prep=p, **kw)
        else:

            def call() -> Any:
                return op(f, backend, *args, **kw)

        call()  # warm-up: first-call costs (compilation, caches) are not what is timed
        f.calls = 0
        call()
        calls = f.calls
        times = _time_calls(call, samples, budget)
    except (UnsupportedError, BackendUnavailableError) as exc:
        return BenchmarkRow(**base, calls=0, time=float("nan"), samples=0, status="skipped",
                            message=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        return BenchmarkRow(**base, calls=0, time=float("nan"), samples=0, status="error",
                            message=f"{type(exc).__name__}: {exc}")
    return BenchmarkRow(
        **base, calls=calls, time=statistics.median(times), samples=len(times),
        prep_calls=prep_calls, prep_time=prep_time,
    )
