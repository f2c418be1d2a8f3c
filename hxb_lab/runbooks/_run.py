"""`Run`: what one execution of a runbook produced, wherever it ran, and its local record."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from hxb_lab.config import hxb_home

__all__ = ["FINISHED", "METRICS_FILE", "STATUSES", "Run", "local_run", "new_run_id", "runs_root"]

#: The statuses of a run: running while it executes, then one of the finished ones.
STATUSES = ("running", "succeeded", "failed", "timed_out", "cancelled")
FINISHED = STATUSES[1:]
RUN_FILE = "run.json"
REPORT_FILE = "report.html"
METRICS_FILE = "metrics.jsonl"  # what `log_metric` writes in a run, one JSON object a line
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by time and is unique: ``20250101-120000-3f9a1c``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{moment}-{secrets.token_hex(3)}"


@dataclass
class Run:
    """One run of a runbook: status, times, parameters (secrets masked), outputs, error."""

    id: str
    runbook: str
    status: str
    started: datetime
    finished: datetime | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # secrets are "***"
    profile: str = ""
    executor: str = "local"  # local | kubernetes
    directory: Path | None = None  # the local run directory
    output_notebook: Path | None = None
    report: Path | None = None
    notebook_uri: str | None = None  # in the profile's artifact store
    report_uri: str | None = None
    failed_cell: int | None = None  # index in the runbook as written, 0-based
    ename: str | None = None
    evalue: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    kubernetes_job: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> timedelta | None:
        return (self.finished - self.started) if self.finished else None

    @property
    def duration_ms(self) -> float | None:
        duration = self.duration
        return duration.total_seconds() * 1000.0 if duration is not None else None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def error(self) -> str | None:
        """One line: the exception and where it happened, or None for a success."""
        if self.status == "succeeded" or self.status == "running":
            return None
        where = f" in cell {self.failed_cell}" if self.failed_cell is not None else ""
        what = f"{self.ename}: {self.evalue}" if self.ename else self.status.replace("_", " ")
        return f"{what}{where}"

    def summary(self) -> str:
        """A short human line: status, duration, and the error of a failed run."""
        seconds = f" in {self.duration.total_seconds():.1f}s" if self.duration else ""
        line = f"run {self.id} of {self.runbook}: {self.status}{seconds}"
        if self.error:
            line += f" ({self.error})"
        return line

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
            elif isinstance(value, Path):
                data[key] = str(value)
        data["duration_ms"] = self.duration_ms
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("started", "finished"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        for key in ("directory", "output_notebook", "report"):
            if data.get(key):
                data[key] = Path(data[key])
        return cls(**data)

    def save(self) -> None:
        """Write ``run.json`` into the run directory."""
        if self.directory is not None:
            target = self.directory / RUN_FILE
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.to_json(), indent=2, default=str))
            tmp.replace(target)

    def _repr_html_(self) -> str:
        link = ""
        if self.report:
            link = f" &mdash; report: <code>{escape(str(self.report))}</code>"
        return f"<b>{escape(self.summary())}</b>{link}"

    def __repr__(self) -> str:
        return f"<Run {self.summary()}>"


def runs_root() -> Path:
    """Where local runs are kept unless told otherwise: ``$HXB_LAB_HOME/runs``."""
    return hxb_home() / "runs"


def local_run(run_id: str, runbook: str | None = None) -> Run | None:
    """A run as its local record (``run.json`` under `runs_root()`) has it; None when
    there is none, it cannot be read, or a name would lead outside `runs_root()`."""
    if not _RUN_ID.match(run_id):
        return None
    if runbook is not None and ("/" in runbook or "\\" in runbook or runbook in (".", "..")):
        return None
    root = runs_root()
    if runbook:
        candidates = [root / runbook / run_id / RUN_FILE]
    else:
        candidates = sorted(root.glob(f"*/{run_id}/{RUN_FILE}"))
    for path in candidates:
        if path.exists():
            try:
                return Run.from_json(json.loads(path.read_text()))
            except (ValueError, TypeError, OSError):
                return None
    return None
