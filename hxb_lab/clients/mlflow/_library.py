"""``mlflow.MlflowClient`` behind the same interface, for every store that is not a tracking
server (the demo's SQLite store, a ``file:`` store, a Databricks workspace, ...).

mlflow is imported when a store is opened, never by importing this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hxb_lab._redact import redact, redact_url
from hxb_lab.clients.mlflow._protocol import PAGE, Obj, not_in_registry, versions_filter
from hxb_lab.clients.mlflow._sqlite import store_path
from hxb_lab.clients.mlflow._template import from_template, keep_as_template
from hxb_lab.errors import BackendUnavailableError, QueryError

__all__ = ["LibraryStore"]


class LibraryStore:
    """Tracking and registry through ``mlflow.MlflowClient``.

    A new SQLite store is a copy of the empty-store template; without one, mlflow creates
    (migrates) it here, and that fresh store becomes the template.
    """

    def __init__(self, uri: str, registry_uri: str | None = None) -> None:
        path = store_path(uri)
        new = path is not None and not path.exists() and not from_template(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # creating a SQLite store logs at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        self.uri = uri
        self.registry_uri = registry_uri or uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=registry_uri)
        if new and path is not None:  # created (migrated) by this first call: keep a copy
            self.client.search_experiments(max_results=1)
            keep_as_template(path)

    def close(self) -> None:
        pass  # MlflowClient holds nothing that needs closing

    # -- tracking

    def get_experiment_by_name(self, name: str) -> Obj | None:
        found = self.client.get_experiment_by_name(name)
        return None if found is None else _experiment(found)

    def create_experiment(self, name: str, artifact_location: str | None) -> str:
        return str(self.client.create_experiment(name, artifact_location=artifact_location))

    def restore_experiment(self, experiment_id: str) -> None:
        self.client.restore_experiment(experiment_id)

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> Obj:
        run = self.client.create_run(
            experiment_id, start_time=start_time, tags=dict(tags), run_name=run_name
        )
        return _run(run)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in metrics],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        self.client.set_terminated(run_id, status=status, end_time=end_time)

    def search_experiments(self, filter_string: str) -> list[Obj]:
        found = self.client.search_experiments(filter_string=filter_string, max_results=PAGE)
        return [_experiment(e) for e in found]

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[Obj]:
        found = self.client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
        return [_run(r) for r in found]

    # -- registry

    def _registry(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A registry call; MLflow's errors as ours, naming `what` was asked for."""
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in exc.message.lower():
                raise not_in_registry(what, self.registry_uri, exc.message) from None
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
                raise QueryError(redact(f"MLflow: {exc.message}")) from None
            shown = redact_url(self.registry_uri)
            raise BackendUnavailableError(
                redact(f"the MLflow registry at {shown} failed: {exc.message}"), server=shown
            ) from None

    def _all(self, what: str, search: Callable[..., Any], *args: Any) -> list[Any]:
        """Every page of a registry search."""
        found: list[Any] = []
        token = None
        while True:
            page = self._registry(what, search, *args, max_results=PAGE, page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                return found

    def registered_models(self) -> list[Obj]:
        return [_model(m) for m in self._all("models", self.client.search_registered_models)]

    def registered_model(self, name: str) -> Obj:
        return _model(self._registry(f"model {name!r}", self.client.get_registered_model, name))

    def versions(self, name: str) -> list[Obj]:
        search = self.client.search_model_versions
        found = self._all(f"model {name!r}", search, versions_filter(name))
        return [_version(v) for v in found if v.name == name]

    def all_versions(self) -> list[Obj]:
        return [_version(v) for v in self._all("versions", self.client.search_model_versions, None)]

    def version(self, name: str, version: int) -> Obj:
        what = f"version {version} of model {name!r}"
        return _version(self._registry(what, self.client.get_model_version, name, str(version)))

    def version_by_alias(self, name: str, alias: str) -> Obj:
        what = f"alias {alias!r} of model {name!r}"
        return _version(self._registry(what, self.client.get_model_version_by_alias, name, alias))

    def download_uri(self, name: str, version: int) -> str:
        what = f"version {version} of model {name!r}"
        fn = self.client.get_model_version_download_uri
        return str(self._registry(what, fn, name, str(version)))


def _experiment(e: Any) -> Obj:
    return {
        "experiment_id": str(e.experiment_id),
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage,
        "artifact_location": e.artifact_location,
    }


def _run(r: Any) -> Obj:
    return {
        "info": {
            "run_id": r.info.run_id,
            "status": r.info.status,
            "start_time": int(r.info.start_time or 0),
            "end_time": int(r.info.end_time) if r.info.end_time else None,
            "artifact_uri": r.info.artifact_uri,
        },
        "data": {
            "params": dict(r.data.params),
            "tags": dict(r.data.tags),
            "metrics": dict(r.data.metrics),
        },
    }


def _model(m: Any) -> Obj:
    return {
        "name": m.name,
        "description": m.description or None,
        "created_ms": int(m.creation_timestamp or 0),
        "updated_ms": int(m.last_updated_timestamp or 0),
        "aliases": {str(k): int(v) for k, v in (m.aliases or {}).items()},
        "tags": {str(k): str(v) for k, v in (m.tags or {}).items()},
    }


def _version(v: Any) -> Obj:
    return {
        "name": v.name,
        "version": int(v.version),
        "stage": v.current_stage or "None",
        "status": v.status or "READY",
        "run_id": v.run_id or None,
        "source": v.source or None,
        "description": v.description or None,
        "created_ms": int(v.creation_timestamp or 0),
        "updated_ms": int(v.last_updated_timestamp or 0),
        "tags": {str(k): str(val) for k, val in (v.tags or {}).items()},
    }
