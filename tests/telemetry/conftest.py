"""Fixtures of the telemetry tests: generated telemetry, a real Prometheus, a real
Alertmanager, and SDK-made spans in a real Jaeger and in Parquet.

One small telemetry directory is generated per session, ending at the start of the
session (so Prometheus keeps it: it deletes blocks older than its retention). Prometheus
is Debian's, backfilled from the same directory with `promtool tsdb create-blocks-from
openmetrics`, so both metric backends hold the same samples. Alertmanager is Debian's too.
Both listen on free loopback ports and are ready when their ``/-/ready`` answers 200.
Spans made with the OpenTelemetry SDK go, once per session, both to a second Parquet
directory and to a real Jaeger (v2, memory store): the Jaeger trace tests compare the two,
and `hxb-lab profile check` asks that Jaeger what it holds.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hxb_lab.config import ClickHouseConfig, JaegerConfig, Profile, PrometheusConfig
from hxb_lab.workbench import Workbench
from tests.conftest import require_tool
from tests.support.jaeger_server import Jaeger, feed, start_jaeger, wait_until_stored
from tests.support.otel_spans import make_spans, write_parquet
from tests.support.processes import free_port, start

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

#: Prometheus holds this much of the generated window (the metric comparisons use it).
PROMETHEUS_SPAN = timedelta(hours=3)


@dataclass(frozen=True)
class Generated:
    """A generated telemetry directory and the instant it ends at."""

    directory: Path
    now: datetime

    def at(self, before: timedelta | float) -> datetime:
        """The instant `before` (a timedelta, or minutes) before `now`."""
        delta = before if isinstance(before, timedelta) else timedelta(minutes=before)
        return self.now - delta


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Small telemetry (about 60 k spans) for the six hours before the session started."""
    from hxb_lab.demo.telemetry.generate import generate

    directory = tmp_path_factory.mktemp("telemetry")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    generate(directory, size="small", seed=7, now=now)
    return Generated(directory, now)


def workbench(directory: Path, **sections: object) -> Workbench:
    """A workbench whose telemetry is the Parquet directory `directory`."""
    profile = Profile(
        name="telemetry-test",
        clickhouse=ClickHouseConfig(dsn=f"parquet://{directory}"),
        **sections,  # type: ignore[arg-type]
    )
    return Workbench(profile)


@pytest.fixture
def wb(generated: Generated) -> Iterator[Workbench]:
    bench = workbench(generated.directory)
    yield bench
    bench.close()


@pytest.fixture(scope="session")
def prometheus(generated: Generated, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's Prometheus on a free loopback port, backfilled with the generated metrics."""
    from hxb_lab.demo.telemetry.openmetrics import write_openmetrics

    binary = require_tool("prometheus")
    promtool = require_tool("promtool")
    root = tmp_path_factory.mktemp("prometheus")
    end = generated.now
    begin = end - PROMETHEUS_SPAN
    samples = write_openmetrics(
        generated.directory,
        root / "metrics.om",
        int(begin.timestamp()) * 10**9,
        int(end.timestamp()) * 10**9,
    )
    assert samples > 10_000
    data = root / "data"
    data.mkdir()
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(root / "metrics.om"),
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    (root / "metrics.om").unlink()
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=3650d",
    ]
    with start(command, root / "prometheus.log", f"{url}/-/ready"):
        yield url


@pytest.fixture
def wb_prometheus(generated: Generated, prometheus: str) -> Iterator[Workbench]:
    """A workbench with both metric backends over the same samples."""
    bench = workbench(generated.directory, prometheus=PrometheusConfig(url=prometheus))
    yield bench
    bench.close()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's Alertmanager on a free loopback port, clustering off."""
    binary = require_tool("prometheus-alertmanager")
    root = tmp_path_factory.mktemp("alertmanager")
    config = root / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with start(command, root / "alertmanager.log", f"{url}/-/ready"):
        yield url


@dataclass(frozen=True)
class TwoBackends:
    """The same spans in Jaeger (`jaeger`) and in Parquet (`directory`), ending by `now`."""

    jaeger: Jaeger
    directory: Path
    now: datetime
    span_counts: Counter[str]  # spans per trace id

    def jaeger_profile(self, **options: object) -> Profile:
        return Profile(name="jaeger-test", jaeger=JaegerConfig(url=self.jaeger.url, **options))  # type: ignore[arg-type]

    def clickhouse_profile(self) -> Profile:
        return Profile(
            name="clickhouse-test", clickhouse=ClickHouseConfig(dsn=f"parquet://{self.directory}")
        )


@dataclass(frozen=True)
class Made:
    """The spans made once per session, and the Parquet directory that holds them."""

    spans: list[ReadableSpan]
    directory: Path
    now: datetime


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    now = datetime.now(UTC).replace(microsecond=0)
    spans = make_spans(now)
    directory = write_parquet(spans, tmp_path_factory.mktemp("jaeger-spans"))
    return Made(spans, directory, now)


@pytest.fixture(scope="session")
def two_backends(made: Made, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoBackends]:
    with start_jaeger(tmp_path_factory.mktemp("jaeger-server")) as jaeger:
        feed(jaeger, made.spans)
        counts = wait_until_stored(jaeger, made.spans)
        yield TwoBackends(jaeger, made.directory, made.now, counts)
