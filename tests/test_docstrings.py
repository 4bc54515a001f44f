"""Every example in the public docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import anydiff as ad


def _modules() -> list[str]:
    names = ["anydiff"]
    for pkg in ("anydiff", "anydiff.bridge", "anydiff.engine", "anydiff.implicit", "anydiff.optimize",
                "anydiff.testing"):
        mod = importlib.import_module(pkg)
        names += [f"{pkg}.{m.name}" for m in pkgutil.iter_modules(mod.__path__)]
    return sorted(set(names) - {"anydiff.__main__"})


@pytest.mark.parametrize("name", _modules())
def test_module_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, globs={"ad": ad, "np": np})
    if name == "anydiff":  # the operators are generated: their docstrings live on the functions
        for op in ad.__all__:
            obj = getattr(ad, op)
            if callable(obj) and obj.__module__ == "anydiff" and obj.__doc__:
                tests += finder.find(obj, f"anydiff.{op}", globs={"ad": ad, "np": np})
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
