"""The documentation site: generated tables match the code, every page is in the navigation, the
charts come from the recorded results, nothing points outside the repository, and
``mkdocs build --strict`` passes."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import anydiff as ad

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "hooks"))
import generated  # noqa: E402

sys.path.remove(str(DOCS / "hooks"))


def _table_rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in md.splitlines()
            if ln.startswith("| `")]


def test_capability_table_is_the_backends_traits():
    from anydiff._registry import BACKEND_CLASSES

    rows = {r[0].strip("`"): r for r in _table_rows(generated.backend_capabilities())}
    keys = list(ad.AutoJax().traits)
    for cls in BACKEND_CLASSES.values():
        b = cls()
        row = rows[repr(b)]
        assert row[1] == f'`"{b.name}"`'
        assert row[3:] == ["✓" if b.traits[k] else "✗" for k in keys], (b, row)
    assert "AutoEngine(mode='forward')" in rows  # a mode with other abilities gets its own row
    assert rows["AutoEngine(mode='forward')"][3] == "✓"


def test_operator_table_lists_every_operator():
    from anydiff._operators import OPERATORS

    text = generated.operators()
    for op in OPERATORS.values():
        assert f"| `{op.name}` | `{op.value_name}` |" in text
        assert f"`prepare_{op.name}`" in text


def test_engine_operations_cover_the_rule_tables():
    import scipy.special  # noqa: F401

    from anydiff.engine import _numpy_api as api
    from anydiff.engine import _support

    text = generated.engine_operations()
    for func in api.HANDLERS:  # every handler is listed, as supported or as a clear error
        assert f"`{_support._name(func)}`" in text, func
    for name in ("np.sin", "np.linalg.solve", "np.zeros_like", "np.zeros", "scipy.special.expit"):
        assert f"`{name}`" in text
    assert "`np.linalg.qr`" in text.split("**NumPy functions**")[1].split("**NumPy ufuncs**")[0]


def test_markers_are_all_rendered():
    for page in DOCS.glob("*.md"):
        out = generated.render(page.read_text())
        assert "<!-- generated:" not in out, page.name
    with pytest.raises(KeyError):
        generated.render("<!-- generated: no-such-table -->")


def test_every_page_is_in_the_navigation_and_exists():
    text = (ROOT / "mkdocs.yml").read_text()
    nav = re.findall(r":\s+([\w-]+\.md)\s*$", text, re.MULTILINE)
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert sorted(nav) == pages, "a page missing from the nav, or a nav entry without its page"
    for page in ("guide.md", "backends.md", "design.md", "engine.md", "testing.md", "benchmarks.md",
                 "index.md", "getting-started.md", "uses.md", "operators.md", "preparation.md",
                 "capabilities.md", "engine-operations.md", "devices.md", "faq.md", "changelog.md", "api.md"):
        assert (DOCS / page).exists(), page


def test_nothing_points_outside_the_repository():
    files = [ROOT / "README.md", ROOT / "mkdocs.yml", *DOCS.rglob("*.md"), *ROOT.glob("src/anydiff/**/*.py"),
             *ROOT.glob("backends/*.py"), *ROOT.glob("examples/*.py")]
    bad = re.compile(r"API\.md|\.\./shared|/work/shared|shared/API")
    hits = [f"{f.relative_to(ROOT)}:{i}" for f in files for i, ln in enumerate(f.read_text().splitlines(), 1)
            if bad.search(ln)]
    assert not hits, hits


def test_images_exist_and_charts_come_from_the_recorded_results(tmp_path):
    for page in DOCS.glob("*.md"):
        for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (DOCS / img).exists(), (page.name, img)
    # the recorded numbers are those of the benchmarks page
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    bench = (DOCS / "benchmarks.md").read_text()
    for fw, op, n, _, _ in results["frameworks"]["rows"]:
        assert re.search(rf"^\| {fw} \| {op} \| {n} \|", bench, re.MULTILINE), (fw, op, n)
    pytest.importorskip("matplotlib")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import plot_benchmarks
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    written = plot_benchmarks.plot(ROOT / "benchmarks" / "results.json", tmp_path)
    assert {p.name for p in written} == {"overhead.png", "engine_vs_autograd.png", "sparse_vs_dense.png"}
    for p in written:
        assert (DOCS / "img" / p.name).exists() and p.stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="the docs toolchain is not installed")
def test_mkdocs_build_strict(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src"),
           "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "Gradient of a scalar-valued f at x" in api  # docstrings of the generated operators
    caps = (tmp_path / "site" / "capabilities" / "index.html").read_text()
    assert "AutoEngine(mode=&#39;forward&#39;)" in caps or "AutoEngine(mode='forward')" in caps
