"""An account's own choices (`/settings`): how strongly its previews are blurred, and an optional daily
limit on its reveals, a guard some caseworkers set themselves against a long day of looking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dashboards.web.context import current_user, dashboard, render
from tracker.clock import utc_now
from tracker.models import AuditEvent, User

router = APIRouter()
Account = Annotated[User, Depends(current_user)]

# Blur radii at a 320-pixel preview: below the least, faces begin to show through; above the most, the
# preview is a grey field that tells nothing, not even whether it is the page or the picture.
LEAST_BLUR, MOST_BLUR = 6, 40
MOST_DAILY_REVEALS = 1000


@router.get("/settings")
def settings_page(request: Request, user: Account) -> Response:
    return render(request, "settings.html.j2", user=user, least=LEAST_BLUR, most=MOST_BLUR, most_reveals=MOST_DAILY_REVEALS)


@router.post("/settings")
def save_settings(request: Request, user: Account, blur: Annotated[str, Form(max_length=8)] = "",
                  daily_reveals: Annotated[str, Form(max_length=8)] = "") -> Response:  # fmt: skip
    try:
        radius = _whole(blur, "blur", LEAST_BLUR, MOST_BLUR)
        limit = None if not daily_reveals.strip() else _whole(daily_reveals, "daily reveal limit", 1, MOST_DAILY_REVEALS)
    except ValueError as exc:
        return render(request, "settings.html.j2", 400, user=user, least=LEAST_BLUR, most=MOST_BLUR,
                      most_reveals=MOST_DAILY_REVEALS, error=str(exc))  # fmt: skip
    board = dashboard(request)
    board.store.set_user_choices(user.name, blur=radius, daily_reveals=limit)
    board.store.log_event(AuditEvent(utc_now(), user.name, "settings", None, {"blur": radius, "daily_reveals": limit}))
    return RedirectResponse("/settings?saved=1", status_code=303)


def _whole(text: str, field: str, least: int, most: int) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValueError(f"{field}: a whole number from {least} to {most}, not {text.strip()[:8]!r}") from None
    if not least <= number <= most:
        raise ValueError(f"{field}: a whole number from {least} to {most}, not {number}")
    return number
