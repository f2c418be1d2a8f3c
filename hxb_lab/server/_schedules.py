"""``schedules``: the runbook CronJobs of the active profile; suspend, resume, delete."""

from __future__ import annotations

from typing import Any

import tornado.web

from hxb_lab.config import load_profile, require_live_cluster
from hxb_lab.errors import ConfigError, ParameterError
from hxb_lab.server._base import HxbHandler, blocking

__all__ = [
    "ScheduleHandler",
    "SchedulesHandler",
    "list_schedules",
    "schedule_json",
]


def schedule_json(schedule: Any) -> dict[str, Any]:
    """A `Schedule` (or a `schedules()` row) as JSON."""

    def when(value: Any) -> str | None:
        return None if value is None or value != value else value.isoformat()

    get = schedule.get if isinstance(schedule, dict) else lambda k, d=None: getattr(schedule, k, d)
    return {
        "name": get("name"),
        "runbook": get("runbook"),
        "cron": get("cron"),
        "suspended": bool(get("suspended")),
        "parameters": get("parameters") or {},
        "namespace": get("namespace"),
        "last_schedule": when(get("last_schedule")),
        "created": when(get("created")),
    }


def list_schedules() -> dict[str, Any]:
    """``{"profile", "namespace", "schedules": [...], "unavailable"}`` of the active profile's
    runbook namespace. A profile whose cluster is a snapshot (the demo) has no CronJobs: an
    empty list whose ``unavailable`` says why, so a page that lists them on every load shows
    the reason instead of an error."""
    from hxb_lab.runbooks import schedules

    profile = load_profile()
    answer: dict[str, Any] = {
        "profile": profile.name,
        "namespace": profile.runbooks.namespace,
        "schedules": [],
        "unavailable": None,
    }
    try:
        require_live_cluster(profile)
    except ConfigError as exc:
        answer["unavailable"] = str(exc)
        return answer
    frame = schedules(profile)
    answer["schedules"] = [schedule_json(row) for row in frame.to_dict(orient="records")]
    return answer


def _live() -> None:
    require_live_cluster(load_profile())


class SchedulesHandler(HxbHandler):
    """``GET schedules``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await blocking(list_schedules))


class ScheduleHandler(HxbHandler):
    """``PATCH schedules/{name}`` ``{"suspended": bool}``; ``DELETE schedules/{name}``."""

    @tornado.web.authenticated
    async def patch(self, name: str) -> None:
        from hxb_lab.runbooks import resume, suspend

        suspended = self.json_body().get("suspended")
        if not isinstance(suspended, bool):
            raise ParameterError(["suspended: expected true or false"], subject="request")
        change = suspend if suspended else resume
        await blocking(_live)
        self.write_json(schedule_json(await blocking(change, name)))

    @tornado.web.authenticated
    async def delete(self, name: str) -> None:
        from hxb_lab.runbooks import delete

        await blocking(_live)
        await blocking(delete, name)
        self.write_json({"deleted": name})
