"""The ``local`` executor: a runbook run here with papermill, in one run directory, with
one report and one MLflow run.

The same executor runs a runbook on a laptop (`Runbook.run`, `hxb-lab runbook run`, the
form, the server's worker) and inside a Kubernetes pod (`hxb-lab runbook exec`): only the
executor the run is recorded under differs (`RunOptions.recorded_as`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact
from hxb_lab.config import Profile, config_path, hxb_home
from hxb_lab.errors import RunbookError
from hxb_lab.frozen import REPLAY_ENV
from hxb_lab.runbooks import _parameters as P
from hxb_lab.runbooks._control import Control, RunInterrupted
from hxb_lab.runbooks._executors import RunOptions
from hxb_lab.runbooks._history import Recorder
from hxb_lab.runbooks._lease import Heartbeat, hand_over, held
from hxb_lab.runbooks._recorder import make_recorder
from hxb_lab.runbooks._report import render_report
from hxb_lab.runbooks._run import (
    METRICS_FILE,
    REPORT_FILE,
    RUN_FILE,
    Run,
    new_run_id,
    runs_root,
)
from hxb_lab.runbooks._scrub import run_secrets
from hxb_lab.runbooks._since import notify, since_last_run

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook

__all__ = ["LocalExecutor", "kernel_environment"]

KERNEL_LOG = "kernel.log"


def _queued_here(directory: Path, run_id: str) -> bool:
    """Whether `directory` holds only the queued record of this run (a server's queue
    writes it when the run is asked for, so the run is on record before it starts)."""
    try:
        data = json.loads((directory / RUN_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("id") == run_id and data.get("status") == "queued"


def _run_directory(output: Path | None, runbook: str, run_id: str) -> Path:
    root = output.expanduser() if output else runs_root()
    directory = root / runbook / run_id
    try:
        directory.mkdir(parents=True, exist_ok=False)  # a run never reuses a directory
    except FileExistsError:
        if _queued_here(directory, run_id):
            return directory
        raise RunbookError(f"the run directory {directory} already exists") from None
    except OSError as exc:
        raise RunbookError(
            f"cannot create the run directory {directory}: {exc.strerror}",
            hint="pass another output directory",
        ) from None
    return directory


def kernel_environment(
    profile: Profile, run: Run, secrets: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The kernel's environment: this process's, plus the run's profile, run directory,
    metrics file and secret parameters. `hx.connect()` in the runbook opens the run's profile.
    """
    env = dict(os.environ if base is None else base)
    env = {k: v for k, v in env.items() if not k.startswith("HXB_LAB_SECRET_") and k != REPLAY_ENV}
    env["HXB_LAB_PROFILE"] = profile.name
    env["HXB_LAB_HOME"] = str(hxb_home())
    if profile.source != "built-in":
        env["HXB_LAB_CONFIG"] = profile.source
    elif "HXB_LAB_CONFIG" not in env and config_path().exists():
        env["HXB_LAB_CONFIG"] = str(config_path())
    env["HXB_LAB_RUN_ID"] = run.id
    env["HXB_LAB_RUNBOOK"] = run.runbook
    if run.directory is not None:
        env["HXB_LAB_RUN_DIR"] = str(run.directory)
        env["HXB_LAB_METRICS_FILE"] = str(run.directory / METRICS_FILE)
    # Figures go out as plotly JSON; the report turns them into HTML with plotly.js once.
    env["PLOTLY_RENDERER"] = "plotly_mimetype"
    for name, value in secrets.items():
        env[P.secret_env_var(name)] = value
    return env


def _nbformat() -> Any:
    import nbformat

    return nbformat


def _check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise RunbookError(
            f"no Jupyter kernel named {name!r}",
            hint=f"installed kernels: {known}; set runbooks.kernel in the profile",
        ) from None


def _prepare(runbook: Runbook, values: Mapping[str, Any], run_id: str, kernel: str) -> Any:
    """The notebook to execute: the runbook with the injected parameters cell."""
    nbformat = _nbformat()
    nb = nbformat.reads(json.dumps(runbook.notebook), as_version=4)
    injected = P.INJECTED_TAG
    nb.cells = [c for c in nb.cells if injected not in c.get("metadata", {}).get("tags", [])]
    source = P.injected_source(runbook.parameters, values, run_id=run_id)
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [injected]})
    cell.id = injected  # not a random one: a run's report is the same however often it runs
    index = next(
        (i for i, c in enumerate(nb.cells) if P.PARAMETERS_TAG in c.metadata.get("tags", [])),
        None,
    )
    nb.cells.insert(0 if index is None else index + 1, cell)
    spec = dict(nb.metadata.get("kernelspec") or {})
    spec.update({"name": kernel, "language": "python"})
    spec.setdefault("display_name", kernel)
    nb.metadata["kernelspec"] = spec
    return nb


