"""``python -m anydiff compare --scenarios sparse``: the sparse family runs as AutoSparse(b)
on every backend, in every output format, with its colourings."""

from __future__ import annotations

import csv
import io
import json

from anydiff.__main__ import main

ARGS = ["compare", "--backends", "engine,finitediff", "--scenarios", "sparse", "--quick",
        "--no-progress"]


def test_json_has_sparse_rows_and_colourings(capsys):
    assert main([*ARGS, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {(r["backend"], r["operator"]): r for r in doc["rows"]}
    for b in ("AutoSparse(engine)", "AutoSparse(finitediff)"):
        assert rows[(b, "jacobian")]["status"] == "passed"
        assert rows[(b, "hessian")]["status"] == "passed"
    assert doc["summary"]["failed"] == 0
    cols = {(c["backend"], c["operator"]): c for c in doc["colorings"]
            if c["scenario"] != "jacobian-complex-of-real"}
    assert cols[("AutoSparse(engine)", "jacobian")]["coloring"] == "row"  # reverse-mode engine
    assert cols[("AutoSparse(finitediff)", "jacobian")]["coloring"] == "column"
    assert cols[("AutoSparse(engine)", "hessian")]["coloring"] == "star"
    # a complex Jacobian of a real x: columns even for reverse mode (pullbacks lose Im J)
    cplx = {c["backend"]: c for c in doc["colorings"] if c["scenario"] == "jacobian-complex-of-real"}
    assert cplx["AutoSparse(engine)"]["coloring"] == "column"
    assert all(0 < c["ncolors"] <= c["shape"][1] for c in doc["colorings"])


def test_table_markdown_and_csv(capsys):
    assert main([*ARGS, "--format", "table"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("backend") and "AutoSparse(engine)" in text and "colourings" in text
    assert main([*ARGS, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| backend |") and "| AutoSparse(finitediff) |" in md
    assert main([*ARGS, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["backend"] for r in rows} == {"AutoSparse(engine)", "AutoSparse(finitediff)"}
    assert all(r["status"] == "passed" and r["colors"] for r in rows)


def test_sparse_with_another_family_and_unknown_names(capsys):
    assert main(["compare", "--backends", "finitediff", "--scenarios", "default,sparse",
                 "--quick", "--format", "json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["backend"] for r in doc["rows"]} == {"finitediff", "AutoSparse(finitediff)"}
    assert main(["compare", "--backends", "finitediff", "--scenarios", "sparse,nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
