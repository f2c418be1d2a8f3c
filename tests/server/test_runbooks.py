"""``GET runbooks``: the catalog of the active profile, each runbook with its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.server.conftest import body, get, post


async def test_catalog_lists_each_runbook_with_its_schema(jp_fetch: Any, lab_profile: str) -> None:
    response = await get(jp_fetch, "runbooks")

    data = json.loads(response.body)  # strict JSON: no NaN for a missing schedule
    assert data["profile"] == "lab"
    assert data["executors"] == ["local", "kubernetes"]  # a profile with a kubeconfig
    by_name = {r["name"]: r for r in data["runbooks"]}
    assert {"checks", "breaks", "waits"} <= set(by_name)
    checks = by_name["checks"]
    assert checks["title"] == "Service checks"
    assert checks["tags"] == ["smoke", "services"]
    assert checks["schedule"] is None
    assert checks["problem"] is None
    assert checks["required"] == ["service"]
    schema = checks["schema"]
    assert schema["required"] == ["service"]
    assert schema["properties"]["replicas"] == {
        "type": "integer", "default": 2, "description": "How many replicas to expect",
        "x-hxb-annotation": "int", "minimum": 1,
    }  # fmt: skip
    assert schema["properties"]["mode"]["enum"] == ["quick", "full"]
    assert schema["properties"]["token"]["x-hxb-secret"] is True


async def test_a_broken_runbook_is_listed_with_its_problem(
    jp_fetch: Any, profiles_file: Path, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "half-written.ipynb").write_text('{"cells": ')
    profiles_file.write_text(
        f'default = "p"\n[profiles.p]\nrunbooks = {{ directories = ["{library}"] }}\n'
    )

    data = body(await get(jp_fetch, "runbooks"))

    broken = next(r for r in data["runbooks"] if r["name"] == "half-written")
    assert broken["schema"] is None
    assert "half-written.ipynb" in broken["problem"]


async def test_a_listed_runbook_that_cannot_be_loaded_is_not_run(
    jp_fetch: Any, jp_serverapp: Any, profiles_file: Path, tmp_path: Path
) -> None:
    from hxb_lab.server.app import RUNS_SETTING

    library = tmp_path / "library"
    library.mkdir()
    (library / "half-written.ipynb").write_text('{"cells": ')
    profiles_file.write_text(
        f'default = "p"\n[profiles.p]\nrunbooks = {{ directories = ["{library}"] }}\n'
    )

    response = await post(jp_fetch, "runbooks", "half-written", "runs", raise_error=False)

    assert response.code == 400
    error = body(response)
    assert error["fields"]["runbook"][0].startswith("'half-written' cannot be run: ")
    assert jp_serverapp.web_app.settings[RUNS_SETTING].jobs == {}
