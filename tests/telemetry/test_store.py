"""The telemetry store behind `wb.traces`, `wb.logs` and the SQL metrics: its three DSNs,
names from the profile, and clear errors for a bad profile or an unreachable server."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hxb_lab.config import ClickHouseConfig, ClickHouseTables, Profile, SecretRef
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.workbench import Workbench
from tests.conftest import ROOT
from tests.telemetry.conftest import Generated, free_port, workbench


def bench(dsn: str, **config: object) -> Workbench:
    return Workbench(Profile(name="store-test", clickhouse=ClickHouseConfig(dsn=dsn, **config)))  # type: ignore[arg-type]


def test_table_names_come_from_the_profile(generated: Generated) -> None:
    tables = ClickHouseTables(traces="spans", traces_trace_id_ts="span_lookup", logs="lines")
    wb = bench(f"parquet://{generated.directory}", database="telemetry", tables=tables)
    assert not wb.traces.services(generated.at(60), generated.now).empty
    store = wb.clients.get("clickhouse", lambda p: None)
    assert store.table("traces").endswith("`.`spans`") and store.database.startswith("telemetry_")
    wb.close()


@pytest.mark.parametrize(
    ("config", "key", "message"),
    [
        ({"dsn": "mysql://db/otel"}, "clickhouse.dsn", "unsupported DSN scheme 'mysql'"),
        (
            {"dsn": "parquet:///no/such/dir"},
            "clickhouse.dsn",
            "directory /no/such/dir does not exist",
        ),
        ({"dsn": "parquet:///tmp/a*b"}, "clickhouse.dsn", "contains a glob character"),
        (
            {"dsn": "parquet:///tmp", "database": "otel; DROP"},
            "clickhouse.database",
            "not a valid database name",
        ),
        (
            {"dsn": "parquet:///tmp", "tables": ClickHouseTables(logs="logs` --")},
            "clickhouse.tables.logs",
            "not a valid table name",
        ),
    ],
)
def test_a_bad_profile_is_named(config: dict[str, object], key: str, message: str) -> None:
    wb = bench(**config)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message) as error:
        wb.traces.services()
    assert error.value.key == key and error.value.profile == "store-test"


def test_a_profile_without_clickhouse_says_what_to_add() -> None:
    wb = Workbench(Profile(name="bare"))
    with pytest.raises(
        ConfigError, match=r"profile 'bare', key 'clickhouse': .*no clickhouse section"
    ):
        wb.logs.search()


def test_an_unreachable_server_is_named_and_its_password_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HXB_TEST_CLICKHOUSE_PASSWORD", "s3cret-pa55word")
    port = free_port()
    wb = bench(
        f"http://otel@127.0.0.1:{port}",
        password=SecretRef(env="HXB_TEST_CLICKHOUSE_PASSWORD"),
    )
    with pytest.raises(BackendUnavailableError) as error:
        wb.traces.services()
    assert f"cannot reach ClickHouse at http://otel@127.0.0.1:{port}" in str(error.value)
    assert "s3cret-pa55word" not in str(error.value)
    assert error.value.server == f"http://otel@127.0.0.1:{port}"


_ON_DISK = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    import clickhouse_connect
    from hxb_lab.config import ClickHouseConfig, Profile
    from hxb_lab.demo.telemetry.generate import load_into
    from hxb_lab.workbench import Workbench

    source, target, start, end = sys.argv[1:5]
    tables = {"traces": "otel_traces", "traces_trace_id_ts": "otel_traces_trace_id_ts",
              "logs": "otel_logs", "metrics_gauge": "otel_metrics_gauge",
              "metrics_sum": "otel_metrics_sum", "metrics_histogram": "otel_metrics_histogram",
              "traces_red_1m": "otel_traces_red_1m"}
    client = clickhouse_connect.get_client(dsn="chdb://" + target)
    copied = load_into(client, source, "otel", tables)
    lookup = client.command("SELECT count() FROM otel.otel_traces_trace_id_ts")
    rollup = client.command("SELECT sum(Calls) FROM otel.otel_traces_red_1m")
    client.close()
    wb = Workbench(Profile(name="disk", clickhouse=ClickHouseConfig(dsn="chdb://" + target)))
    services = wb.traces.services(start, end)
    trace = wb.traces.search(status="error", start=start, end=end, limit=1).trace_id[0]
    for attack in ("x' OR 1=1 --", "'; DROP TABLE otel.otel_traces; --"):
        assert wb.traces.search(service=attack, start=start, end=end).empty
        assert wb.logs.search(text=attack, start=start, end=end).empty
    spans = wb.traces.get(trace)
    gpu = wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], start=start, end=end, step=600)
    after = wb.traces.services(start, end)
    print(json.dumps({
        "copied": copied, "lookup": int(lookup), "rollup": int(rollup), "trace": trace,
        "services": services[["service", "calls", "errors"]].values.tolist(),
        "intact": after.equals(services),
        "spans": spans[["span_id", "depth", "kind", "status"]].values.tolist(),
        "gpu": gpu[["Hostname", "value"]].values.tolist(),
    }))
    """
)


def test_an_on_disk_chdb_with_the_exporter_tables(generated: Generated, tmp_path: Path) -> None:
    """Loaded with `load_into` (the trace-id lookup filled by its materialized view), an
    on-disk chDB answers exactly as the Parquet directory does. It runs in a subprocess:
    a process can host one chDB path only."""
    start, end = generated.at(60).isoformat(), generated.now.isoformat()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _ON_DISK,
            str(generated.directory),
            str(tmp_path / "chdb"),
            start,
            end,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    disk = json.loads(result.stdout.strip().splitlines()[-1])
    assert disk["copied"]["traces"] > 40_000 and disk["lookup"] > 3000 and disk["intact"]
    assert disk["rollup"] == disk["copied"]["traces"]  # the rollup's view counted every span
    wb = workbench(generated.directory)
    services = wb.traces.services(start, end)
    assert disk["services"] == services[["service", "calls", "errors"]].values.tolist()
    spans = wb.traces.get(disk["trace"])
    assert disk["spans"] == spans[["span_id", "depth", "kind", "status"]].values.tolist()
    gpu = wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], start=start, end=end, step=600)
    assert disk["gpu"] == gpu[["Hostname", "value"]].values.tolist()
    wb.close()


_HOLD = textwrap.dedent(
    """
    import sys, clickhouse_connect
    client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
    client.command("CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = Memory")
    print("open", flush=True)
    sys.stdin.read()
    """
)
_OPEN = textwrap.dedent(
    """
    import sys
    from hxb_lab.config import ClickHouseConfig, Profile
    from hxb_lab.errors import BackendUnavailableError
    from hxb_lab.workbench import Workbench
    wb = Workbench(Profile(name="p", clickhouse=ClickHouseConfig(dsn="chdb://" + sys.argv[1])))
    try:
        wb.traces.services()
    except BackendUnavailableError as exc:
        print(exc)
    """
)


def test_an_on_disk_chdb_in_use_by_another_process_says_why(tmp_path: Path) -> None:
    path = str(tmp_path / "busy")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        second = subprocess.run(
            [sys.executable, "-c", _OPEN, path],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        holder.communicate("", timeout=60)
    assert f"cannot open chDB at {tmp_path / 'busy'}" in second.stdout, second.stderr[-2000:]
    assert "one process" in second.stdout and "parquet://" in second.stdout
