"""Fixtures of the Jaeger trace-backend tests: workbenches over the session's spans, in a
real Jaeger and in Parquet (`made` and `two_backends` live in tests/telemetry/conftest.py,
which `hxb-lab profile check`'s test shares)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hxb_lab.workbench import Workbench
from tests.telemetry.conftest import Made, TwoBackends

__all__ = ["Made", "TwoBackends"]


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
