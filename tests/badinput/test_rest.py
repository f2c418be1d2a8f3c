"""The REST API refuses bad input with a 4xx whose JSON names the field (``{message,
type, fields}``), never a 500 or a traceback, and starts nothing: no run directory.

One real ``jupyter server`` with the extension answers every case (the session's
`jupyter` fixture). A case is one row: method, path under ``/hxb-lab/api/``, the body (a
JSON value, or raw bytes as a client could send them), the status, and the field named.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.badinput.conftest import nothing_in, one_line
from tests.server._jupyter import Jupyter

RUNS = "runbooks/kinds/runs"
X = "x" * 60_000


def _params(**values: Any) -> dict[str, Any]:
    return {"parameters": {"service": "a", **values}}


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


#: (method, path, body, status, field named)
CASES: list[tuple[str, str, Any, int, str]] = [
    # the body itself: size, depth, encoding, shape
    ("POST", RUNS, b"[" * 100_000, 413, "body"),
    ("POST", RUNS, b'{"a": ' * 100_000, 413, "body"),
    ("POST", RUNS, ('{"parameters": {"names": ' + _deep(300) + "}}").encode(), 413, "body"),
    ("POST", RUNS, b'{"p": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413, "body"),
    ("POST", RUNS, b'{"p": "' + b"x" * (120 * 1024 * 1024) + b'"}', 413, "body"),
    ("POST", RUNS, b"\xff\xfe{}", 400, "body"),
    ("POST", RUNS, b"not json", 400, "body"),
    ("POST", RUNS, b"[]", 400, "body"),
    ("POST", RUNS, b"NaN", 400, "body"),
    ("POST", RUNS, b'"text"', 400, "body"),
    ("POST", RUNS, b'{"parameters": {"count": ' + b"9" * 5000 + b"}}", 400, "body"),
    # parameters
    ("POST", RUNS, {"parameters": []}, 400, "parameters"),
    ("POST", RUNS, {"parameters": "service=a"}, 400, "parameters"),
    ("POST", RUNS, {"parameters": None}, 400, "parameters"),
    ("POST", RUNS, {}, 400, "service"),
    ("POST", RUNS, {"parameters": {"service": 5}}, 400, "service"),
    ("POST", RUNS, {"parameters": {"service": "x" * 70_000}}, 400, "service"),
    ("POST", RUNS, _params(count="x"), 400, "count"),
    ("POST", RUNS, _params(count=2**70), 400, "count"),
    ("POST", RUNS, _params(count=1.5), 400, "count"),
    ("POST", RUNS, b'{"parameters": {"service": "a", "count": 1e999}}', 400, "count"),
    ("POST", RUNS, b'{"parameters": {"service": "a", "ratio": NaN}}', 400, "ratio"),
    ("POST", RUNS, b'{"parameters": {"service": "a", "ratio": Infinity}}', 400, "ratio"),
    ("POST", RUNS, b'{"parameters": {"service": "a", "ratio": -Infinity}}', 400, "ratio"),
    ("POST", RUNS, b'{"parameters": {"service": "a", "ratio": 1e999}}', 400, "ratio"),
    ("POST", RUNS, _params(ratio="0.5"), 400, "ratio"),
    ("POST", RUNS, _params(dry_run="yes"), 400, "dry_run"),
    ("POST", RUNS, _params(mode="delete"), 400, "mode"),
    ("POST", RUNS, _params(ports="1,2"), 400, "ports"),
    ("POST", RUNS, _params(ports=[1, "x"]), 400, "ports[1]"),
    (
        "POST",
        RUNS,
        ('{"parameters": {"service": "a", "names": ' + _deep(33) + "}}").encode(),
        413,
        "body",
    ),
    ("POST", RUNS, _params(labels=[1]), 400, "labels"),
    ("POST", RUNS, _params(labels={"a": X, "b": X}), 400, "labels"),
    (
        "POST",
        RUNS,
        {"parameters": {"service": X, "note": X, "token": X, "names": [X], "labels": {"k": X}}},
        400,
        "parameters",
    ),
    ("POST", RUNS, _params(token=5), 400, "token"),
    ("POST", RUNS, _params(nope=1), 400, "nope"),
    # the other fields of a run request
    ("POST", RUNS, {**_params(), "executor": "elsewhere"}, 400, "executor"),
    ("POST", RUNS, {**_params(), "executor": 5}, 400, "executor"),
    ("POST", RUNS, {**_params(), "executor": ["local"]}, 400, "executor"),
    ("POST", RUNS, {**_params(), "timeout": -5}, 400, "timeout"),
    ("POST", RUNS, {**_params(), "timeout": 0}, 400, "timeout"),
    ("POST", RUNS, {**_params(), "timeout": "abc"}, 400, "timeout"),
    ("POST", RUNS, {**_params(), "timeout": True}, 400, "timeout"),
    ("POST", RUNS, {**_params(), "timeout": [60]}, 400, "timeout"),
    ("POST", RUNS, b'{"parameters": {"service": "a"}, "timeout": NaN}', 400, "timeout"),
    ("POST", RUNS, b'{"parameters": {"service": "a"}, "timeout": 1e999}', 400, "timeout"),
    ("POST", "runbooks/no-such/runs", _params(), 404, "no-such"),
    ("POST", f"runbooks/{'n' * 300}/runs", _params(), 404, "nnn"),
    # schedules
    ("POST", "runbooks/kinds/schedules", {**_params(), "cron": 5}, 400, "cron"),
    ("POST", "runbooks/kinds/schedules", {**_params(), "cron": "nope"}, 400, "cron"),
    ("POST", "runbooks/kinds/schedules", {**_params(), "cron": "61 * * * *"}, 400, "cron"),
    (
        "POST",
        "runbooks/kinds/schedules",
        {**_params(), "cron": "0 6 * * *", "name": 5},
        400,
        "name",
    ),
    (
        "POST",
        "runbooks/kinds/schedules",
        {**_params(), "cron": "0 6 * * *", "suspend": "yes"},
        400,
        "suspend",
    ),
    (
        "POST",
        "runbooks/kinds/schedules",
        {"parameters": {"service": "a", "count": "x"}, "cron": "0 6 * * *"},
        400,
        "count",
    ),
    ("POST", "runbooks/kinds/schedules", b"[" * 10_000, 413, "body"),
    ("PATCH", "schedules/nightly", {"suspended": "yes"}, 400, "suspended"),
    ("PATCH", "schedules/nightly", b"[" * 10_000, 413, "body"),
    # runs
    ("GET", "runs?limit=0", None, 400, "limit"),
    ("GET", "runs?limit=abc", None, 400, "limit"),
    ("GET", "runs?limit=100000", None, 400, "limit"),
    ("GET", "runs?limit=1e3", None, 400, "limit"),
    ("GET", "runs?status=bogus", None, 400, "status"),
    ("GET", "runs/no-such-run", None, 404, "no-such-run"),
    ("POST", "runs/no-such-run/cancel", None, 404, "no-such-run"),
    ("GET", "runs/no-such-run/report", None, 404, "no-such-run"),
    ("GET", "runs/no-such-run/notebook", None, 404, "no-such-run"),
    ("GET", f"runs/{'r' * 500}", None, 404, "no runbook run"),
    # profiles
    ("PUT", "profiles/active", {"name": "no-such"}, 400, "no-such"),
    ("PUT", "profiles/active", {"name": 5}, 400, "name"),
    ("PUT", "profiles/active", {}, 400, "name"),
    ("PUT", "profiles/active", {"name": ""}, 400, "name"),
    ("PUT", "profiles/active", b"[" * 100_000, 413, "body"),
]


def _request(server: Jupyter, method: str, path: str, body: Any) -> tuple[int, str, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {server.token}", "Content-Type": "application/json"}
    try:
        connection.request(method, f"/hxb-lab/api/{path}", body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    CASES,
    ids=[f"{c[0]} {c[1][:40]} {repr(c[2])[:50]}" for c in CASES],
)
def test_the_rest_api_refuses_bad_input_with_a_4xx_naming_the_field(
    jupyter: tuple[Jupyter, Path], method: str, path: str, body: Any, status: int, field: str
) -> None:
    server, home = jupyter
    before = nothing_in(home / "runs")
    got, kind, raw = _request(server, method, path, body)
    assert kind.startswith("application/json"), (got, kind, raw[:300])
    answer = json.loads(raw)
    assert got == status, answer
    message = one_line(answer["message"])
    assert field in message, answer
    if answer["type"] in ("ParameterError", "LimitError"):
        assert field.split("[")[0] in answer["fields"], answer
    assert nothing_in(home / "runs") == before


def test_documented_acceptance_the_largest_history_page(jupyter: tuple[Jupyter, Path]) -> None:
    got, _, raw = _request(jupyter[0], "GET", "runs?limit=500", None)
    assert got == 200, raw[:300]
    assert isinstance(json.loads(raw)["runs"], list)


def test_a_server_run_ends_at_its_time_limit_given_or_the_runbooks_own(
    jupyter: tuple[Jupyter, Path],
) -> None:
    """A hung runbook no longer holds a worker until someone cancels it: the request's
    timeout, else the runbook's ``hxb_lab.timeout_s``, ends it as timed_out."""
    server = jupyter[0]
    started = {
        name: json.loads(_request(server, "POST", f"runbooks/{name}/runs", body)[2])["run"]["id"]
        for name, body in (("hangs", {"timeout": 10}), ("hangs_with_a_limit", {}))
    }
    deadline = time.monotonic() + 120
    status: dict[str, str] = {}
    while time.monotonic() < deadline and len(status) < len(started):
        for name, run_id in started.items():
            run = json.loads(_request(server, "GET", f"runs/{run_id}", None)[2])
            if run["status"] not in ("queued", "running"):
                status[name] = f"{run['status']}: {run.get('error')}"
        time.sleep(0.5)
    assert {name: text.split(":")[0] for name, text in status.items()} == {
        "hangs": "timed_out",
        "hangs_with_a_limit": "timed_out",
    }, status
