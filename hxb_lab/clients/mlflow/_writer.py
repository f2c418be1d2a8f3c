"""Recording runs in an MLflow SQLite store with the standard library's ``sqlite3``.

A runbook run records itself with five writes: find or create its experiment, create the
run, log its parameters, metrics and tags, and set its status. Through the mlflow library
those cost ``import mlflow`` plus the store's setup in every short-lived process (the CLI,
a pod, a worker), for a few milliseconds of SQL. `SqliteRunWriter` does the same writes with
bound parameters in one transaction each, in MLflow's own tables, so MLflow (its UI, its
client, `hx.runbooks.runs`) reads them as its own.

Measured with ``python -m tests.benchmarks mlflow`` (`tests/benchmarks/bench_mlflow.py`:
find the experiment, create a run, log 5 parameters, 10 metrics and 7 tags, terminate it),
on the 2-core development machine while other test suites ran (three runs, medians):

- cold, a ``python -c`` that imports what it needs and records one run: 0.32-0.50 s with
  this writer against 11-23 s with ``MlflowClient`` (24-70x; the interpreter alone 0.04-0.06 s);
- warm, in one process with the client already open: 62-83 ms against 102-181 ms (1.6-2.9x).

A runbook's recording is the cold case: its process (the CLI, a pod, a server worker)
records one run and exits, and a notebook kernel has not imported mlflow either. So the
writer stays; the library remains the path for everything else.

It is used only where it is known to be right: a ``sqlite:///`` store that exists (MLflow
created it, or it is a copy of the empty-store template), whose schema revision
(``alembic_version``) is one this module was checked against (`SCHEMA_REVISIONS`, pinned to
the installed mlflow by a test), with experiments in the default workspace only. Anything
else (another revision, a restore of a deleted experiment, searches) goes through the
mlflow library.
"""

from __future__ import annotations

import math
import posixpath
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hxb_lab.clients.mlflow._protocol import TrackingStore
from hxb_lab.clients.mlflow._sqlite import DEFAULT_WORKSPACE, schema_revision, store_path
from hxb_lab.clients.mlflow._template import from_template
from hxb_lab.errors import QueryError

__all__ = ["SCHEMA_REVISIONS", "SqliteRunWriter", "open_run_writer"]

# alembic revisions of MLflow's tracking schema whose experiments, runs, params, tags,
# metrics and latest_metrics tables this module writes as MLflow does. A test fails when the
# installed mlflow's head revision is not listed: check the tables, then add it.
SCHEMA_REVISIONS = frozenset({"dc11669786a5"})  # mlflow 3.17
_NAME = re.compile(r"^[/\w.\- :]*$")  # MLflow's rule for metric, param and tag keys
_KEY_LIMIT, _PARAM_LIMIT, _TAG_LIMIT = 250, 6000, 8000


def _now_ms() -> int:
    return int(time.time() * 1000)


def open_run_writer(uri: str, fallback: Callable[[], TrackingStore]) -> SqliteRunWriter | None:
    """A writer for the store at `uri` when it is a SQLite store this module knows, else None.

    A store that does not exist yet is created from the empty-store template when there is
    one. `fallback` opens the store the writer passes what it does not write itself to.
    """
    path = store_path(uri)
    if path is None:
        return None
    if not path.exists():
        from_template(path)
    if not path.is_file():
        return None
    if schema_revision(path) not in SCHEMA_REVISIONS:
        return None
    return SqliteRunWriter(uri, path, fallback)


def _check_key(key: str, what: str) -> None:
    """MLflow's rules for a key: its characters, and a path that resolves to itself."""
    norm = posixpath.normpath(key)
    if (
        not key
        or len(key) > _KEY_LIMIT
        or not _NAME.match(key)
        or norm != key
        or norm.startswith(("..", "/"))
    ):
        raise QueryError(
            f"MLflow refuses the {what} name {key!r}: use at most {_KEY_LIMIT} letters, digits, "
            "and _ - . space / :, as a relative path without . or .. parts"
        )


