"""REST routes of the server extension, under ``<base_url>/hxb-lab/api/``.

Every handler derives from `HxbHandler` (see ``_base``): JSON in and out, an
`HxbLabError` answered as JSON ``{"message", "type"}`` with a status that fits it,
every method ``@tornado.web.authenticated`` and, for cookie-authenticated requests,
XSRF-checked by Jupyter Server. Tests enumerate `ROUTES` to prove each one refuses
an unauthenticated request. `WEBHOOK_ROUTES` (Alertmanager's ``alerts``) authenticate
with the secret their caller sends, from the profile, and refuse anything else with 401.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from hxb_lab.server._alerts import AlertsHandler
from hxb_lab.server._approvals import ApproveHandler, RejectHandler
from hxb_lab.server._base import INTERNAL_ERROR, HxbHandler, error_status, field_errors
from hxb_lab.server._platform import PlatformSummaryHandler
from hxb_lab.server._profiles import ProfileActiveHandler, ProfilesHandler
from hxb_lab.server._runbooks import RunbookRunsHandler, RunbookSchedulesHandler, RunbooksHandler
from hxb_lab.server._runs import (
    RunCancelHandler,
    RunHandler,
    RunNotebookHandler,
    RunReportHandler,
    RunsHandler,
)
from hxb_lab.server._schedules import ScheduleHandler, SchedulesHandler

__all__ = [
    "API_PREFIX",
    "INTERNAL_ERROR",
    "ROUTES",
    "WEBHOOK_ROUTES",
    "HxbHandler",
    "ProfileActiveHandler",
    "error_status",
    "field_errors",
    "setup_route_handlers",
]

API_PREFIX = ("hxb-lab", "api")
_NAME = r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)"
_RUN = r"(?P<run_id>[A-Za-z0-9][A-Za-z0-9_.-]*)"

# (pattern below <base_url>/hxb-lab/api/, handler); tests enumerate every route from here.
ROUTES: list[tuple[str, type[HxbHandler]]] = [
    ("profiles", ProfilesHandler),
    ("profiles/active", ProfileActiveHandler),
    ("platform/summary", PlatformSummaryHandler),
    ("runbooks", RunbooksHandler),
    (f"runbooks/{_NAME}/runs", RunbookRunsHandler),
    (f"runbooks/{_NAME}/schedules", RunbookSchedulesHandler),
    ("runs", RunsHandler),
    (f"runs/{_RUN}", RunHandler),
    (f"runs/{_RUN}/cancel", RunCancelHandler),
    (f"runs/{_RUN}/approve", ApproveHandler),
    (f"runs/{_RUN}/reject", RejectHandler),
    (f"runs/{_RUN}/report", RunReportHandler),
    (f"runs/{_RUN}/notebook", RunNotebookHandler),
    ("schedules", SchedulesHandler),
    (f"schedules/{_NAME}", ScheduleHandler),
]

# Routes other systems call, authenticated by their own secret rather than by Jupyter
# (answered 401 without it); tests enumerate them apart from `ROUTES`.
WEBHOOK_ROUTES: list[tuple[str, type[HxbHandler]]] = [
    ("alerts", AlertsHandler),
]


def setup_route_handlers(web_app: Any) -> None:
    """Register every route of `ROUTES` and `WEBHOOK_ROUTES` on the Jupyter server's
    tornado application."""
    base_url: str = web_app.settings["base_url"]
    handlers = [
        (url_path_join(base_url, *API_PREFIX, pattern) + "$", cls)
        for pattern, cls in ROUTES + WEBHOOK_ROUTES
    ]
    web_app.add_handlers(".*$", handlers)
