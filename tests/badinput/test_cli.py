"""The command line refuses bad input with exit code 2 and one line naming the option,
parameter or value (``hxb-lab: error: ...``), never a traceback, and writes nothing.

A case is one row: the command line after ``hxb-lab``, and what its error must name.
Option values of the wrong type are click's own usage errors, also exit 2, naming the
option on their ``Error:`` line. Most cases run the CLI's `main` in this process; a few
run the installed command, to show the real entry point behaves the same.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hxb_lab.cli import main
from tests.badinput.conftest import nothing_in, one_line

RUN = "runbook run kinds -p service a"
DEEP = "[" * 300 + "]" * 300

#: (command line, what the one-line error names)
CASES: list[tuple[str, str]] = [
    # runbook run: names, parameters, limits, timeouts
    ("runbook run", "name"),
    ("runbook run no-such", "no-such"),
    ("runbook run ''", "name"),
    ("runbook run kinds", "service"),
    (f"{RUN} -p count x", "count"),
    (f"{RUN} -p count 1.5", "count"),
    (f"{RUN} -p count 1e999", "count"),
    (f"{RUN} -p count {'9' * 30}", "count"),
    (f"{RUN} -p count {'9' * 5000}", "count"),
    (f"{RUN} -p ratio nan", "ratio"),
    (f"{RUN} -p ratio inf", "ratio"),
    (f"{RUN} -p ratio -inf", "ratio"),
    (f"{RUN} -p ratio 1e999", "ratio"),
    (f"{RUN} -p ratio fast", "ratio"),
    (f"{RUN} -p dry_run maybe", "dry_run"),
    (f"{RUN} -p mode delete", "mode"),
    (f"{RUN} -p mode ''", "mode"),
    (f"{RUN} -p ports '[1,2'", "ports"),
    (f"{RUN} -p ports a,b", "ports[0]"),
    (f"{RUN} -p ports '[1, \"x\"]'", "ports[1]"),
    (f"{RUN} -p ports '{{\"a\": 1}}'", "ports"),
    (f"{RUN} -p names '{DEEP}'", "names"),
    (f"{RUN} -p names '{'[' * 100_000}'", "names"),
    (f"{RUN} -p labels '[1]'", "labels"),
    (f"{RUN} -p labels '{{bad'", "labels"),
    (f"{RUN} -p labels '{{\"a\": NaN}}'", "labels"),
    (f"{RUN} -p extra '{DEEP}'", "extra"),
    (f"{RUN} -p note {'n' * 70_000}", "note"),
    (f"{RUN} -p nope 1", "nope"),
    (f"{RUN} -p servce b", "servce"),
    (f"{RUN} --timeout -5", "timeout"),
    (f"{RUN} --timeout 0", "timeout"),
    (f"{RUN} --timeout nan", "timeout"),
    (f"{RUN} --timeout inf", "timeout"),
    (f"{RUN} --timeout 1e999", "timeout"),
    (f"{RUN} --timeout abc", "--timeout"),
    (f"{RUN} --cell-timeout -1", "cell_timeout"),
    (f"{RUN} --cell-timeout nan", "cell_timeout"),
    (f"{RUN} --progress maybe", "maybe"),
    (f"{RUN} -p service", "-p"),
    ("runbook run --all -p service a", "--all"),
    ("runbook run kinds --all", "--all"),
    ("runbook run --all --timeout -5", "--timeout"),
    ("runbook run --all --cell-timeout nan", "--cell-timeout"),
    # the other runbook commands
    ("runbook show no-such", "no-such"),
    ("runbook show ''", "name"),
    ("runbook submit kinds -p service a -p count x", "count"),
    ("runbook submit kinds", "service"),
    ("runbook schedule kinds -p service a", "schedule"),
    ("runbook schedule kinds --cron 'not cron' -p service a", "cron"),
    ("runbook schedule kinds --cron '61 * * * *' -p service a", "cron"),
    ("runbook exec kinds", "service"),
    ("runbook runs --since 99999999d", "since"),
    ("runbook runs --since -999999d", "since"),
    ("runbook runs --since -5", "since"),
    ("runbook runs --since 9999-01-01", "since"),
    ("runbook runs --since 1900-01-01", "since"),
    ("runbook runs --since yesterday", "since"),
    ("runbook runs --since nan", "since"),
    ("runbook runs --since 1e999s", "since"),
    ("runbook runs --status bogus", "status"),
    ("runbook report ../../etc/passwd", "run_id"),
    ("runbook report ''", "run_id"),
    ("runbook rbac --namespace ''", "--namespace"),
    ("runbook rbac --namespace Bad_Name", "--namespace"),
    ("runbook rbac --namespace ok --service-account 'a b'", "--service-account"),
    ("runbook rbac", "--namespace"),
    ("runbook rbac --namespace ok --write Team_A", "--write"),
    # profiles, demo, cluster, the command itself
    ("profile show no-such", "no-such"),
    ("profile show ''", "''"),
    ("demo --size huge", "size"),
    ("demo --seed abc", "--seed"),
    ("cluster snapshot", "directory"),
    ("no-such-command", "no-such-command"),
    ("runbook no-such-command", "no-such-command"),
    ("version --bogus", "--bogus"),
]

#: Environment variables that are input too: (variables, command line, what the error names)
ENV_CASES: list[tuple[dict[str, str], str, str]] = [
    ({"HXB_LAB_PROFILE": "no-such"}, "profile show", "no-such"),
    ({"HXB_LAB_PROFILE": "no-such"}, "runbook list", "no-such"),
    ({"HXB_LAB_CONFIG": "/nonexistent/profiles.toml"}, "profile list", "does not exist"),
]


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    sys.argv = ["hxb-lab", *argv]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def _error_line(stderr: str) -> str:
    """The line that says what is wrong: ours (hxb-lab: error:) or click's (Error:)."""
    assert "Traceback" not in stderr, stderr
    ours = [line for line in stderr.splitlines() if line.startswith("hxb-lab: error:")]
    if ours:
        return one_line(stderr)  # our errors are the only line
    theirs = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(theirs) == 1, stderr
    return theirs[0]


