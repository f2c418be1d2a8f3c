"""The `hxb-lab` command as a user runs it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hxb_lab import __version__

HXB_LAB = Path(sys.executable).parent / "hxb-lab"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert HXB_LAB.exists(), f"{HXB_LAB} is not installed: run `make test`"
    return subprocess.run(
        [str(HXB_LAB), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_version_and_help() -> None:
    assert run("version").stdout.strip() == __version__
    shown = run("--help")
    assert shown.returncode == 0
    for command in ("version", "profile", "demo"):
        assert command in shown.stdout


def test_profile_show_demo_works_with_no_configuration(hxb_env: Path) -> None:
    shown = run("profile", "show", "demo")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["name"] == "demo"
    assert data["kube"]["snapshot"] == str(hxb_env / "demo" / "cluster")
    listed = run("profile", "list")
    assert "demo" in listed.stdout and "built-in" in listed.stdout


def test_profile_show_redacts_secrets(profiles_file: Path) -> None:
    profiles_file.write_text(
        '[profiles.prod]\nclickhouse = { dsn = "https://ch:8443", password = { env = "CHPW" } }\n'
    )
    shown = run("profile", "show", "prod", env={"CHPW": "very-secret-pw"})
    assert shown.returncode == 0, shown.stderr
    assert "very-secret-pw" not in shown.stdout
    assert json.loads(shown.stdout)["clickhouse"]["password"] == "env:CHPW (set)"


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("[profiles.prod\n", ("profile", "show"), "not valid TOML"),
        ("", ("profile", "show", "qa"), "unknown profile 'qa'"),
        (
            "[profiles.prod]\nclickhouse = {}\n",
            ("profile", "list"),
            "key 'clickhouse.dsn': missing",
        ),
        ("[profiles.prod]\nkube = { namespace = 3 }\n", ("profile", "show"), "expected a string"),
    ],
    ids=["malformed", "unknown-profile", "missing-key", "wrong-type"],
)
def test_config_errors_print_one_line_with_exit_code_2(
    profiles_file: Path, text: str, args: tuple[str, ...], expected: str
) -> None:
    profiles_file.write_text(text)
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hxb-lab: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_demo_seeds_and_prints_what_it_seeded(hxb_env: Path) -> None:
    result = run("demo", "--size", "small", "--no-lab")
    assert result.returncode == 0, result.stderr
    assert "Demo platform (small)" in result.stdout
    manifest = json.loads((hxb_env / "demo" / "manifest.json").read_text())
    assert manifest["size"] == "small"
    assert manifest["version"] == __version__
    again = run("demo", "--size", "small")
    assert "already seeded" in again.stdout


def test_demo_rejects_an_unknown_size() -> None:
    result = run("demo", "--size", "huge")
    assert result.returncode == 2
    assert "unknown demo size 'huge'" in result.stderr


def test_demo_with_a_missing_profiles_file_fails_before_seeding(hxb_env: Path) -> None:
    missing = hxb_env / "nowhere" / "profiles.toml"
    started = time.monotonic()
    result = run("demo", "--size", "small", "--no-lab", env={"HXB_LAB_CONFIG": str(missing)})
    took = time.monotonic() - started
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"hxb-lab: error: {missing}: the profiles file does not exist (create it, or unset "
        "HXB_LAB_CONFIG to use the built-in demo profile)"
    ], result.stderr
    assert "seeding" not in result.stdout
    assert not (hxb_env / "demo").exists()
    assert took < 10, f"{took:.1f} s: the file is checked before anything is seeded"
