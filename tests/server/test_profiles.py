"""``profiles``: listing, reading and switching the active profile."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.server.conftest import API, body, get


def _write_two_profiles(profiles_file: Path) -> None:
    profiles_file.write_text(
        'default = "prod"\n\n'
        '[profiles.prod]\ndescription = "Production, eu-west"\n\n'
        '[profiles.staging]\ndescription = "Staging"\n'
    )


async def test_profiles_lists_demo_first_and_names_the_active_one(
    jp_fetch: Any, profiles_file: Path
) -> None:
    _write_two_profiles(profiles_file)

    data = body(await get(jp_fetch, "profiles"))

    assert data["active"] == "prod"
    assert [p["name"] for p in data["profiles"]] == ["demo", "prod", "staging"]
    assert data["profiles"][1] == {
        "name": "prod",
        "description": "Production, eu-west",
        "source": str(profiles_file),
    }


async def test_put_active_switches_the_profile_of_later_requests(
    jp_fetch: Any, profiles_file: Path
) -> None:
    _write_two_profiles(profiles_file)

    response = await jp_fetch(
        *API, "profiles", "active", method="PUT", body=json.dumps({"name": "staging"})
    )

    assert body(response)["name"] == "staging"
    assert body(await get(jp_fetch, "profiles", "active"))["name"] == "staging"
    assert body(await get(jp_fetch, "profiles"))["active"] == "staging"
    assert os.environ["HXB_LAB_PROFILE"] == "staging"  # kernels started from now on inherit it


async def test_put_active_with_an_unknown_profile_is_a_400_naming_the_file(
    jp_fetch: Any, profiles_file: Path
) -> None:
    _write_two_profiles(profiles_file)

    response = await jp_fetch(
        *API, "profiles", "active", method="PUT", body=json.dumps({"name": "qa"}),
        raise_error=False,
    )  # fmt: skip

    assert response.code == 400
    error = body(response)
    assert error["type"] == "ConfigError"
    assert "unknown profile 'qa'" in error["message"]
    assert str(profiles_file) in error["message"]
    assert "demo, prod, staging" in error["message"]
    assert body(await get(jp_fetch, "profiles", "active"))["name"] == "prod"  # unchanged


async def test_put_active_without_a_name_names_the_field(jp_fetch: Any) -> None:
    response = await jp_fetch(
        *API, "profiles", "active", method="PUT", body="[]", raise_error=False
    )
    assert response.code == 400
    assert body(response)["fields"] == {"body": ["expected a JSON object"]}

    response = await jp_fetch(
        *API, "profiles", "active", method="PUT", body="{}", raise_error=False
    )
    assert response.code == 400
    assert body(response)["fields"] == {"name": ["the name of a profile is required"]}


def test_bodies_are_valid_json_for_a_browser() -> None:
    from datetime import UTC, datetime

    import numpy as np
    import pandas as pd

    from hxb_lab.server._base import jsonable

    value = {
        "nan": float("nan"), "inf": float("inf"), "nat": pd.NaT, "na": pd.NA,
        "when": datetime(2025, 1, 1, tzinfo=UTC), "n": np.int64(3), "xs": np.array([1.5, np.nan]),
        "nested": [{"x": float("nan")}], "ok": ["a", 1, True, None],
    }  # fmt: skip
    assert json.loads(json.dumps(jsonable(value), allow_nan=False)) == {
        "nan": None, "inf": None, "nat": None, "na": None, "when": "2025-01-01T00:00:00+00:00",
        "n": 3, "xs": [1.5, None], "nested": [{"x": None}], "ok": ["a", 1, True, None],
    }  # fmt: skip
