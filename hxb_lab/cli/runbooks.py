"""``hxb-lab runbook ...``: list, show, run, submit and schedule runbooks, read their history.

Exit codes: 0 success; 1 the runbook failed, timed out or was cancelled (the failing cell,
the error and the report's location are printed); 2 bad input (one line, no traceback).
`hxb_lab.runbooks` and the libraries behind it are imported inside the commands, so
``hxb-lab --help`` stays fast. A run goes through `Runbook.run` like any other.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from hxb_lab.cli._tables import echo_json_lines, print_table, records, text
from hxb_lab.config import load_profile, require_live_cluster
from hxb_lab.errors import ParameterError
from hxb_lab.warn import PartialReadWarning

if TYPE_CHECKING:
    from hxb_lab.runbooks import Run, Runbook

__all__ = ["runbook_app"]

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_KUBE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

runbook_app = typer.Typer(
    help="Runbooks: list, run locally, submit to Kubernetes, schedule, and read their history.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _pair(value: Any) -> list[str]:
    # Typer turns each (name, value) tuple into its repr, as for any list[str] option.
    pair = ast.literal_eval(value) if isinstance(value, str) else value
    return [str(pair[0]), str(pair[1])]


class _PairsCommand(TyperCommand):
    """Lets ``-p NAME VALUE`` take two values, as many times as needed (typer cannot say it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.name == "parameter":
                param.nargs = 2
                param.callback = lambda _ctx, _param, value: (
                    [json.dumps(_pair(v)) for v in value] if value else value
                )


Profile = Annotated[str | None, typer.Option("--profile", help="Profile (default: the active one)")]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "-p", "--parameter", metavar="NAME VALUE",
        help="A parameter value, converted by its type (repeat for several).",
    ),
]  # fmt: skip


AsJson = Annotated[
    bool, typer.Option("--json", help="Print one JSON object per line instead of a table")
]


def _values(runbook: Runbook, pairs: list[str] | None) -> dict[str, Any]:
    raw = dict(json.loads(p) for p in pairs or [])
    return runbook.coerce(raw)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    print_table(title, columns, rows, keep_first=True)  # names and ids are never cut


@runbook_app.command("list")
def list_runbooks(profile: Profile = None, as_json: AsJson = False) -> None:
    """List the runbooks of the profile's runbook directories."""
    from hxb_lab.runbooks import catalog

    frame = catalog(profile)
    if as_json:
        echo_json_lines(records(frame))
        return
    rows = [
        [r.name, r.title, text(r.parameters), text(r.schedule), text(r.tags), text(r.problem)]
        for r in frame.itertuples()
    ]
    _table("Runbooks", ["name", "title", "parameters", "schedule", "tags", "problem"], rows)


@runbook_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Runbook name or notebook path")],
    profile: Profile = None,
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON Schema")] = False,
) -> None:
    """Show a runbook: title, description and its typed parameters."""
    from hxb_lab.runbooks import get
    from hxb_lab.runbooks._parameters import REQUIRED

    rb = get(name, profile)
    _warn(rb)
    if schema:
        typer.echo(json.dumps(rb.schema, indent=2))
        return
    typer.echo(f"{rb.title} ({rb.name})\n{rb.path}")
    if rb.description:
        typer.echo(rb.description)
    if rb.default_schedule:
        typer.echo(f"default schedule: {rb.default_schedule}")
    rows = []
    for p in rb.parameters:
        default = "(required)" if p.required else p.default_source or repr(p.default)
        if p.secret and p.default not in (REQUIRED, ""):
            default = "***"
        kept = p.constraints()
        rows.append([p.name, p.type_name() + (f" ({kept})" if kept else ""), default, p.help])
    _table("Parameters", ["name", "type", "default", "help"], rows)


def _warn(runbook: Runbook) -> None:
    """What the runbook's parameters cell holds that could not be typed, on stderr."""
    for warning in runbook.warnings:
        typer.echo(f"hxb-lab: warning: {warning}", err=True)


def _report_run(run: Run) -> None:
    typer.echo(run.summary())
    if run.status != "succeeded" and run.failed_cell is not None:
        typer.echo(f"  failed cell: {run.failed_cell}")
        typer.echo(f"  error:       {run.ename}: {run.evalue}")
    if run.report:
        typer.echo(f"  report:      {run.report}")
    if run.output_notebook:
        typer.echo(f"  notebook:    {run.output_notebook}")
    if run.report_uri:
        typer.echo(f"  stored at:   {run.report_uri}")
    if run.mlflow_run_id:
        typer.echo(f"  mlflow run:  {run.mlflow_run_id} (experiment runbooks/{run.runbook})")
    for warning in run.warnings:
        typer.echo(f"hxb-lab: warning: {warning}", err=True)


