"""What runbook pods may do on the cluster: read everything the runbooks read, change only
where a user opted in.

The runner's service account gets a ClusterRole that reads, cluster-wide, every kind HXB
Lab reads (`hxb_lab.cluster._resources.KINDS`: nodes, pods, events, workloads, quotas,
InferenceServices, Seldon Models, Argo CD Applications, the platform's stack), never Secrets
or ConfigMaps. A
runbook run with ``dry_run=False`` that applies a `Change` to an inference deployment also
needs the namespaced write Role, printed only for the namespaces named with ``--write``.

What each runbook needs is read from its code: the ``wb.<area>.<read>(...)`` calls it makes,
looked up in `READS` (the resources each read lists) and `ACTIONS` (the reads that return a
`Change`; applying it patches the serving object). Nothing here talks to a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from hxb_lab.cluster._resources import KINDS
from hxb_lab.config import Profile
from hxb_lab.runbooks._catalog import Runbook, catalog, get
from hxb_lab.runbooks._manifests import MANAGED, dns_name

__all__ = [
    "ACTIONS",
    "READER_ROLE",
    "READS",
    "WRITER_ROLE",
    "Needs",
    "manifests",
    "needs",
    "printed",
]

READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("get", "patch")  # `Change.apply`: a server-side dry run, then the patch
READER_ROLE = "hxb-lab-runbook-reader"
WRITER_ROLE = "hxb-lab-runbook-writer"
_RBAC = "rbac.authorization.k8s.io"
#: Kinds the runner never reads through the API (a pod gets its own ConfigMaps as volumes).
_NOT_READ = {"configmaps", "secrets"}

_SERVING = ("inferenceservices.serving.kserve.io", "models.mlops.seldon.io")
_WORKLOADS = ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch",
              "cronjobs.batch")  # fmt: skip
#: ``area.read`` -> the resources (``plural[.group]``) it lists or gets, on every cluster.
READS: dict[str, tuple[str, ...]] = {
    "cluster.nodes": ("nodes", "pods"),
    "cluster.pods": ("pods", "namespaces"),
    "cluster.workloads": (*_WORKLOADS, "namespaces"),
    "cluster.events": ("events",),
    "cluster.workspaces": ("namespaces", "pods", "resourcequotas"),
    "cluster.gpus": ("nodes", "pods"),
    "cluster.gpu_allocation": ("nodes", "pods", "namespaces"),
    "inference.deployments": (*_SERVING, "deployments.apps"),
    "inference.pods": (*_SERVING, "pods", "nodes", "namespaces"),
    "inference.health": (*_SERVING, "pods"),
    "platform.routes": ("virtualservices.networking.istio.io",
                        "destinationrules.networking.istio.io", *_SERVING[:1]),
    "platform.route_metrics": ("virtualservices.networking.istio.io",
                               "destinationrules.networking.istio.io", *_SERVING[:1]),
    "platform.ingresses": ("ingresses.networking.k8s.io", "ingressroutes.traefik.io", "services",
                           "deployments.apps"),
    "platform.volumes": ("persistentvolumeclaims", "persistentvolumes",
                         "storageclasses.storage.k8s.io", "pods"),
    "platform.storage_classes": ("storageclasses.storage.k8s.io", "persistentvolumeclaims"),
    "platform.ceph": ("cephclusters.ceph.rook.io",),
    "platform.autoscalers": ("horizontalpodautoscalers.autoscaling",
                             "podautoscalers.autoscaling.internal.knative.dev", *_SERVING[:1]),
    "platform.disruption_budgets": ("poddisruptionbudgets.policy",),
    "platform.evictions": ("pods", "poddisruptionbudgets.policy"),
    "platform.notebooks": ("notebooks.kubeflow.org", "pods", "nodes", "namespaces"),
    "platform.idle_notebooks": ("notebooks.kubeflow.org", "pods", "nodes", "namespaces"),
    "platform.secret_syncs": ("externalsecrets.external-secrets.io", "sealedsecrets.bitnami.com"),
    "gitops.applications": ("applications.argoproj.io", "namespaces"),
    "gitops.managed_objects": ("applications.argoproj.io", "namespaces"),
    "gitops.pipeline_runs": ("pipelineruns.tekton.dev", "taskruns.tekton.dev", "namespaces"),
    "gitops.task_runs": ("taskruns.tekton.dev", "namespaces"),
    # The constraints' own kinds are named by their templates (constraints.gatekeeper.sh).
    "policy.constraints": ("constrainttemplates.templates.gatekeeper.sh",),
    "policy.violations": ("constrainttemplates.templates.gatekeeper.sh", "namespaces"),
    **{f"inference.{a}": _SERVING for a in
       ("scale", "canary", "promote", "rollback", "promote_from_registry")},
}  # fmt: skip
#: The reads that return a `Change`: applying it patches the InferenceService or Model.
ACTIONS = ("scale", "canary", "promote", "rollback", "promote_from_registry")

_CALL = re.compile(r"\bwb\.(\w+)\.(\w+)\s*\(")
_APPLY = re.compile(r"\.apply\(\s*\)")


@dataclass(frozen=True)
class Needs:
    """What one runbook asks of the cluster: resources read, resources patched on apply."""

    runbook: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]  # empty: the runbook never applies a change
    dry_run: bool  # the writes happen only when run with dry_run=False

    def describe(self) -> str:
        text = f"{self.runbook}: reads {', '.join(self.reads) or 'nothing on the cluster'}"
        if self.writes:
            when = " when run with dry_run=False" if self.dry_run else ""
            text += f"; patches {', '.join(self.writes)}{when} (needs --write NAMESPACE)"
        return text


def _code(runbook: Runbook) -> str:
    cells = runbook.notebook.get("cells", [])
    return "\n".join(
        "".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
        for c in cells
        if c.get("cell_type") == "code"
    )


def needs(runbook: Runbook) -> Needs:
    """The resources a runbook reads and patches, from the ``wb.*`` calls in its code."""
    code = _code(runbook)
    calls = {f"{area}.{read}" for area, read in _CALL.findall(code)}
    reads = sorted({r for call in calls for r in READS.get(call, ())})
    acts = any(call.split(".")[1] in ACTIONS for call in calls if call.startswith("inference."))
    writes = _SERVING if acts and _APPLY.search(code) else ()
    dry_run = any(p.name == "dry_run" for p in runbook.parameters)
    return Needs(runbook.name, tuple(reads), tuple(writes), dry_run)


def _split(qualified: str) -> tuple[str, str]:
    plural, _, group = qualified.partition(".")
    return group, plural


def _rules(resources: Iterable[str], verbs: Sequence[str]) -> list[dict[str, Any]]:
    by_group: dict[str, list[str]] = {}
    for qualified in resources:
        group, plural = _split(qualified)
        by_group.setdefault(group, []).append(plural)
    return [
        {"apiGroups": [group], "resources": sorted(set(plurals)), "verbs": list(verbs)}
        for group, plurals in sorted(by_group.items())
    ]


def reader_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules: read every kind HXB Lab reads, except ConfigMaps."""
    return _rules((r.qualified for r in KINDS if r.plural not in _NOT_READ), READ_VERBS)


