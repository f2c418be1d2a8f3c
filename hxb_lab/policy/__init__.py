"""The platform's guard rails as frames: Gatekeeper's audit results and Falco's alerts.

``wb.policy.violations()`` reads what Gatekeeper's audit wrote into its constraints'
status (through the cluster layer: live or snapshot); ``wb.policy.falco_events()`` reads
Falco's JSON alerts from the logs store and joins each to its pod and workspace. A
cluster without Gatekeeper gives an empty frame and one `AbsentKindWarning`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab import checks as _checks
from hxb_lab.cluster import resource
from hxb_lab.cluster._resources import constraint_kind
from hxb_lab.cluster.optional import AbsentKindWarning, optional_items
from hxb_lab.frames import bulk as _bulk
from hxb_lab.policy import falco as _falco
from hxb_lab.policy import gatekeeper as _gatekeeper

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.context import Context
    from hxb_lab.telemetry import Logs

__all__ = ["AbsentKindWarning", "Policy"]

When = datetime | timedelta | str | None
#: Constraint versions read, preferred first (Gatekeeper serves both).
CONSTRAINT_VERSIONS = ("v1beta1", "v1")


class Policy:
    """Gatekeeper constraints and violations, and Falco's runtime alerts."""

    def __init__(self, ctx: Context, *, cluster: Cluster, logs: Logs) -> None:
        self._ctx = ctx
        self._cluster = cluster
        self._logs = logs

    def __repr__(self) -> str:
        return f"<Policy of profile {self._ctx.profile.name!r}>"

    def _constraints(self) -> Iterator[tuple[str, dict[str, Any]]]:
        sources = self._cluster.sources()
        templates = optional_items(sources, resource("constrainttemplates"))
        kinds = _gatekeeper.template_kinds(templates)
        for source in sources:
            for kind in kinds.get(source.name, ()):
                for cluster, obj in optional_items(
                    [source], constraint_kind(kind), versions=CONSTRAINT_VERSIONS
                ):
                    obj.setdefault("kind", kind)
                    yield cluster, obj

    @_bulk
    def constraints(self) -> pd.DataFrame:
        """One row per Gatekeeper constraint.

        Columns: cluster, kind (its ConstraintTemplate's kind), name, enforcement_action
        (deny, dryrun, warn), total_violations (the audit's count; <NA> before the first
        audit), listed_violations (how many the audit listed), audited, created.
        """
        return _gatekeeper.constraints_frame(self._constraints())

    @_bulk
    def violations(self) -> pd.DataFrame:
        """One row per violation Gatekeeper's audit found (as listed in the constraints'
        status; a warning says when the audit listed fewer than it counted).

        Columns: cluster, constraint_kind, constraint, enforcement_action, kind,
        namespace, name (the object in violation), workspace, message, audited.
        """
        workspaces = self._cluster.workspace_map()
        return _gatekeeper.violations_frame(self._constraints(), workspaces)

    def falco_events(
        self,
        start: When = None,
        end: When = None,
        *,
        priority: str | None = None,
        namespace: str | Sequence[str] | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Falco's alerts over [start, end) (default: the last hour), newest first, at least
        as severe as `priority` (Emergency ... Debug; default: all), joined to the pod they
        name (its workload and node) and its workspace.

        Columns: time, cluster, priority, rule, namespace, pod, container, workspace,
        workload_kind, workload_name, node, image, command (proc.cmdline), user, output,
        tags.
        """
        wanted = _falco.priorities_from(priority)
        names = _checks.names(namespace, "namespace")
        logs = self._logs.search(service="falco", start=start, end=end, limit=limit)
        pods = self._cluster.pods(names) if len(logs) else None
        frame = _falco.falco_frame(logs, pods, self._cluster.workspace_map(), wanted)
        if names is not None:
            frame = frame[frame["namespace"].isin(names)].reset_index(drop=True)
        return frame
