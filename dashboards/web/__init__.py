"""The analysts' web dashboard (`spreadtrace serve`): FastAPI pages rendered on the server from the store
and the evidence vault, behind accounts, sessions and CSRF. See docs/architecture.md ("Dashboard")."""

from dashboards.web.app import create_app

__all__ = ["create_app"]
