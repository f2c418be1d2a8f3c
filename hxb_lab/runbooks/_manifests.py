"""Kubernetes objects for running runbooks on the platform, as plain data.

A run on Kubernetes is a Job whose pod runs ``hxb-lab runbook exec NAME`` in the profile's
runbook image, as a dedicated service account. Parameters travel as a JSON annotation (read
by the pod through the downward API), secret parameters as a Secret, a runbook that is not
in the image as a ConfigMap, and the profile (without secrets: only references to them) as
a ConfigMap. A schedule is a CronJob with the same pod. Nothing here talks to a cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any

from hxb_lab.config import DEMO, Profile, SecretRef, builtin_runbooks_dir
from hxb_lab.errors import RunbookError
from hxb_lab.runbooks import _parameters as P
from hxb_lab.runbooks import _trigger as T

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook

__all__ = [
    "ANNOTATION_PARAMETERS",
    "LABEL_RUNBOOK",
    "MAX_NAME",
    "MAX_NOTEBOOK_BYTES",
    "SCHEDULE_ENV",
    "cron_job",
    "dns_name",
    "job",
]

MAX_NAME = 52  # a CronJob's name plus the 11 characters of its Jobs' suffix stays <= 63
MAX_NOTEBOOK_BYTES = 900 * 1024  # a ConfigMap holds 1 MiB; leave room for the rest
MANAGED = {"app.kubernetes.io/managed-by": "hxb-lab", "app.kubernetes.io/name": "hxb-lab-runbook"}
LABEL_RUNBOOK = "hxb.io/runbook"
LABEL_RUN_ID = "hxb.io/run-id"
ANNOTATION_PARAMETERS = "hxb.io/parameters"
ANNOTATION_PROFILE = "hxb.io/profile"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by Kubernetes
SCHEDULE_ENV = "HXB_LAB_SCHEDULE"  # in a CronJob's pods: its name
#: The Secret that holds what the profile's { env = ... } references name (made by an admin).
CREDENTIALS_SECRET = "hxb-lab-credentials"  # noqa: S105 - a name, not a secret
HOME = "/var/lib/hxb-lab"
NOTEBOOK_DIR = "/etc/hxb-lab/runbook"
PROFILE_DIR = "/etc/hxb-lab/profile"
PROFILE_FILE = "profiles.toml"


def dns_name(text: str, max_length: int = MAX_NAME) -> str:
    """A DNS-1123 label made from `text`: lower case, ``a-z0-9-``, at most `max_length`
    characters; a shortened name keeps a hash of the original, so names stay distinct."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-") or "runbook"
    if len(name) > max_length:
        digest = hashlib.sha256(text.encode()).hexdigest()[:5]
        name = name[: max_length - 6].rstrip("-") + "-" + digest
    return name


def in_image(runbook: Runbook) -> bool:
    """Whether the runbook ships with the package, and so with the runbook image."""
    try:
        return runbook.path.resolve().parent == builtin_runbooks_dir().resolve()
    except OSError:
        return False


def _labels(runbook: Runbook, run_id: str | None = None) -> dict[str, str]:
    labels = {**MANAGED, LABEL_RUNBOOK: dns_name(runbook.name, 63)}
    if run_id:
        labels[LABEL_RUN_ID] = run_id
    return labels


def _meta(name: str, namespace: str, labels: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels), **extra}


# ------------------------------------------------------------------------ the profile


def _toml_value(value: Any) -> str:
    if isinstance(value, SecretRef):
        key, ref = ("env", value.env) if value.env else ("file", value.file)
        return f"{{ {key} = {json.dumps(ref)} }}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if is_dataclass(value) and not isinstance(value, type):
        items = [
            f"{f.name} = {_toml_value(getattr(value, f.name))}"
            for f in fields(value)
            if getattr(value, f.name) is not None
        ]
        return "{ " + ", ".join(items) + " }"
    return json.dumps(str(value))  # a TOML basic string


