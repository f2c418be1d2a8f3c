"""Recording a run in MLflow from a helper process, for stores that need the mlflow library.

``import mlflow`` costs seconds of CPU. In a thread it would compete for the interpreter
lock with papermill and the report; in a process of its own it runs on another core while
the kernel works. The parent and the helper exchange one JSON line each way per step:

    parent -> {"profile": NAME, "run": RUN, "owner": PID}
                                                 helper -> {"mlflow_run": RUN} | {"error": MSG}
    parent -> {"run": FINISHED RUN}              helper -> {"ok": true} | {"error": MSG}

Run as ``python -m hxb_lab.runbooks._recorder``. Stores over HTTP, and SQLite stores whose
schema `hxb_lab.clients.mlflow.SqliteRunWriter` knows, need no helper: their calls cost
milliseconds (`_history.Recorder` does them in a thread).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO, Any

from hxb_lab.clients.mlflow import light_recording, open_store
from hxb_lab.config import Profile, load_profile
from hxb_lab.runbooks._history import Recorder, RunAbandoned, complete_run, failure, open_run
from hxb_lab.runbooks._run import Run

__all__ = ["ProcessRecorder", "make_recorder"]


class ProcessRecorder(Recorder):
    """A `Recorder` whose MLflow side runs in a helper process."""

    def __init__(self, profile: Profile, run: Run) -> None:
        super().__init__(profile, run)
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        log_path = os.devnull if self.run.directory is None else self.run.directory / "mlflow.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in finish()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "hxb_lab.runbooks._recorder"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,  # Ctrl-C is for the run; the record must still be written
        )
        # The owner's pid travels with the request: the helper may be reparented before it
        # has finished importing, and its own first getppid() would then name init.
        owner = os.getpid()
        self._send({"profile": self.profile.name, "run": self.run.to_json(), "owner": owner})

    @property
    def helper_pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(message, default=str) + "\n")
            self._process.stdin.flush()
        except OSError:
            pass  # the helper is gone; its answer (or its absence) says why

    def _receive(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            return {"error": f"the MLflow helper process stopped (see {self._log_name()})"}
        return answer

    def _log_name(self) -> str:
        return getattr(self._log, "name", "its log")

    def _opened(self) -> dict[str, Any] | None:
        answer = self._receive()
        if "error" in answer:
            self._error = str(answer["error"])
            self._close()
            return None
        mlflow_run: dict[str, Any] = answer["mlflow_run"]
        self._mlflow_run = mlflow_run
        return mlflow_run

    def _complete(self, run: Run) -> str | None:
        self._send({"run": run.to_json()})
        answer = self._receive()
        self._close()
        return str(answer["error"]) if "error" in answer else None

    def _close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
        if self._log is not None:
            self._log.close()


def make_recorder(profile: Profile, run: Run) -> Recorder:
    """The recorder for the profile's MLflow: in a thread for a tracking server or a SQLite
    store written with ``sqlite3`` (milliseconds of work either way), in a helper process
    for the mlflow library (when the helper can load the same profile by name)."""
    light = light_recording(profile)
    try:
        loadable = load_profile(profile.name) == profile
    except Exception:
        loadable = False
    return Recorder(profile, run) if light or not loadable else ProcessRecorder(profile, run)


def _main() -> int:
    """The helper: open the MLflow run, wait for the finished run, complete it."""
    out = sys.stdout
    sys.stdout = sys.stderr  # only our answers go to the parent

    def reply(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, default=str) + "\n")
        out.flush()

    first = sys.stdin.readline()
    if not first:
        return 0
    request = json.loads(first)
    parent = int(request["owner"])
    profile = load_profile(request["profile"])
    run = Run.from_json(request["run"])
    try:
        store = open_store(profile)
        # If the run's process died meanwhile, whoever ends the run opens its MLflow run
        # (one per run id), not this helper.
        mlflow_run = open_run(store, profile, run, owner_alive=lambda: os.getppid() == parent)
    except RunAbandoned:
        return 0
    except BaseException as exc:
        reply({"error": failure(profile, exc)})
        return 0
    reply({"mlflow_run": mlflow_run})
    second = sys.stdin.readline()
    if not second:  # the parent went away: leave the MLflow run as it is (RUNNING)
        return 0
    finished = Run.from_json(json.loads(second)["run"])
    try:
        complete_run(store, mlflow_run["info"]["run_id"], finished)
    except BaseException as exc:
        reply({"error": failure(profile, exc)})
        return 0
    reply({"ok": True})
    return 0


if __name__ == "__main__":
    sys.exit(_main())
