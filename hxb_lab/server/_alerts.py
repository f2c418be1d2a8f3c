"""``POST alerts``: Alertmanager's webhook receiver in the Jupyter server.

Alertmanager is no Jupyter user: the route authenticates with the credentials its
``http_config`` sends (the active profile's ``alerts.token``, or basic auth), not with a
Jupyter token or cookie, so it is the one route open to requests Jupyter does not know,
and a request without those credentials is a 401 that starts nothing. No cookie ever
authenticates it, so there is no XSRF to check. The decision is the shared receiver's
(`hxb_lab.triggers.Receiver`); the run goes to the server's run pool (once it has
ended, the alert is recorded with it and the verdict posted), or to a Kubernetes Job when
the profile names a cluster. Each profile keeps its own receiver, whose cooldown and rate
limits are kept in ``HXB_LAB_HOME/alerts`` and so outlive a restart of the server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import allow_unauthenticated

from hxb_lab.config import Profile, hxb_home, load_profile
from hxb_lab.runbooks import Run
from hxb_lab.server._base import HxbHandler, blocking
from hxb_lab.server._pool import Job
from hxb_lab.server._runs import manager_of
from hxb_lab.triggers import (
    Decision,
    Receiver,
    Start,
    Unauthorized,
    after_run,
    job_trigger,
    runs_on_cluster,
)

__all__ = ["RECEIVERS_SETTING", "AlertsHandler"]

RECEIVERS_SETTING = "hxb_lab_alert_receivers"
#: The waits on alert runs (kept, so the loop does not drop them).
_AFTER: set[asyncio.Task[None]] = set()


async def _after(job: Job, start: Start, profile: Profile) -> None:
    """When the run has ended: the alert recorded with it, the verdict posted."""
    await job.done.wait()
    if job.run:
        await blocking(after_run, Run.from_json(job.run), start, profile)


class AlertsHandler(HxbHandler):
    """``POST alerts``: an Alertmanager v4 webhook body; answers ``{"runs": [{run_id,
    runbook, rule, alerts}], "resolved", "unmatched", "deduplicated", "rate_limited"}``."""

    def check_xsrf_cookie(self) -> None:
        return None  # authenticated by the Authorization header alone (module docstring)

    def _receiver(self, profile: Profile) -> Receiver:
        receivers: dict[str, Receiver] = self.application.settings.setdefault(RECEIVERS_SETTING, {})
        receiver = receivers.get(profile.name)
        if receiver is None or receiver.profile != profile:  # the profile was edited
            receiver = receivers[profile.name] = Receiver(profile, state_dir=hxb_home() / "alerts")
        return receiver

    def _start_local(self, start: Start, profile: Profile) -> str:
        job = manager_of(self).submit(start.runbook, start.values, profile)
        job.trigger = dict(start.trigger)
        task = asyncio.ensure_future(_after(job, start, profile))
        _AFTER.add(task)
        task.add_done_callback(_AFTER.discard)
        return job.id

    def _start_job(self, start: Start, profile: Profile) -> Job:
        submission = start.runbook.submit(start.values, profile, trigger=job_trigger(start))
        return Job(
            id=submission.run_id,
            runbook=start.runbook.name,
            path=str(start.runbook.path),
            profile=profile.name,
            parameters=submission.parameters,
            executor="kubernetes",
            status="submitted",
            kubernetes_job=submission.name,
            trigger=dict(start.trigger),
        )

    @allow_unauthenticated
    async def post(self) -> None:
        profile = await blocking(load_profile)
        receiver = self._receiver(profile)
        authorization = self.request.headers.get("Authorization")
        try:
            decision: Decision = await blocking(
                receiver.decide, self.request.body or b"", authorization
            )
        except Unauthorized as exc:
            self.set_header("WWW-Authenticate", 'Bearer realm="hxb-lab"')
            raise tornado.web.HTTPError(401, log_message=str(exc)) from None
        if decision.start is None:
            self.write_json(decision.answer())
            return
        try:
            if runs_on_cluster(profile):
                job = await blocking(self._start_job, decision.start, profile)
                manager_of(self).add_submitted(job)
                run_id = job.id
            else:
                run_id = self._start_local(decision.start, profile)
        except BaseException:
            receiver.failed(decision)
            raise
        self.write_json(decision.answer(run_id), 202)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="hxb-lab"')
        super().write_error(status_code, **kwargs)
