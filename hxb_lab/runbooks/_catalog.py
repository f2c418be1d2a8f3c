"""The runbook library: notebooks found in the profile's runbook directories.

A runbook is data: a notebook's path, name, title and typed parameters. It is read as
plain JSON (no nbformat, no kernel), so listing the catalog and deriving a schema stay
fast. Its notebook metadata ``hxb_lab`` holds the title, description, tags and an optional
default schedule (a cron expression). Running one goes through the executor registry
(`_executors.execute`), which knows where runs happen; this module does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab import times
from hxb_lab.config import MAX_TIMEOUT_S, Profile, load_profile
from hxb_lab.errors import ParameterError, RunbookError
from hxb_lab.runbooks import _parameters as P
from hxb_lab.runbooks._cron import check_cron
from hxb_lab.runbooks._executors import RunOptions, execute
from hxb_lab.runbooks._executors import schedule as run_on_schedule
from hxb_lab.widgets.runbook_form import RunbookForm

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.runbooks._kubernetes import Schedule, Submission
    from hxb_lab.runbooks._run import Run

__all__ = ["Runbook", "catalog", "find", "get", "load"]

CATALOG_COLUMNS = [
    "name",
    "title",
    "description",
    "tags",
    "schedule",
    "parameters",
    "required",
    "path",
    "problem",
]


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunbookError(f"the runbook {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise RunbookError(f"cannot read the runbook {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise RunbookError(f"{path} is not a Jupyter notebook (no 'cells' list)")
    return data


@dataclass(frozen=True)
class Runbook:
    """One runbook: a notebook with typed parameters. Run it, submit it, schedule it."""

    name: str
    path: Path
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    default_schedule: str | None = None
    parameters: tuple[P.Parameter, ...] = ()
    parameters_cell: int | None = None  # index of the cell tagged "parameters"
    kernel: str | None = None  # the notebook's kernelspec name
    notebook: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    timeout_s: float | None = None  # notebook metadata hxb_lab.timeout_s: its runs' limit
    #: What the parameters cell holds that could not be typed (a line that is not Python,
    #: an annotation HXB Lab cannot check): the runbook loads, and these say what was left.
    warnings: tuple[str, ...] = ()

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters (types, defaults, required, choices, help)."""
        return P.schema(self.parameters, title=self.title, description=self.description)

    def parameter(self, name: str) -> P.Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The given values, checked; `ParameterError` lists every problem at once."""
        return P.validate(self.parameters, params or {}, runbook=self.name)

    def coerce(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Strings (from a command line or a form) converted by the parameters' types."""
        return P.coerce(self.parameters, raw)

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        profile: str | Profile | None = None,
        *,
        output: str | Path | None = None,
        timeout: float | None = None,
        cell_timeout: float | None = None,
        kernel: str | None = None,
        cwd: str | Path | None = None,
        progress_bar: bool | None = None,
        run_id: str | None = None,
        stop_reason: Callable[[], str | None] | None = None,
        on_cell: Callable[[int | None], None] | None = None,
    ) -> Run:
        """Run locally with papermill, render the report and record the run in MLflow.

        Parameters are checked before any kernel starts. `timeout` bounds the whole run
        (seconds or ``"30m"``; default: the runbook's ``hxb_lab.timeout_s``, else the
        profile's ``runbooks.timeout_s``, else none), `cell_timeout` each cell. The run's
        files go to `output` (default
        ``$HXB_LAB_HOME/runs``), each run in its own directory. A failing runbook is not an
        exception: the returned `Run` says ``failed``, with the cell and the error.

        Ctrl-C (SIGINT) or SIGTERM cancels the run. A host that interrupts runs for its own
        reasons (a server shutting down) passes `stop_reason`, which then returns why: the
        run is recorded as failed with that reason rather than cancelled. `on_cell` is told
        the index of each cell as it starts (a progress bar).
        """
        chosen = _profile(profile)
        options = RunOptions(
            chosen,
            run_id=run_id,
            output=Path(output) if output else None,
            cwd=Path(cwd) if cwd else None,
            kernel=kernel,
            timeout=self.run_timeout(timeout, chosen),
            cell_timeout=times.timeout(cell_timeout, "cell_timeout"),
            progress_bar=progress_bar,
            on_cell=on_cell,
            stop_reason=stop_reason,
        )
        return execute(self, params or {}, options)

    def submit(
        self,
        params: Mapping[str, Any] | None = None,
        profile: str | Profile | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        trigger: Mapping[str, Any] | None = None,
    ) -> Submission:
        """Run as a Kubernetes Job in the profile's runbook namespace (`timeout`: seconds
        before Kubernetes stops the pod; `trigger`: the alert that started the run, which
        the pod records with it). Parameters are checked before anything is sent."""
        chosen = _profile(profile)
        options = RunOptions(
            chosen, name=name, timeout=self.run_timeout(timeout, chosen), trigger=trigger
        )
        return execute(self, params or {}, options, executor="kubernetes")

    def schedule(
        self,
        cron: str | None = None,
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
        profile: str | Profile | None = None,
        *,
        suspend: bool = False,
        timeout: float | None = None,
    ) -> Schedule:
        """Run on a schedule as a Kubernetes CronJob (default: the runbook's own schedule).

        The cron expression and the parameters are checked before anything is sent; a
        schedule of the same name is updated."""
        chosen = cron or self.default_schedule
        if not chosen:
            raise RunbookError(
                f"runbook {self.name!r} has no default schedule",
                hint="pass a cron expression, e.g. '0 6 * * *'",
            )
        resolved = _profile(profile)
        options = RunOptions(resolved, name=name, timeout=self.run_timeout(timeout, resolved))
        return run_on_schedule(self, chosen, params or {}, options, suspend=suspend)

    def run_timeout(self, timeout: Any, profile: Profile) -> float | None:
        """Seconds a run may take: `timeout` (checked: above zero, finite), else the
        runbook's own ``hxb_lab.timeout_s``, else the profile's ``runbooks.timeout_s``."""
        given = times.timeout(timeout, "timeout")
        return given or self.timeout_s or profile.runbooks.timeout_s

    def form(self, profile: str | Profile | None = None) -> RunbookForm:
        """An ipywidgets form for the parameters, with validation and a Run button."""
        return RunbookForm(self, profile=profile)

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.parameters)
        return f"<Runbook {self.name!r} {self.title!r} ({names}) at {self.path}>"


