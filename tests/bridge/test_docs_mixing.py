"""The examples of docs/mixing.md run (each code block, in a fresh namespace)."""

from __future__ import annotations

import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "mixing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)  # the sketch is a text block


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_example_runs(i, capsys):
    jax = pytest.importorskip("jax")
    pytest.importorskip("torch")
    x64 = jax.config.jax_enable_x64  # the examples switch x64 on globally: restore it for others
    try:
        exec(compile(BLOCKS[i], f"docs/mixing.md example {i + 1}", "exec"), {})
    finally:
        jax.config.update("jax_enable_x64", x64)
    assert capsys.readouterr().out


def test_the_examples_are_there():
    # the three of the issue (torch in JAX, JAX in torch, quad by finite differences), then
    # changing closure data, the exceptions and AutoSparse examples
    assert len(BLOCKS) == 6
