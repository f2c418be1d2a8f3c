"""Posting a run's news to the profile's chat webhook (``alerts.notify_url``, a secret
reference: a webhook URL is a credential), in ``alerts.notify_format``.

One way out for every notification: an alert's run (`hxb_lab.triggers`) and a scheduled
run whose results changed since its last run (`changes_message`). ``slack`` bodies are
``{"text"}``, which Slack's incoming webhooks (and Mattermost's, Rocket.Chat's) show as a
message; ``json`` bodies are objects of named fields.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hxb_lab.config import Profile
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.runbooks._artifacts import ArtifactStore

if TYPE_CHECKING:
    from hxb_lab.runbooks._diff import RunDiff
    from hxb_lab.runbooks._run import Run

__all__ = ["TIMEOUT_S", "changes_message", "notify_changes", "post", "report_link"]

TIMEOUT_S = 10.0


def post(profile: Profile, body: dict[str, Any], run_id: str) -> bool:
    """Post `body` to the profile's ``alerts.notify_url``; False when none is set.
    `BackendUnavailableError` naming the host (never the URL's secret path) when the
    webhook does not take it."""
    ref = profile.alerts.notify_url
    url = ref.resolve() if ref is not None else None
    if not url:
        return False
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
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            response.read(1024)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BackendUnavailableError(
            f"the notification of run {run_id} was not delivered to {host}: {reason}",
            server=host,
            hint="check alerts.notify_url",
        ) from None
    return True


def report_link(run: Run, profile: Profile) -> str | None:
    """A link to the run's report that opens for ``alerts.link_ttl_s`` without credentials."""
    if run.report_uri:
        return ArtifactStore.of(profile).link(run.report_uri, profile.alerts.link_ttl_s)
    return str(run.report) if run.report else None


def changes_message(run: Run, changes: RunDiff, profile: Profile) -> dict[str, Any]:
    """The body posted when a scheduled run's results changed since its last run."""
    report = report_link(run, profile)
    lines = changes.lines()
    if profile.alerts.notify_format == "slack":
        text = f":arrows_counterclockwise: {run.runbook}: changed since run {changes.before}"
        text += "".join(f"\n- {line}" for line in lines)
        if report:
            text += f"\nreport: {report}"
        return {"text": text}
    return {
        "run_id": run.id,
        "runbook": run.runbook,
        "status": run.status,
        "since": changes.before,
        "changes": lines,
        "report": report,
        "profile": profile.name,
    }


def notify_changes(run: Run, changes: RunDiff, profile: Profile) -> bool:
    """Post what changed since the last run, only when something did; whether it posted."""
    if not changes.changed:
        return False
    return post(profile, changes_message(run, changes, profile), run.id)
