"""Store backends, opened by URI: ``sqlite:///path/to/file.db``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tracker.errors import StoreUnavailable
from tracker.store import Store


def open_store(uri: str) -> Store:
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        from tracker.stores.sqlite import SQLiteStore

        path = uri.removeprefix("sqlite://")
        if not path or path == "/":
            raise StoreUnavailable(f"{uri!r}: expected sqlite:///path/to/file.db")
        return SQLiteStore(Path(path))
    raise StoreUnavailable(f"unsupported store URI {uri!r}: expected sqlite:///path/to/file.db")


__all__ = ["open_store"]
