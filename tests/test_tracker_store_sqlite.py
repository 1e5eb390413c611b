"""The SQLite store where the file lets it down: full, read-only, not a database; and who may read it."""

from __future__ import annotations

import os

import pytest

from tests.test_tracker_store_contract import IMAGE, PDQ
from tracker import StoreUnavailable, open_store
from matcher import Signal


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def test_a_full_disk_is_store_unavailable_naming_the_file_and_the_store_lives_on(store, tmp_path):
    store.ensure_case("c1")
    # SQLite's own page cap gives the very error a full disk gives (SQLITE_FULL), for any user.
    store._write(lambda conn: conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0] + 1}"))
    with pytest.raises(StoreUnavailable) as raised:
        for n in range(1, 2000):
            store.add_reference("c1", IMAGE, f"{n:064x}", None, "x" * 900, [Signal("pdq", f"{n:064x}", 1, 90)])
    assert str(raised.value) == f"cannot write {tmp_path / 'store.db'}: disk is full"
    with pytest.raises(StoreUnavailable, match="disk is full"):  # the writer thread is still there to say so
        store.add_reference("c1", IMAGE, "f" * 64, None, "x" * 900, [PDQ] * 200)
    assert store.get_case("c1").id == "c1"


def test_a_read_only_database_is_store_unavailable(store, tmp_path):
    store._write(lambda conn: conn.execute("PRAGMA query_only = ON"))
    with pytest.raises(StoreUnavailable, match=f"^cannot write {tmp_path / 'store.db'}: the file or its folder is read-only$"):
        store.ensure_case("c1")


def test_a_file_that_is_not_a_database_is_store_unavailable(tmp_path):
    (tmp_path / "notes.db").write_bytes(b"these are notes, not a database" * 100)
    with pytest.raises(StoreUnavailable, match="notes.db is not a spreadtrace store"):
        open_store(f"sqlite:///{tmp_path / 'notes.db'}")


def test_the_file_is_the_owners_alone_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        store = open_store(f"sqlite:////{tmp_path / 'new.db'}")  # the four-slash form names it once in messages
        try:
            store.ensure_case("c1")
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
            assert modes == {"new.db": 0o600, "new.db-wal": 0o600, "new.db-shm": 0o600}
            assert str(store.path) == str(tmp_path / "new.db")
        finally:
            store.close()
    finally:
        os.umask(previous)
