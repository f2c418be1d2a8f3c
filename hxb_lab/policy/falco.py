"""Falco's runtime alerts, read from the logs store, joined to the pod and workspace.

Falco writes one JSON object per alert (``json_output: true``): ``time``, ``rule``,
``priority``, ``output``, ``hostname``, ``tags`` and ``output_fields`` such as
``k8s.ns.name`` and ``k8s.pod.name``. The OpenTelemetry Collector ships that line as the
log body (service ``falco``); when its JSON parser moved the fields into the log
attributes instead, they are read from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from hxb_lab import frames as _frame
from hxb_lab.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FALCO_COLUMNS", "PRIORITIES", "falco_frame", "priorities_from"]

#: Falco's priorities, most severe first.
PRIORITIES = (
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)

FALCO_COLUMNS: _frame.Schema = (
    ("time", _frame.TIMESTAMP),
    ("cluster", "str"),
    ("priority", "str"),
    ("rule", "str"),
    ("namespace", "str"),
    ("pod", "str"),
    ("container", "str"),
    ("workspace", "str"),
    ("workload_kind", "str"),
    ("workload_name", "str"),
    ("node", "str"),
    ("image", "str"),
    ("command", "str"),
    ("user", "str"),
    ("output", "str"),
    ("tags", "str"),
)


def priorities_from(priority: str | None) -> tuple[str, ...]:
    """The priorities at least as severe as `priority` (None: all of them)."""
    if priority is None:
        return PRIORITIES
    wanted = priority.strip().capitalize() if isinstance(priority, str) else ""
    wanted = {"Warn": "Warning", "Info": "Informational", "Crit": "Critical"}.get(wanted, wanted)
    if wanted not in PRIORITIES:
        raise ParameterError(
            [f"priority: {priority!r} is not a Falco priority (one of {', '.join(PRIORITIES)})"]
        )
    return PRIORITIES[: PRIORITIES.index(wanted) + 1]


def _alert(body: str, attributes: Mapping[str, str]) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and "rule" in parsed:
        return parsed
    fields = {k.removeprefix("output_fields."): v for k, v in attributes.items()}
    return {
        "rule": attributes.get("rule", ""),
        "priority": attributes.get("priority", ""),
        "output": attributes.get("output", body),
        "hostname": attributes.get("hostname", ""),
        "tags": attributes.get("tags", ""),
        "output_fields": fields,
    }


def falco_frame(
    logs: pd.DataFrame,
    pods: pd.DataFrame | None,
    workspaces: Mapping[str, Mapping[str, str]],
    wanted: tuple[str, ...],
) -> pd.DataFrame:
    """One row per Falco alert in `logs` (rows of `wb.logs.search`) of a priority in `wanted`,
    newest first; see `Policy.falco_events`."""
    owners: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    if pods is not None:
        columns = ["namespace", "name", "cluster", "workload_kind", "workload_name", "node"]
        for ns, name, *owner in pods[columns].itertuples(index=False):
            owners[(ns, name)] = tuple(owner)
    rows = []
    for log in logs.itertuples(index=False):
        alert = _alert(str(log.body), dict(log.attributes or {}))
        priority = str(alert.get("priority") or "").capitalize()
        if priority not in wanted:
            continue
        fields = alert.get("output_fields") or {}
        namespace = str(fields.get("k8s.ns.name") or "")
        pod = str(fields.get("k8s.pod.name") or "")
        resource = dict(log.resource or {})
        cluster, kind, workload, node = owners.get((namespace, pod), ("", "", "", ""))
        cluster = str(resource.get("k8s.cluster.name") or cluster)
        tags = alert.get("tags") or ()
        rows.append(
            (
                log.timestamp,
                cluster,
                priority,
                str(alert.get("rule") or ""),
                namespace,
                pod,
                str(fields.get("container.name") or ""),
                workspaces.get(cluster, {}).get(namespace, ""),
                kind,
                workload,
                node or str(alert.get("hostname") or ""),
                str(fields.get("container.image.repository") or ""),
                str(fields.get("proc.cmdline") or ""),
                str(fields.get("user.name") or ""),
                str(alert.get("output") or ""),
                ", ".join(tags) if isinstance(tags, list) else str(tags),
            )
        )
    return _frame.build(FALCO_COLUMNS, rows)