def _profile(profile: str | Profile | None) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def _title(data: Mapping[str, Any], fallback: str) -> str:
    for cell in data.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _meta_str(meta: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RunbookError(f"{path}: notebook metadata hxb_lab.{key} must be a string, got {value!r}")


def load(path: str | Path, name: str | None = None) -> Runbook:
    """Read one runbook from its notebook file."""
    path = Path(path).expanduser()
    data = _read(path)
    metadata = data.get("metadata") or {}
    meta = metadata.get("hxb_lab") or {}
    if not isinstance(meta, dict):
        raise RunbookError(f"{path}: notebook metadata 'hxb_lab' must be a mapping")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RunbookError(f"{path}: notebook metadata hxb_lab.tags must be a list of strings")
    cells = data["cells"]
    index = next((i for i, c in enumerate(cells) if P.PARAMETERS_TAG in _tags(c)), None)
    params: list[P.Parameter] = []
    warnings: list[str] = []
    if index is not None:
        params, warnings = P.read_parameters(_source(cells[index]), where=f"{path} (cell {index})")
    stem = name or path.stem
    schedule = _meta_str(meta, "schedule", path)
    if schedule:
        try:
            check_cron(schedule)
        except ParameterError as exc:
            problems = "; ".join(exc.problems)
            raise RunbookError(f"{path}: notebook metadata hxb_lab.schedule: {problems}") from None
    kernelspec = metadata.get("kernelspec") or {}
    timeout_s = meta.get("timeout_s")
    if timeout_s is not None and (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, int | float)
        or not 0 < timeout_s <= MAX_TIMEOUT_S
    ):
        raise RunbookError(
            f"{path}: notebook metadata hxb_lab.timeout_s must be seconds above 0 and at most "
            f"{MAX_TIMEOUT_S:g}, got {timeout_s!r}"
        )
    return Runbook(
        name=stem,
        path=path,
        title=_meta_str(meta, "title", path) or _title(data, stem),
        description=_meta_str(meta, "description", path) or "",
        tags=tuple(tags),
        default_schedule=schedule,
        parameters=tuple(params),
        parameters_cell=index,
        kernel=kernelspec.get("name") if isinstance(kernelspec, dict) else None,
        notebook=data,
        timeout_s=float(timeout_s) if timeout_s is not None else None,
        warnings=tuple(warnings),
    )


def _files(profile: Profile) -> dict[str, Path]:
    """Runbook name -> notebook, the first directory winning for a duplicate name."""
    found: dict[str, Path] = {}
    for directory in profile.runbook_directories():
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.ipynb")):
            found.setdefault(path.stem, path)
    return found


def find(name: str, profile: Profile) -> Path:
    """The notebook of runbook `name` (or `name` itself when it is a notebook path)."""
    if not isinstance(name, str) or not name.strip():
        raise ParameterError([f"name: expected a runbook name, got {name!r:.60}"])
    candidate = Path(name).expanduser()
    if name.endswith(".ipynb") and candidate.is_file():
        return candidate
    files = _files(profile)
    if name in files:
        return files[name]
    dirs = ", ".join(str(d) for d in profile.runbook_directories())
    known = ", ".join(sorted(files)) or "none"
    raise RunbookError(
        f"no runbook named {name!r} in {dirs}",
        hint=f"known runbooks: {known}; add directories with runbooks.directories in the profile",
    )


def get(name: str, profile: str | Profile | None = None) -> Runbook:
    """The runbook called `name` in the profile's runbook directories (or a notebook path)."""
    return load(find(name, _profile(profile)))


def catalog(profile: str | Profile | None = None) -> pd.DataFrame:
    """The runbooks of the profile's directories (the project's ``runbooks/`` first).

    Columns: name, title, description, tags (list of str), schedule (cron, missing when
    none), parameters (list of names), required (list of names), path, problem (why the
    runbook cannot be loaded; missing when it loads).
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for name, path in _files(_profile(profile)).items():
        try:
            rb = load(path)
        except RunbookError as exc:
            rows.append(
                {"name": name, "title": name, "description": "", "tags": [], "schedule": None,
                 "parameters": [], "required": [], "path": str(path), "problem": str(exc)}
            )  # fmt: skip
            continue
        rows.append(
            {
                "name": rb.name,
                "title": rb.title,
                "description": rb.description,
                "tags": list(rb.tags),
                "schedule": rb.default_schedule,
                "parameters": [p.name for p in rb.parameters],
                "required": [p.name for p in rb.parameters if p.required],
                "path": str(rb.path),
                "problem": None,
            }
        )
    return pd.DataFrame(rows, columns=CATALOG_COLUMNS)
