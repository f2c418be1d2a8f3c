"""The MLflow of a profile, tracking and model registry, behind one interface.

- `RestStore` for an ``http(s)://`` tracking server: its REST API, runs and registry, over
  one HTTP client (the shared `hxb_lab.clients._http` seam), without ``import mlflow``;
- `LibraryStore` for every other URI (the demo's SQLite store, ``file:``, Databricks, ...):
  ``mlflow.MlflowClient``, imported when the store is opened;
- `SqliteRunWriter`: a run's recording in a SQLite store whose schema it knows, with
  ``sqlite3`` (`_writer` records what that saves);
- `_template`: a new SQLite store is a copy of a freshly migrated empty store.

All return the plain dicts described in `_protocol`.
"""

from __future__ import annotations

import os
from typing import Any

from hxb_lab.clients.mlflow._library import LibraryStore
from hxb_lab.clients.mlflow._protocol import (
    MlflowStore,
    Registry,
    TrackingStore,
    is_remote,
    unavailable,
    versions_filter,
)
from hxb_lab.clients.mlflow._rest import RestStore
from hxb_lab.clients.mlflow._writer import SCHEMA_REVISIONS, SqliteRunWriter, open_run_writer
from hxb_lab.config import Profile

__all__ = [
    "SCHEMA_REVISIONS",
    "LibraryStore",
    "MlflowStore",
    "Registry",
    "RestStore",
    "SqliteRunWriter",
    "TrackingStore",
    "light_recording",
    "open_mlflow",
    "open_recording_store",
    "open_registry",
    "open_run_writer",
    "open_store",
    "unavailable",
    "versions_filter",
]


def _token(profile: Profile) -> str | None:
    config = profile.mlflow_or_default()
    return config.token.resolve() if config.token is not None else None


def _library(profile: Profile) -> LibraryStore:
    config = profile.mlflow_or_default()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # seconds, not minutes
    token = _token(profile)
    if token:  # the MLflow client reads its bearer token from the environment only
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    return LibraryStore(config.tracking_uri, config.registry_uri)


def open_store(profile: Profile) -> MlflowStore:
    """The profile's MLflow: REST for an ``http(s)://`` tracking server, else the library."""
    uri = profile.mlflow_or_default().tracking_uri
    return RestStore(uri, token=_token(profile)) if is_remote(uri) else _library(profile)


def open_registry(profile: Profile) -> Registry:
    """The profile's model registry (``mlflow.registry_uri``, else the tracking server's),
    chosen as `open_store` chooses; a store that cannot be opened is a
    `BackendUnavailableError`."""
    config = profile.mlflow_or_default()
    uri = config.registry_uri or config.tracking_uri
    if is_remote(uri):
        return RestStore(uri, token=_token(profile))
    try:
        return _library(profile)
    except Exception as exc:
        raise unavailable(profile, exc) from None


def _writer(profile: Profile) -> SqliteRunWriter | None:
    """A `SqliteRunWriter` for the profile's store, when its schema is one the writer knows
    and the profile has no token (one is passed to mlflow only)."""
    config = profile.mlflow_or_default()
    if config.token is not None:
        return None
    return open_run_writer(config.tracking_uri, lambda: _library(profile))


def open_recording_store(profile: Profile) -> TrackingStore:
    """The store a run records itself in: as `open_store`, except that a SQLite store whose
    schema `SqliteRunWriter` knows is written with ``sqlite3``, without importing mlflow."""
    return _writer(profile) or open_store(profile)


def light_recording(profile: Profile) -> bool:
    """Whether recording a run costs milliseconds (REST, or `SqliteRunWriter`) rather than
    an ``import mlflow``."""
    return is_remote(profile.mlflow_or_default().tracking_uri) or _writer(profile) is not None


def open_mlflow(profile: Profile) -> Any:
    """An ``mlflow.MlflowClient`` for the profile (the demo seeder registers models with it)."""
    return _library(profile).client
