"""Captures still owed: a sighting whose capture failed, or whose screenshot failed or never came back
(the crawl ended, or was killed, first). The next visit that sees the copy captures it again, and the
reason stays readable meanwhile (`spreadtrace evidence verify` lists it).

This is working state beside the evidence, not evidence: ``HOME/evidence/CASE/due.json``, replaced
whole under the case's lock, so two crawl processes never lose each other's entries. The custody log
keeps what was captured; this file only says what is missing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DUE_FILE = "due.json"


@dataclass(frozen=True, slots=True)
class Due:
    sighting: int
    what: str  # "capture" or "screenshot"
    reason: str  # why it is owed: "screenshot pending", "timeout after 30 s", "capture failed: ..."
    since: str  # UTC time it first fell due
    attempts: int  # failed attempts so far

    def describe(self) -> str:
        tries = f", {self.attempts} failed attempt(s)" if self.attempts else ""
        return f"sighting {self.sighting}: {self.what} owed since {self.since} ({self.reason}{tries}); taken again at the next visit"


def read_due(folder: Path) -> dict[int, Due]:
    """What the case owes, by sighting id; an unreadable file owes nothing (it is rebuilt by the next failure)."""
    try:
        raw = json.loads((folder / DUE_FILE).read_text())
        return {int(item["sighting"]): Due(**item) for item in raw}
    except FileNotFoundError:
        return {}
    except (ValueError, TypeError, KeyError):
        return {}


def write_due(folder: Path, owed: dict[int, Due]) -> None:
    path = folder / DUE_FILE
    if not owed:
        path.unlink(missing_ok=True)
        return
    staged = folder / "staging" / f".due-{os.getpid()}"  # a killed write's leftover goes with staging's others
    staged.parent.mkdir(mode=0o700, exist_ok=True)
    staged.write_text(json.dumps([asdict(d) for d in sorted(owed.values(), key=lambda d: d.sighting)], indent=1))
    os.replace(staged, path)
