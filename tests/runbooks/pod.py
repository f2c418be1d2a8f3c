"""Run a Job's pod here, as a kubelet would: the test API server has no kubelet.

From the Job read back from the API server: the container's command, its environment
(plain values, the downward API from the pod's labels and annotations, Secret keys,
``envFrom`` Secrets) and its volumes (ConfigMaps and Secrets written out as files,
emptyDirs as empty directories). Mount paths are mapped to directories under `root`, in
the command and in environment values alike; ``hxb-lab`` is this environment's, the
runbook image being this checkout.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.controlplane import ControlPlane, ControlPlaneError

_FIELD = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def _get(plane: ControlPlane, kind: str, namespace: str, name: str, optional: bool) -> Any:
    try:
        return plane.request("GET", f"/api/v1/namespaces/{namespace}/{kind}/{name}")
    except ControlPlaneError as exc:
        if exc.status == 404 and optional:
            return None
        raise


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def pod_of_job(job: dict[str, Any]) -> dict[str, Any]:
    """The pod the Job controller would create: the template plus the Job's pod labels."""
    template = job["spec"]["template"]
    labels = dict(template["metadata"].get("labels") or {})
    labels.setdefault("batch.kubernetes.io/job-name", job["metadata"]["name"])
    labels.setdefault("job-name", job["metadata"]["name"])
    return {
        "metadata": {
            **template["metadata"],
            "labels": labels,
            "namespace": job["metadata"]["namespace"],
        },
        "spec": template["spec"],
    }


def run_pod(
    plane: ControlPlane, pod: dict[str, Any], root: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the pod's single container to completion; returns the finished process."""
    namespace = pod["metadata"]["namespace"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    volumes: dict[str, Path] = {}
    for volume in spec.get("volumes") or []:
        target = root / "volumes" / volume["name"]
        target.mkdir(parents=True)
        if "configMap" in volume:
            cm = _get(plane, "configmaps", namespace, volume["configMap"]["name"], False)
            for key, value in (cm.get("data") or {}).items():
                (target / key).write_text(value)
        elif "secret" in volume:
            secret = _get(plane, "secrets", namespace, volume["secret"]["secretName"], False)
            for key, value in _secret_data(secret).items():
                (target / key).write_text(value)
        volumes[volume["name"]] = target
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts") or []}

    def local(value: str) -> str:
        for mount_path, directory in sorted(mounts.items(), key=lambda i: -len(i[0])):
            if value == mount_path or value.startswith(mount_path + "/"):
                return str(directory) + value[len(mount_path) :]
        return value

    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for source in container.get("envFrom") or []:
        ref = source["secretRef"]
        secret = _get(plane, "secrets", namespace, ref["name"], ref.get("optional", False))
        if secret is not None:
            env.update(_secret_data(secret))
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = local(item["value"])
            continue
        source = item["valueFrom"]
        if "fieldRef" in source:
            match = _FIELD.match(source["fieldRef"]["fieldPath"])
            assert match, f"unsupported fieldRef {source['fieldRef']}"
            section, key = match.groups()
            value = (pod["metadata"].get(section) or {}).get(key)
            if value is not None:
                env[item["name"]] = value
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = _get(plane, "secrets", namespace, ref["name"], ref.get("optional", False))
            if secret is not None and ref["key"] in _secret_data(secret):
                env[item["name"]] = _secret_data(secret)[ref["key"]]
        else:
            raise AssertionError(f"unsupported env source {source}")
    command = [local(part) for part in container["command"] + container.get("args", [])]
    if command[0] == "hxb-lab":
        command[0] = str(Path(sys.executable).parent / "hxb-lab")
    return subprocess.run(
        command, env=env, cwd=root, capture_output=True, text=True, timeout=timeout
    )
