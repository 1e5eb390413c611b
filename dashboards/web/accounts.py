"""Dashboard accounts: argon2id password hashes (argon2-cffi's defaults, RFC 9106's low-memory choice),
checked in constant work whether or not the name exists."""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from collections.abc import Sequence

from tracker.clock import utc_now
from tracker.models import AuditEvent, User
from tracker.states import Role
from tracker.store import Store, UserStore

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


def open_case_to(store: Store, case_id: str, names: Sequence[str], *, actor: str, via: str) -> list[str]:
    """Restrict ``case_id`` to the accounts ``names`` (none: open it to everyone), audited as `case-access`.
    The names no account has are returned, and then nothing is changed: a typo must not lock out the
    analyst it was meant for."""
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if store.user(name) is None]
    if not unknown:
        store.restrict_case(case_id, wanted)
        store.log_event(AuditEvent(utc_now(), actor, "case-access", case_id, {"open_to": wanted or "everyone", "via": via}))
    return unknown