@pytest.mark.parametrize(("command", "field"), CASES, ids=[c[0][:80] for c in CASES])
def test_the_cli_refuses_bad_input_with_exit_2_naming_it(
    bad_profile: Path,
    hxb_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    field: str,
) -> None:
    monkeypatch.setattr(sys, "argv", sys.argv)
    monkeypatch.setenv("KUBECONFIG", str(hxb_env / "no-kubeconfig"))
    code, stderr = _main(shlex.split(command), capsys)
    assert code == 2, stderr
    line = _error_line(stderr)
    assert field in line, line
    assert nothing_in(hxb_env / "runs") == []


@pytest.mark.parametrize(("env", "command", "field"), ENV_CASES, ids=[c[1] for c in ENV_CASES])
def test_bad_environment_is_refused_with_exit_2(
    bad_profile: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    command: str,
    field: str,
) -> None:
    monkeypatch.setattr(sys, "argv", sys.argv)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, stderr = _main(shlex.split(command), capsys)
    assert code == 2, stderr
    assert field in _error_line(stderr)


HXB_LAB = Path(sys.executable).parent / "hxb-lab"


@pytest.mark.parametrize(
    ("command", "field"),
    [(f"{RUN} --timeout -5", "timeout"), (f"{RUN} -p ports '[1,2'", "ports"),
     ("runbook runs --since 99999999d", "since")],
)  # fmt: skip
def test_the_installed_command_says_the_same(
    bad_profile: Path, hxb_env: Path, command: str, field: str
) -> None:
    done = subprocess.run(
        [str(HXB_LAB), *shlex.split(command)],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert field in one_line(done.stderr)
    assert done.stdout == ""
    assert nothing_in(hxb_env / "runs") == []