@runbook_app.command("run", cls=_PairsCommand)
def run(
    name: Annotated[str | None, typer.Argument(help="Runbook name or notebook path")] = None,
    parameter: Params = None,
    profile: Profile = None,
    output: Annotated[
        Path | None, typer.Option(help="Directory for run directories (default $HXB_LAB_HOME/runs)")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds for the whole run")] = None,
    cell_timeout: Annotated[float | None, typer.Option(help="Seconds for each cell")] = None,
    kernel: Annotated[str | None, typer.Option(help="Jupyter kernel name")] = None,
    cwd: Annotated[Path | None, typer.Option(help="Working directory of the kernel")] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar per cell (default: when stderr is a terminal)",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Run every runbook with its defaults, index their reports")
    ] = False,
) -> None:
    """Run a runbook here with papermill; write its report and record it in MLflow.

    With --all, run every runbook of the catalog and write an index of their reports.
    """
    from hxb_lab.runbooks import get

    if all_:
        if name is not None or parameter:
            raise ParameterError(["--all runs every runbook with its defaults: drop NAME and -p"])
        _run_all(profile, output, timeout, cell_timeout, kernel)
        return
    if name is None:
        raise ParameterError(["name: give a runbook name, or --all for every runbook"])
    rb = get(name, profile)
    _warn(rb)
    result = rb.run(
        _values(rb, parameter),
        profile,
        output=output,
        timeout=timeout,
        cell_timeout=cell_timeout,
        kernel=kernel,
        cwd=cwd,
        progress_bar=progress,
    )
    _report_run(result)
    if not result.ok:
        raise typer.Exit(1)


def _run_all(
    profile: str | None,
    output: Path | None,
    timeout: float | None,
    cell_timeout: float | None,
    kernel: str | None,
) -> None:
    from hxb_lab.runbooks import runs_root
    from hxb_lab.runbooks._executors import RunOptions
    from hxb_lab.runbooks._gallery import run_all, summary_lines
    from hxb_lab.times import timeout as check_timeout

    target = output or runs_root()
    options = RunOptions(
        load_profile(profile), output=target, kernel=kernel,
        timeout=check_timeout(timeout, "--timeout"),
        cell_timeout=check_timeout(cell_timeout, "--cell-timeout"), progress_bar=False,
    )  # fmt: skip
    entries = run_all(options, progress=lambda line: typer.echo(line, err=True))
    for line in summary_lines(entries, target / "index.html"):
        typer.echo(line)
    if any(e.run is not None and not e.run.ok for e in entries):
        raise typer.Exit(1)


@runbook_app.command("exec")
def exec_(
    name: Annotated[str, typer.Argument(help="Runbook name")],
    notebook: Annotated[Path | None, typer.Option(help="The runbook's notebook")] = None,
) -> None:
    """Run a runbook inside its Kubernetes pod (the container's command; see `submit`)."""
    from hxb_lab.runbooks._exec import exec_in_pod

    result = exec_in_pod(name, notebook)
    _report_run(result)
    if not result.ok:
        raise typer.Exit(1)


@runbook_app.command("submit", cls=_PairsCommand)
def submit(
    name: Annotated[str, typer.Argument(help="Runbook name or notebook path")],
    parameter: Params = None,
    profile: Profile = None,
    job_name: Annotated[str | None, typer.Option("--name", help="Job name")] = None,
) -> None:
    """Run a runbook as a Kubernetes Job in the profile's runbook namespace."""
    from hxb_lab.runbooks import get

    rb = get(name, profile)
    typer.echo(f"submitted {rb.submit(_values(rb, parameter), profile, name=job_name)}")


@runbook_app.command("schedule", cls=_PairsCommand)
def schedule(
    name: Annotated[str, typer.Argument(help="Runbook name or notebook path")],
    cron: Annotated[str | None, typer.Option(help="Cron expression, e.g. '0 6 * * *'")] = None,
    parameter: Params = None,
    profile: Profile = None,
    schedule_name: Annotated[str | None, typer.Option("--name", help="CronJob name")] = None,
    suspend: Annotated[bool, typer.Option(help="Create it suspended")] = False,
) -> None:
    """Run a runbook on a schedule (a Kubernetes CronJob); default: its own schedule."""
    from hxb_lab.runbooks import get

    rb = get(name, profile)
    created = rb.schedule(cron, _values(rb, parameter), schedule_name, profile, suspend=suspend)
    typer.echo(f"scheduled {created}")


@runbook_app.command("schedules")
def schedules(profile: Profile = None, as_json: AsJson = False) -> None:
    """List the runbook schedules (CronJobs) of the profile's runbook namespace."""
    from hxb_lab.runbooks import schedules as read

    chosen = load_profile(profile)
    require_live_cluster(chosen)  # a snapshot has no CronJobs: say so, not "no kubeconfig"
    frame = read(chosen)
    if as_json:
        echo_json_lines(records(frame))
        return
    rows = [
        [r.name, r.runbook, r.cron, "yes" if r.suspended else "", text(r.parameters),
         text(r.last_schedule)]
        for r in frame.itertuples()
    ]  # fmt: skip
    _table("Schedules", ["name", "runbook", "cron", "suspended", "parameters", "last run"], rows)


@runbook_app.command("suspend")
def suspend(
    name: Annotated[str, typer.Argument(help="Schedule name")], profile: Profile = None
) -> None:
    """Pause a schedule."""
    from hxb_lab.runbooks import suspend as do

    typer.echo(f"suspended {do(name, profile)}")


