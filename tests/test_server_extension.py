"""The Jupyter server extension: its routes answer, fail as JSON, and demand a token.

Needs the fixtures of ``pytest_jupyter.jupyter_server`` (loaded by tests/conftest.py).
The server runs in-process, so it reads the isolated profile environment that the
autouse ``hxb_env`` fixture of tests/conftest.py sets up for each test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tornado.web
from jupyter_server.utils import url_path_join

from hxb_lab import errors
from hxb_lab.server import routes
from hxb_lab.server.routes import ROUTES, error_status

API = ("hxb-lab", "api")


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Load hxb_lab as the installed config file would.

    By default on a server that requires authentication on every endpoint (as in the
    extension template); ``indirect`` param False keeps jupyter_server's own default,
    where only the handlers' ``@tornado.web.authenticated`` stands between a request
    and the route.
    """
    server: dict[str, Any] = {"jpserver_extensions": {"hxb_lab": True}}
    if getattr(request, "param", True):
        server["allow_unauthenticated_access"] = False
    return {"ServerApp": server}


def _json(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.body)
    return body


async def test_active_profile_is_demo_without_configuration(jp_fetch: Any) -> None:
    response = await jp_fetch(*API, "profiles", "active")

    assert response.code == 200
    body = _json(response)
    assert body["name"] == "demo"
    assert body["source"] == "built-in"
    assert set(body) == {"name", "description", "source"}


async def test_active_profile_follows_the_files_default(jp_fetch: Any, profiles_file: Path) -> None:
    profiles_file.write_text(
        'default = "prod"\n\n[profiles.prod]\ndescription = "Production, eu-west"\n'
    )

    body = _json(await jp_fetch(*API, "profiles", "active"))

    assert body == {
        "name": "prod",
        "description": "Production, eu-west",
        "source": str(profiles_file),
    }


async def test_malformed_profiles_file_is_a_400_naming_the_file(
    jp_fetch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("default = \n[profiles.prod\n")
    monkeypatch.setenv("HXB_LAB_CONFIG", str(broken))

    response = await jp_fetch(*API, "profiles", "active", raise_error=False)

    assert response.code == 400
    body = _json(response)
    assert body["type"] == "ConfigError"
    assert str(broken) in body["message"]
    assert "Traceback" not in response.body.decode()


async def test_unexpected_error_is_a_500_without_details(
    jp_fetch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(name: str | None = None) -> None:
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr("hxb_lab.config.load_profile", explode)

    response = await jp_fetch(*API, "profiles", "active", raise_error=False)

    assert response.code == 500
    body = _json(response)
    assert body == {"message": routes.INTERNAL_ERROR, "type": "InternalError"}
    assert "secret detail" not in response.body.decode()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ConfigError("bad", file="/p.toml"), 400),
        (errors.ParameterError(["x: not an int"]), 400),
        (errors.NotFoundError("no pod 'a'"), 404),
        (errors.ForbiddenError(user="u", verb="list", resource="pods"), 403),
        (errors.BackendUnavailableError("prometheus is down"), 503),
        (errors.ClusterUnavailableError("api server timeout"), 503),
        (errors.RunbookError("runbook failed to load"), 500),
        (RuntimeError("boom"), 500),
        (tornado.web.HTTPError(405), 405),
    ],
)
def test_error_status_fits_the_error(error: BaseException, status: int) -> None:
    assert error_status(error) == status


def _example_path(pattern: str) -> str:
    """A concrete path matching a route pattern: each regex group becomes ``example``."""
    return re.sub(r"\((?:\?P<\w+>)?[^)]*\)", "example", pattern)


def _methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    verbs = ("get", "post", "put", "patch", "delete")
    base = tornado.web.RequestHandler
    return [v.upper() for v in verbs if getattr(handler, v) is not getattr(base, v)]


ROUTE_METHODS = [
    pytest.param(pattern, method, id=f"{method} {_example_path(pattern)}")
    for pattern, handler in ROUTES
    for method in _methods(handler)
]
CHANGING_METHODS = [p for p in ROUTE_METHODS if p.values[1] != "GET"]


def test_every_route_has_a_method() -> None:
    assert ROUTE_METHODS, "ROUTES is empty"
    assert all(_methods(handler) for _, handler in ROUTES)


@pytest.mark.parametrize(("pattern", "method"), ROUTE_METHODS)
@pytest.mark.parametrize(
    "authorization", [None, "token not-the-token"], ids=["no-token", "bad-token"]
)
@pytest.mark.parametrize(
    "jp_server_config", [True, False], ids=["strict-server", "default-server"], indirect=True
)
async def test_every_route_rejects_an_unauthenticated_request(
    jp_server_config: dict[str, Any],
    http_server_client: Any,
    jp_serverapp: Any,
    jp_base_url: str,
    pattern: str,
    method: str,
    authorization: str | None,
) -> None:
    url = url_path_join(jp_base_url, *API, _example_path(pattern))
    headers = {"Authorization": authorization} if authorization else {}
    body = "{}" if method in ("POST", "PUT", "PATCH") else None

    response = await http_server_client.fetch(
        url, method=method, headers=headers, body=body, raise_error=False, follow_redirects=False
    )

    assert response.code == 403, f"{method} {url} answered {response.code} without a valid token"
    assert "Traceback" not in response.body.decode()


def test_every_route_is_listed_once_and_the_api_has_what_the_sidebar_needs() -> None:
    patterns = [_example_path(pattern) for pattern, _ in ROUTES]
    assert len(patterns) == len(set(patterns))
    routes = {f"{method} {_example_path(pattern)}" for pattern, method in
              (p.values for p in ROUTE_METHODS)}  # fmt: skip
    assert routes == {
        "GET profiles", "GET profiles/active", "PUT profiles/active", "GET platform/summary",
        "GET runbooks", "POST runbooks/example/runs", "POST runbooks/example/schedules",
        "GET runs", "GET runs/example", "POST runs/example/cancel",
        "POST runs/example/approve", "POST runs/example/reject", "GET runs/example/report",
        "GET runs/example/notebook", "GET schedules", "PATCH schedules/example",
        "DELETE schedules/example",
    }  # fmt: skip


@pytest.mark.parametrize(("pattern", "method"), CHANGING_METHODS)
async def test_cookie_authenticated_changes_need_the_xsrf_token(
    jp_fetch: Any, http_server_client: Any, jp_base_url: str, pattern: str, method: str
) -> None:
    login = await jp_fetch(*API, "profiles", "active")  # a token login sets the cookie
    cookie = login.headers["Set-Cookie"].split(";")[0]
    url = url_path_join(jp_base_url, *API, _example_path(pattern))

    forged = await http_server_client.fetch(
        url, method=method, headers={"Cookie": cookie}, raise_error=False,
        body="{}" if method != "DELETE" else None, allow_nonstandard_methods=True,
    )  # fmt: skip
    assert forged.code == 403, f"{method} {url} answered {forged.code} without an XSRF token"
    assert "xsrf" in forged.body.decode().lower()

    with_token = await http_server_client.fetch(
        url, method=method, raise_error=False, allow_nonstandard_methods=True,
        headers={"Cookie": f"{cookie}; _xsrf=sidebar-token", "X-XSRFToken": "sidebar-token"},
        body="{}" if method != "DELETE" else None,
    )  # fmt: skip
    assert with_token.code != 403, with_token.body  # past the check, answered by the route
    assert with_token.headers["Content-Type"].startswith("application/json")
