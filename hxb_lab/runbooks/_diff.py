"""Comparing two runs of a runbook: verdict, logged metrics and key tables.

`diff(before, after)` reads what each run kept (its verdict and key tables in ``frozen/``,
its metrics in its record) and says what changed: the verdict's text, each metric that
moved by more than the runbook's tolerance, and per key table the rows that are new, the
rows that vanished and the values that moved. A runbook declares its tolerances in its
notebook metadata, ``hxb_lab.diff.tolerance``: a name (a metric, or a table's column) to an
absolute amount (``2``) or a share of the earlier value (``"10%"``); ``"*"`` for every
other one. Without one, any change counts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.config import Profile
from hxb_lab.errors import NotFoundError, ParameterError
from hxb_lab.frozen import TABLES, TABLES_DIR, VERDICT, read_frame
from hxb_lab.runbooks._display import cell_text
from hxb_lab.runbooks._history import runs as recorded_runs
from hxb_lab.runbooks._replay import kept_of, outputs_of

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.runbooks._run import Run

__all__ = ["DiffRow", "RunDiff", "TableDiff", "diff", "previous_run", "tolerances_of"]


@dataclass
class DiffRow:
    """One row of a key table that changed: its key, the whole row, and what moved."""

    key: dict[str, Any]
    row: dict[str, Any]
    moved: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # column: (before, after)

    def text(self) -> str:
        """``node=h100-1 (product=..., gpus=8)``: the key, then the rest of the row."""
        named = ", ".join(f"{k}={cell_text(v)}" for k, v in self.key.items())
        rest = ", ".join(f"{k}={cell_text(v)}" for k, v in self.row.items() if k not in self.key)
        return f"{named} ({rest})" if rest else named


@dataclass
class TableDiff:
    """A key table in two runs: new rows, vanished rows, rows whose values moved."""

    name: str
    key: list[str]
    new: list[DiffRow] = field(default_factory=list)
    vanished: list[DiffRow] = field(default_factory=list)
    moved: list[DiffRow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.vanished or self.moved)

    def lines(self) -> list[str]:
        out = [f"{self.name}: new row {r.text()}" for r in self.new]
        out += [f"{self.name}: vanished row {r.text()}" for r in self.vanished]
        for r in self.moved:
            what = "; ".join(
                f"{c} {cell_text(a)} -> {cell_text(b)}" for c, (a, b) in r.moved.items()
            )
            out.append(f"{self.name}: {r.text()}: {what}")
        return out


@dataclass
class RunDiff:
    """What changed from run `before` to run `after` of one runbook."""

    runbook: str
    before: str
    after: str
    verdict_before: str | None
    verdict_after: str | None
    metrics: dict[str, tuple[float | None, float | None]]  # name: (before, after), moved only
    tables: list[TableDiff]

    @property
    def changed(self) -> bool:
        """Whether anything changed beyond the runbook's tolerances."""
        return (
            self.verdict_before != self.verdict_after
            or bool(self.metrics)
            or any(t.changed for t in self.tables)
        )

    def lines(self) -> list[str]:
        """What changed, one line each (empty when nothing did)."""
        out = []
        if self.verdict_before != self.verdict_after:
            out.append(f"verdict: {self.verdict_before or '-'} -> {self.verdict_after or '-'}")
        for name, (a, b) in self.metrics.items():
            out.append(f"metric {name}: {cell_text(a)} -> {cell_text(b)}")
        for table in self.tables:
            out += table.lines()
        return out

    def html(self) -> str:
        """The "since last run" section of a report (every value escaped)."""
        lines = self.lines()
        head = f"Since run {escape(self.before)}"
        if not lines:
            return f'<div class="hxb-since"><b>{head}</b>: nothing changed.</div>'
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        return f'<div class="hxb-since"><b>{head}</b>:<ul>{items}</ul></div>'

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        lines = self.lines() or ["nothing changed"]
        return "\n".join([f"{self.runbook}: run {self.before} -> run {self.after}", *lines])


def tolerances_of(notebook_metadata: dict[str, Any]) -> dict[str, float | str]:
    """The runbook's tolerances (``hxb_lab.diff.tolerance``), checked."""
    raw = ((notebook_metadata.get("hxb_lab") or {}).get("diff") or {}).get("tolerance") or {}
    if not isinstance(raw, dict):
        raise ParameterError(["hxb_lab.diff.tolerance: expected a mapping of name to amount"])
    problems, out = [], {}
    for name, value in raw.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        if isinstance(value, str) and value.endswith("%"):
            try:
                ok = float(value[:-1]) >= 0
            except ValueError:
                ok = False
        if not ok:
            problems.append(f"hxb_lab.diff.tolerance.{name}: {value!r} is not an amount or 'N%'")
        out[str(name)] = value
    if problems:
        raise ParameterError(problems)
    return out


