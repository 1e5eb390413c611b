"""The SQLite plumbing: one file in WAL mode, the schema migrated on open, every write on one writer thread.

As in datasette/database.py: readers use their own connection per thread and never block, and all writes
are queued to a single thread, so Scrapy's item threads, the CLI and a dashboard never fight over locks.
A write runs in one ``BEGIN IMMEDIATE`` transaction, which also holds off writers in other processes
(distributed workers sharing the file) until it commits.

The file holds labels and local features of reported material, so it and its -wal/-shm/-journal are the
owner's only (0600), whatever the umask, existing files included. A full disk, a read-only folder or file,
a file that cannot be opened or a lock held too long are `StoreUnavailable`, naming the file; other SQLite
errors are bugs and pass unchanged.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tracker.errors import CaseWithdrawn, StoreSchemaTooNew, StoreUnavailable, UnknownCase
from tracker.stores.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

T = TypeVar("T")
_Task = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def unavailable(path: Path, exc: BaseException) -> StoreUnavailable | None:
    """What a SQLite error means for the store at ``path``, or None when it is not about the file."""
    name = getattr(exc, "sqlite_errorname", "")
    for prefix, message in (
        ("SQLITE_FULL", f"cannot write {path}: disk is full"),
        ("SQLITE_READONLY", f"cannot write {path}: the file or its folder is read-only"),
        ("SQLITE_CANTOPEN", f"cannot open {path}: unable to open or create the file (is its folder writable?)"),
        ("SQLITE_IOERR", f"cannot write {path}: disk I/O error ({name})"),
        ("SQLITE_PERM", f"cannot open {path}: permission denied"),
        ("SQLITE_BUSY", f"{path} is locked by another process; try again later"),
        ("SQLITE_NOTADB", f"{path} is not a spreadtrace store (not a SQLite database)"),
        ("SQLITE_CORRUPT", f"{path} is damaged: {exc}"),
    ):  # fmt: skip
        if name.startswith(prefix):
            return StoreUnavailable(message)
    return None


def make_private(path: Path) -> None:
    """Create the database file 0600 if it is new (SQLite gives its -wal and -shm the database's mode), and
    take group and other access off an existing one and its companions. A file that is someone else's is
    left as it is: it is theirs to change."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # opened as it is: a read-only file still serves reads
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            mode = stat.S_IMODE(companion.stat().st_mode)
            if mode & 0o077:
                companion.chmod(mode & 0o700)
        except (FileNotFoundError, PermissionError):
            continue


def open_case(conn: sqlite3.Connection, case_id: str) -> None:
    """Raise UnknownCase or CaseWithdrawn unless ``case_id`` is a case things may be added to."""
    case = conn.execute("SELECT withdrawn_at FROM cases WHERE id = ?", (case_id,)).fetchone()
    if case is None:
        raise UnknownCase(case_id)
    if case["withdrawn_at"] is not None:
        raise CaseWithdrawn(case_id, case["withdrawn_at"])


class SQLiteConnections:
    def __init__(self, path: Path) -> None:
        # "sqlite:////abs/x.db" arrives as "//abs/x.db": the same file on POSIX, but not what messages should say.
        self.path = Path("/" + str(path).lstrip("/")) if str(path).startswith("//") else Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            make_private(self.path)
            writer = self._connect()
        except OSError as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc.strerror or exc}") from None
        self._local = threading.local()
        self._queue: queue.Queue[_Task | None] = queue.Queue()  # None: stop
        try:
            with self._errors_named():
                self._migrate(writer)
        except BaseException:
            writer.close()
            raise
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        with self._errors_named():
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def _errors_named(self) -> Iterator[None]:
        """SQLite errors about the file become StoreUnavailable naming it; any other passes unchanged."""
        try:
            yield
        except sqlite3.Error as exc:
            mapped = unavailable(self.path, exc)
            if mapped is None:
                raise
            raise mapped from None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Each step under the write lock, the version read again under it: distributed workers opening a new
        # store at once would otherwise both build it, and the second fail on tables the first made.
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreSchemaTooNew(
                        f"{self.path} has schema {version}, this spreadtrace knows {SCHEMA_VERSION}: upgrade spreadtrace"
                    )
                if version < SCHEMA_VERSION:
                    for statement in _statements(SCHEMA if version == 0 else MIGRATIONS[version - 1]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if version >= SCHEMA_VERSION - 1:
                return

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
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite rolled back itself (a full disk can do that); the caller must still hear
                future.set_exception(exc)
            else:
                future.set_result(value)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise StoreUnavailable(f"{self.path}: the store is closed")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        with self._errors_named():
            return future.result()

    def _insert(self, sql: str, values: tuple[Any, ...]) -> int:
        """One INSERT on the writer; the new row's id."""

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(sql, values)
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return self._write(insert)

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


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script one by one (``executescript`` would commit the transaction)."""
    statement = ""
    for part in script.split(";"):
        statement += part + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""