def _redact_notebook(nb: Any, secrets: list[str]) -> None:
    """Mask secret values (and URL passwords) in every output of the notebook, in place."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for key in ("text", "data", "evalue", "traceback"):
                if key in output:
                    output[key] = clean(output[key])


def _redact_file(path: Path, secrets: list[str]) -> None:
    if secrets and path.exists():
        path.write_text(redact(path.read_text(errors="replace"), secrets))


@contextlib.contextmanager
def _signals_cancel(control: Control) -> Iterator[None]:
    """Ctrl-C (SIGINT) or SIGTERM cancels the run: the running cell is interrupted and the
    run is recorded as cancelled, outputs kept. A second Ctrl-C stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if control.reason is None:
            with contextlib.suppress(OSError):  # stderr may be a pipe to a process gone
                print("\nhxb-lab: cancelling the run ...", file=sys.stderr, flush=True)
            control.stop("cancelled")
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _original_cell(runbook: Runbook, index: int | None) -> int | None:
    """Map a cell index of the executed notebook back to the runbook as written."""
    if index is None:
        return None
    injected = 0 if runbook.parameters_cell is None else runbook.parameters_cell + 1
    if index < injected:
        return index
    if index == injected:  # the injected cell itself: blame the parameters cell
        return runbook.parameters_cell or 0
    return index - 1


def _add_error(nb: Any, index: int | None, ename: str, evalue: str) -> None:
    nbformat = _nbformat()
    if index is None or not 0 <= index < len(nb.cells):
        return
    cell = nb.cells[index]
    if cell.get("cell_type") != "code":
        return
    if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return
    cell.outputs.append(
        nbformat.v4.new_output(
            "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
        )
    )
    cell.metadata.setdefault("papermill", {})["exception"] = True


def _load_nbconvert() -> None:
    with contextlib.suppress(Exception):  # the report will say what is wrong
        from nbconvert import HTMLExporter  # noqa: F401


