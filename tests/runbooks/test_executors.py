"""Every run goes through one registry of executors, as papermill's engines do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile
from hxb_lab.errors import ParameterError, RunbookError
from hxb_lab.runbooks import Runbook
from hxb_lab.runbooks._executors import RunOptions, execute, executors, register, schedule
from tests.runbooks.conftest import fixture


class Recording:
    """An executor that remembers what it was asked to run (a stand-in for a new one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Runbook, dict[str, Any], RunOptions]] = []

    def execute(self, runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> str:
        self.calls.append((runbook, runbook.validate(params), options))
        return f"queued {runbook.name}"


@pytest.fixture
def trigger() -> Iterator[Recording]:
    recording = Recording()
    register("trigger", recording)
    try:
        yield recording
    finally:
        executors._executors.pop("trigger")


def test_the_built_in_executors_are_registered() -> None:
    assert executors.names() == ["kubernetes", "local"]


def test_a_third_executor_gets_the_options_as_the_caller_made_them(trigger: Recording) -> None:
    runbook = hx.runbooks.get(str(fixture("succeeds")))
    options = RunOptions(load_profile("demo"), run_id="20260101-000000-abcdef", timeout=5.0)
    answer = execute(
        runbook, runbook.coerce({"service": "cart", "hosts": "a,b"}), options, "trigger"
    )
    assert answer == "queued succeeds"
    ((seen, values, passed),) = trigger.calls
    assert seen is runbook and passed is options  # passed through, not copied
    assert values["service"] == "cart" and values["hosts"] == ["a", "b"]


def test_an_unknown_executor_names_the_known_ones() -> None:
    runbook = hx.runbooks.get(str(fixture("succeeds")))
    with pytest.raises(RunbookError, match="no runbook executor named 'nowhere'") as caught:
        execute(runbook, {}, RunOptions(load_profile("demo")), "nowhere")
    assert "known executors: kubernetes, local" in str(caught.value)


def test_an_executor_without_schedules_cannot_schedule(trigger: Recording) -> None:
    runbook = hx.runbooks.get(str(fixture("succeeds")))
    options = RunOptions(load_profile("demo"))
    with pytest.raises(RunbookError, match="'trigger' cannot run on a schedule"):
        schedule(runbook, "0 6 * * *", {"service": "cart"}, options, executor="trigger")


def test_the_local_executor_checks_parameters_before_anything_starts(hxb_env: Path) -> None:
    runbook = hx.runbooks.get(str(fixture("succeeds")))
    with pytest.raises(ParameterError, match="service: required"):
        execute(runbook, {}, RunOptions(load_profile("demo"), output=hxb_env / "out"))
    assert not (hxb_env / "out").exists()


def test_the_command_line_runs_as_a_module_too() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "hxb_lab.cli", "runbook", "--help"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Runbooks: list, run locally, submit to Kubernetes" in shown.stdout
