"""The overview: headline counts and three charts (sightings per host, removals per week, days to removal)
over the cases a user may see, figured by `tracker.overview`. The page says the numbers as text; the charts
are drawn by ``static/overview.js`` from ``/overview.json`` with the vendored Chart.js."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from dashboards.web.context import current_user, dashboard, render, visible_cases
from tracker.clock import utc_now
from tracker.models import User
from tracker.overview import Overview, build_overview

router = APIRouter()
Account = Annotated[User, Depends(current_user)]


@router.get("/overview")
def overview_page(request: Request, user: Account) -> Response:
    figures = _overview(request, user)
    return render(request, "overview.html.j2", user=user, figures=figures, drawn=figures.to_json())


@router.get("/overview.json")
def overview_json(request: Request, user: Account) -> Response:
    return JSONResponse(_overview(request, user).to_json())


def _overview(request: Request, user: User) -> Overview:
    return build_overview(dashboard(request).store, visible_cases(request, user), utc_now())
