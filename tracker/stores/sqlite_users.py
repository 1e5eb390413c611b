"""The SQLite tables of dashboard accounts and of the cases restricted to some of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tracker.models import User
from tracker.states import Role
from tracker.stores.sqlite_base import SQLiteConnections


class SQLiteUsers(SQLiteConnections):
    def add_user(self, user: User) -> User | None:
        def insert(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("INSERT OR IGNORE INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                                  (user.name, str(user.role), user.password_hash, user.created_at))  # fmt: skip
            return cursor.rowcount == 1

        return user if self._write(insert) else None

    def user(self, name: str) -> User | None:
        row = self._read().execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        return [_user(r) for r in self._read().execute("SELECT * FROM users ORDER BY name")]

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)).rowcount == 1

        return self._write(update)

    def set_user_choices(self, name: str, *, blur: int, daily_reveals: int | None) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE users SET blur = ?, daily_reveals = ? WHERE name = ?", (blur, daily_reveals, name)).rowcount == 1

        return self._write(update)

    def end_sessions(self, name: str, at: str) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE users SET sessions_from = ? WHERE name = ?", (at, name)).rowcount == 1

        return self._write(update)

    def restrict_case(self, case_id: str, names: Sequence[str]) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM case_access WHERE case_id = ?", (case_id,))
            conn.executemany("INSERT INTO case_access (case_id, user_name) VALUES (?, ?)", [(case_id, n) for n in dict.fromkeys(names)])

        self._write(replace)

    def case_access(self) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for row in self._read().execute("SELECT case_id, user_name FROM case_access"):
            found.setdefault(row["case_id"], set()).add(row["user_name"])
        return {case_id: frozenset(names) for case_id, names in found.items()}


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], Role(row["role"]), row["password_hash"], row["created_at"], blur=row["blur"],
                daily_reveals=row["daily_reveals"], sessions_from=row["sessions_from"])
