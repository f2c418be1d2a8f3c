"""Registry dicts (see `hxb_lab.clients.mlflow`) as frames, with the deployments serving each
version."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hxb_lab import frames
from hxb_lab._redact import redact_url

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REGISTERED_COLUMNS", "VERSION_COLUMNS", "registered_frame", "servers", "versions_frame"]

Obj = dict[str, Any]

REGISTERED_COLUMNS: frames.Schema = (
    ("name", "str"),
    ("description", "str"),
    ("versions", "int64"),
    ("latest_version", "Int64"),
    ("aliases", "str"),
    ("tags", "str"),
    ("served_by", "str"),
    ("created", frames.TIMESTAMP),
    ("updated", frames.TIMESTAMP),
)
VERSION_COLUMNS: frames.Schema = (
    ("name", "str"),
    ("version", "int64"),
    ("aliases", "str"),
    ("stage", "str"),
    ("status", "str"),
    ("run_id", "str"),
    ("source", "str"),
    ("download_uri", "str"),
    ("description", "str"),
    ("served_by", "str"),
    ("created", frames.TIMESTAMP),
    ("updated", frames.TIMESTAMP),
)

#: (model, version) -> [("namespace/deployment", traffic % or None for all of it), ...]
Servers = Mapping[tuple[str, int], Sequence[tuple[str, int | None]]]


def _when(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def _pairs(mapping: Mapping[str, Any]) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in sorted(mapping.items())) or None


def servers(deployments: pd.DataFrame) -> dict[tuple[str, int], list[tuple[str, int | None]]]:
    """Which deployments serve each (model, version), and with what share of traffic.

    During a canary the latest revision serves `model_version` with `canary_percent` of
    the traffic and the previous one `previous_model_version` with the rest.
    """
    import pandas as pd

    found: dict[tuple[str, int], list[tuple[str, int | None]]] = defaultdict(list)
    for row in deployments.itertuples(index=False):
        if pd.isna(row.model_name):
            continue
        where = f"{row.namespace}/{row.name}"
        canary = None if pd.isna(row.canary_percent) else int(row.canary_percent)
        if not pd.isna(row.model_version):
            found[(str(row.model_name), int(row.model_version))].append((where, canary))
        if canary is not None and not pd.isna(row.previous_model_version):
            key = (str(row.model_name), int(row.previous_model_version))
            found[key].append((where, 100 - canary))
    return found


def _served(servers: Servers, name: str, version: int) -> str | None:
    shown = [
        f"{where} ({share}%)" if share is not None else where
        for where, share in servers.get((name, version), ())
    ]
    return ", ".join(shown) or None


def registered_frame(
    models: Iterable[Obj], versions: Iterable[Obj], servers: Servers
) -> pd.DataFrame:
    """One row per registered model, by name."""
    by_model: dict[str, list[int]] = defaultdict(list)
    for v in versions:
        by_model[v["name"]].append(v["version"])
    rows = []
    for m in sorted(models, key=lambda m: m["name"]):
        numbers = sorted(by_model.get(m["name"], ()))
        served = dict.fromkeys(w for n in numbers for w, _ in servers.get((m["name"], n), ()))
        rows.append(
            (
                m["name"],
                m["description"],
                len(numbers),
                numbers[-1] if numbers else None,
                _pairs(m["aliases"]),
                _pairs(m["tags"]),
                ", ".join(served) or None,
                _when(m["created_ms"]),
                _when(m["updated_ms"]),
            )
        )
    return frames.build(REGISTERED_COLUMNS, rows)


def versions_frame(
    versions: Iterable[Obj],
    aliases: Mapping[str, int],
    download_uris: Mapping[int, str],
    servers: Servers,
) -> pd.DataFrame:
    """One row per version of one model, newest first."""
    by_version: dict[int, list[str]] = defaultdict(list)
    for alias, number in aliases.items():
        by_version[number].append(alias)
    rows = []
    for v in sorted(versions, key=lambda v: -v["version"]):
        number = v["version"]
        uri = download_uris.get(number)
        rows.append(
            (
                v["name"],
                number,
                ", ".join(sorted(by_version.get(number, ()))) or None,
                v["stage"],
                v["status"],
                v["run_id"],
                redact_url(v["source"]) if v["source"] else None,
                redact_url(uri) if uri else None,
                v["description"],
                _served(servers, v["name"], number),
                _when(v["created_ms"]),
                _when(v["updated_ms"]),
            )
        )
    return frames.build(VERSION_COLUMNS, rows)