def _execute(
    nb: Any,
    output_path: Path,
    control: Control,
    *,
    kernel: str,
    cell_timeout: float | None,
    progress_bar: bool,
) -> tuple[str, int | None, str | None, str | None]:
    """Execute; (status, executed cell index, ename, evalue)."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from hxb_lab.runbooks._engine import ENGINE  # registers the engine; loads papermill

    # The report needs nbconvert (a second of imports): load it while the kernel works.
    threading.Thread(target=_load_nbconvert, name="hxb-nbconvert", daemon=True).start()
    try:
        papermill.execute_notebook(
            nb,
            str(output_path),
            engine_name=ENGINE,
            kernel_name=kernel,
            progress_bar=progress_bar,
            request_save_on_cell_execute=True,
            execution_timeout=cell_timeout,
            hxb_control=control,
        )
    except PapermillExecutionError as exc:
        return control.reason or "failed", exc.cell_index, exc.ename, exc.evalue
    except CellTimeoutError:
        limit = f" after {cell_timeout:g}s" if cell_timeout else ""
        return "timed_out", control.current_cell, "CellTimeoutError", f"the cell ran{limit}"
    except DeadKernelError as exc:
        detail = "the kernel died (a crash, running out of memory, or os._exit)"
        if control.reason:
            detail = f"the kernel was stopped ({control.reason.replace('_', ' ')})"
        return (
            control.reason or "failed",
            control.current_cell,
            "DeadKernelError",
            detail or str(exc),
        )
    except RunInterrupted as exc:
        reason = str(exc)
        text = "the run was cancelled" if reason == "cancelled" else "the run ran out of time"
        return reason, control.current_cell, "RunInterrupted", text
    except KeyboardInterrupt:
        return "cancelled", control.current_cell, "KeyboardInterrupt", "cancelled"
    except Exception as exc:  # e.g. the kernel cannot start: a missing binary or directory
        if control.reason and not control.started.is_set():  # stopped while it started
            text = (
                "the run was cancelled"
                if control.reason == "cancelled"
                else ("the run ran out of time")
            )
            return control.reason, None, "RunInterrupted", f"{text} before its kernel started"
        if control.started.is_set():
            return "failed", control.current_cell, type(exc).__name__, str(exc)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return "failed", None, "KernelStartError", f"the kernel {kernel!r} did not start: {first}"
    finally:
        control.disarm()
    return "succeeded", None, None, None


def _read_metrics(path: Path) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
                metrics[str(item["key"])] = float(item["value"])
            except (ValueError, KeyError, TypeError):
                continue
    return metrics


def _run(runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> Run:
    """Validate, execute, report and record one run; see `Runbook.run`."""
    profile = options.profile
    values = runbook.validate(params)  # before anything starts
    kernel_name = options.kernel or profile.runbooks.kernel or runbook.kernel or "python3"
    _check_kernel(kernel_name)
    run_id = options.run_id or new_run_id()
    directory = _run_directory(options.output, runbook.name, run_id)
    with held(directory, run_id) as lease:  # ours until the run's end is on record
        run = _run_in(directory, runbook, values, options, kernel_name, lease)
        if run.mlflow_run_id is None:  # MLflow did not answer: the next reconcile records it
            lease.release(directory, remove_file=False)
            hand_over(directory, run_id)
        return run


def _run_in(
    directory: Path,
    runbook: Runbook,
    values: Mapping[str, Any],
    options: RunOptions,
    kernel_name: str,
    lease: Heartbeat,
) -> Run:
    profile = options.profile
    run_id = directory.name
    everything = P.resolved(runbook.parameters, values)
    secrets = {
        p.name: str(values[p.name]) for p in runbook.parameters if p.secret and values.get(p.name)
    }
    hidden = run_secrets(profile, secrets.values())  # and what the kernel can resolve
    run = Run(
        id=run_id,
        runbook=runbook.name,
        status="running",
        started=datetime.now(UTC),
        parameters=P.redacted(runbook.parameters, everything),
        profile=profile.name,
        executor=options.recorded_as,
        directory=directory,
        output_notebook=directory / f"{runbook.name}.ipynb",
        kubernetes_job=options.kubernetes_job,
    )
    run.save()
    recorder = make_recorder(profile, run)
    recorder.start()  # MLflow is slow to import: it loads while the kernel works
    if recorder.helper_pid is not None:  # it may still write the record if we die
        lease.add_helper(directory, recorder.helper_pid)
    try:
        return _execute_and_record(
            run, recorder, directory, runbook, values, options, kernel_name, secrets, hidden
        )
    except BaseException as exc:  # our own error mid-run: the run still ends on record
        _record_crash(run, recorder, exc, hidden)
        raise


def _record_crash(run: Run, recorder: Recorder, exc: BaseException, hidden: list[str]) -> None:
    """End a run that an error of ours (or a second Ctrl-C) broke off: failed (cancelled),
    with that error, in run.json and MLflow, so it never stays "running"."""
    run.finished = run.finished or datetime.now(UTC)
    interrupted = isinstance(exc, KeyboardInterrupt)
    run.status = "cancelled" if interrupted and run.status == "running" else "failed"
    line = (str(exc).strip().splitlines() or [""])[0]
    run.ename, run.evalue = type(exc).__name__, redact(line, hidden)
    run.save()
    with contextlib.suppress(Exception):
        recorder.finish(run)
        run.save()


def _execute_and_record(
    run: Run,
    recorder: Recorder,
    directory: Path,
    runbook: Runbook,
    values: Mapping[str, Any],
    options: RunOptions,
    kernel_name: str,
    secrets: dict[str, str],
    hidden: list[str],
) -> Run:
    nbformat = _nbformat()
    profile = options.profile
    run_id = run.id

    nb = _prepare(runbook, values, run_id, kernel_name)
    env = kernel_environment(profile, run, secrets)
    if options.replay is not None:  # `hx.connect()` in the kernel answers from these frames
        env[REPLAY_ENV] = str(options.replay)
    work_dir = str(options.cwd.expanduser() if options.cwd else directory)
    control = Control(
        env,
        work_dir,
        redact=lambda notebook: _redact_notebook(notebook, hidden),
        on_cell=options.on_cell,
        kernel_log=str(directory / KERNEL_LOG),
    )
    assert run.output_notebook is not None
    progress_bar = options.progress_bar
    show_progress = sys.stderr.isatty() if progress_bar is None else progress_bar
    with _signals_cancel(control):
        control.arm(options.timeout)
        status, index, ename, evalue = _execute(
            nb,
            run.output_notebook,
            control,
            kernel=kernel_name,
            cell_timeout=options.cell_timeout,
            progress_bar=show_progress,
        )
        run.finished = datetime.now(UTC)
        stop_reason = options.stop_reason
        stopped_by = stop_reason() if stop_reason is not None and status == "cancelled" else None
        if stopped_by and stopped_by != "cancelled":  # not the user: e.g. the server stopped
            status, ename, evalue = "failed", "RunInterrupted", stopped_by
        run.status = status
        if status != "succeeded":
            run.failed_cell = _original_cell(runbook, index)
            run.ename, run.evalue = ename, redact(evalue or "", hidden)

        executed = (
            nbformat.read(str(run.output_notebook), as_version=4)
            if run.output_notebook.exists()
            else nb
        )
        if status != "succeeded" and ename in (
            "CellTimeoutError",
            "DeadKernelError",
            "RunInterrupted",
        ):
            _add_error(executed, index, ename or "", run.evalue or "")
        _redact_notebook(executed, hidden)
        executed.metadata["hxb_lab_run"] = {
            "id": run.id,
            "runbook": run.runbook,
            "status": run.status,
            "profile": run.profile,
            "parameters": run.parameters,
        }
        nbformat.write(executed, str(run.output_notebook))
        run.metrics = _read_metrics(directory / METRICS_FILE)
        _redact_file(directory / KERNEL_LOG, hidden)

        since, changes = "", None
        if options.since_last_run:
            since, changes = since_last_run(run, runbook, profile)
        run.report = directory / REPORT_FILE
        render_report(executed, run, runbook, run.report, secrets=hidden, since=since)
        recorder.finish(run)
        notify(run, changes, profile)
        run.save()
    return run


class LocalExecutor:
    """``local``: papermill in this process; the run recorded in the profile's MLflow."""

    def execute(self, runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> Run:
        return _run(runbook, params, options)
