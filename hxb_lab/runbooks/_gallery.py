"""The reports gallery: every runbook of the catalog run once, and an index page of reports.

``hxb-lab runbook run --all --output DIR`` runs each runbook with its default parameters
(one after the other, each recorded like any run) and writes ``DIR/index.html``: one row
per runbook with its status, its verdict and a link to its report. A runbook states its
verdict in an element of class ``hxb-verdict`` (see the project's runbooks); the gallery
shows that element's text. Every string on the page is HTML-escaped, and the page loads
nothing from the network.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import HxbLabError
from hxb_lab.runbooks._catalog import catalog, get
from hxb_lab.runbooks._display import VERDICT_CLASS
from hxb_lab.runbooks._executors import RunOptions, execute

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook
    from hxb_lab.runbooks._run import Run

__all__ = [
    "INDEX_FILE",
    "VERDICT_CLASS",
    "GalleryEntry",
    "run_all",
    "summary_lines",
    "verdict_of",
    "write_index",
]

INDEX_FILE = "index.html"
_VERDICT = re.compile(
    r"<(\w+)[^>]*\bclass=\"[^\"]*\b" + VERDICT_CLASS + r"\b[^\"]*\"[^>]*>(.*?)</\1>", re.S
)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class GalleryEntry:
    """One runbook of the gallery: its run, or why it was not run."""

    name: str
    title: str
    description: str
    run: Run | None = None
    verdict: str | None = None
    skipped: str | None = None  # why the runbook was not run (needs parameters, unreadable)

    @property
    def status(self) -> str:
        return self.run.status if self.run is not None else "skipped"


def verdict_of(notebook: Path | None) -> str | None:
    """The text of the first ``hxb-verdict`` element among an executed notebook's outputs."""
    if notebook is None or not notebook.exists():
        return None
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            text = data.get("text/html")
            if text is None:
                continue
            match = _VERDICT.search("".join(text) if isinstance(text, list) else str(text))
            if match:
                plain = " ".join(html.unescape(_TAG.sub("", match.group(2))).split())
                return re.sub(r"^verdict:\s*", "", plain, flags=re.I)
    return None


def _skip_reason(runbook: Runbook) -> str | None:
    required = [p.name for p in runbook.parameters if p.required]
    if required:
        return f"needs parameters without defaults: {', '.join(required)}"
    return None


def run_all(
    options: RunOptions, *, progress: Callable[[str], None] | None = None
) -> list[GalleryEntry]:
    """Run every runbook of the profile's catalog with its defaults into `options.output`,
    then write its index.html. Runbooks with required parameters are listed as skipped."""
    if options.output is None:
        raise ValueError("the gallery needs an output directory")
    output, profile = options.output, options.profile
    report = progress or (lambda _line: None)
    output.mkdir(parents=True, exist_ok=True)
    entries: list[GalleryEntry] = []
    for row in catalog(profile).itertuples():
        name, title, description = str(row.name), str(row.title), str(row.description or "")
        if isinstance(row.problem, str) and row.problem:
            entries.append(GalleryEntry(name, title, description, skipped=row.problem))
            continue
        try:
            runbook = get(name, profile)
        except HxbLabError as exc:
            entries.append(GalleryEntry(name, title, description, skipped=str(exc)))
            continue
        reason = _skip_reason(runbook)
        if reason:
            entries.append(GalleryEntry(name, title, description, skipped=reason))
            report(f"{name}: skipped ({reason})")
            continue
        report(f"{name}: running ...")
        run = execute(runbook, {}, options)
        verdict = verdict_of(run.output_notebook)
        entries.append(GalleryEntry(name, title, description, run=run, verdict=verdict))
        report(run.summary())
    write_index(entries, output, profile_name=profile.name)
    return entries


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 24px;
  color: #1f2933; }
h1 { font-size: 1.5em; margin: 0 0 4px; } .meta { color: #57606a; margin-bottom: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid #d0d7de; }
th { color: #57606a; font-weight: 600; } td.verdict { max-width: 60em; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.succeeded { background: #1a7f37; } .failed, .timed_out, .cancelled { background: #cf222e; }
.skipped { background: #7b8794; } .desc { color: #57606a; font-size: 0.9em; }
.error { color: #cf222e; }
"""


def _row(entry: GalleryEntry, output: Path) -> str:
    esc = html.escape
    title = f"<b>{esc(entry.title)}</b><br><code>{esc(entry.name)}</code>"
    if entry.description:
        title += f'<div class="desc">{esc(entry.description)}</div>'
    status = f'<span class="status {esc(entry.status)}">{esc(entry.status)}</span>'
    run = entry.run
    if run is None:
        detail = esc(entry.skipped or "")
        return f"<tr><td>{title}</td><td>{status}</td><td>{detail}</td><td></td><td></td></tr>"
    detail = esc(entry.verdict) if entry.verdict else ""
    if run.error:
        detail += f'<div class="error">{esc(run.error)}</div>'
    seconds = f"{run.duration.total_seconds():.1f} s" if run.duration else ""
    link = ""
    if run.report is not None and run.report.exists():
        try:
            href = run.report.resolve().relative_to(output.resolve()).as_posix()
        except ValueError:
            href = run.report.resolve().as_uri()
        link = f'<a href="{esc(href)}">report</a>'
    return (
        f'<tr><td>{title}</td><td>{status}</td><td class="verdict">{detail}</td>'
        f"<td>{esc(seconds)}</td><td>{link}</td></tr>"
    )


def write_index(entries: list[GalleryEntry], output: Path, *, profile_name: str) -> Path:
    """Write `output`/index.html linking the reports of `entries` (relative links)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed = sum(1 for e in entries if e.run is not None and not e.run.ok)
    summary = f"{len(entries)} runbooks, profile {profile_name}, run {now}"
    if failed:
        summary += f", {failed} failed"
    rows = "\n".join(_row(e, output) for e in entries)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>HXB Lab runbook reports</title><style>{_CSS}</style></head>
<body><h1>HXB Lab runbook reports</h1><div class="meta">{html.escape(summary)}</div>
<table><thead><tr><th>runbook</th><th>status</th><th>verdict</th><th>duration</th><th></th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
    target = output / INDEX_FILE
    target.write_text(page, encoding="utf-8")
    return target


def summary_lines(entries: list[GalleryEntry], index: Path) -> list[str]:
    """What the CLI prints after the gallery: one line per runbook, then the index."""
    lines: list[str] = []
    for e in entries:
        what: Any = e.verdict or (e.run.error if e.run is not None else e.skipped) or ""
        lines.append(f"{e.name:<28} {e.status:<10} {what}")
    lines.append(f"index: {index}")
    return lines
