"""The crawler records through the Tracker only, and keeps no state at module level.

The crawler may import the tracker's service API and models; never a store, never a backend. A module-level
dict, list or set would be shared by every crawler of a process (and by tests), so none is allowed; the
Scrapy settings module is exempt, because Scrapy copies it into each crawler's settings and nothing
mutates it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CRAWLER = Path(__file__).resolve().parent.parent / "crawler"
MODULES = sorted(CRAWLER.rglob("*.py"))
TRACKER_API = {"tracker", "tracker.models", "tracker.states", "tracker.journal", "tracker.clock", "tracker.evidence", "tracker.chromium"}
STORE_NAMES = {"Store", "open_store", "SQLiteStore"}
MUTABLE_CALLS = {"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque",
                 "WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}  # fmt: skip
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
SETTINGS_MODULE = CRAWLER / "settings.py"


def name(path: Path) -> str:
    return str(path.relative_to(CRAWLER.parent))


@pytest.mark.parametrize("path", MODULES, ids=name)
def test_the_crawler_reaches_the_record_through_the_tracker_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tracker":
            assert node.module in TRACKER_API, f"{name(path)}:{node.lineno} imports {node.module}"
            assert not {a.name for a in node.names} & STORE_NAMES, f"{name(path)}:{node.lineno} imports a store"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "tracker" or alias.name in TRACKER_API, f"{name(path)}:{node.lineno}"
        elif isinstance(node, ast.Attribute):
            assert node.attr != "store", f"{name(path)}:{node.lineno} reaches into a store (.store)"


@pytest.mark.parametrize("path", [p for p in MODULES if p != SETTINGS_MODULE], ids=name)
def test_no_module_level_mutable_state(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Global), f"{name(path)}:{node.lineno} uses global"
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if value is None or [getattr(t, "id", None) for t in targets] == ["__all__"]:
            continue
        called = value.func if isinstance(value, ast.Call) else None
        called_name = called.id if isinstance(called, ast.Name) else called.attr if isinstance(called, ast.Attribute) else None
        assert not isinstance(value, MUTABLE_DISPLAYS), f"{name(path)}:{node.lineno}: a mutable value at module level"
        assert called_name not in MUTABLE_CALLS, f"{name(path)}:{node.lineno}: {called_name}() at module level"


def test_the_check_would_catch_a_module_level_store_registry(tmp_path):
    """The layering rules fire on the shape the crawler had before (crawler/record_store.py)."""
    old = "import weakref\nfrom tracker import Store, open_store\n_stores = weakref.WeakKeyDictionary()\n"
    tree = ast.parse(old)
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert {a.name for a in imports[0].names} & STORE_NAMES
    assign = tree.body[-1]
    assert isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Call) and assign.value.func.attr in MUTABLE_CALLS
