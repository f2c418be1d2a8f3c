"""Fixtures of the telemetry tests: generated telemetry, a real Prometheus, a real Alertmanager.

One small telemetry directory is generated per session, ending at the start of the
session (so Prometheus keeps it: it deletes blocks older than its retention). Prometheus
is Debian's, backfilled from the same directory with `promtool tsdb create-blocks-from
openmetrics`, so both metric backends hold the same samples. Alertmanager is Debian's too.
Both listen on free loopback ports and are ready when their ``/-/ready`` answers 200.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hxb_lab.config import ClickHouseConfig, Profile, PrometheusConfig
from hxb_lab.workbench import Workbench
from tests.conftest import require_tool
from tests.support.processes import free_port, start

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
