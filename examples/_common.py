"""Shared by the examples: which backends to run (the command-line argument, or all installed)."""

from __future__ import annotations

import sys

import anydiff as ad


def backends_from_argv(claimed: list[str], argv: list[str] | None = None) -> list[str]:
    """``python examples/NAME.py [backend]``: the given backend, else every installed one the
    example supports."""
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        if argv[0] not in claimed:
            raise SystemExit(f"this example runs on {claimed}, not {argv[0]!r}")
        return [argv[0]]
    return [b for b in claimed if ad.check_available(b)]
