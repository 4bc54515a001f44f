"""The examples in docs/sparsity.md run and print what their comments say.

Convention in the page: ``print(...)  # expected output — explanation``; a comment that is not an
exact output (e.g. "a tridiagonal 0/1 matrix") starts with "a " and is not checked.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "sparsity.md"


def test_doc_examples_run_and_print_what_they_say():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    checked = 0
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(block, ns)  # our own documentation
        printed = [p.strip() for p in out.getvalue().splitlines()]
        for claim in re.findall(r"print\(.*\)\s+# (.*)", block):
            expected = claim.split(" — ")[0].strip()
            if expected.startswith("a "):
                continue
            assert expected in printed, (expected, printed)
            checked += 1
    assert checked >= 8


def test_docstring_examples_of_the_sparse_package():
    import doctest

    import numpy as np

    import anydiff as ad
    import anydiff.sparse
    import anydiff.sparse._detectors

    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = []
    for mod in (anydiff.sparse, anydiff.sparse._detectors):
        tests += finder.find(mod, mod.__name__, globs={"ad": ad, "np": np})
    assert sum(len(t.examples) for t in tests) >= 8
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0