def profile_toml(profile: Profile) -> str:
    """The profile as a profiles file for the pod: secret *references* only, and no
    kubeconfig (in the pod, the cluster is reached with the service account)."""
    lines = [f"default = {json.dumps(profile.name)}", "", f"[profiles.{json.dumps(profile.name)}]"]
    for f in fields(profile):
        if f.name in ("name", "source", "alerts"):  # a runbook pod receives no alerts
            continue
        value = getattr(profile, f.name)
        if value is None:
            continue
        if f.name == "kube":
            value = {"namespace": value.namespace, "workspace_label": value.workspace_label}
            lines.append(
                "kube = { " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
            )
            continue
        lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- pods


def _from_field(name: str, path: str) -> dict[str, Any]:
    """An environment variable read by the downward API from the pod's own metadata."""
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _container(
    runbook: Runbook,
    profile: Profile,
    secret_name: str | None,
    notebook: bool,
    run_id: str | None,
    trigger: bool = False,
) -> dict[str, Any]:
    command = ["hxb-lab", "runbook", "exec", runbook.name]
    if notebook:
        command += ["--notebook", f"{NOTEBOOK_DIR}/{runbook.name}.ipynb"]
    env: list[dict[str, Any]] = [
        {"name": "HXB_LAB_PROFILE", "value": profile.name},
        {"name": "HXB_LAB_HOME", "value": HOME},
        {"name": "HOME", "value": HOME},
        _from_field("HXB_LAB_PARAMETERS", f"metadata.annotations['{ANNOTATION_PARAMETERS}']"),
        _from_field("HXB_LAB_K8S_JOB", f"metadata.labels['{JOB_NAME_LABEL}']"),
    ]
    if run_id:
        env.append({"name": "HXB_LAB_RUN_ID", "value": run_id})
    if trigger:
        env.append(_from_field(T.ENV, f"metadata.annotations['{T.ANNOTATION_TRIGGER}']"))
    if profile.name != DEMO:
        env.append({"name": "HXB_LAB_CONFIG", "value": f"{PROFILE_DIR}/{PROFILE_FILE}"})
    for p in runbook.parameters:
        if p.secret and secret_name:
            ref = {"name": secret_name, "key": p.name, "optional": True}
            env.append({"name": P.secret_env_var(p.name), "valueFrom": {"secretKeyRef": ref}})
    mounts: list[dict[str, Any]] = [{"name": "home", "mountPath": HOME}]
    if notebook:
        mounts.append({"name": "notebook", "mountPath": NOTEBOOK_DIR, "readOnly": True})
    if profile.name != DEMO:
        mounts.append({"name": "profile", "mountPath": PROFILE_DIR, "readOnly": True})
    return {
        "name": "runbook",
        "image": profile.runbooks.image,
        "command": command,
        "env": env,
        "envFrom": [{"secretRef": {"name": CREDENTIALS_SECRET, "optional": True}}],
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "4Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _pod_template(
    runbook: Runbook,
    profile: Profile,
    parameters: str,
    names: Mapping[str, str | None],
    run_id: str | None,
    trigger: str | None = None,
) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "home", "emptyDir": {}}]
    if names["notebook"]:
        volumes.append({"name": "notebook", "configMap": {"name": names["notebook"]}})
    if profile.name != DEMO:
        volumes.append({"name": "profile", "configMap": {"name": names["profile"]}})
    container = _container(
        runbook, profile, names["secret"], bool(names["notebook"]), run_id, trigger is not None
    )
    annotations = {ANNOTATION_PARAMETERS: parameters, ANNOTATION_PROFILE: profile.name}
    if trigger is not None:
        annotations[T.ANNOTATION_TRIGGER] = trigger
    return {
        "metadata": {"labels": _labels(runbook, run_id), "annotations": annotations},
        "spec": {
            "serviceAccountName": profile.runbooks.service_account,
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": volumes,
        },
    }


def _job_spec(template: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "backoffLimit": 0,  # a runbook may act on the platform: never run it twice by itself
        "ttlSecondsAfterFinished": 7 * 24 * 3600,
        "template": template,
    }
    if timeout_s:
        spec["activeDeadlineSeconds"] = int(timeout_s)
    return spec


