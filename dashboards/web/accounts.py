"""Dashboard accounts: argon2id password hashes (argon2-cffi's defaults, RFC 9106's low-memory choice),
checked in constant work whether or not the name exists."""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracker.clock import utc_now
from tracker.models import User
from tracker.states import Role
from tracker.store import UserStore

_HASHER = PasswordHasher()


# Verified against when the name is unknown, so a wrong name costs as long as a wrong password: response
# times do not tell which accounts exist.
@functools.cache
def _dummy() -> str:
    return _HASHER.hash("not a password anyone has")



_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD = 12


class AccountError(ValueError):
    """Raised by `add_account` for a bad name, a short password or a name taken; the message says which."""


def add_account(users: UserStore, name: str, role: Role, password: str) -> User:
    if not _NAME.fullmatch(name):
        raise AccountError(f"user name {name!r}: lower-case letters, digits, '.', '_' or '-', at most 64")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    added = users.add_user(User(name, role, _HASHER.hash(password), utc_now()))
    if added is None:
        raise AccountError(f"user {name!r} exists already")
    return added


def authenticate(users: UserStore, name: str, password: str) -> User | None:
    """The account when ``password`` is its password, else None. A hash made under older argon2 parameters
    is replaced by one under today's."""
    user = users.user(name)
    try:
        _HASHER.verify(user.password_hash if user else _dummy(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        users.set_password_hash(user.name, _HASHER.hash(password))
    return user