class SqliteRunWriter:
    """The write half of MLflow's SQL tracking store, for one SQLite file.

    It answers the `TrackingStore` calls a run recording makes; the rest
    (`restore_experiment`, the searches, an experiment whose location MLflow derives) goes
    to the store `fallback()` opens (the mlflow library, imported only then).
    """

    def __init__(self, uri: str, path: Path, fallback: Callable[[], TrackingStore]) -> None:
        self.uri = uri
        self.path = path
        self._fallback = fallback
        self._library: TrackingStore | None = None

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, BEGIN IMMEDIATE, so two
        # concurrent runs queue on the write lock (for up to `timeout`) instead of failing
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def _write(self, work: Any) -> Any:
        """`work(db)` in one write transaction; sqlite errors as `QueryError`."""
        return self._session(work, write=True)

    def _read(self, work: Any) -> Any:
        return self._session(work, write=False)

    def _session(self, work: Any, *, write: bool) -> Any:
        db = self._connect()
        try:
            if not write:
                return work(db)
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            raise QueryError(f"MLflow store {self.path}: {exc}") from None
        finally:
            db.close()

    def _delegate(self) -> TrackingStore:
        if self._library is None:
            self._library = self._fallback()
        return self._library

    def close(self) -> None:
        pass  # every call opens and closes its own connection

    # -- experiments

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None:
        row = self._read(
            lambda db: db.execute(
                "SELECT experiment_id, name, lifecycle_stage, artifact_location FROM experiments"
                " WHERE name = ? AND workspace = ?",
                (name, DEFAULT_WORKSPACE),
            ).fetchone()
        )
        if row is None:
            return None
        keys = ("experiment_id", "name", "lifecycle_stage", "artifact_location")
        return {**dict(zip(keys, row, strict=True)), "experiment_id": str(row[0])}

    def create_experiment(self, name: str, artifact_location: str | None) -> str:
        if not artifact_location or "://" not in artifact_location:
            # MLflow derives or resolves the location itself: let it
            return str(self._delegate().create_experiment(name, artifact_location))

        def insert(db: sqlite3.Connection) -> str:
            now = _now_ms()
            try:
                cursor = db.execute(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage,"
                    " creation_time, last_update_time, workspace) VALUES (?, ?, 'active', ?, ?, ?)",
                    (name, artifact_location, now, now, DEFAULT_WORKSPACE),
                )
            except sqlite3.IntegrityError:
                raise QueryError(f"MLflow experiment {name!r} already exists") from None
            return str(cursor.lastrowid)

        result: str = self._write(insert)
        return result

    def restore_experiment(self, experiment_id: str) -> None:
        self._delegate().restore_experiment(experiment_id)  # restores its runs too

    # -- runs

    def create_run(
        self, experiment_id: str, start_time: int, tags: Mapping[str, str], run_name: str
    ) -> dict[str, Any]:
        run_id = uuid.uuid4().hex
        tags = {**tags, "mlflow.runName": run_name}
        for key, value in tags.items():
            _check_key(key, "tag")
            if len(value) > _TAG_LIMIT:
                raise QueryError(f"MLflow refuses tag {key!r}: longer than {_TAG_LIMIT} characters")

        def insert(db: sqlite3.Connection) -> str:
            found = db.execute(
                "SELECT artifact_location, lifecycle_stage FROM experiments"
                " WHERE experiment_id = ?",
                (int(experiment_id),),
            ).fetchone()
            if found is None or found[1] != "active":
                state = "does not exist" if found is None else "is deleted"
                raise QueryError(f"MLflow experiment {experiment_id} {state}")
            artifact_uri = f"{str(found[0]).rstrip('/')}/{run_id}/artifacts"
            db.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, source_version, lifecycle_stage,"
                " artifact_uri, experiment_id, deleted_time)"
                " VALUES (?, ?, 'UNKNOWN', '', '', 'unknown', 'RUNNING', ?, NULL, '', 'active',"
                " ?, ?, NULL)",
                (run_id, run_name, start_time, artifact_uri, int(experiment_id)),
            )
            db.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(k, v, run_id) for k, v in tags.items()],
            )
            return artifact_uri

        artifact_uri: str = self._write(insert)
        return {
            "info": {
                "run_id": run_id,
                "status": "RUNNING",
                "start_time": start_time,
                "end_time": None,
                "artifact_uri": artifact_uri,
            },
            "data": {"params": {}, "tags": dict(tags), "metrics": {}},
        }

    @staticmethod
    def _active(db: sqlite3.Connection, run_id: str) -> None:
        found = db.execute("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,))
        row = found.fetchone()
        if row is None or row[0] != "active":
            state = "does not exist" if row is None else "is deleted"
            raise QueryError(f"MLflow run {run_id} {state}")

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        for key in params:
            _check_key(key, "parameter")
        for key in tags:
            _check_key(key, "tag")
        for metric in metrics:
            _check_key(str(metric["key"]), "metric")
        params = {k: v[:_PARAM_LIMIT] for k, v in params.items()}
        tags = {k: v[:_TAG_LIMIT] for k, v in tags.items()}

        def write(db: sqlite3.Connection) -> None:
            self._active(db, run_id)
            _log_params(db, run_id, params)
            _log_metrics(db, run_id, metrics)
            db.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)"
                " ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
                [(k, v, run_id) for k, v in tags.items()],
            )
            if "mlflow.runName" in tags:  # MLflow keeps the run's name and this tag equal
                db.execute(
                    "UPDATE runs SET name = ? WHERE run_uuid = ?", (tags["mlflow.runName"], run_id)
                )

        self._write(write)

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        def write(db: sqlite3.Connection) -> None:
            self._active(db, run_id)
            db.execute(
                "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?",
                (status, end_time, run_id),
            )

        self._write(write)

    # -- searches: the mlflow library

    def search_experiments(self, filter_string: str) -> list[dict[str, Any]]:
        return self._delegate().search_experiments(filter_string)

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, max_results: int
    ) -> list[dict[str, Any]]:
        return self._delegate().search_runs(experiment_ids, filter_string, max_results)


