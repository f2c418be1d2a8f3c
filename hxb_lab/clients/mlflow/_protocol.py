"""What the rest of HXB Lab asks of MLflow: the tracking calls a runbook run makes, the
registry reads of `wb.models`, the plain dicts they return, and the errors they raise.

Every implementation (REST, the mlflow library, the SQLite run writer) returns the same
dicts:

- an experiment: ``{experiment_id, name, lifecycle_stage, artifact_location}``;
- a run: ``{info: {run_id, status, start_time, end_time, artifact_uri},
  data: {params, tags, metrics}}`` with name -> value mappings;
- a registered model: ``{name, description, created_ms, updated_ms,
  aliases: {alias: version}, tags}``;
- a model version: ``{name, version (int), stage, status, run_id, source, description,
  created_ms, updated_ms, tags}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from hxb_lab._redact import redact, redact_url
from hxb_lab.config import Profile
from hxb_lab.errors import BackendUnavailableError, NotFoundError, ParameterError

__all__ = [
    "PAGE",
    "MlflowStore",
    "Obj",
    "Registry",
    "TrackingStore",
    "is_remote",
    "not_in_registry",
    "unavailable",
    "versions_filter",
]

Obj = dict[str, Any]
PAGE = 1000  # results per page of a search (MLflow's largest for most searches)


class TrackingStore(Protocol):
    """What runbook recording and history need from MLflow tracking."""

    @property
    def uri(self) -> str: ...

    def close(self) -> None: ...

    def get_experiment_by_name(self, name: str) -> Obj | None: ...

    def create_experiment(self, name: str, artifact_location: str | None) -> str: ...

    def restore_experiment(self, experiment_id: str) -> None: ...

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> Obj: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None: ...

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None: ...

    def search_experiments(self, filter_string: str) -> list[Obj]: ...

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[Obj]: ...


class Registry(Protocol):
    """What `wb.models` reads from the MLflow model registry."""

    @property
    def uri(self) -> str: ...

    def close(self) -> None: ...

    def registered_models(self) -> list[Obj]: ...

    def registered_model(self, name: str) -> Obj: ...

    def versions(self, name: str) -> list[Obj]: ...

    def all_versions(self) -> list[Obj]: ...

    def version(self, name: str, version: int) -> Obj: ...

    def version_by_alias(self, name: str, alias: str) -> Obj: ...

    def download_uri(self, name: str, version: int) -> str: ...


class MlflowStore(TrackingStore, Registry, Protocol):
    """One MLflow (a tracking server, or a store the mlflow library opens): both halves."""


def is_remote(uri: str) -> bool:
    """Whether `uri` names a tracking server (spoken to over REST)."""
    return urlsplit(uri).scheme in ("http", "https")


def versions_filter(name: str) -> str:
    """The filter string selecting one model's versions.

    MLflow's filter language has no bound parameters, so the name is quoted with the
    quote character it does not contain; a name containing both is refused.
    """
    if "'" not in name:
        return f"name='{name}'"
    if '"' not in name:
        return f'name="{name}"'
    raise ParameterError([f"model: {name!r} contains both quote characters"])


def not_in_registry(what: str, uri: str, message: str) -> NotFoundError:
    """The error for a model, version or alias the registry does not have."""
    return NotFoundError(
        redact(f"{what} is not in the model registry at {redact_url(uri)}: {message}"),
        hint="see wb.models.registered() and wb.models.versions(name)",
    )


def unavailable(profile: Profile, exc: BaseException) -> BackendUnavailableError:
    """The error for a profile's MLflow that cannot be used; passwords are masked."""
    if isinstance(exc, BackendUnavailableError):
        return exc
    uri = profile.mlflow_or_default().tracking_uri
    shown = redact_url(uri)
    hint = (
        "check that the tracking server is up and mlflow.tracking_uri in the profile points at it"
        if is_remote(uri)
        else "check that the directory is writable, or set mlflow.tracking_uri in the profile"
    )
    detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    return BackendUnavailableError(
        redact(f"MLflow at {shown} (profile {profile.name!r}) cannot be used: {detail[:300]}"),
        server=shown,
        hint=hint,
    )
