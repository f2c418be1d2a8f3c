"""The MLflow tracking store of a profile, behind one narrow interface.

Two implementations of `TrackingStore`:

- `RestTrackingStore` speaks MLflow's REST API (``/api/2.0/mlflow/...``) to a tracking
  server over httpx. Runbook runs are recorded from short-lived processes (the CLI, a pod),
  and ``import mlflow`` alone costs seconds; the handful of calls needed here cost
  milliseconds.
- `LibraryTrackingStore` wraps ``mlflow.MlflowClient`` for every other tracking URI (the
  demo's SQLite store, a ``file:`` store, a Databricks workspace, ...).

Both return plain dicts: an experiment is ``{experiment_id, name, lifecycle_stage,
artifact_location}``, a run ``{info: {run_id, status, start_time, end_time, artifact_uri},
data: {params, tags, metrics}}`` with name -> value mappings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from hxb_lab._redact import redact, redact_url
from hxb_lab.config import Profile
from hxb_lab.errors import BackendUnavailableError, HxbLabError, QueryError

__all__ = [
    "LibraryTrackingStore",
    "RestTrackingStore",
    "TrackingStore",
    "open_mlflow",
    "open_recording_store",
    "open_tracking_store",
    "unavailable",
]


class TrackingStore(Protocol):
    """What runbook history needs from MLflow."""

    uri: str

    def close(self) -> None: ...

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None: ...

    def create_experiment(self, name: str, artifact_location: str | None) -> str: ...

    def restore_experiment(self, experiment_id: str) -> None: ...

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> dict[str, Any]: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None: ...

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None: ...

    def search_experiments(self, filter_string: str) -> list[dict[str, Any]]: ...

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[dict[str, Any]]: ...


def unavailable(profile: Profile, exc: BaseException) -> BackendUnavailableError:
    """The error for a profile's MLflow that cannot be used; passwords are masked."""
    if isinstance(exc, BackendUnavailableError):
        return exc
    uri = profile.mlflow_or_default().tracking_uri
    shown = redact_url(uri)
    remote = urlsplit(uri).scheme in ("http", "https")
    hint = (
        "check that the tracking server is up and mlflow.tracking_uri in the profile points at it"
        if remote
        else "check that the directory is writable, or set mlflow.tracking_uri in the profile"
    )
    detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    return BackendUnavailableError(
        redact(f"MLflow at {shown} (profile {profile.name!r}) cannot be used: {detail[:300]}"),
        server=shown,
        hint=hint,
    )


# ------------------------------------------------------------------------------- REST


