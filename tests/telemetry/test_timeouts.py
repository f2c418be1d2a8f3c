"""Backends that accept a connection and never answer fail within the profile's
``timeout_s`` with a `BackendUnavailableError` naming the server, not a hang.

The silent server is a named fake (`tests.badinput.silent`): a listener that accepts and
never replies, since no real ClickHouse, Prometheus or Alertmanager can be made to hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hxb_lab.config import (
    DEFAULT_TIMEOUT_S,
    AlertmanagerConfig,
    ClickHouseConfig,
    Profile,
    PrometheusConfig,
    load_profile,
)
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.workbench import Workbench
from tests.badinput.silent import silent_server

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def silent() -> Iterator[str]:
    with silent_server() as address:
        yield address


READS: dict[str, Callable[[Workbench], Any]] = {
    "ClickHouse": lambda wb: wb.traces.services(),
    "Prometheus": lambda wb: wb.metrics.query("up", source="prometheus"),
    "Alertmanager": lambda wb: wb.alerts.active(),
}


@pytest.mark.parametrize("backend", list(READS))
def test_a_backend_that_never_answers_fails_within_its_timeout(silent: str, backend: str) -> None:
    url = f"http://{silent}"
    wb = Workbench(
        Profile(
            name="silent",
            clickhouse=ClickHouseConfig(dsn=url, timeout_s=TIMEOUT_S),
            prometheus=PrometheusConfig(url=url, timeout_s=TIMEOUT_S),
            alertmanager=AlertmanagerConfig(url=url, timeout_s=TIMEOUT_S),
        )
    )
    began = time.monotonic()
    with pytest.raises(BackendUnavailableError) as error:
        READS[backend](wb)
    took = time.monotonic() - began
    assert took < TIMEOUT_S * 4 + 2, f"{backend} took {took:.1f} s"
    assert str(error.value).startswith(f"no answer from {backend} at {url} within 1 s")
    assert f"{backend.lower()}.timeout_s" in str(error.value)
    assert error.value.server == url
    wb.close()


def test_the_timeout_comes_from_the_profile_with_a_default(profiles_file: Path) -> None:
    profiles_file.write_text(
        'default = "p"\n[profiles.p]\n'
        'clickhouse = { dsn = "http://ch:8123", timeout_s = 5 }\n'
        'prometheus = { url = "http://prom:9090" }\n'
    )
    profile = load_profile()
    assert profile.clickhouse is not None and profile.clickhouse.timeout_s == 5.0
    assert profile.prometheus is not None and profile.prometheus.timeout_s == DEFAULT_TIMEOUT_S


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9", '"30s"', "true"])
def test_a_timeout_is_seconds_above_zero_and_at_most_a_day(profiles_file: Path, value: str) -> None:
    profiles_file.write_text(
        f'default = "p"\n[profiles.p]\nprometheus = {{ url = "http://p", timeout_s = {value} }}\n'
    )
    with pytest.raises(ConfigError, match=r"key 'prometheus\.timeout_s': expected .*seconds"):
        load_profile()
