"""Every ```python block of the documentation runs.

Blocks of one page run in order in one namespace (later blocks use names defined earlier, as a
reader would). A page is skipped only when a block needs an AD framework that is not installed
(ImportError / BackendUnavailableError for jax, torch or autograd); any other error fails.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import anydiff as ad

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
FRAMEWORKS = ("jax", "torch", "autograd")
# Pages whose blocks run the whole default catalogue on several frameworks (minutes): the
# catalogue is thinned to every THIN-th scenario here. The code on the page still runs line by
# line; the harness itself is tested in tests/test_harness.py.
SLOW_PAGES = {"testing.md", "README.md"}
THIN = 25


def blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def _missing_framework(code: str) -> str | None:
    for fw in FRAMEWORKS:
        uses = re.search(rf"\bimport {fw}\b|\bfrom {fw}\b|\"{fw}\"", code)
        if uses and importlib.util.find_spec(fw) is None:
            return fw
    return None


def _params() -> list:
    out = []
    for page in PAGES:
        if not blocks(page):
            continue
        marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
        out.append(pytest.param(page, id=page.name, marks=marks))
    return out


@pytest.mark.parametrize("page", _params())
def test_page_code_runs(page, capsys, monkeypatch):
    if page.name in SLOW_PAGES:
        import anydiff.testing as testing

        for name in ("default_scenarios", "all_scenarios"):
            full = getattr(testing, name)
            monkeypatch.setattr(testing, name, lambda *a, _full=full, **k: _full(*a, **k)[::THIN])
        programs = testing.random_programs
        monkeypatch.setattr(testing, "random_programs", lambda n, *a, **k: programs(min(n, 4), *a, **k))
    # As in the docstring examples, pages may assume `np` and `ad`; everything else they define.
    ns: dict = {"__name__": f"docs_{page.stem}"}
    exec("import numpy as np\nimport anydiff as ad\n", ns)
    for line, code in blocks(page):
        fw = _missing_framework(code)
        if fw is not None:
            pytest.skip(f"{page.name}:{line} needs {fw}, which is not installed")
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), ns)
        except (ImportError, ad.BackendUnavailableError) as e:
            name = getattr(e, "name", None) or str(e)
            if any(fw in name for fw in FRAMEWORKS):
                pytest.skip(f"{page.name}:{line} needs a framework that is not installed: {e}")
            raise


def test_every_page_with_code_is_checked():
    assert {p.name for p in PAGES if blocks(p)} >= {"getting-started.md", "uses.md", "operators.md",
                                                     "preparation.md", "devices.md", "faq.md"}
