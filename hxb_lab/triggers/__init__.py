"""Triggers: an Alertmanager webhook starts the runbook its alert names.

    from hxb_lab.triggers import Receiver, RunPool
    pool = RunPool(profile)
    receiver = Receiver(profile, pool)
    receiver.receive(body, request.headers.get("Authorization"))

The Jupyter server's ``/hxb-lab/api/alerts`` and ``hxb-lab serve`` host the same
`Receiver`: credentials (`_auth`), the webhook body (`_payload`), which runbook with which
parameters (`_rules`), the cooldown and rate limit (`_limits`); the host starts the run.
"""

from __future__ import annotations

from hxb_lab.triggers._auth import Unauthorized
from hxb_lab.triggers._manifests import TOKEN_SECRET, alertmanager_receiver, service_objects
from hxb_lab.triggers._notify import message, notify
from hxb_lab.triggers._payload import MAX_BODY_BYTES, Alert, Notification, parse
from hxb_lab.triggers._receiver import Decision, Receiver, Start, Starter
from hxb_lab.triggers._rules import Choice, choose
from hxb_lab.triggers._service import ALERTS_PATH, AlertService, status_of
from hxb_lab.triggers._start import RunPool, after_run, job_trigger, runs_on_cluster, started_by

__all__ = [
    "ALERTS_PATH",
    "MAX_BODY_BYTES",
    "TOKEN_SECRET",
    "Alert",
    "AlertService",
    "Choice",
    "Decision",
    "Notification",
    "Receiver",
    "RunPool",
    "Start",
    "Starter",
    "Unauthorized",
    "after_run",
    "alertmanager_receiver",
    "choose",
    "job_trigger",
    "message",
    "notify",
    "parse",
    "runs_on_cluster",
    "service_objects",
    "started_by",
    "status_of",
]
