"""Fixtures of the Jaeger trace-backend tests: one set of SDK-made spans, in a real Jaeger
(fed over OTLP) and in a Parquet directory the ClickHouse path reads (chDB)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from hxb_lab.config import ClickHouseConfig, JaegerConfig, Profile
from hxb_lab.workbench import Workbench
from tests.support.jaeger_server import Jaeger, feed, start_jaeger
from tests.support.otel_spans import make_spans, write_parquet

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


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


def wait_until_stored(jaeger: Jaeger, expected: Counter[str], services: set[str]) -> None:
    """Poll Jaeger's search until every trace is stored whole (the collector batches)."""
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=jaeger.url, timeout=10) as http:
        while True:
            seen: Counter[str] = Counter()
            for service in services:
                answer = http.get(
                    "/api/traces", params={"service": service, "limit": 100_000, "lookback": "2h"}
                )
                for trace in answer.json()["data"] or []:
                    seen[trace["traceID"].rjust(32, "0")] = len(trace["spans"])
            if seen == expected:
                return
            if time.monotonic() > deadline:
                missing = sum((expected - seen).values())
                raise AssertionError(f"Jaeger stored {sum(seen.values())} spans, {missing} missing")
            time.sleep(0.1)


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
    counts = Counter(format(s.context.trace_id, "032x") for s in made.spans if s.context)
    services = {str(s.resource.attributes["service.name"]) for s in made.spans}
    with start_jaeger(tmp_path_factory.mktemp("jaeger-server")) as jaeger:
        feed(jaeger, made.spans)
        wait_until_stored(jaeger, counts, services)
        yield TwoBackends(jaeger, made.directory, made.now, counts)


@pytest.fixture
def both(two_backends: TwoBackends) -> Iterator[tuple[Workbench, Workbench]]:
    """Workbenches reading the same spans: (Jaeger, ClickHouse)."""
    jaeger, clickhouse = (
        Workbench(two_backends.jaeger_profile()),
        Workbench(two_backends.clickhouse_profile()),
    )
    yield jaeger, clickhouse
    jaeger.close()
    clickhouse.close()
