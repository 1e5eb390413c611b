"""The SQLite plumbing: one file in WAL mode, the schema migrated on open, every write on one writer thread.

As in datasette/database.py: readers use their own connection per thread and never block, and all writes
are queued to a single thread, so Scrapy's item threads, the CLI and a dashboard never fight over locks.
A write runs in one ``BEGIN IMMEDIATE`` transaction, which also holds off writers in other processes
(distributed workers sharing the file) until it commits.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from tracker.errors import StoreSchemaTooNew, StoreUnavailable
from tracker.stores.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

T = TypeVar("T")
_Task = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]


class SQLiteConnections:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from None
        self._local = threading.local()
        self._queue: queue.Queue[_Task | None] = queue.Queue()  # None: stop
        self._migrate(writer)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreSchemaTooNew(
                f"{self.path} has schema {version}, this spreadtrace knows {SCHEMA_VERSION}: upgrade spreadtrace"
            )
        if version == 0:
            conn.executescript(f"BEGIN; {SCHEMA}; PRAGMA user_version = 1; COMMIT;")
            version = 1
        for step, script in enumerate(MIGRATIONS[version - 1 :], start=version + 1):
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {step}; COMMIT;")

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                conn.close()
                return
            fn, future = task
            try:
                conn.execute("BEGIN IMMEDIATE")
                value = fn(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the write's own error is the one to report (a full disk can fail the rollback too)
                future.set_exception(exc)
            else:
                future.set_result(value)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise StoreUnavailable(f"{self.path}: the store is closed")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result()

    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