def _moved(name: str, before: Any, after: Any, tolerances: dict[str, float | str]) -> bool:
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in (before, after)
    )
    if not numbers:
        return _missing(before) != _missing(after) or (
            not _missing(before) and bool(before != after)
        )
    allowed = tolerances.get(name, tolerances.get("*", 0))
    if isinstance(allowed, str):
        allowed = abs(float(before)) * float(allowed[:-1]) / 100.0
    return abs(float(after) - float(before)) > float(allowed)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value


def _rows(frame: pd.DataFrame, key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = {}
    for record in frame.to_dict(orient="records"):
        record = {str(k): _plain(v) for k, v in record.items()}
        rows[tuple(record[k] for k in key)] = record
    return rows


def _table_diff(
    name: str, key: list[str], before: pd.DataFrame, after: pd.DataFrame,
    tolerances: dict[str, float | str],
) -> TableDiff:  # fmt: skip
    result = TableDiff(name, key)
    old, new = _rows(before, key), _rows(after, key)
    for k, row in new.items():
        if k not in old:
            result.new.append(DiffRow(dict(zip(key, k, strict=True)), row))
            continue
        moved = {
            c: (old[k].get(c), v)
            for c, v in row.items()
            if c not in key and _moved(c, old[k].get(c), v, tolerances)
        }
        if moved:
            result.moved.append(DiffRow(dict(zip(key, k, strict=True)), row, moved))
    for k, row in old.items():
        if k not in new:
            result.vanished.append(DiffRow(dict(zip(key, k, strict=True)), row))
    return result


@dataclass
class _Kept:
    """What one run kept for comparing: its verdict, metrics and key tables."""

    run_id: str
    runbook: str
    verdict: str | None
    metrics: dict[str, float]
    tables: dict[str, tuple[list[str], Path]]


def _read_kept(run_id: str, runbook: str, metrics: dict[str, float], kept: Path | None) -> _Kept:
    verdict, tables = None, {}
    if kept is not None:
        if (kept / VERDICT).exists():
            verdict = json.loads((kept / VERDICT).read_text()).get("text")
        index = kept / TABLES_DIR / TABLES
        if index.exists():
            for t in json.loads(index.read_text()):
                tables[str(t["name"])] = (list(t["key"]), kept / TABLES_DIR / str(t["file"]))
    return _Kept(run_id, runbook, verdict, metrics, tables)


def kept_run(run_id: str, profile: Profile) -> _Kept:
    """What run `run_id` kept, from its directory or the artifact store."""
    local, row = outputs_of(run_id, profile)
    if local is not None:
        directory = local.directory / "frozen" if local.directory is not None else None
        return _read_kept(local.id, local.runbook, dict(local.metrics), directory)
    assert row is not None
    kept = kept_of(row, profile)
    return _read_kept(str(row["run_id"]), str(row["runbook"]), dict(row["metrics"] or {}), kept)


def kept_current(run: Run) -> _Kept:
    """What a run that is ending kept (its own directory)."""
    directory = run.directory / "frozen" if run.directory is not None else None
    return _read_kept(run.id, run.runbook, dict(run.metrics), directory)


def compare(before: _Kept, after: _Kept, tolerances: dict[str, float | str]) -> RunDiff:
    """The changes from `before` to `after`."""
    metrics = {}
    for name in sorted(set(before.metrics) | set(after.metrics)):
        a, b = before.metrics.get(name), after.metrics.get(name)
        if _moved(name, a, b, tolerances):
            metrics[name] = (a, b)
    tables = []
    for name in sorted(set(before.tables) | set(after.tables)):
        key, a_path = before.tables.get(name, (None, None))
        key_b, b_path = after.tables.get(name, (None, None))
        if a_path is None or b_path is None:
            continue  # a table only one run showed: nothing to compare it with
        frame_a, frame_b = read_frame(a_path), read_frame(b_path)
        tables.append(_table_diff(name, key_b or key or [], frame_a, frame_b, tolerances))
    return RunDiff(
        after.runbook, before.run_id, after.run_id, before.verdict, after.verdict, metrics, tables
    )


def diff(
    before: str, after: str, profile: Profile, metadata_of: Callable[[str], dict[str, Any]]
) -> RunDiff:
    """The changes from run `before` to run `after` (two runs of one runbook), with the
    tolerances of the runbook's notebook metadata (`metadata_of(name)`)."""
    a, b = kept_run(before, profile), kept_run(after, profile)
    if a.runbook != b.runbook:
        raise NotFoundError(
            f"runs {before!r} and {after!r} are of two runbooks ({a.runbook}, {b.runbook})",
            hint="compare two runs of the same runbook",
        )
    return compare(a, b, tolerances_of(metadata_of(b.runbook)))


def previous_run(run: Run, profile: Profile) -> str | None:
    """The run id of the newest earlier successful run of the same runbook with the same
    parameters (re-runs from kept frames are not counted), or None."""
    found = recorded_runs(run.runbook, "succeeded", None, profile, limit=200)
    for row in found.to_dict(orient="records"):
        same = row["parameters"] == run.parameters and row["executor"] != "replay"
        if same and row["run_id"] != run.id and row["started"] < run.started:
            return str(row["run_id"])
    return None
