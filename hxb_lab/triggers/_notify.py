"""The verdict of an alert's run, posted to a webhook: ``alerts.notify_url`` (a secret
reference: a chat webhook URL is a credential) in ``alerts.notify_format``.

``json`` posts ``{"run_id", "runbook", "status", "verdict", "report", "rule",
"alertname", "group_key", "profile"}``; ``slack`` posts ``{"text"}``, which Slack's
incoming webhooks (and Mattermost's, Rocket.Chat's) show as a message. The report link
opens for ``alerts.link_ttl_s`` without credentials (pre-signed when the report is in
S3). `notify` posts through `hxb_lab.runbooks._webhook`, and raises
`BackendUnavailableError` naming the host (never the URL's secret path) when the
webhook does not take it.
"""

from __future__ import annotations

from typing import Any

from hxb_lab.config import Profile
from hxb_lab.runbooks import Run
from hxb_lab.runbooks._webhook import post, report_link
from hxb_lab.triggers._receiver import Start

__all__ = ["message", "notify"]


def message(run: Run, start: Start, profile: Profile) -> dict[str, Any]:
    """The body posted for `run`, in the profile's ``alerts.notify_format``."""
    alerts = start.trigger.get("alerts") or [{}]
    alertname = str(alerts[0].get("labels", {}).get("alertname", ""))
    report = report_link(run, profile)
    if profile.alerts.notify_format == "slack":
        icon = ":white_check_mark:" if run.ok else ":x:"
        text = f"{icon} {alertname}: {run.summary()}"
        if report:
            text += f"\nreport: {report}"
        return {"text": text}
    return {
        "run_id": run.id,
        "runbook": run.runbook,
        "status": run.status,
        "verdict": run.summary(),
        "report": report,
        "rule": start.rule,
        "alertname": alertname,
        "group_key": start.trigger.get("group_key"),
        "profile": profile.name,
    }


def notify(run: Run, start: Start, profile: Profile) -> None:
    """Post `run`'s verdict to the profile's ``alerts.notify_url`` (nothing when unset)."""
    post(profile, message(run, start, profile), run.id)
