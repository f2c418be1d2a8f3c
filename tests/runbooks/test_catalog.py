"""The runbook library: `catalog()`, `get()` and the project's own runbooks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.config import builtin_runbooks_dir
from hxb_lab.errors import RunbookError
from tests.runbooks.conftest import FIXTURES, ROOT, fixture

CATALOG_COLUMNS = [
    "name", "title", "description", "tags", "schedule", "parameters", "required", "path",
    "problem",
]  # fmt: skip


def _profile_with(profiles_file: Path, *directories: Path) -> None:
    dirs = ", ".join(f'"{d}"' for d in directories)
    profiles_file.write_text(f"[profiles.ops]\nrunbooks = {{ directories = [{dirs}] }}\n")


def test_catalog_lists_the_project_runbooks_first_then_the_profile_directories(
    profiles_file: Path,
) -> None:
    _profile_with(profiles_file, FIXTURES)
    frame = hx.runbooks.catalog("ops")
    assert list(frame.columns) == CATALOG_COLUMNS
    project = [Path(p).parent == builtin_runbooks_dir() for p in frame["path"]]
    assert project == sorted(project, reverse=True)  # the project's runbooks come first
    assert set(frame["name"]) >= {"platform-smoke", "succeeds", "fails_in_cell_3", "sleeps"}
    smoke = frame.set_index("name").loc["platform-smoke"]
    assert smoke["title"] == "Platform smoke check"
    assert smoke["parameters"] == ["depth", "fail_on_warning", "note"]
    assert smoke["path"] == str(builtin_runbooks_dir() / "platform-smoke.ipynb")
    assert (ROOT / "runbooks" / "platform-smoke.ipynb").samefile(
        smoke["path"]
    )  # the checkout's link
    succeeds = frame.set_index("name").loc["succeeds"]
    assert succeeds["tags"] == ["test", "latency"]
    assert succeeds["schedule"] == "*/15 * * * *"
    assert succeeds["required"] == ["service"]
    assert pd.isna(succeeds["problem"])
    assert pd.isna(smoke["problem"])


def test_a_broken_runbook_is_listed_with_its_problem(profiles_file: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(fixture("succeeds"), library / "good.ipynb")
    data = json.loads(fixture("succeeds").read_text())
    data["metadata"]["hxb_lab"]["tags"] = "ops"
    (library / "broken.ipynb").write_text(json.dumps(data))
    data = json.loads(fixture("succeeds").read_text())
    data["cells"][1]["source"] = "when: datetime = None\n"
    (library / "untyped.ipynb").write_text(json.dumps(data))
    _profile_with(profiles_file, library)
    frame = hx.runbooks.catalog("ops").set_index("name")
    assert pd.isna(frame.loc["good", "problem"]) and pd.isna(frame.loc["untyped", "problem"])
    assert "hxb_lab.tags must be a list of strings" in frame.loc["broken", "problem"]
    with pytest.raises(RunbookError, match="tags must be a list"):
        hx.runbooks.get("broken", "ops")
    untyped = hx.runbooks.get("untyped", "ops")  # a type it cannot check is a warning
    assert [p.name for p in untyped.parameters] == ["when"]
    assert "parameter 'when' has a type HXB Lab cannot check (datetime)" in untyped.warnings[0]


def test_get_by_name_or_path_and_a_clear_error_for_an_unknown_name(profiles_file: Path) -> None:
    _profile_with(profiles_file, FIXTURES)
    rb = hx.runbooks.get("succeeds", "ops")
    assert rb.title == "Succeeds" and rb.default_schedule == "*/15 * * * *"
    assert hx.runbooks.get(str(fixture("sleeps"))).name == "sleeps"
    with pytest.raises(RunbookError) as caught:
        hx.runbooks.get("succeed", "ops")
    assert "no runbook named 'succeed'" in str(caught.value)
    assert "known runbooks: " in str(caught.value) and "succeeds" in str(caught.value)


def test_the_project_runbook_has_typed_parameters(hxb_env: Path) -> None:
    rb = hx.runbooks.get("platform-smoke")
    props = rb.schema["properties"]
    assert props["depth"]["enum"] == ["quick", "full"]
    assert props["fail_on_warning"]["type"] == "boolean"
    assert rb.schema["title"] == "Platform smoke check"
    assert all(p.help for p in rb.parameters)


def test_bad_notebook_metadata_is_refused_with_the_file_named(tmp_path: Path) -> None:
    data = json.loads(fixture("succeeds").read_text())
    data["metadata"]["hxb_lab"]["schedule"] = "every day"
    path = tmp_path / "bad_schedule.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(
        RunbookError, match=r"bad_schedule\.ipynb: notebook metadata hxb_lab\.schedule"
    ):
        hx.runbooks.get(str(path))
