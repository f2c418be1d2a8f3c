"""The demo's cluster history: three days of changes that tell the scenario's story, as
`hxb-lab record` would have written them (``telemetry/cluster_changes/history.parquet``).

Every object of the demo's snapshot is LISTED when the history begins (three days before
the seed time) or ADDED when it was created, and the story's changes come in between with
the state before and after: the cordon of each cordoned node (when its taint says), the
canary rollout of llm-chat (`scenario.CANARY_ROLLOUT`) that precedes its latency
regression, and the scale-ups of inference revisions whose newest pod is recent. So
``wb.cluster.at(wb.now())`` gives the snapshot's frames, and ``at("-3h")`` the platform
before the rollout.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hxb_lab.cluster._changes import change
from hxb_lab.cluster._resources import KINDS
from hxb_lab.cluster._store import write_parquet
from hxb_lab.demo import scenario
from hxb_lab.otel_tables import CLUSTER_CHANGES, PARQUET_LAYOUT

if TYPE_CHECKING:
    from hxb_lab.demo import SeedContext

__all__ = ["DAYS", "seed_demo", "write_history"]

DAYS = 3
Obj = dict[str, Any]
#: A story change: (time, kind, the object before, the object after, who).
Story = tuple[datetime, str, Obj, Obj, str]


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def _cordons(nodes: list[Obj]) -> list[Story]:
    told = []
    for node in nodes:
        if not node["spec"].get("unschedulable"):
            continue
        taint = next(
            t for t in node["spec"]["taints"] if t["key"] == "node.kubernetes.io/unschedulable"
        )
        before = copy.deepcopy(node)
        before["spec"].pop("unschedulable")
        before["spec"]["taints"] = [t for t in node["spec"]["taints"] if t is not taint]
        told.append(
            (_time(taint["timeAdded"]) or datetime.now(UTC), "Node", before, node, "kubectl-cordon")
        )
    return told


def _rollout(services: list[Obj], now: datetime) -> list[Story]:
    target = scenario.CANARY_ROLLOUT
    told = []
    for isvc in services:
        if isvc["metadata"]["name"] != target.target:
            continue
        d = next(d for d in scenario.DEPLOYMENTS if d.name == target.target)
        before = copy.deepcopy(isvc)
        predictor = before["spec"]["predictor"]
        predictor.pop("canaryTrafficPercent", None)
        predictor["model"]["storageUri"] = f"s3://hxb-models/{d.model}/v{d.version}"
        before["metadata"]["labels"]["hxb.io/model-version"] = str(d.version)
        moment = now - target.starts_before_now
        told.append((moment, "InferenceService", before, isvc, "argocd-application-controller"))
    return told


def _scale_ups(deployments: list[Obj], pods: list[Obj], start: datetime) -> list[Story]:
    """A revision whose newest pod came after the others within the history was scaled up
    by one just before that pod was created."""
    told = []
    by_owner: dict[str, list[datetime]] = {}
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        revision = labels.get("serving.knative.dev/revision")
        created = _time(pod["metadata"].get("creationTimestamp"))
        if revision and created:
            by_owner.setdefault(f"{revision}-deployment", []).append(created)
    for deploy in deployments:
        times = sorted(by_owner.get(deploy["metadata"]["name"], []))
        if len(times) < 2 or times[-1] <= max(start, times[-2]):
            continue
        before = copy.deepcopy(deploy)
        before["spec"]["replicas"] = deploy["spec"]["replicas"] - 1
        told.append((times[-1] - timedelta(seconds=5), "Deployment", before, deploy, "autoscaler"))
    return told


def write_history(snapshot: Path, telemetry: Path, now: datetime) -> int:
    """Write the history of the snapshot directory `snapshot` (one cluster) under
    `telemetry`; returns the number of changes."""
    start = now - timedelta(days=DAYS)
    cluster = snapshot.name
    objects: dict[str, list[Obj]] = {}
    for res in KINDS:
        if res.kind == "Secret":  # the history keeps no Secrets
            continue
        path = snapshot / res.file_name
        if path.is_file():
            objects[res.kind] = orjson.loads(path.read_bytes())["items"]
    story = [
        *_cordons(objects.get("Node", [])),
        *_rollout(objects.get("InferenceService", []), now),
        *_scale_ups(objects.get("Deployment", []), objects.get("Pod", []), start),
    ]
    first_state = {s[2]["metadata"]["uid"]: s[2] for s in story}
    changes = []
    for kind, items in objects.items():
        for obj in items:
            meta = obj["metadata"]
            created = _time(meta.get("creationTimestamp")) or start
            if kind == "Event":
                created = _time(obj.get("firstTimestamp")) or created
            state = first_state.get(meta["uid"], obj)
            if created <= start:
                changes.append(change(_ns(start), cluster, kind, "LISTED", state))
            else:
                changes.append(change(_ns(min(created, now)), cluster, kind, "ADDED", state))
    for moment, kind, before, after, who in story:
        told = change(_ns(moment), cluster, kind, "MODIFIED", after, before)
        changes.append(dataclasses.replace(told, who=who))
    changes.sort(key=lambda c: (c.time_ns, c.kind, c.namespace, c.name))
    rows = []
    for version, told in enumerate(changes, start=1000):  # resourceVersions in time order
        row = told.row()
        rows.append((*row[:11], str(version), row[12]))
    write_parquet(telemetry / PARQUET_LAYOUT[CLUSTER_CHANGES], rows, "history")
    return len(rows)


def seed_demo(ctx: SeedContext) -> str:
    """The demo seeder: the history of the cluster snapshot, beside the telemetry."""
    count = write_history(ctx.home / "cluster" / scenario.CLUSTER, ctx.home / "telemetry", ctx.now)
    return f"{count} changes of cluster {scenario.CLUSTER!r} over the last {DAYS} days"
