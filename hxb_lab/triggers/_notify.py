"""The verdict of an alert's run, posted to a webhook: ``alerts.notify_url`` (a secret
reference: a chat webhook URL is a credential) in ``alerts.notify_format``.

``json`` posts ``{"run_id", "runbook", "status", "verdict", "report", "rule",
"alertname", "group_key", "profile"}``; ``slack`` posts ``{"text"}``, which Slack's
incoming webhooks (and Mattermost's, Rocket.Chat's) show as a message. The report link
opens for ``alerts.link_ttl_s`` without credentials (pre-signed when the report is in
S3). `notify` raises
`BackendUnavailableError` naming the host (never the URL's secret path) when the
webhook does not take it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from hxb_lab.config import Profile
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.runbooks import Run, artifact_link
from hxb_lab.triggers._receiver import Start

__all__ = ["message", "notify"]

TIMEOUT_S = 10.0


def message(run: Run, start: Start, profile: Profile) -> dict[str, Any]:
    """The body posted for `run`, in the profile's ``alerts.notify_format``."""
    alerts = start.trigger.get("alerts") or [{}]
    alertname = str(alerts[0].get("labels", {}).get("alertname", ""))
    report = str(run.report) if run.report else None
    if run.report_uri:
        report = artifact_link(run.report_uri, profile.alerts.link_ttl_s, profile)
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
    ref = profile.alerts.notify_url
    url = ref.resolve() if ref is not None else None
    if not url:
        return
    parts = urlsplit(url)
    host = parts.netloc or "the notification webhook"
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"alerts.notify_url is not an http(s) URL (scheme {parts.scheme!r:.20})",
            key="alerts.notify_url",
            hint="point it at the chat's incoming webhook, https://...",
        )
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url,
        data=json.dumps(message(run, start, profile)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            response.read(1024)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BackendUnavailableError(
            f"the notification of run {run.id} was not delivered to {host}: {reason}",
            server=host,
            hint="check alerts.notify_url",
        ) from None
