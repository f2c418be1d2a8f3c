"""The telemetry store: one clickhouse-connect client and the profile's table names.

Three kinds of DSN, one SQL dialect and one client API:

- ``parquet:///dir`` (the embedded demo): an in-memory chDB in this process whose
  exporter-named tables are views over the Parquet files in `dir`. Any number of
  processes can read the same directory at once (an on-disk chDB cannot be shared).
- ``chdb:///dir``: an on-disk chDB with the exporter's tables (one process at a time).
- ``http(s)://user@host:port``: a ClickHouse server; the password comes from
  ``profile.clickhouse.password``. Each query waits at most ``clickhouse.timeout_s``
  seconds for an answer (connecting, at most 5), so a server that accepts connections
  and never answers is a `BackendUnavailableError` naming it, not a hang.

SQL names tables as ``${traces}``, ``${logs}``... (keys of `ClickHouseTables`); values
always travel as bound parameters (``{name:Type}``). A read that knows its time range
passes it as `span`: on a Parquet directory whose traces and logs are split into hourly
files (``YYYYMMDDHH.parquet``, as `hxb_lab.demo.telemetry.generate` writes them) only the files
of those hours are opened, which is most of the cost of a narrow read.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hxb_lab._redact import redact, redact_url
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError
from hxb_lab.otel_tables import PARQUET_LAYOUT, structure

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.config import ClickHouseConfig, Profile

__all__ = ["ClickHouse", "open_clickhouse"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GLOB = re.compile(r"[*?{}\[\]]")
_TABLE_REF = re.compile(r"\$\{(\w+)\}")
_HOUR_FILE = re.compile(r"^(\d{10})\.parquet$")
HOUR_NS = 3600 * 10**9
#: Tables whose Parquet files may be split by hour.
HOURLY = frozenset({"traces", "logs"})
#: Columns each table must have for our queries (the exporter's names).
REQUIRED: dict[str, tuple[str, ...]] = {
    "traces": (
        "Timestamp",
        "TraceId",
        "SpanId",
        "ParentSpanId",
        "SpanName",
        "SpanKind",
        "ServiceName",
        "ResourceAttributes",
        "SpanAttributes",
        "Duration",
        "StatusCode",
        "StatusMessage",
    ),
    "traces_trace_id_ts": ("TraceId", "Start", "End"),
    "logs": (
        "Timestamp",
        "TraceId",
        "SpanId",
        "SeverityText",
        "SeverityNumber",
        "ServiceName",
        "Body",
        "LogAttributes",
    ),
    "metrics_gauge": ("MetricName", "ServiceName", "Attributes", "TimeUnix", "Value"),
    "metrics_sum": ("MetricName", "ServiceName", "Attributes", "TimeUnix", "Value"),
    "traces_red_1m": (
        "Minute",
        "ServiceName",
        "SpanName",
        "SpanKind",
        "Calls",
        "Errors",
        "Durations",
    ),
    "cluster_changes": ("Time", "Cluster", "Kind", "Uid", "Change", "Diff", "Object"),
    "metrics_histogram": (
        "MetricName",
        "ServiceName",
        "Attributes",
        "TimeUnix",
        "Count",
        "Sum",
        "BucketCounts",
        "ExplicitBounds",
    ),
}


class ClickHouse:
    """A telemetry store: run SQL with ``${table}`` references and bound parameters."""

    def __init__(
        self,
        client: Any,
        *,
        database: str,
        tables: Mapping[str, str],
        server: str,
        directory: Path | None = None,
        checked: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        self.client = client
        self.database = database
        self.tables = dict(tables)
        self.server = server  # redacted, for messages
        self.directory = directory  # the Parquet directory of a parquet:// store
        self.timeout_s = timeout_s  # a server's: seconds it may take to answer
        self._checked: set[str] = set(tables) if checked else set()
        self._lock = threading.Lock()

    def table(self, key: str) -> str:
        """The quoted, database-qualified name of a table key ('traces', 'logs', ...)."""
        if key not in self.tables:
            raise ConfigError(
                f"unknown telemetry table {key!r}", hint=f"one of {sorted(self.tables)}"
            )
        if self.directory is not None and not (self.directory / PARQUET_LAYOUT[key]).is_dir():
            raise ConfigError(
                f"the telemetry directory {self.directory} has no {PARQUET_LAYOUT[key]}/ "
                f"folder (table {key!r}): its data is missing",
                key="clickhouse.dsn",
                hint="write it again (hxb-lab demo --reset on the demo) or point the profile "
                "at a complete directory",
            )
        self._check(key)
        return f"`{self.database}`.`{self.tables[key]}`"

    def has(self, key: str) -> bool:
        """Whether table `key` exists (with the columns we read); an optional table, like
        the RED rollup, is used only when it does."""
        if key in self._checked and self.directory is None:
            return True
        if self.directory is not None:
            return any((self.directory / PARQUET_LAYOUT[key]).glob("*.parquet"))
        try:
            self._check(key)
        except ConfigError:
            return False
        return True

    def _check(self, key: str) -> None:
        """Validate a table against the exporter's schema the first time it is used."""
        if key in self._checked:
            return
        name = self.tables[key]
        rows = self._run(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
            {"db": self.database, "t": name},
        ).result_rows
        found = {r[0] for r in rows}
        if not found:
            raise ConfigError(
                f"{self.server} has no table {self.database}.{name}",
                key=f"clickhouse.tables.{key}",
                hint="point the profile at the OpenTelemetry exporter's tables",
            )
        missing = [c for c in REQUIRED[key] if c not in found]
        if missing:
            raise ConfigError(
                f"table {self.database}.{name} on {self.server} lacks column(s) "
                f"{', '.join(missing)}: it is not the OpenTelemetry exporter's schema",
                key=f"clickhouse.tables.{key}",
            )
        self._checked.add(key)

    def source(self, key: str, span: tuple[int, int] | None = None) -> str:
        """What to read table `key` from: its qualified name, or on an hourly-split Parquet
        directory, only the files of the hours that `span` (start, end ns) touches."""
        table = self.table(key)
        if span is None or self.directory is None or key not in HOURLY:
            return table

        folder = self.directory / PARQUET_LAYOUT[key]
        try:
            names = os.listdir(folder)
        except OSError:
            return table
        hours = [m.group(1) for m in map(_HOUR_FILE.match, names) if m]
        if not names or len(hours) != len(names):
            return table
        first, last = _hour(span[0]), _hour(max(span[1] - 1, span[0]))
        wanted = sorted(h for h in hours if first <= h <= last) or ["none"]
        files = _literal(str(folder / ("{" + ",".join(wanted) + "}.parquet")))
        return f"file({files}, Parquet, {_literal(structure(key))})"

    def sql(self, text: str, span: tuple[int, int] | None = None) -> str:
        """`text` with every ``${key}`` replaced by where to read it from (see `source`)."""
        return _TABLE_REF.sub(lambda m: self.source(m.group(1), span), text)

    def _run(self, sql: str, parameters: Mapping[str, Any] | None) -> Any:
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

        try:
            with self._lock:
                return self.client.query(sql, parameters=dict(parameters or {}))
        except OperationalError as exc:
            raise _unavailable(self.server, exc, self.timeout_s) from None
        except DatabaseError as exc:
            raise QueryError(
                f"ClickHouse at {self.server} rejected the query: {redact(_first_line(exc))}"
            ) from None

    def rows(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        span: tuple[int, int] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Result rows of `sql` (with ``${table}`` references)."""
        return list(self._run(self.sql(sql, span), parameters).result_rows)

    def frame(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        columns: Sequence[str] = (),
        span: tuple[int, int] | None = None,
    ) -> pd.DataFrame:
        """The result of `sql` as a DataFrame; an empty result still has `columns`.

        `span` (start, end ns) is the time range the query reads, when it is known."""
        import pandas as pd

        result = self._run(self.sql(sql, span), parameters)
        names = list(result.column_names) or list(columns)
        data = result.result_columns
        if not data:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in names})
        return pd.DataFrame({n: list(col) for n, col in zip(names, data, strict=True)})

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"<ClickHouse {self.server} database={self.database!r}>"


def _unavailable(
    server: str, exc: BaseException, timeout_s: float | None
) -> BackendUnavailableError:
    """A server that could not be reached, or did not answer within `timeout_s`."""
    text = _first_line(exc)
    if timeout_s is not None and "timed out" in text.lower():
        return BackendUnavailableError(
            f"no answer from ClickHouse at {server} within {timeout_s:g} s",
            server=server,
            hint="check that it is up, or raise the profile's clickhouse.timeout_s",
        )
    return BackendUnavailableError(
        f"cannot reach ClickHouse at {server}: {redact(text)}",
        server=server,
        hint="check that the server is up, and the profile's clickhouse.dsn and password",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _hour(ns: int) -> str:
    """The ``YYYYMMDDHH`` (UTC) of an instant in nanoseconds."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns // HOUR_NS * 3600, UTC).strftime("%Y%m%d%H")


def _locked(status: Path) -> bool:
    """Whether another process holds ClickHouse's lock on a data directory's status file."""
    import fcntl

    try:
        with status.open("rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _tables(config: ClickHouseConfig, profile: Profile) -> dict[str, str]:
    where = {"file": profile.source, "profile": profile.name}
    if not _IDENTIFIER.match(config.database):
        raise ConfigError(
            f"{config.database!r} is not a valid database name",
            key="clickhouse.database",
            hint="use letters, digits and underscores",
            **where,
        )
    tables = {f.name: getattr(config.tables, f.name) for f in fields(config.tables)}
    tables["traces_red_1m"] = f"{tables['traces']}_red_1m"  # our rollup, named after traces
    for key, name in tables.items():
        if not _IDENTIFIER.match(name):
            raise ConfigError(
                f"{name!r} is not a valid table name",
                key=f"clickhouse.tables.{key}",
                hint="use letters, digits and underscores",
                **where,
            )
    return tables


def _open_parquet(config: ClickHouseConfig, tables: dict[str, str], profile: Profile) -> ClickHouse:
    import clickhouse_connect

    directory = Path(urlsplit(config.dsn).path)
    if _GLOB.search(str(directory)):
        raise ConfigError(
            f"the telemetry directory {directory} contains a glob character (* ? {{ }} [ ])",
            file=profile.source,
            profile=profile.name,
            key="clickhouse.dsn",
            hint="move the Parquet files to a directory without one",
        )
    if not directory.is_dir():
        hint = (
            "run `hxb-lab demo --reset` to seed the demo platform"
            if profile.is_demo
            else "point clickhouse.dsn at a directory written by hxb_lab.demo.telemetry.generate"
        )
        raise ConfigError(
            f"the telemetry directory {directory} does not exist",
            file=profile.source,
            profile=profile.name,
            key="clickhouse.dsn",
            hint=hint,
        )
    digest = hashlib.sha1(str(directory).encode(), usedforsecurity=False).hexdigest()[:10]
    database = f"{config.database}_{digest}"
    client = clickhouse_connect.get_client(dsn="chdb://memory")
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for key, name in tables.items():
        files = _literal(str(directory / PARQUET_LAYOUT[key] / "*.parquet"))
        client.command(
            f"CREATE OR REPLACE VIEW `{database}`.`{name}` AS SELECT * FROM "
            f"file({files}, Parquet, {_literal(structure(key))})"
        )
    return ClickHouse(
        client,
        database=database,
        tables=tables,
        server=f"parquet://{directory}",
        directory=directory,
        checked=True,
    )


def _open_chdb(config: ClickHouseConfig, tables: dict[str, str]) -> ClickHouse:
    import clickhouse_connect

    path = urlsplit(config.dsn).path
    try:
        client = clickhouse_connect.get_client(dsn=f"chdb://{path}", database=config.database)
    except Exception as exc:
        text = str(exc)
        hint = "check the path in clickhouse.dsn"
        if _locked(Path(path) / "status") or "different path" in text:
            text = "the directory is in use by another chDB"
            hint = (
                "an on-disk chDB can be opened by one process (and one path per process) "
                "only; use a parquet:// directory to share telemetry between processes"
            )
        raise BackendUnavailableError(
            f"cannot open chDB at {path}: {redact(_first_line(Exception(text)))}",
            server=f"chdb://{path}",
            hint=hint,
        ) from None
    return ClickHouse(client, database=config.database, tables=tables, server=f"chdb://{path}")


def _open_server(config: ClickHouseConfig, tables: dict[str, str]) -> ClickHouse:
    import clickhouse_connect

    parts = urlsplit(config.dsn)
    password = config.password.resolve() if config.password else None
    username = config.username or parts.username or "default"
    server = redact_url(config.dsn)
    try:
        client = clickhouse_connect.get_client(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            secure=parts.scheme == "https",
            username=username,
            password=password or "",
            database=config.database,
            connect_timeout=min(5.0, config.timeout_s),
            send_receive_timeout=config.timeout_s,
            autogenerate_session_id=False,
        )
    except Exception as exc:
        raise _unavailable(server, exc, config.timeout_s) from None
    return ClickHouse(
        client, database=config.database, tables=tables, server=server, timeout_s=config.timeout_s
    )


def open_clickhouse(profile: Profile) -> ClickHouse:
    """Open the profile's telemetry store (the factory for ``wb.clients.get("clickhouse")``)."""
    config = profile.clickhouse
    if config is None:
        raise ConfigError(
            "the profile has no clickhouse section, so there are no traces, logs or metrics",
            file=profile.source,
            profile=profile.name,
            key="clickhouse",
            hint='add clickhouse = { dsn = "https://host:8443", database = "otel" }',
        )
    tables = _tables(config, profile)
    scheme = urlsplit(config.dsn).scheme
    if scheme == "parquet":
        return _open_parquet(config, tables, profile)
    if scheme == "chdb":
        return _open_chdb(config, tables)
    if scheme in ("http", "https"):
        return _open_server(config, tables)
    raise ConfigError(
        f"unsupported DSN scheme {scheme!r} in {redact_url(config.dsn)}",
        file=profile.source,
        profile=profile.name,
        key="clickhouse.dsn",
        hint="use parquet:///dir, chdb:///dir or http(s)://host:port",
    )
