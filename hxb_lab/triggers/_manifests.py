"""Kubernetes objects that deploy ``hxb-lab serve`` next to Alertmanager, as plain data.

One replica (it owns the cooldown and rate limits, kept in `STATE_DIR`, an ``emptyDir``
that outlives a restart of the container but not a new pod: mount a PersistentVolumeClaim
there to keep them across pods) of the runbook image running ``hxb-lab serve``, its profile in a ConfigMap with secret *references* only, the bearer
token from a Secret the operator creates (`TOKEN_SECRET`, key ``token``), a Service on
port 80, and a service account allowed to create the Jobs of runbook runs in the runbook
namespace. Nothing here talks to a cluster.
"""

from __future__ import annotations

import json
from typing import Any

from hxb_lab.config import Profile
from hxb_lab.runbooks._manifests import profile_toml
from hxb_lab.triggers._service import ALERTS_PATH

__all__ = ["NAME", "TOKEN_ENV", "TOKEN_SECRET", "alertmanager_receiver", "service_objects"]

NAME = "hxb-lab-alerts"
TOKEN_SECRET = "hxb-lab-alerts"  # noqa: S105 - the name of the Secret, not a secret
TOKEN_ENV = "HXB_LAB_ALERTS_TOKEN"  # noqa: S105 - a variable name
PORT = 8080
STATE_DIR = "/var/lib/hxb-lab"
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "hxb-lab"}


def _alerts_toml(profile: Profile) -> str:
    alerts = profile.alerts
    lines = [
        f"\n[profiles.{json.dumps(profile.name)}.alerts]",
        f'token = {{ env = "{TOKEN_ENV}" }}',
        'run_on = "kubernetes"',
        f"cooldown_s = {alerts.cooldown_s!r}",
        f"window_s = {alerts.window_s!r}",
        f"max_runs = {alerts.max_runs!r}",
        f"notify_format = {json.dumps(alerts.notify_format)}",
    ]
    if alerts.notify_url is not None:
        ref = alerts.notify_url
        key, value = ("env", ref.env) if ref.env else ("file", ref.file)
        lines.append(f"notify_url = {{ {key} = {json.dumps(value)} }}")
    for rule in alerts.rules:
        lines += [
            f"\n[[profiles.{json.dumps(profile.name)}.alerts.rules]]",
            f"name = {json.dumps(rule.name)}",
            f"runbook = {json.dumps(rule.runbook)}",
            "match = { "
            + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in rule.match)
            + " }",
            "parameters = { "
            + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in rule.parameters)
            + " }",
        ]
    return "\n".join(lines) + "\n"


def service_objects(profile: Profile) -> list[dict[str, Any]]:
    """ServiceAccount, Role, RoleBinding, ConfigMap, Deployment and Service of the receiver,
    in the profile's runbook namespace."""
    namespace = profile.runbooks.namespace
    meta = {"name": NAME, "namespace": namespace, "labels": dict(_LABELS)}
    container = {
        "name": "receiver",
        "image": profile.runbooks.image,
        # In its pod: the Service reaches it on the pod's address.
        "command": ["hxb-lab", "serve", "--host", "0.0.0.0", "--port", str(PORT),  # noqa: S104
                    "--state-dir", STATE_DIR],
        "env": [
            {"name": "HXB_LAB_CONFIG", "value": "/etc/hxb-lab/profiles.toml"},
            {"name": TOKEN_ENV, "valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET,
                                                               "key": "token"}}},
        ],
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "volumeMounts": [{"name": "profile", "mountPath": "/etc/hxb-lab", "readOnly": True},
                         {"name": "state", "mountPath": STATE_DIR}],
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
    }  # fmt: skip
    role_rules = [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list"]},
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": role_rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
         "data": {"profiles.toml": profile_toml(profile) + _alerts_toml(profile)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": dict(_LABELS)},
                  "template": {"metadata": {"labels": dict(_LABELS)},
                               "spec": {"serviceAccountName": NAME,
                                        "containers": [container],
                                        "volumes": [{"name": "profile",
                                                     "configMap": {"name": NAME}},
                                                    {"name": "state", "emptyDir": {}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": dict(_LABELS),
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    ]  # fmt: skip


def alertmanager_receiver(profile: Profile) -> dict[str, Any]:
    """The Alertmanager receiver that sends to the deployed service with the token."""
    url = f"http://{NAME}.{profile.runbooks.namespace}.svc{ALERTS_PATH}"
    return {
        "name": "hxb-lab",
        "webhook_configs": [
            {
                "url": url,
                "send_resolved": True,
                "http_config": {
                    "authorization": {
                        "type": "Bearer",
                        "credentials_file": "/etc/alertmanager/secrets/hxb-lab-alerts/token",
                    }
                },
            }
        ],
    }
