"""The SQLite table of dashboard accounts."""

from __future__ import annotations

import sqlite3

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


def _user(row: sqlite3.Row) -> User:
    return User(row["name"], Role(row["role"]), row["password_hash"], row["created_at"])
