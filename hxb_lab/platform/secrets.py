"""Secrets operators: whether the Secrets that External Secrets Operator and Sealed Secrets
make are in sync with their source. Never their values: only the objects' references and
status are read (an ExternalSecret holds no value; a SealedSecret's ``encryptedData`` is
left where it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["SECRET_SYNC_COLUMNS", "secret_syncs_frame"]

SECRET_SYNC_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("kind", "str"),
    ("name", "str"),
    ("target_secret", "str"),
    ("store", "str"),
    ("synced", "boolean"),
    ("reason", "str"),
    ("message", "str"),
    ("refresh_interval", "str"),
    ("last_sync", _frame.TIMESTAMP),
    ("keys", "int64"),
    ("created", _frame.TIMESTAMP),
)


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    wanted = "Ready" if kind == "ExternalSecret" else "Synced"
    return next((c for c in status.get("conditions") or () if c.get("type") == wanted), {})


def _row(cluster: str, kind: str, obj: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    cond = _condition(status, kind)
    synced = None if not cond else cond.get("status") == "True"
    if kind == "ExternalSecret":
        store = spec.get("secretStoreRef") or {}
        target = (spec.get("target") or {}).get("name") or meta.get("name")
        keys = len(spec.get("data") or ()) + len(spec.get("dataFrom") or ())
        where = f"{store.get('kind', 'SecretStore')}/{store.get('name')}" if store else None
        refresh, last = spec.get("refreshInterval"), status.get("refreshTime")
    else:
        template = (spec.get("template") or {}).get("metadata") or {}
        target = template.get("name") or meta.get("name")
        keys = len(spec.get("encryptedData") or {})  # counted, never read
        where, refresh = "sealed-secrets controller", None
        last = cond.get("lastUpdateTime") or cond.get("lastTransitionTime")
    return (
        cluster, meta.get("namespace"), kind, meta.get("name"), target, where, synced,
        cond.get("reason"), cond.get("message"), refresh, last, keys,
        meta.get("creationTimestamp"),
    )  # fmt: skip


def secret_syncs_frame(items: Iterable[tuple[str, str, dict[str, Any]]]) -> pd.DataFrame:
    """`items` are (cluster, kind, object); see `Platform.secret_syncs`."""
    return _frame.build(SECRET_SYNC_COLUMNS, [_row(c, k, o) for c, k, o in items])
