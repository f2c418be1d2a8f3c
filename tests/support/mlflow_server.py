"""A real ``mlflow server`` on loopback (SQLite backend store), one per test session.

The session's server (the ``mlflow_server`` fixture of ``tests/conftest.py``) holds the
demo scenario's registered models, registered once before it starts, so the registry
matches the simulated InferenceServices (llm-chat v7 ``champion``, v8 ``challenger``, ...).
Every area that needs a tracking server or a model registry shares it, each keeping to
its own names: the model and inference tests read the scenario's models (experiments
``training/<model>``); the runbook tests record runs in experiments ``runbooks/<name>``,
and `runs()` reads only those.

Benchmarks call `start_mlflow` for a server of their own.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.processes import Process, free_port, http_probe, start, stop

MLFLOW = Path(sys.executable).parent / "mlflow"
#: The scenario time the registered models are dated from (and the simulated platforms
#: serving them are simulated at).
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

__all__ = ["MLFLOW", "NOW", "MlflowServer", "register_scenario_models", "start_mlflow", "stop"]


@dataclass
class MlflowServer:
    url: str
    database: Path  # its SQLite backend store
    process: Process = field(repr=False)

    def __str__(self) -> str:
        return self.url

    def client(self) -> Any:
        """MLflow's own client on this server (tracking and registry)."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


def register_scenario_models(database: Path, artifacts: str) -> None:
    """Fill a backend store with the scenario's models before its server starts, through
    the library (hundreds of REST calls would cost a minute on a busy machine; the reads
    are what is tested)."""
    from mlflow.tracking import MlflowClient

    from hxb_lab.demo.models import register_models

    uri = f"sqlite:///{database}"
    register_models(
        MlflowClient(tracking_uri=uri, registry_uri=uri), int(NOW.timestamp() * 1000), artifacts
    )


def start_mlflow(
    home: Path, timeout: float = 240, *, scenario_models: bool = False
) -> MlflowServer:
    """``mlflow server`` on a free loopback port, storing into `home` (``mlflow.db`` and
    ``mlflow-artifacts/``); with `scenario_models`, the scenario's models registered first."""
    if not MLFLOW.exists():
        raise FileNotFoundError(MLFLOW)
    database = home / "mlflow.db"
    artifacts = (home / "mlflow-artifacts").as_uri()
    if scenario_models:
        register_scenario_models(database, artifacts)
    port = free_port()
    log = home / "mlflow-server.log"
    command = [
        str(MLFLOW), "server",
        "--backend-store-uri", f"sqlite:///{database}",
        "--default-artifact-root", artifacts,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # MLflow 3 also starts job runners (huey consumers, four more Python processes) that
    # tracking and the registry do not use: on two cores they only take CPU from the tests
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    url = f"http://127.0.0.1:{port}"
    process = start(
        command, log, http_probe(f"{url}/health", status=None), timeout=timeout, env=env
    )
    return MlflowServer(url, database, process)
