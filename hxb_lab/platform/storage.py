"""Storage: the claims pods make, the volumes that answer them, the classes behind them, and
the health of the Ceph cluster (Rook) that backs most of them on-premises.

A claim is a *model cache* when it says so (label ``hxb.io/model-cache``) or when a pod of
an InferenceService or a notebook mounts it: those are the claims whose loss or Pending
state stops serving or a user's work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity_bytes

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.platform._read import Item

__all__ = [
    "CEPH_COLUMNS",
    "CLAIM_COLUMNS",
    "MODEL_CACHE_LABEL",
    "STORAGE_CLASS_COLUMNS",
    "ceph_frame",
    "claims_frame",
    "storage_classes_frame",
]

MODEL_CACHE_LABEL = "hxb.io/model-cache"
_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
_CACHE_USERS = ("serving.kserve.io/inferenceservice", "notebook-name")

CLAIM_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("claim", "str"),
    ("status", "str"),
    ("storage_class", "str"),
    ("provisioner", "str"),
    ("requested_bytes", "int64"),
    ("capacity_bytes", "Int64"),
    ("access_modes", "str"),
    ("volume", "str"),
    ("reclaim_policy", "str"),
    ("pods", "str"),
    ("model_cache", "bool"),
    ("created", _frame.TIMESTAMP),
)

STORAGE_CLASS_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("name", "str"),
    ("provisioner", "str"),
    ("default", "bool"),
    ("reclaim_policy", "str"),
    ("binding_mode", "str"),
    ("expansion", "bool"),
    ("claims", "int64"),
    ("pending", "int64"),
    ("requested_bytes", "int64"),
)

CEPH_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("phase", "str"),
    ("health", "str"),
    ("checks", "str"),
    ("capacity_bytes", "Int64"),
    ("used_bytes", "Int64"),
    ("available_bytes", "Int64"),
    ("used_share", "float64"),
    ("ceph_version", "str"),
    ("last_checked", _frame.TIMESTAMP),
)


def _claim_users(pods: Iterable[Item]) -> dict[tuple[str, str, str], tuple[list[str], bool]]:
    """{(cluster, namespace, claim): (pod names, mounted by a model server or notebook)}."""
    users: dict[tuple[str, str, str], tuple[list[str], bool]] = {}
    for cluster, pod in pods:
        meta = pod.get("metadata") or {}
        ns = str(meta.get("namespace"))
        labels = meta.get("labels") or {}
        caches = any(k in labels for k in _CACHE_USERS)
        for volume in (pod.get("spec") or {}).get("volumes") or ():
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                names, cache = users.setdefault((cluster, ns, claim), ([], False))
                names.append(str(meta.get("name")))
                users[(cluster, ns, claim)] = (names, cache or caches)
    return users


def claims_frame(
    claims: Iterable[Item],
    volumes: Iterable[Item],
    classes: Iterable[Item],
    pods: Iterable[Item],
) -> pd.DataFrame:
    """One row per PersistentVolumeClaim, then one per volume no claim holds (see
    `Platform.volumes`)."""
    pv = {(c, str((v.get("metadata") or {}).get("name"))): v for c, v in volumes}
    provisioners = {
        (c, str((s.get("metadata") or {}).get("name"))): s.get("provisioner") for c, s in classes
    }
    users = _claim_users(pods)
    rows: list[tuple[Any, ...]] = []
    bound: set[tuple[str, str]] = set()
    for cluster, claim in claims:
        meta = claim.get("metadata") or {}
        spec = claim.get("spec") or {}
        status = claim.get("status") or {}
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        volume_name = spec.get("volumeName")
        volume = pv.get((cluster, str(volume_name))) or {}
        if volume_name:
            bound.add((cluster, str(volume_name)))
        klass = spec.get("storageClassName")
        names, mounted_cache = users.get((cluster, ns, name), ([], False))
        labels = meta.get("labels") or {}
        capacity = (status.get("capacity") or {}).get("storage")
        rows.append(
            (
                cluster,
                ns,
                name,
                status.get("phase") or "Pending",
                klass,
                provisioners.get((cluster, str(klass))),
                quantity_bytes(
                    ((spec.get("resources") or {}).get("requests") or {}).get("storage")
                ),
                None if capacity is None else quantity_bytes(capacity),
                ", ".join(status.get("accessModes") or spec.get("accessModes") or ()),
                volume_name,
                (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy"),
                ", ".join(sorted(names)),
                labels.get(MODEL_CACHE_LABEL) == "true" or mounted_cache,
                meta.get("creationTimestamp"),
            )
        )
    for (cluster, name), volume in pv.items():
        if (cluster, name) in bound:
            continue
        spec = volume.get("spec") or {}
        ref = spec.get("claimRef") or {}
        klass = spec.get("storageClassName")
        size = quantity_bytes((spec.get("capacity") or {}).get("storage"))
        rows.append(
            (cluster, ref.get("namespace"), ref.get("name"),
             f"Volume{(volume.get('status') or {}).get('phase') or ''}", klass,
             provisioners.get((cluster, str(klass))), 0, size,
             ", ".join(spec.get("accessModes") or ()), name,
             spec.get("persistentVolumeReclaimPolicy"), "", False,
             (volume.get("metadata") or {}).get("creationTimestamp"))
        )  # fmt: skip
    return _frame.build(CLAIM_COLUMNS, rows)


def storage_classes_frame(classes: Iterable[Item], claims: pd.DataFrame) -> pd.DataFrame:
    """One row per StorageClass with what its claims ask (see `Platform.storage_classes`)."""
    counts: Mapping[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in claims.itertuples():
        if isinstance(row.storage_class, str) and not str(row.status).startswith("Volume"):
            c = counts[(row.cluster, row.storage_class)]
            c[0] += 1
            c[1] += row.status == "Pending"
            c[2] += int(row.requested_bytes)
    rows: list[tuple[Any, ...]] = []
    for cluster, sc in classes:
        meta = sc.get("metadata") or {}
        name = str(meta.get("name"))
        n, pending, requested = counts.get((cluster, name), (0, 0, 0))
        rows.append(
            (cluster, name, sc.get("provisioner"),
             (meta.get("annotations") or {}).get(_DEFAULT_CLASS) == "true",
             sc.get("reclaimPolicy") or "Delete", sc.get("volumeBindingMode") or "Immediate",
             bool(sc.get("allowVolumeExpansion")), n, pending, requested)
        )  # fmt: skip
    return _frame.build(STORAGE_CLASS_COLUMNS, rows)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def ceph_frame(clusters: Iterable[Item]) -> pd.DataFrame:
    """One row per CephCluster (see `Platform.ceph`)."""
    rows: list[tuple[Any, ...]] = []
    for cluster, ceph in clusters:
        meta = ceph.get("metadata") or {}
        status = ceph.get("status") or {}
        health = status.get("ceph") or {}
        capacity = health.get("capacity") or {}
        total, used = _int(capacity.get("bytesTotal")), _int(capacity.get("bytesUsed"))
        details = health.get("details") or {}
        checks = "; ".join(
            f"{name} ({(d or {}).get('severity', '?')}): {(d or {}).get('message', '')}"
            for name, d in sorted(details.items())
        )
        versions = ((status.get("version") or {}).get("version")) or (
            ", ".join(sorted((health.get("versions") or {}).get("overall") or {}))
        )
        rows.append(
            (cluster, meta.get("namespace"), meta.get("name"), status.get("phase"),
             health.get("health"), checks, total, used, _int(capacity.get("bytesAvailable")),
             used / total if total and used is not None else None, versions or None,
             health.get("lastChecked"))
        )  # fmt: skip
    return _frame.build(CEPH_COLUMNS, rows)
