"""The key that signs session cookies and CSRF tokens: ``HOME/keys/dashboard-session.key``, made on first
run, the owner's only (0600). Deleting it logs everyone out."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SESSION_KEY = Path("keys") / "dashboard-session.key"


def session_secret(home: Path) -> str:
    path = home / SESSION_KEY
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < 32:
            raise ValueError(f"{path}: too short to be a session key; delete it to make a new one") from None
        return secret
    with os.fdopen(fd, "w") as out:  # two servers starting at once: O_EXCL lets one write, the other reads
        secret = secrets.token_hex(32)
        out.write(secret + "\n")
    return secret
