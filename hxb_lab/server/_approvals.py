"""``runs/{id}/approve`` and ``runs/{id}/reject``: the sidebar's decision on the change a
run proposed, by the Jupyter user who clicks (`hxb_lab.runbooks.approve`); and
`approval_json`, the proposal as the runs list shows it (``approval`` of each run).

A user who started the run may not approve its change (unless the profile allows it); a
change to the object since it was reviewed is a 409 and nothing is applied. Both answer
the decided proposal: ``{"run_id", "state", "change": {summary, diff, patch, ...},
"events": [...]}``.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from hxb_lab import runbooks
from hxb_lab.config import Profile, load_profile
from hxb_lab.errors import HxbLabError, ParameterError
from hxb_lab.runbooks._approval import review
from hxb_lab.server._base import HxbHandler, blocking
from hxb_lab.server._records import local_run

__all__ = ["ApproveHandler", "RejectHandler", "approval_json", "user_of"]


def user_of(handler: HxbHandler) -> str:
    """The Jupyter user of a request: who starts a run, who decides on its change."""
    user: Any = handler.current_user
    name = getattr(user, "username", None) or getattr(user, "name", None)
    return str(name or runbooks.identity())


def approval_json(run_id: str, runbook: str | None, profile: Profile) -> dict[str, Any] | None:
    """The change run `run_id` proposed, for review (`runbooks._approval.review`), or None."""
    try:
        run = local_run(run_id, runbook)
    except HxbLabError:
        return None
    if run is None or run.directory is None:
        return None
    return review(run.directory, profile)


class _Decision(HxbHandler):
    def _who(self) -> str:
        return user_of(self)


class ApproveHandler(_Decision):
    """``POST runs/{run_id}/approve``: apply the proposed change as reviewed."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        profile = await blocking(load_profile)
        decided = await blocking(runbooks.approve, run_id, self._who(), profile)
        self.write_json(decided)


class RejectHandler(_Decision):
    """``POST runs/{run_id}/reject`` ``{"reason"}``: refuse the proposed change."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        reason = self.json_body().get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ParameterError(["reason: say why the change is refused"], subject="request")
        profile = await blocking(load_profile)
        decided = await blocking(runbooks.reject, run_id, reason, self._who(), profile)
        self.write_json(decided)