def manifests(
    namespace: str, service_account: str, write_namespaces: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """ServiceAccount, the read-only ClusterRole and its binding, and for each of
    `write_namespaces` the Role that patches inference deployments there, and its binding."""
    labels = dict(MANAGED)
    subject = {"kind": "ServiceAccount", "name": service_account, "namespace": namespace}
    binding = dns_name(f"{READER_ROLE}-{namespace}-{service_account}", 63)
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": service_account, "namespace": namespace, "labels": labels}},
        {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRole",
         "metadata": {"name": READER_ROLE, "labels": labels}, "rules": reader_rules()},
        {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": binding, "labels": labels},
         "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": READER_ROLE},
         "subjects": [subject]},
    ]  # fmt: skip
    for target in dict.fromkeys(write_namespaces):
        name = dns_name(f"{WRITER_ROLE}-{namespace}-{service_account}", 63)
        objects += [
            {"apiVersion": f"{_RBAC}/v1", "kind": "Role",
             "metadata": {"name": WRITER_ROLE, "namespace": target, "labels": labels},
             "rules": _rules(_SERVING, WRITE_VERBS)},
            {"apiVersion": f"{_RBAC}/v1", "kind": "RoleBinding",
             "metadata": {"name": name, "namespace": target, "labels": labels},
             "roleRef": {"apiGroup": _RBAC, "kind": "Role", "name": WRITER_ROLE},
             "subjects": [subject]},
        ]  # fmt: skip
    return objects


def printed(
    namespace: str,
    service_account: str,
    write_namespaces: Sequence[str] = (),
    profile: str | Profile | None = None,
) -> str:
    """`manifests` as YAML for ``kubectl apply -f -``, after comment lines that say what each
    runbook of the profile's catalog needs."""
    frame = catalog(profile)
    lines = ["# What each runbook asks of the cluster (reads: the ClusterRole, cluster-wide):"]
    for name in frame.loc[frame["problem"].isna(), "name"]:
        lines.append(f"#   {needs(get(name, profile)).describe()}")
    docs = manifests(namespace, service_account, write_namespaces)
    return "\n".join(lines) + "\n" + yaml.safe_dump_all(docs, sort_keys=False)