def _log_params(db: sqlite3.Connection, run_id: str, params: Mapping[str, str]) -> None:
    """Insert new parameters; MLflow refuses to change a logged parameter's value."""
    existing = dict(
        db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall()
    )
    changed = [k for k, v in params.items() if k in existing and existing[k] != v]
    if changed:
        raise QueryError(
            f"MLflow run {run_id}: parameters {', '.join(changed)} were already logged with "
            "other values, and MLflow does not allow changing them"
        )
    db.executemany(
        "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
        [(k, v, run_id) for k, v in params.items() if k not in existing],
    )


def _log_metrics(db: sqlite3.Connection, run_id: str, metrics: Sequence[Mapping[str, Any]]) -> None:
    """Insert metric values (duplicates ignored, NaN as MLflow stores it) and keep
    ``latest_metrics`` at the value with the highest (step, timestamp, value)."""
    rows = []
    for metric in metrics:
        value = float(metric["value"])
        is_nan = math.isnan(value)
        if is_nan:
            value = 0.0
        elif math.isinf(value):  # MLflow stores infinities as the largest finite floats
            value = 1.7976931348623157e308 if value > 0 else -1.7976931348623157e308
        rows.append(
            (str(metric["key"]), value, int(metric["timestamp"]), int(metric["step"]), is_nan)
        )
    db.executemany(
        "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(k, v, t, run_id, s, n) for k, v, t, s, n in rows],
    )
    latest: dict[str, tuple[str, float, int, int, bool]] = {}
    for row in rows:
        best = latest.get(row[0])
        if best is None or (row[3], row[2], row[1]) > (best[3], best[2], best[1]):
            latest[row[0]] = row
    for key, value, timestamp, step, is_nan in latest.values():
        current = db.execute(
            "SELECT step, timestamp, value FROM latest_metrics WHERE run_uuid = ? AND key = ?",
            (run_id, key),
        ).fetchone()
        if current is not None and tuple(current) >= (step, timestamp, value):
            continue
        db.execute(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET"
            " value = excluded.value, timestamp = excluded.timestamp, step = excluded.step,"
            " is_nan = excluded.is_nan",
            (key, value, timestamp, step, is_nan, run_id),
        )
