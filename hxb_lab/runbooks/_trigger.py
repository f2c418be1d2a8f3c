"""The alert that started a run, as it travels with a Kubernetes Job and back.

A run an alert starts on the cluster carries the alert (the trigger rule, the group key,
the alerts' labels and fingerprints, who started it) in the Job's and its pod's
annotation `ANNOTATION_TRIGGER`, as JSON of at most `MAX_BYTES` (the alerts past what fits
are left out; ``alert_count`` stays whole). The pod reads it through the downward API
(`ENV`) and records it with its run; ``runs()`` reads it from the Job of a run not
recorded yet. Whatever comes back from the cluster may have been edited by anyone who can
edit Jobs: `read` keeps only the known fields, of their types, bounded, and gives None
for anything else; strings lose their control characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ANNOTATION_TRIGGER", "ENV", "MAX_BYTES", "annotation", "headline", "read"]

ANNOTATION_TRIGGER = "hxb.io/trigger"
ENV = "HXB_LAB_TRIGGER"
#: The longest trigger annotation (the annotations of an object hold 256 KiB in all).
MAX_BYTES = 16 * 1024
MAX_ALERTS = 20
_TEXT = ("rule", "receiver", "group_key", "external_url", "started_by")
_ALERT_TEXT = ("fingerprint", "starts_at")
_LONGEST = 1024  # characters of one string kept


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value: Any) -> str | None:
    """A string kept: bounded, without control characters (a terminal's escapes)."""
    return _CONTROL.sub(" ", value[:_LONGEST]) if isinstance(value, str) else None


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {
        _CONTROL.sub(" ", k[:_LONGEST]): _CONTROL.sub(" ", v[:_LONGEST])
        for k, v in list(value.items())[:100]
        if isinstance(k, str) and isinstance(v, str)
    }


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: t for k in _TEXT if (t := _text(data.get(k))) is not None}
    out["group_labels"] = _labels(data.get("group_labels"))
    alerts = data.get("alerts")
    out["alerts"] = [
        {
            **{k: t for k in _ALERT_TEXT if (t := _text(a.get(k))) is not None},
            "labels": _labels(a.get("labels")),
            "annotations": _labels(a.get("annotations")),
        }
        for a in (alerts if isinstance(alerts, list) else [])[:MAX_ALERTS]
        if isinstance(a, dict)
    ]
    count = data.get("alert_count")
    valid = isinstance(count, int) and not isinstance(count, bool) and count >= 0
    out["alert_count"] = count if valid else len(out["alerts"])
    return out


def annotation(trigger: Mapping[str, Any]) -> str:
    """`trigger` as the annotation's JSON, within `MAX_BYTES` (alerts left out from the end,
    then their annotations, while it is too long)."""
    data = _clean(trigger)
    text = json.dumps(data, sort_keys=True)
    while len(text.encode()) > MAX_BYTES and data["alerts"]:
        data["alerts"] = data["alerts"][:-1]
        text = json.dumps(data, sort_keys=True)
    if len(text.encode()) > MAX_BYTES:  # the group's own fields are too long: keep the rule
        data = {k: data[k] for k in ("rule", "alert_count", "started_by") if k in data}
        text = json.dumps(data, sort_keys=True)
    return text


def read(text: str | None) -> dict[str, Any] | None:
    """The trigger in an annotation (or a tag), checked; None when there is none, or it is
    not a trigger."""
    if not text or len(text) > MAX_BYTES * 4:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("rule"), str):
        return None
    return _clean(data)


def headline(trigger: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a list of runs shows of the alert that started one: the rule, the first
    alert's name (its ``alertname``, else the group's) and how many alerts the group held;
    None for a run a person started."""
    if not trigger:
        return None
    data = _clean(trigger)
    first = data["alerts"][0]["labels"] if data["alerts"] else {}
    alert = first.get("alertname") or data["group_labels"].get("alertname")
    return {"rule": data.get("rule"), "alert": alert, "alert_count": data["alert_count"]}
