"""``POST /hxb-lab/api/alerts`` in the Jupyter server: Alertmanager's token, not Jupyter's,
opens it (even on a server that requires authentication everywhere); the run goes to the
server's run pool and lists with the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join

from hxb_lab.server.app import RUNS_SETTING
from hxb_lab.server.routes import WEBHOOK_ROUTES
from tests.triggers.conftest import webhook

pytestmark = pytest.mark.slow

DOWN = {"alertname": "ServiceDown", "service": "checkout", "replicas": "3"}


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"hxb_lab": True},
                      "allow_unauthenticated_access": False},
        "HxbLabApp": {"run_workers": 1},
    }  # fmt: skip


async def _post(client: Any, base: str, body: bytes, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization else {}
    return await client.fetch(
        url_path_join(base, "hxb-lab", "api", "alerts"), method="POST", body=body,
        headers=headers, raise_error=False, follow_redirects=False,
    )  # fmt: skip


def test_the_receiver_is_the_one_webhook_route() -> None:
    assert [pattern for pattern, _ in WEBHOOK_ROUTES] == ["alerts"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "jupyter-token"])
async def test_without_the_alert_token_it_is_401_and_starts_nothing(
    alerts_profile: Path, http_server_client: Any, jp_serverapp: Any, jp_base_url: str,
    jp_auth_header: dict[str, str], authorization: str | None,
) -> None:  # fmt: skip
    if authorization == "jupyter-token":  # Jupyter's own token is not Alertmanager's
        authorization = jp_auth_header["Authorization"]
    response = await _post(
        http_server_client, jp_base_url, webhook({"labels": DOWN}), authorization
    )
    assert response.code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    answer = json.loads(response.body)
    assert "credentials" in answer["message"] and "Traceback" not in answer["message"]
    assert jp_serverapp.web_app.settings[RUNS_SETTING].jobs == {}


async def test_an_alert_starts_a_run_in_the_servers_pool(
    alerts_profile: Path, token: str, http_server_client: Any, jp_serverapp: Any,
    jp_base_url: str, jp_fetch: Any,
) -> None:  # fmt: skip
    response = await _post(http_server_client, jp_base_url, webhook({"labels": DOWN}),
                           f"Bearer {token}")  # fmt: skip
    assert response.code == 202
    (started,) = json.loads(response.body)["runs"]
    assert (started["runbook"], started["rule"]) == ("checks", "service-down")

    again = await _post(http_server_client, jp_base_url, webhook({"labels": DOWN}),
                        f"Bearer {token}")  # fmt: skip
    assert (again.code, json.loads(again.body)["deduplicated"]) == (200, 1)

    bad = await _post(http_server_client, jp_base_url, webhook({"labels": {**DOWN, "replicas": "x"}}, group="g2"),
                      f"Bearer {token}")  # fmt: skip
    assert bad.code == 400 and "replicas" in json.loads(bad.body)["message"]

    manager = jp_serverapp.web_app.settings[RUNS_SETTING]
    assert list(manager.jobs) == [started["run_id"]]
    job = manager.get(started["run_id"])
    await job.done.wait()
    run = job.to_json()
    assert run["status"] == "succeeded", run
    assert run["parameters"]["service"] == "checkout" and run["parameters"]["replicas"] == 3

    # The sidebar's list says which alert started the run.
    listed = json.loads((await jp_fetch("hxb-lab", "api", "runs")).body)["runs"]
    (row,) = [r for r in listed if r["id"] == started["run_id"]]
    assert row["trigger"] == {"rule": "service-down", "alert": "ServiceDown", "alert_count": 1}


async def test_approving_needs_a_proposal_and_rejecting_a_reason(
    alerts_profile: Path, jp_fetch: Any
) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as missing:
        await jp_fetch("hxb-lab", "api", "runs", "20260101-000000-abcdef", "approve",
                       method="POST", body="{}")  # fmt: skip
    assert missing.value.code == 404
    assert (
        "no run '20260101-000000-abcdef' here" in json.loads(missing.value.response.body)["message"]
    )  # type: ignore[union-attr]
    with pytest.raises(HTTPClientError) as unexplained:
        await jp_fetch("hxb-lab", "api", "runs", "20260101-000000-abcdef", "reject",
                       method="POST", body="{}")  # fmt: skip
    assert unexplained.value.code == 400
    assert json.loads(unexplained.value.response.body)["fields"] == {  # type: ignore[union-attr]
        "reason": ["say why the change is refused"]
    }
