"""What a case page says of its evidence: per sighting, the captures and screenshots sealed of it (read from
the custody log, nothing decrypted), and on request the whole case checked as `spreadtrace evidence verify`
checks it. Checking decrypts every artefact, so it runs when an analyst asks, not on every page view, and
it is logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from dashboards.web.context import current_user, dashboard, render, require, visible_case
from tracker.clock import utc_now
from tracker.evidence.authorities import load_authorities
from tracker.evidence.vault import EvidenceVault
from tracker.evidence.verify import verify_case
from tracker.models import AuditEvent, User
from tracker.states import Role

router = APIRouter()


@dataclass
class Sealed:
    """A sighting's evidence as the custody log records it."""

    captures: int = 0
    screenshots: int = 0
    last: str = ""


def sealed_per_sighting(vault: EvidenceVault, case_id: str) -> dict[int, Sealed]:
    found: dict[int, Sealed] = {}
    if case_id not in vault.cases():
        return found
    for entry in vault.custody(case_id).entries():
        sighting = entry.detail.get("sighting")
        if not isinstance(sighting, int) or entry.kind not in ("capture", "screenshot"):
            continue
        sealed = found.setdefault(sighting, Sealed())
        if entry.kind == "capture":
            sealed.captures += 1
        else:
            sealed.screenshots += 1
        sealed.last = max(sealed.last, entry.at)
    return found


@router.post("/cases/{case_id}/verify")
def verify(request: Request, case_id: str, user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, Role.ANALYST)
    case = visible_case(request, user, case_id)
    board = dashboard(request)
    if case.id not in board.vault.cases():
        return render(request, "verify.html.j2", user=user, case=case, check=None)
    check = verify_case(board.vault, case.id, [tsa.name for tsa in load_authorities(board.vault.root)])
    board.store.log_event(AuditEvent(utc_now(), user.name, "evidence-verify", case.id,
                                     {"ok": check.ok, "problems": len(check.problems), "via": "dashboard"}))  # fmt: skip
    return render(request, "verify.html.j2", user=user, case=case, check=check)
