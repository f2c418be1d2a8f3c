"""Alertmanager's webhook body (version 4), read strictly: a body that is not one is a
`ParameterError` naming the field, before anything is decided or started.

The limits come first and on the raw bytes: at most `MAX_BODY_BYTES`, nested at most
`MAX_BODY_DEPTH` deep (a v4 body nests four), so a hostile body is refused before a
parser sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hxb_lab.checks import body_within
from hxb_lab.errors import LimitError, ParameterError

__all__ = ["MAX_BODY_BYTES", "MAX_BODY_DEPTH", "Alert", "Notification", "parse"]

#: The largest webhook body read (Alertmanager's ``max_alerts`` keeps real ones far smaller).
MAX_BODY_BYTES = 1024 * 1024
#: A v4 body nests four deep (body, alerts, alert, labels); a little room beyond.
MAX_BODY_DEPTH = 8
#: The most alerts one notification may carry.
MAX_ALERTS = 1000
_STATUSES = ("firing", "resolved")


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: str
    ends_at: str
    generator_url: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class Notification:
    """One webhook call: a group of alerts Alertmanager routed to the receiver."""

    receiver: str
    status: str  # firing | resolved
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    external_url: str
    truncated_alerts: int
    alerts: tuple[Alert, ...]

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.status == "firing"]


def _fail(field: str, message: str) -> ParameterError:
    return ParameterError([f"{field}: {message}"], subject="alert notification")


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        got = "missing" if key not in data else f"got {type(value).__name__}"
        raise _fail(f"{where}{key}", f"expected a string ({got})")
    return value


def _strings(data: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(f"{where}{key}", "expected an object of string values")
    return value


def _status(data: dict[str, Any], where: str) -> str:
    status = _text(data, "status", where)
    if status not in _STATUSES:
        raise _fail(f"{where}status", f"{status!r:.40} is neither firing nor resolved")
    return status


def _alert(data: Any, i: int) -> Alert:
    where = f"alerts[{i}]."
    if not isinstance(data, dict):
        raise _fail(f"alerts[{i}]", "expected an object")
    labels = _strings(data, "labels", where)
    if not labels:
        raise _fail(f"{where}labels", "an alert has at least one label")
    return Alert(
        status=_status(data, where),
        labels=labels,
        annotations=_strings(data, "annotations", where),
        fingerprint=_text(data, "fingerprint", where),
        starts_at=_text(data, "startsAt", where, required=False),
        ends_at=_text(data, "endsAt", where, required=False),
        generator_url=_text(data, "generatorURL", where, required=False),
    )


def parse(raw: bytes) -> Notification:
    """The notification in `raw`; `LimitError` (a 413) for a body too large or too deep,
    `ParameterError` naming the field for anything else that is not a v4 webhook body."""
    body_within(
        raw, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH, subject="alert notification",
        too_big="a notification may carry: lower max_alerts in the Alertmanager receiver",
        too_deep=", which no Alertmanager body is",
    )  # fmt: skip
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise _fail("body", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _fail("body", "expected Alertmanager's webhook JSON object")
    version = data.get("version")
    if version != "4":
        raise _fail(
            "version",
            f'{version!r:.20} is not a webhook version this receiver reads: Alertmanager sends "4"',
        )
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise _fail("alerts", "expected a list of alerts")
    if len(alerts) > MAX_ALERTS:
        raise LimitError(
            [f"alerts: {len(alerts):,} alerts is more than the {MAX_ALERTS:,} one notification "
             "may carry: set max_alerts in the Alertmanager receiver"],
            subject="alert notification",
        )  # fmt: skip
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise _fail("truncatedAlerts", "expected a whole number from 0")
    return Notification(
        receiver=_text(data, "receiver", ""),
        status=_status(data, ""),
        group_key=_text(data, "groupKey", ""),
        group_labels=_strings(data, "groupLabels", ""),
        common_labels=_strings(data, "commonLabels", ""),
        external_url=_text(data, "externalURL", "", required=False),
        truncated_alerts=truncated,
        alerts=tuple(_alert(a, i) for i, a in enumerate(alerts)),
    )
