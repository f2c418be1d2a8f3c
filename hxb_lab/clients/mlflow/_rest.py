"""MLflow's REST API (``/api/2.0/mlflow/...``), tracking and registry, over one HTTP client.

Runbook runs are recorded from short-lived processes (the CLI, a pod) and ``import mlflow``
alone costs seconds; the handful of calls needed here cost milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.clients.mlflow._protocol import PAGE, Obj, not_in_registry, versions_filter
from hxb_lab.errors import BackendUnavailableError, NotFoundError, QueryError

__all__ = ["RestStore"]


class RestStore(HttpApi):
    """An MLflow tracking server: runs, experiments and its model registry."""

    name = "the MLflow tracking server"
    section = "mlflow"
    setting = "tracking_uri"

    @property
    def uri(self) -> str:
        return self.url

    def _call(self, method: str, endpoint: str, what: str = "", **kwargs: Any) -> Obj:
        """One API call; `what` names the registry object read (for a not-found error)."""
        response = self._send(method, f"/api/2.0/mlflow/{endpoint}", **kwargs)
        try:
            body: Obj = response.json() if response.content else {}
        except ValueError:
            body = {"message": response.text[:300]}
        if response.status_code < 400:
            return body
        code = body.get("error_code", f"HTTP {response.status_code}")
        message = str(body.get("message", ""))
        text = redact(f"MLflow {endpoint}: {code}: {message}")
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise not_in_registry(what, self.url, message) if what else NotFoundError(text)
        if what and (response.status_code == 404 or "not found" in message.lower()):
            raise not_in_registry(what, self.url, message)  # an alias: INVALID_PARAMETER_VALUE
        if response.status_code < 500:
            raise QueryError(text)
        raise BackendUnavailableError(text, server=self.server)

    # -- tracking

    def get_experiment_by_name(self, name: str) -> Obj | None:
        try:
            body = self._call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except NotFoundError:
            return None
        experiment: Obj = body["experiment"]
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
    ) -> Obj:
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

    def search_experiments(self, filter_string: str) -> list[Obj]:
        payload = {"filter": filter_string, "view_type": "ACTIVE_ONLY"}
        return list(self._pages("POST", "experiments/search", "experiments", payload))

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[Obj]:
        found: list[Obj] = []
        token = None
        while len(found) < max_results:
            payload: Obj = {
                "experiment_ids": list(experiment_ids),
                "filter": filter_string,
                "max_results": min(max_results - len(found), PAGE),
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

    # -- registry

    def _pages(
        self, method: str, endpoint: str, key: str, query: Obj, what: str = ""
    ) -> Iterator[Obj]:
        """Every item of a paged search (`query` as URL parameters for GET, else JSON)."""
        token = None
        while True:
            page = {**query, "max_results": PAGE, **({"page_token": token} if token else {})}
            sent = {"params": page} if method == "GET" else {"json": page}
            body = self._call(method, endpoint, what, **sent)
            yield from body.get(key, [])
            token = body.get("next_page_token")
            if not token:
                return

    def registered_models(self) -> list[Obj]:
        found = self._pages("GET", "registered-models/search", "registered_models", {}, "models")
        return [_model(m) for m in found]

    def registered_model(self, name: str) -> Obj:
        body = self._call("GET", "registered-models/get", f"model {name!r}", params={"name": name})
        return _model(body["registered_model"])

    def versions(self, name: str) -> list[Obj]:
        query = {"filter": versions_filter(name)}
        found = self._pages(
            "GET", "model-versions/search", "model_versions", query, f"model {name!r}"
        )
        return [_version(v) for v in found if v.get("name") == name]

    def all_versions(self) -> list[Obj]:
        found = self._pages("GET", "model-versions/search", "model_versions", {}, "versions")
        return [_version(v) for v in found]

    def version(self, name: str, version: int) -> Obj:
        what = f"version {version} of model {name!r}"
        query = {"name": name, "version": str(version)}
        return _version(
            self._call("GET", "model-versions/get", what, params=query)["model_version"]
        )

    def version_by_alias(self, name: str, alias: str) -> Obj:
        what = f"alias {alias!r} of model {name!r}"
        query = {"name": name, "alias": alias}
        body = self._call("GET", "registered-models/alias", what, params=query)
        return _version(body["model_version"])

    def download_uri(self, name: str, version: int) -> str:
        what = f"version {version} of model {name!r}"
        query = {"name": name, "version": str(version)}
        body = self._call("GET", "model-versions/get-download-uri", what, params=query)
        return str(body["artifact_uri"])


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["key"]): str(i.get("value", "")) for i in items or ()}


def _run(raw: Mapping[str, Any]) -> Obj:
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


def _model(raw: Obj) -> Obj:
    return {
        "name": raw["name"],
        "description": raw.get("description") or None,
        "created_ms": int(raw.get("creation_timestamp") or 0),
        "updated_ms": int(raw.get("last_updated_timestamp") or 0),
        "aliases": {a["alias"]: int(a["version"]) for a in raw.get("aliases") or ()},
        "tags": _pairs(raw.get("tags")),
    }


def _version(raw: Obj) -> Obj:
    return {
        "name": raw["name"],
        "version": int(raw["version"]),
        "stage": raw.get("current_stage") or "None",
        "status": raw.get("status") or "READY",
        "run_id": raw.get("run_id") or None,
        "source": raw.get("source") or None,
        "description": raw.get("description") or None,
        "created_ms": int(raw.get("creation_timestamp") or 0),
        "updated_ms": int(raw.get("last_updated_timestamp") or 0),
        "tags": _pairs(raw.get("tags")),
    }
