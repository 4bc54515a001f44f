"""Shared pytest configuration: the opt-in ``--long`` flag (or ``ANYDIFF_LONG=1``).

Long runs test many more random programs and every harness variant on every backend. The flag
sets ``ANYDIFF_LONG=1``, read at collection time through ``anydiff.testing.long_run()``, so test
modules can size their parametrizations with it.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the long anydiff tests (many random programs, all variants on all backends); "
        "same as ANYDIFF_LONG=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: only runs with --long or ANYDIFF_LONG=1")
    if config.getoption("--long", default=False):
        # Test modules size their parametrizations at import; the env var reaches them there.
        os.environ["ANYDIFF_LONG"] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from anydiff.testing import long_run

    if long_run():
        return
    skip = pytest.mark.skip(reason="long test: run with --long or ANYDIFF_LONG=1")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)