@runbook_app.command("resume")
def resume(
    name: Annotated[str, typer.Argument(help="Schedule name")], profile: Profile = None
) -> None:
    """Resume a paused schedule."""
    from hxb_lab.runbooks import resume as do

    typer.echo(f"resumed {do(name, profile)}")


@runbook_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="Schedule name")], profile: Profile = None
) -> None:
    """Delete a schedule."""
    from hxb_lab.runbooks import delete as do

    do(name, profile)
    typer.echo(f"deleted schedule {name}")


@runbook_app.command("runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="Only this runbook's runs")] = None,
    status: Annotated[
        str | None, typer.Option(help="pending, running, succeeded, failed, timed_out, ...")
    ] = None,
    since: Annotated[str | None, typer.Option(help="A time or an age: 30m, 6h, 2d")] = None,
    profile: Profile = None,
    as_json: AsJson = False,
) -> None:
    """List runs, newest first: MLflow's records, and the runbook Jobs of the profile's
    cluster that have none yet (pending with the scheduler's reason, image not present,
    OOM-killed, past their deadline, deleted)."""
    from hxb_lab.runbooks import runs as read

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PartialReadWarning)
        frame = read(name, status, since, profile)
    for warning in caught:  # e.g. the cluster's Jobs could not be read: MLflow's runs still are
        typer.echo(f"hxb-lab: warning: {warning.message}", err=True)
    if as_json:
        echo_json_lines(records(frame))
        return
    rows = [
        [r.run_id, r.runbook, r.status, text(r.started)[:19],
         f"{r.duration_ms / 1000:.1f}s" if r.duration_ms == r.duration_ms else "",
         text(r.executor), _alert(r.trigger), text(r.error)]
        for r in frame.itertuples()
    ]  # fmt: skip
    columns = ["run", "runbook", "status", "started", "duration", "executor", "alert", "error"]
    _table("Runs", columns, rows)


def _alert(trigger: dict[str, Any] | None) -> str:
    """The alert that started a run, as a runs table shows it: its name and the rule."""
    if not isinstance(trigger, dict):
        return ""
    alerts = trigger.get("alerts") or [{}]
    name = alerts[0].get("labels", {}).get("alertname", "")
    return f"{name} ({trigger.get('rule', '')})" if name else str(trigger.get("rule", ""))


@runbook_app.command("logs")
def logs(
    run_id: Annotated[str, typer.Argument(help="Run id (or the Job's name)")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream until the pod ends")] = (
        False
    ),
    profile: Profile = None,
) -> None:
    """Print the log of a run's pod (a run submitted to Kubernetes), read through the API
    server."""
    from hxb_lab.runbooks._jobs import pod_log

    if not _RUN_ID.match(run_id):
        raise ParameterError(
            [f"run_id: {run_id[:60]!r} is not a run id (see hxb-lab runbook runs)"]
        )
    out = sys.stdout.buffer
    for chunk in pod_log(load_profile(profile), run_id, follow=follow):
        out.write(chunk)
        out.flush()


@runbook_app.command("report")
def report(
    run_id: Annotated[str, typer.Argument(help="Run id (or MLflow run id)")],
    profile: Profile = None,
    output: Annotated[Path | None, typer.Option(help="Write the HTML report to this file")] = None,
) -> None:
    """Print where a run's report is, or save it with --output."""
    from hxb_lab.runbooks._history import find_run, read_report

    if not _RUN_ID.match(run_id):
        raise ParameterError(
            [f"run_id: {run_id[:60]!r} is not a run id (see hxb-lab runbook runs)"]
        )
    chosen = load_profile(profile)
    row = find_run(run_id, chosen)
    if output is None:
        typer.echo(row.get("report_uri") or "")
        return
    output.write_bytes(read_report(row, chosen))
    typer.echo(str(output))


@runbook_app.command("rbac")
def rbac(
    namespace: Annotated[str, typer.Option(help="The runbook namespace")],
    service_account: Annotated[str, typer.Option(help="Service account of runbook pods")] = (
        "hxb-runbook-runner"
    ),
    write: Annotated[
        list[str] | None,
        typer.Option(
            "--write",
            metavar="NAMESPACE",
            help="Also let runbooks run with dry_run=False patch inference deployments in "
            "NAMESPACE (repeat for several; default: read-only)",
        ),
    ] = None,
    profile: Profile = None,
) -> None:
    """Print the runner's ServiceAccount, read-only ClusterRole and opt-in write Roles, with
    what each runbook needs (kubectl apply -f -)."""
    from hxb_lab.runbooks._rbac import printed

    values = [("--namespace", namespace), ("--service-account", service_account)]
    values += [("--write", target) for target in write or []]
    problems = [
        f"{option}: {value[:60]!r} is not a Kubernetes name (lower-case letters, digits, '-')"
        for option, value in values
        if not _KUBE_NAME.match(value)
    ]
    if problems:
        raise ParameterError(problems)
    sys.stdout.write(printed(namespace, service_account, write or [], profile))
