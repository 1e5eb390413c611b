"""Docs stay true: every SPREADTRACE_* setting documented, settings sorted, the quick start real."""

from __future__ import annotations

import re
from pathlib import Path

import crawler.settings

ROOT = Path(__file__).resolve().parent.parent


def spreadtrace_settings() -> list[str]:
    return [name for name in vars(crawler.settings) if name.startswith("SPREADTRACE_")]


def test_every_setting_is_documented_and_commented():
    documented = set(re.findall(r"`(SPREADTRACE_[A-Z_]+)`", (ROOT / "docs" / "settings.md").read_text()))
    assert set(spreadtrace_settings()) == documented
    source = (ROOT / "crawler" / "settings.py").read_text().splitlines()
    for name in spreadtrace_settings():
        line = next(i for i, text in enumerate(source) if text.startswith(f"{name} ="))
        assert source[line - 1].startswith("# "), f"{name} has no comment above it"


def test_settings_are_sorted():
    names = spreadtrace_settings()
    assert names == sorted(names)


def test_readme_quick_start_is_the_makefile_and_ci_runs_it():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
