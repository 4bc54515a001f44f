"""Results of a harness run and their rendering as plain-text tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass
class CaseResult:
    """The outcome of one operator variant of one scenario on one backend.

    Attributes:
        backend / scenario / operator / variant: what ran (``variant`` is ``"plain"``,
            ``"value"``, ``"out"``, ``"prepared"``, ... or ``"-"`` when a whole pair was skipped).
        status: ``"passed"``, ``"failed"`` or ``"skipped"``.
        abs_err / rel_err: largest absolute error and that error relative to the largest
            reference entry (None when nothing was compared).
        message: why it failed or was skipped.
        time: seconds the call took (prepared, warm calls are what the CLI reports).
        detail: facts a variant found besides pass / fail (the ``sparsity`` variant of sparse
            backends: ``coloring``, ``ncolors``, ``nnz``, ``shape``).
    """

    backend: str
    scenario: str
    operator: str
    variant: str
    status: str
    abs_err: float | None = None
    rel_err: float | None = None
    message: str = ""
    time: float | None = None
    detail: dict | None = None


def fmt_err(e: float | None) -> str:
    if e is None:
        return "-"
    if math.isnan(e):
        return "nan"
    return f"{e:.1e}"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A fixed-width text table (no dependency), one line per row."""
    rows = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _short(msg: str, width: int = 110) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= width else msg[: width - 1] + "…"


class DifferentiationReport(list):
    """A list of :class:`CaseResult` with summaries; ``str(report)`` is a readable table."""

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self if r.status == "passed"]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self if r.status == "failed"]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self if r.status == "skipped"]

    def summary(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"

    def table(self, status: Sequence[str] = ("failed", "skipped", "passed")) -> str:
        rows = [
            (r.backend, r.scenario, r.operator, r.variant, r.status, fmt_err(r.abs_err),
             fmt_err(r.rel_err), _short(r.message))
            for r in self if r.status in status
        ]
        return render_table(
            ("backend", "scenario", "operator", "variant", "status", "max abs err",
             "max rel err", "message"),
            rows,
        )

    def failure_text(self) -> str:
        text = f"anydiff.testing: {self.summary()}\n\n" + self.table(("failed",))
        if self.skipped:
            text += "\n\nSkipped:\n" + self.table(("skipped",))
        return text

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.table()}"
