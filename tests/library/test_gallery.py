"""The reports gallery's index page and verdicts, on hand-made runs (no kernel needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hxb_lab.runbooks._gallery import GalleryEntry, verdict_of, write_index
from hxb_lab.runbooks._run import Run

XSS = "<img src=x onerror=alert(1)>"


def _notebook(path: Path, html: str) -> Path:
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": "verdict(level, text)",
        "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"text/html": html}}],
    }
    path.write_text(
        json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path


def _run(tmp_path: Path, name: str, status: str) -> Run:
    directory = tmp_path / name / "20250602-090000-abcdef"
    directory.mkdir(parents=True)
    (directory / "report.html").write_text("<html>report</html>")
    started = datetime(2025, 6, 2, 9, tzinfo=UTC)
    return Run(
        id="20250602-090000-abcdef",
        runbook=name,
        status=status,
        started=started,
        finished=started + timedelta(seconds=12.5),
        report=directory / "report.html",
        failed_cell=None if status == "succeeded" else 2,
        ename=None if status == "succeeded" else "NotFoundError",
        evalue=None if status == "succeeded" else f"no node named {XSS!r}",
    )


def test_verdict_is_the_text_of_the_verdict_element(tmp_path: Path) -> None:
    html = (
        '<div class="hxb-verdict hxb-verdict-action" style="color: red"><b>VERDICT:</b> '
        "roll back &#x27;llm-chat&#x27; &lt;now&gt;</div>"
    )
    assert verdict_of(_notebook(tmp_path / "a.ipynb", html)) == "roll back 'llm-chat' <now>"
    assert verdict_of(_notebook(tmp_path / "b.ipynb", "<div>no verdict here</div>")) is None
    assert verdict_of(tmp_path / "missing.ipynb") is None


def test_index_links_reports_relatively_and_escapes_everything(tmp_path: Path) -> None:
    entries = [
        GalleryEntry("ok-runbook", f"Title {XSS}", "A description", _run(tmp_path, "ok-runbook", "succeeded"),
                     verdict=f"all good {XSS}"),
        GalleryEntry("bad-runbook", "Bad", "", _run(tmp_path, "bad-runbook", "failed")),
        GalleryEntry("needs-params", "Needs", "", skipped="needs parameters without defaults: service"),
    ]  # fmt: skip
    index = write_index(entries, tmp_path, profile_name="demo").read_text()
    assert XSS not in index and "&lt;img src=x onerror=alert(1)&gt;" in index
    assert 'href="ok-runbook/20250602-090000-abcdef/report.html"' in index
    assert 'href="bad-runbook/20250602-090000-abcdef/report.html"' in index
    assert 'class="status succeeded"' in index and 'class="status failed"' in index
    assert (
        'class="status skipped"' in index and "needs parameters without defaults: service" in index
    )
    assert "NotFoundError: no node named" in index and "12.5 s" in index
    assert "3 runbooks, profile demo" in index and "1 failed" in index
    assert "Content-Security-Policy" in index and "<script" not in index


def test_cli_asks_for_a_name_or_all(tmp_path: Path) -> None:
    hxb_lab = Path(sys.executable).with_name("hxb-lab")
    for args, message in (
        ([], "give a runbook name, or --all for every runbook"),
        (
            ["--all", "platform-smoke"],
            "--all runs every runbook with its defaults: drop NAME and -p",
        ),
        (["--all", "-p", "depth", "full"], "drop NAME and -p"),
    ):
        done = subprocess.run(
            [str(hxb_lab), "runbook", "run", *args, "--output", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr
