"""``hxb-lab record``: the cluster-history recorder (or, with ``--manifests``, the Kubernetes
objects that run it in the cluster it records)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from hxb_lab.cluster.record import RECORDED
from hxb_lab.config import Profile, load_profile
from hxb_lab.runbooks._manifests import profile_toml
from hxb_lab.workbench import Workbench

__all__ = ["record", "recorder_objects"]

NAME = "hxb-lab-recorder"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "hxb-lab"}


def recorder_objects(profile: Profile) -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole (get, list, watch of the recorded kinds, and no Secrets),
    ClusterRoleBinding, ConfigMap (the profile, secret references only) and a one-replica
    Deployment running ``hxb-lab record``, in the profile's runbook namespace."""
    namespace = profile.runbooks.namespace
    meta = {"name": NAME, "labels": dict(_LABELS)}
    here = {**meta, "namespace": namespace}
    groups: dict[str, list[str]] = {}
    for res in RECORDED:
        groups.setdefault(res.group, []).append(res.plural)
    rules = [
        {"apiGroups": [group], "resources": sorted(plurals), "verbs": ["get", "list", "watch"]}
        for group, plurals in groups.items()
    ]
    container = {
        "name": "recorder",
        "image": profile.runbooks.image,
        "command": ["hxb-lab", "record"],
        "env": [{"name": "HXB_LAB_CONFIG", "value": "/etc/hxb-lab/profiles.toml"}],
        "volumeMounts": [{"name": "profile", "mountPath": "/etc/hxb-lab", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }
    binding_subject = {"kind": "ServiceAccount", "name": NAME, "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": here},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
         "subjects": [binding_subject]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": here,
         "data": {"profiles.toml": profile_toml(profile)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": here,
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": dict(_LABELS)},
                  "template": {"metadata": {"labels": dict(_LABELS)},
                               "spec": {"serviceAccountName": NAME,
                                        "containers": [container],
                                        "volumes": [{"name": "profile",
                                                     "configMap": {"name": NAME}}]}}}},
    ]  # fmt: skip


def record(
    profile: Annotated[str | None, typer.Option(help="Profile (default: the active one)")] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KIND", help="Kind to record (repeatable; default: all HXB Lab reads)"
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--for", metavar="SECONDS", min=0.1, help="Stop after this many seconds"),
    ] = None,
    manifests: Annotated[
        bool,
        typer.Option("--manifests", help="Print the Kubernetes objects that run it, and stop"),
    ] = False,
) -> None:
    """Record every change of the profile's clusters into its telemetry store, for
    wb.cluster.history() and wb.cluster.at(); resumes where the last run stopped."""
    chosen = load_profile(profile)
    if manifests:
        import yaml

        sys.stdout.write(yaml.safe_dump_all(recorder_objects(chosen), sort_keys=False))
        return
    with Workbench(chosen) as wb:
        recorder = wb.cluster.recorder(
            kind, progress=lambda m: typer.echo(f"hxb-lab: {m}", err=True)
        )
        typer.echo(f"hxb-lab: recording {recorder.store!r} (Ctrl-C stops)", err=True)
        try:
            done = recorder.run(duration)
        except KeyboardInterrupt:
            typer.echo("hxb-lab: stopped", err=True)
            return
    typer.echo(done.line())
