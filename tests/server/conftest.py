"""Fixtures of the server-extension tests: a Jupyter server in-process (pytest-jupyter)
with hxb_lab loaded as its config file loads it, and a profile whose runbook library is
``tests/server/fixtures`` (runbooks named by what they do: checks, breaks, waits).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
API = ("hxb-lab", "api")

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture(autouse=True)
def _restore_active_profile() -> Iterator[None]:
    """`PUT profiles/active` sets HXB_LAB_PROFILE in this process: undo it after each test."""
    before = os.environ.get("HXB_LAB_PROFILE")
    yield
    if before is None:
        os.environ.pop("HXB_LAB_PROFILE", None)
    else:
        os.environ["HXB_LAB_PROFILE"] = before


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """hxb_lab loaded as its installed config file loads it, with one run worker."""
    return {
        "ServerApp": {"jpserver_extensions": {"hxb_lab": True}},
        "HxbLabApp": {"run_workers": 1, "stop_grace_s": 30.0},
    }


@pytest.fixture(scope="session")
def runs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One HXB_LAB_HOME for the tests that run runbooks: MLflow's store is created once."""
    return tmp_path_factory.mktemp("runs-home")


@pytest.fixture
def lab_profile(profiles_file: Path, runs_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The active profile ``lab``: the embedded stores (shared by the tests of this session,
    so each test looks only at its own runs), runbooks from tests/server/fixtures."""
    monkeypatch.setenv("HXB_LAB_HOME", str(runs_home))
    profiles_file.write_text(
        'default = "lab"\n\n[profiles.lab]\ndescription = "Server tests"\n'
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
    )
    return "lab"


def body(response: Any) -> Any:
    """The JSON body of a response (asserting it is JSON)."""
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return json.loads(response.body)


async def post(fetch: Fetch, *path: str, data: Any = None, **kwargs: Any) -> Any:
    return await fetch(*API, *path, method="POST", body=json.dumps(data or {}), **kwargs)


async def get(fetch: Fetch, *path: str, **kwargs: Any) -> Any:
    return await fetch(*API, *path, **kwargs)


async def wait_for_file(path: Path, timeout_s: float = 60.0) -> None:
    """Readiness probe: a runbook writes `path` once its long cell has started."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not path.exists():
        assert loop.time() < deadline, f"{path} did not appear within {timeout_s}s"
        await asyncio.sleep(0.05)
