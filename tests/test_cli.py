"""``python -m anydiff``: exit codes, machine-readable formats, --output, --second-order, info
--json and progress bars (issue 14 item 3). Subprocess tests run the real entry point; the
rest call ``main`` in-process (cheaper)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

import anydiff as ad
from anydiff.__main__ import main, parse_backend, valid_backend_names


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(os.path.dirname(
        ad.__file__)), env.get("PYTHONPATH", "")) if p)
    return subprocess.run([sys.executable, "-m", "anydiff", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_unknown_backend_exits_nonzero_with_valid_names():
    proc = _run("compare", "--backends", "jax,tensorflw")
    assert proc.returncode == 2
    assert "tensorflw" in proc.stderr
    for name in ("jax", "torch", "autograd", "finitediff", "engine", "finitediff:complex"):
        assert name in proc.stderr
    assert proc.stdout == ""


def test_unknown_scenario_family_exits_nonzero_with_valid_names(capsys):
    assert main(["compare", "--backends", "finitediff", "--scenarios", "default,nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err
    for name in ("default", "pytree", "complex", "sparse", "mutation", "closure", "errors",
                 "edge", "raising", "all"):
        assert name in err


def test_backend_names_with_modes():
    assert parse_backend("jax") == "jax"
    assert parse_backend("jax:forward") == ad.AutoJax(mode="forward")
    assert parse_backend("finitediff:complex") == ad.AutoFiniteDiff(method="complex")
    assert parse_backend("engine:forward") == ad.AutoEngine(mode="forward")
    assert "torch:reverse" in valid_backend_names()


def test_json_is_the_only_thing_on_stdout():
    proc = _run("compare", "--backends", "finitediff", "--quick", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert doc["kind"] == "compare" and doc["summary"]["failed"] == 0
    rows = {(r["backend"], r["operator"]): r for r in doc["rows"]}
    assert rows[("finitediff", "gradient")]["status"] == "passed"
    assert "anydiff compare:" in proc.stderr  # the banner goes to stderr


def test_csv_and_markdown(capsys):
    assert main(["compare", "--backends", "finitediff", "--quick", "--format", "csv",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {"backend", "operator", "status", "max_rel_err"} <= set(rows[0])
    assert all(r["status"] == "passed" for r in rows)
    assert main(["compare", "--backends", "finitediff", "--quick", "--format", "markdown",
                 "--no-progress"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| backend |") and "|---|" in md


def test_output_file(tmp_path, capsys):
    target = tmp_path / "result.json"
    assert main(["compare", "--backends", "finitediff", "--quick", "--format", "json",
                 "--output", str(target), "--no-progress"]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text())["kind"] == "compare"


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {b["backend"] for b in doc["backends"]}
    assert {"jax", "torch", "autograd", "finitediff", "engine"} <= names
    fd = next(b for b in doc["backends"] if b["backend"] == "finitediff")
    assert fd["installed"] is True and "complex" in fd["modes"]
    assert set(doc["available"]) == set(ad.available_backends())


def test_second_order_matrix(capsys):
    code = main(["compare", "--second-order", "--backends", "finitediff,engine", "--quick",
                 "--no-progress"])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "(outer)" in ln]
    assert len(lines) == 2
    # finitediff over anything and engine over finitediff work
    fd_row = next(ln for ln in lines if ln.startswith("finitediff"))
    assert fd_row.count("✓") == 2
    assert code in (0, 1)
    assert main(["compare", "--second-order", "--backends", "finitediff", "--quick",
                 "--format", "json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "second_order"
    assert doc["rows"] == [dict(doc["rows"][0], outer="finitediff", inner="finitediff")]
    assert doc["rows"][0]["status"] == "supported"


def test_second_order_marks_unsupported_pairs(monkeypatch, capsys):
    import anydiff.__main__ as cli

    def fake(pair, scenarios, progress=False):
        return {"status": "unsupported", "detail": "UnsupportedError: test double"}

    monkeypatch.setattr(cli, "second_order_status", fake)
    assert main(["compare", "--second-order", "--backends", "finitediff", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "unsupported" in out and "✓" not in out.splitlines()[2]


def test_progress_bar_only_on_a_terminal():
    # Not a TTY (captured stderr): no bar, whatever the run length.
    proc = _run("compare", "--backends", "finitediff", "--quick")
    assert proc.returncode == 0
    assert "it/s" not in proc.stderr and "case/s" not in proc.stderr and "\r" not in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
def test_progress_bar_on_a_terminal_and_no_progress():
    import fcntl
    import pty
    import struct
    import termios

    def stderr_of(*args: str) -> bytes:
        master, slave = pty.openpty()
        # a terminal of 24 x 100 (a fresh pty has 0 columns, where tqdm draws nothing)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(ad.__file__)))
        proc = subprocess.run([sys.executable, "-m", "anydiff", "compare", "--backends",
                               "finitediff", "--quick", "--format", "json", *args],
                              stdout=subprocess.PIPE, stderr=slave, env=env, timeout=300)
        os.close(slave)
        chunks = []
        try:
            while True:
                data = os.read(master, 65536)
                if not data:
                    break
                chunks.append(data)
        except OSError:
            pass
        os.close(master)
        json.loads(proc.stdout)  # stdout stays pure JSON either way
        return b"".join(chunks)

    assert b"case" in stderr_of()
    assert b"case" not in stderr_of("--no-progress")