class RestTrackingStore:
    """MLflow's tracking REST API over httpx (a tracking server)."""

    def __init__(self, uri: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        import httpx

        self.uri = uri.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.uri, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        path = f"/api/2.0/mlflow/{endpoint}"
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the MLflow tracking server {redact_url(self.uri)}: {exc}",
                server=redact_url(self.uri),
                hint="check that it is up and that mlflow.tracking_uri points at it",
            ) from None
        try:
            body: dict[str, Any] = response.json() if response.content else {}
        except ValueError:
            body = {"message": response.text[:300]}
        if response.status_code >= 400:
            code = body.get("error_code", f"HTTP {response.status_code}")
            message = redact(f"MLflow {endpoint}: {code}: {body.get('message', '')}")
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise _Missing(message)
            if response.status_code < 500:
                raise QueryError(message)
            raise BackendUnavailableError(message, server=redact_url(self.uri))
        return body

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        try:
            body = self._call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except _Missing:
            return None
        experiment: dict[str, Any] = body["experiment"]
        return experiment

    def create_experiment(self, name: str, artifact_location: str | None) -> str:
        payload = {
            "name": name,
            **({"artifact_location": artifact_location} if artifact_location else {}),
        }
        return str(self._call("POST", "experiments/create", json=payload)["experiment_id"])

    def restore_experiment(self, experiment_id: str) -> None:
        self._call("POST", "experiments/restore", json={"experiment_id": experiment_id})

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> dict[str, Any]:
        payload = {
            "experiment_id": experiment_id,
            "start_time": start_time,
            "run_name": run_name,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        return _run(self._call("POST", "runs/create", json=payload)["run"])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        payload = {
            "run_id": run_id,
            "metrics": [dict(m) for m in metrics],
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        self._call("POST", "runs/log-batch", json=payload)

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        payload = {"run_id": run_id, "status": status, "end_time": end_time}
        self._call("POST", "runs/update", json=payload)

    def search_experiments(self, filter_string: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token = None
        while True:
            payload = {"filter": filter_string, "max_results": 1000, "view_type": "ACTIVE_ONLY"}
            if token:
                payload["page_token"] = token
            body = self._call("POST", "experiments/search", json=payload)
            found.extend(body.get("experiments", []))
            token = body.get("next_page_token")
            if not token:
                return found

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token = None
        while len(found) < max_results:
            payload: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "filter": filter_string,
                "max_results": min(max_results - len(found), 1000),
                "order_by": ["attributes.start_time DESC"],
            }
            if token:
                payload["page_token"] = token
            body = self._call("POST", "runs/search", json=payload)
            found.extend(_run(r) for r in body.get("runs", []))
            token = body.get("next_page_token")
            if not token:
                break
        return found


class _Missing(HxbLabError):
    pass


def _pairs(items: Any) -> dict[str, Any]:
    return {i["key"]: i.get("value") for i in items or []}


def _run(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A REST run as the plain dict shared by both stores."""
    info = raw.get("info", {})
    data = raw.get("data", {})
    return {
        "info": {
            "run_id": info.get("run_id") or info.get("run_uuid"),
            "status": info.get("status", "RUNNING"),
            "start_time": int(info.get("start_time") or 0),
            "end_time": int(info["end_time"]) if info.get("end_time") else None,
            "artifact_uri": info.get("artifact_uri", ""),
        },
        "data": {
            "params": _pairs(data.get("params")),
            "tags": _pairs(data.get("tags")),
            "metrics": {m["key"]: float(m["value"]) for m in data.get("metrics") or []},
        },
    }


# ---------------------------------------------------------------------------- library


class LibraryTrackingStore:
    """``mlflow.MlflowClient`` (imported here, on first use) for non-HTTP tracking URIs."""

    def __init__(self, uri: str, registry_uri: str | None = None) -> None:
        from hxb_lab.clients.mlflow_sqlite import from_template, keep_as_template, store_path

        path = store_path(uri)
        new = path is not None and not path.exists() and not from_template(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # creating a SQLite store logs at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=registry_uri)
        if new and path is not None:  # created (migrated) by this first call: keep a copy
            self.client.search_experiments(max_results=1)
            keep_as_template(path)

    def close(self) -> None:
        pass  # MlflowClient holds nothing that needs closing

    @staticmethod
    def _experiment(e: Any) -> dict[str, Any]:
        return {
            "experiment_id": str(e.experiment_id),
            "name": e.name,
            "lifecycle_stage": e.lifecycle_stage,
            "artifact_location": e.artifact_location,
        }

    @staticmethod
    def _run(r: Any) -> dict[str, Any]:
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

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        found = self.client.get_experiment_by_name(name)
        return None if found is None else self._experiment(found)

    def create_experiment(self, name: str, artifact_location: str | None) -> str:
        return str(self.client.create_experiment(name, artifact_location=artifact_location))

    def restore_experiment(self, experiment_id: str) -> None:
        self.client.restore_experiment(experiment_id)

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> dict[str, Any]:
        run = self.client.create_run(
            experiment_id, start_time=start_time, tags=dict(tags), run_name=run_name
        )
        return self._run(run)

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

    def search_experiments(self, filter_string: str) -> list[dict[str, Any]]:
        found = self.client.search_experiments(filter_string=filter_string, max_results=1000)
        return [self._experiment(e) for e in found]

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[dict[str, Any]]:
        found = self.client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
        return [self._run(r) for r in found]


# ---------------------------------------------------------------------------- opening


def open_tracking_store(profile: Profile) -> TrackingStore:
    """The profile's tracking store: REST for ``http(s)://`` servers, else the mlflow library."""
    config = profile.mlflow_or_default()
    token = config.token.resolve() if config.token is not None else None
    if urlsplit(config.tracking_uri).scheme in ("http", "https"):
        return RestTrackingStore(config.tracking_uri, token=token)
    if token:  # the MLflow client reads its bearer token from the environment only
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    return LibraryTrackingStore(config.tracking_uri, config.registry_uri)


def open_recording_store(profile: Profile) -> TrackingStore:
    """The store a run records itself in: as `open_tracking_store`, except that a SQLite
    store MLflow created is written with ``sqlite3`` (`mlflow_sqlite`), without importing
    mlflow."""
    from hxb_lab.clients.mlflow_sqlite import open_run_writer

    config = profile.mlflow_or_default()
    writer = open_run_writer(config.tracking_uri) if config.token is None else None
    return writer if writer is not None else open_tracking_store(profile)


def open_mlflow(profile: Profile) -> Any:
    """An ``mlflow.MlflowClient`` for the profile (for what the narrow store does not cover)."""
    config = profile.mlflow_or_default()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # seconds, not minutes
    if config.token is not None:
        token = config.token.resolve()
        if token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = token
    store = LibraryTrackingStore(config.tracking_uri, config.registry_uri)
    return store.client
