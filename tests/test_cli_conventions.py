"""The conventions people expect of a command line: ``--version``, help for every option,
``--json`` on every listing, and tables that never break a word at 80 columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main

from hxb_lab import __version__
from hxb_lab.cli import app
from hxb_lab.cli._tables import column_widths
from tests.test_cli import run


def _commands(command: Any, path: str = "hxb-lab") -> list[tuple[str, Any]]:
    found = [(path, command)]
    if hasattr(command, "commands"):  # a group (typer's own copy of click's Group)
        for name, sub in command.commands.items():
            found += _commands(sub, f"{path} {name}")
    return found


def test_version_option_prints_the_version() -> None:
    shown = run("--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == __version__


def test_every_command_option_and_argument_has_help() -> None:
    missing = []
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 20  # the walk reached the subcommands
    for path, command in commands:
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            helptext: Any = getattr(param, "help", None)
            if not (isinstance(helptext, str) and helptext.strip()):
                missing.append(f"{path} {param.opts[0] if param.opts else param.name}")
    assert missing == []


@pytest.mark.parametrize(
    "args",
    [
        ("runbook", "list"),
        ("profile", "list"),
        ("runbook", "schedules"),
        ("runbook", "runs"),
    ],
    ids=lambda a: " ".join(a),
)
def test_every_listing_takes_json(args: tuple[str, ...]) -> None:
    command: Any = typer.main.get_command(app)
    for name in args:
        command = command.commands[name]
    assert any("--json" in p.opts for p in command.params), args


def test_listings_print_json_lines(profiles_file: Path) -> None:
    profiles_file.write_text('[profiles.prod]\ndescription = "Production, EU"\n')

    runbooks = run("runbook", "list", "--json")
    profiles = run("profile", "list", "--json")

    assert runbooks.returncode == 0, runbooks.stderr
    listed = [json.loads(line) for line in runbooks.stdout.splitlines()]
    assert "gpu-capacity-report" in [r["name"] for r in listed]
    assert {"name", "title", "parameters", "tags", "problem"} <= set(listed[0])
    demo, prod = [json.loads(line) for line in profiles.stdout.splitlines()]
    assert (demo["name"], demo["active"], demo["source"]) == ("demo", True, "built-in")
    assert prod == {"name": "prod", "active": False, "source": str(profiles_file),
                    "description": "Production, EU"}  # fmt: skip


def test_schedules_on_a_snapshot_say_they_need_a_live_cluster() -> None:
    for args in (("runbook", "schedules"), ("runbook", "schedules", "--json")):
        shown = run(*args)
        assert shown.returncode == 2
        assert shown.stderr.startswith(
            "hxb-lab: error: schedules need a live cluster, and profile 'demo' reads its "
            "cluster from the snapshot"
        ), shown.stderr
        assert "kube/config" not in shown.stderr


def test_schedules_of_a_live_cluster_as_json(
    profiles_file: Path, control_plane: Any, kube_namespace: str
) -> None:
    profiles_file.write_text(
        'default = "cluster"\n[profiles.cluster]\n'
        f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'runbooks = {{ namespace = "{kube_namespace}" }}\n'
    )
    control_plane.apply(  # the service account runbook pods run as (`hxb-lab runbook rbac`)
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "hxb-runbook-runner", "namespace": kube_namespace}}
    )  # fmt: skip
    created = run("runbook", "schedule", "platform-smoke", "--cron", "0 6 * * *")
    assert created.returncode == 0, created.stderr

    shown = run("runbook", "schedules", "--json")

    assert shown.returncode == 0, shown.stderr
    [schedule] = [json.loads(line) for line in shown.stdout.splitlines()]
    assert (schedule["runbook"], schedule["cron"]) == ("platform-smoke", "0 6 * * *")


def _words(cells: list[str]) -> set[str]:
    return {word for cell in cells for word in cell.split()}


@pytest.mark.parametrize(
    ("args", "shown_keys"),
    [(("runbook", "list"), ("name", "title", "parameters", "schedule", "tags", "problem")),
     (("profile", "list"), ("name", "source", "description"))],
    ids=["runbook list", "profile list"],
)  # fmt: skip
def test_tables_never_break_a_word_at_80_columns(
    profiles_file: Path, args: tuple[str, ...], shown_keys: tuple[str, ...]
) -> None:
    profiles_file.write_text(
        '[profiles.prod]\ndescription = "Production in the EU: two clusters, ClickHouse, '
        'Prometheus, Alertmanager, MLflow and a MinIO artifact store"\n'
    )
    listed = [json.loads(line) for line in run(*args, "--json").stdout.splitlines()]
    values = [
        ", ".join(v) if isinstance(v, list) else str(v)
        for record in listed for key, v in record.items() if key in shown_keys and v
    ]  # fmt: skip
    shown = run(*args, env={"COLUMNS": "80"})

    assert shown.returncode == 0, shown.stderr
    printed = set(shown.stdout.replace(",", " ").split())
    broken = {w.strip(",") for w in _words(values)} - printed
    assert broken == set(), shown.stdout
    for line in shown.stdout.splitlines():  # only a word longer than the room left is wider
        assert len(line) <= 80 or str(profiles_file) in line, line


def test_columns_get_their_longest_word_or_rows_become_blocks() -> None:
    columns = ["name", "parameters"]
    rows = [["gpu-capacity-report", "product, idle_below, window"]]

    assert column_widths(columns, rows, 200) == [19, 27]  # all on one line each
    narrow = column_widths(columns, rows, 40)
    assert narrow is not None and narrow[0] == 19 and narrow[1] >= len("idle_below,")
    assert column_widths(columns, rows, 30) is None  # printed as blocks instead
