"""Gatekeeper's audit results as rows: every constraint, and each violation it lists.

Gatekeeper makes one constraint kind (group ``constraints.gatekeeper.sh``) per
ConstraintTemplate; its audit writes what it found into each constraint's status
(``totalViolations`` and up to ``--constraint-violations-limit`` listed violations, 20
by default), so these reads need no call to Gatekeeper itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.warn import warn_user

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONSTRAINT_COLUMNS",
    "VIOLATION_COLUMNS",
    "constraints_frame",
    "template_kinds",
    "violations_frame",
]

Obj = dict[str, Any]
Workspaces = Mapping[str, Mapping[str, str]]

CONSTRAINT_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("kind", "str"),
    ("name", "str"),
    ("enforcement_action", "str"),
    ("total_violations", "Int64"),
    ("listed_violations", "int64"),
    ("audited", _frame.TIMESTAMP),
    ("created", _frame.TIMESTAMP),
)

VIOLATION_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("constraint_kind", "str"),
    ("constraint", "str"),
    ("enforcement_action", "str"),
    ("kind", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("workspace", "str"),
    ("message", "str"),
    ("audited", _frame.TIMESTAMP),
)


def template_kinds(templates: Iterable[tuple[str, Obj]]) -> dict[str, list[str]]:
    """``{cluster: [constraint kind, ...]}`` from the ConstraintTemplates."""
    kinds: dict[str, list[str]] = {}
    for cluster, template in templates:
        names = (((template.get("spec") or {}).get("crd") or {}).get("spec") or {}).get("names")
        kind = (names or {}).get("kind")
        if kind:
            kinds.setdefault(cluster, []).append(str(kind))
    return kinds


def constraints_frame(constraints: Iterable[tuple[str, Obj]]) -> pd.DataFrame:
    """One row per constraint; see `Policy.constraints`."""
    rows = []
    for cluster, c in constraints:
        meta = c.get("metadata") or {}
        status = c.get("status") or {}
        rows.append(
            (
                cluster,
                c.get("kind") or "",
                meta.get("name") or "",
                (c.get("spec") or {}).get("enforcementAction") or "deny",
                status.get("totalViolations"),
                len(status.get("violations") or ()),
                status.get("auditTimestamp"),
                meta.get("creationTimestamp"),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _frame.build(CONSTRAINT_COLUMNS, rows)


def violations_frame(
    constraints: Iterable[tuple[str, Obj]], workspaces: Workspaces
) -> pd.DataFrame:
    """One row per violation the audit listed; see `Policy.violations`."""
    rows, unaudited, capped = [], [], []
    for cluster, c in constraints:
        meta = c.get("metadata") or {}
        status = c.get("status") or {}
        name = meta.get("name") or ""
        if "auditTimestamp" not in status:
            unaudited.append(f"{c.get('kind')}/{name}")
        listed = status.get("violations") or ()
        total = status.get("totalViolations")
        if isinstance(total, int) and total > len(listed):
            capped.append(f"{c.get('kind')}/{name} lists {len(listed)} of {total}")
        action = (c.get("spec") or {}).get("enforcementAction") or "deny"
        for v in listed:
            namespace = v.get("namespace") or ""
            rows.append(
                (
                    cluster,
                    c.get("kind") or "",
                    name,
                    v.get("enforcementAction") or action,
                    v.get("kind") or "",
                    namespace,
                    v.get("name") or "",
                    workspaces.get(cluster, {}).get(namespace, ""),
                    v.get("message") or "",
                    status.get("auditTimestamp"),
                )
            )
    if unaudited:
        warn_user(
            f"{len(unaudited)} Gatekeeper constraint(s) not audited yet "
            f"({', '.join(unaudited[:5])}): their violations are unknown"
        )
    if capped:
        warn_user(
            "Gatekeeper's audit lists only some violations (--constraint-violations-limit): "
            + "; ".join(capped[:5])
        )
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[5], r[4], r[6]))
    return _frame.build(VIOLATION_COLUMNS, rows)
