"""Fixtures of the Jaeger trace-backend tests: one set of SDK-made spans, in a real Jaeger
(fed over OTLP) and in a Parquet directory the ClickHouse path reads (chDB)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hxb_lab.config import ClickHouseConfig, JaegerConfig, Profile
from hxb_lab.workbench import Workbench
from tests.support.jaeger_server import Jaeger, feed, start_jaeger, wait_until_stored
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