def _side_objects(
    runbook: Runbook, profile: Profile, namespace: str, values: Mapping[str, Any], base: str
) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
    """The ConfigMaps and Secret a run needs, and their names."""
    labels = _labels(runbook)
    objects: list[dict[str, Any]] = []
    names: dict[str, str | None] = {"notebook": None, "secret": None, "profile": None}
    if not in_image(runbook):
        names["notebook"] = f"{base}-notebook"
        objects.append(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": _meta(f"{base}-notebook", namespace, labels),
             "data": {f"{runbook.name}.ipynb": notebook_text(runbook)}}
        )  # fmt: skip
    secrets = {
        p.name: str(values[p.name]) for p in runbook.parameters if p.secret and values.get(p.name)
    }
    if secrets:
        names["secret"] = f"{base}-secrets"
        objects.append(
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": _meta(f"{base}-secrets", namespace, labels), "stringData": secrets}
        )  # fmt: skip
    if profile.name != DEMO:
        names["profile"] = dns_name(f"hxb-lab-profile-{profile.name}", 63)
        objects.append(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": _meta(names["profile"] or "", namespace, MANAGED),
             "data": {PROFILE_FILE: profile_toml(profile)}}
        )  # fmt: skip
    return objects, names


def notebook_text(runbook: Runbook) -> str:
    """The runbook without outputs, as it travels in a ConfigMap (900 KiB at most)."""
    nb = json.loads(json.dumps(runbook.notebook))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    text = json.dumps(nb, indent=1)
    size = len(text.encode())
    if size > MAX_NOTEBOOK_BYTES:
        raise RunbookError(
            f"runbook {runbook.name!r} is {size / 1024:.0f} KiB without its outputs; a "
            f"ConfigMap carries at most {MAX_NOTEBOOK_BYTES // 1024} KiB",
            hint="move large data out of the notebook, or add the runbook to the runbook image",
        )
    return text


def parameters_annotation(runbook: Runbook, values: Mapping[str, Any]) -> str:
    """The given parameters as JSON, without secrets (they travel in a Secret)."""
    public = {k: v for k, v in values.items() if not runbook.parameter(k).secret}
    return json.dumps(public, sort_keys=True, default=str)


def job(
    runbook: Runbook,
    profile: Profile,
    values: Mapping[str, Any],
    *,
    name: str,
    run_id: str,
    timeout_s: float | None = None,
    trigger: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The objects of one run: ConfigMaps and Secret it needs, then the Job (`trigger`:
    the alert that started it, annotated on the Job and its pod, see `_trigger`)."""
    namespace = profile.runbooks.namespace
    objects, names = _side_objects(runbook, profile, namespace, values, name)
    parameters = parameters_annotation(runbook, values)
    alert = None if trigger is None else T.annotation(trigger)
    template = _pod_template(runbook, profile, parameters, names, run_id, alert)
    annotations = {ANNOTATION_PARAMETERS: parameters, ANNOTATION_PROFILE: profile.name}
    if alert is not None:
        annotations[T.ANNOTATION_TRIGGER] = alert
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta(name, namespace, _labels(runbook, run_id), annotations=annotations),
            "spec": _job_spec(template, timeout_s),
        }
    )
    return objects


def cron_job(
    runbook: Runbook,
    profile: Profile,
    values: Mapping[str, Any],
    *,
    name: str,
    cron: str,
    suspend: bool = False,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """The objects of a schedule: ConfigMaps and Secret its runs need, then the CronJob."""
    namespace = profile.runbooks.namespace
    objects, names = _side_objects(runbook, profile, namespace, values, name)
    parameters = parameters_annotation(runbook, values)
    template = _pod_template(runbook, profile, parameters, names, None)
    for container in template["spec"]["containers"]:  # its runs compare with the last one
        container["env"].append({"name": SCHEDULE_ENV, "value": name})
    annotations = {ANNOTATION_PARAMETERS: parameters, ANNOTATION_PROFILE: profile.name}
    labels = _labels(runbook)
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _meta(name, namespace, labels, annotations=annotations),
            "spec": {
                "schedule": cron,
                "suspend": suspend,
                "concurrencyPolicy": "Forbid",  # a runbook does not overlap itself
                "startingDeadlineSeconds": 300,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": _job_spec(template, timeout_s),
                },
            },
        }
    )
    return objects
