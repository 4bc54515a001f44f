"""Shared pytest configuration: the opt-in ``--long`` flag (or ``ANYDIFF_LONG=1``), and a
per-session JAX compilation cache.

Long runs test many more random programs and every harness variant on every backend. The flag
sets ``ANYDIFF_LONG=1``, read at collection time through ``anydiff.testing.long_run()``, so test
modules can size their parametrizations with it.

JAX compilation cache: the suite compiles the same XLA programs many times over (the JAX modes
run identical kernels on every operator but the Jacobian; plain, prepared and value forms of a
scenario compile the same program; subprocesses start cold), and XLA's compilation is most of
the suite's JAX time. JAX's persistent cache, in a directory of this session only (removed at
the end), hands back the executable compiled for an identical program (its key is the program,
the compile options, the devices and the JAX version): the code under test runs exactly as
before, without the repeated compilation. Set through environment variables, read when jax is
first imported (``import anydiff`` imports no framework), so that subprocesses share it too. A
cache directory set by the caller is kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_JAX_CACHE: list[str] = []


def _jax_compilation_cache() -> None:
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    path = tempfile.mkdtemp(prefix="anydiff-tests-jax-cache-")
    _JAX_CACHE.append(path)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")


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
    _jax_compilation_cache()
    if config.getoption("--long", default=False):
        # Test modules size their parametrizations at import; the env var reaches them there.
        os.environ["ANYDIFF_LONG"] = "1"


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _JAX_CACHE:
        shutil.rmtree(path, ignore_errors=True)
        if os.environ.get("JAX_COMPILATION_CACHE_DIR") == path:
            del os.environ["JAX_COMPILATION_CACHE_DIR"]
    _JAX_CACHE.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from anydiff.testing import long_run

    if long_run():
        return
    skip = pytest.mark.skip(reason="long test: run with --long or ANYDIFF_LONG=1")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)
