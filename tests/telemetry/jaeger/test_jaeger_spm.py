"""Service and operation figures from Jaeger's span metrics (SPM): a real Jaeger v2 whose
spanmetrics connector is scraped by Debian's Prometheus, fed the same SDK-made spans as the
ClickHouse path reads; its percentiles agree within the documented tolerance, and every
frame says where its percentiles came from."""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hxb_lab.cli import app
from hxb_lab.config import ClickHouseConfig, JaegerConfig, Profile, load_profile
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.warn import FallbackWarning
from hxb_lab.workbench import Workbench
from tests.badinput.silent import silent_server
from tests.conftest import require_tool
from tests.support.jaeger_server import feed, wait_until_stored
from tests.support.jaeger_spm import (
    BUCKETS_PER_DECADE,
    SCRAPE_S,
    SpmJaeger,
    start_jaeger_spm,
    start_jaeger_with_metrics,
)
from tests.support.otel_spans import HOSTILE_SERVICE
from tests.support.processes import free_port
from tests.telemetry.conftest import Made, TwoBackends

pytestmark = pytest.mark.jaeger

#: SPM's quantile lies in the connector's bucket holding the exact one (12 % wide here),
#: the ClickHouse path's within 6 % of it: the two differ by at most about 19 %.
TOLERANCE = 10 ** (1 / BUCKETS_PER_DECADE) / 0.94 - 1
PERCENTILES = ["p50_ms", "p95_ms", "p99_ms"]


@dataclass(frozen=True)
class Fed:
    """A Jaeger with SPM that has counted the spans once within [start, end]."""

    spm: SpmJaeger
    start: datetime
    end: datetime

    def workbench(self, **options: object) -> Workbench:
        config = JaegerConfig(url=self.spm.jaeger.url, **options)  # type: ignore[arg-type]
        return Workbench(Profile(name="jaeger-spm", jaeger=config))


@pytest.fixture(scope="module")
def fed(made: Made, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    """The spans counted once in a window of whole seconds.

    Prometheus's rate() loses what a counter held at its first scrape, so the spans are sent
    twice: the window opens after a scrape that holds the first copy whole and closes after
    the one that holds the second, so it counts each span once, with the same first and last
    scrape for every series (and so one extrapolation for all of them).
    """
    home = tmp_path_factory.mktemp("jaeger-spm")
    with start_jaeger_spm(home, require_tool("prometheus")) as spm:
        feed(spm.jaeger, made.spans)
        opened = spm.wait_for_calls(len(made.spans)) + 1.0
        spm.wait_for_calls(len(made.spans), after=opened)
        feed(spm.jaeger, made.spans)
        spm.wait_for_calls(2 * len(made.spans))
        end = time.time()
        seconds = math.ceil(end - opened)
        assert seconds < 60, "the window must be whole seconds, under a minute"
        stop = datetime.fromtimestamp(end, UTC)
        yield Fed(spm, stop - timedelta(seconds=seconds), stop)


@pytest.fixture
def clickhouse(made: Made) -> Iterator[Workbench]:
    profile = Profile(name="ch", clickhouse=ClickHouseConfig(dsn=f"parquet://{made.directory}"))
    with Workbench(profile) as wb:
        yield wb


def spans_window(made: Made) -> tuple[datetime, datetime]:
    return made.now - timedelta(minutes=15), made.now


def assert_close(spm: pd.DataFrame, exact: pd.DataFrame, keys: list[str], scrapes: int) -> None:
    ours, theirs = spm.set_index(keys), exact.set_index(keys)
    assert list(ours.index) == list(theirs.index)
    assert (ours.percentile_source == "spm").all() and (theirs.percentile_source == "spans").all()
    for column in PERCENTILES:
        ratio = ours[column] / theirs[column]
        assert ((ratio - 1).abs() <= TOLERANCE).all(), (column, ratio.to_dict())
    # Calls are a rate times the window, and Prometheus extrapolates a rate from the first
    # to the last scrape in the window out to its edges: over a window of n scrapes, up to
    # n / (n - 1) of the count, the same share for every series. Error shares are exact.
    high = ours.calls / theirs.calls
    assert high.min() >= 1 and high.max() <= scrapes / (scrapes - 1) + 0.05, high.to_dict()
    assert high.max() - high.min() <= 0.1, high.to_dict()
    assert np.allclose(ours.error_rate, theirs.error_rate, atol=1e-9)


def test_spm_percentiles_agree_with_clickhouse(fed: Fed, made: Made, clickhouse: Workbench) -> None:
    start, end = spans_window(made)
    with fed.workbench() as wb:  # jaeger.metrics left out: used because Jaeger answers it
        services = wb.traces.services(fed.start, fed.end)
        exact = clickhouse.traces.services(start, end)
        assert services.attrs["percentile_source"] == "spm"
        assert services.attrs["spm_window_s"] == (fed.end - fed.start).total_seconds()
        assert "Prometheus histogram quantiles" in services.attrs["percentiles"]
        assert HOSTILE_SERVICE in set(services.service)
        scrapes = round((fed.end - fed.start).total_seconds() / SCRAPE_S)
        assert_close(services, exact, ["service"], scrapes)
        for service in ("gateway", "llm-chat", HOSTILE_SERVICE):
            assert_close(
                wb.traces.operations(service, fed.start, fed.end, kinds="all"),
                clickhouse.traces.operations(service, start, end, kinds="all"),
                ["operation", "kind"],
                scrapes,
            )
        # a service name is matched literally, never as a regular expression
        for name in (".*", "gateway|llm-chat", "gate.ay"):
            assert wb.traces.operations(name, fed.start, fed.end).empty


def test_the_views_say_where_percentiles_come_from(
    fed: Fed, two_backends: TwoBackends, made: Made
) -> None:
    with fed.workbench() as wb:
        caption = html.unescape(wb.view.services().services_table.widget.caption)
        assert caption == "services, last 1h; percentiles from Jaeger's span metrics"
    with Workbench(two_backends.jaeger_profile()) as wb:
        caption = html.unescape(wb.view.traces().services_table.widget.caption)
        assert caption == "services, last 1h; percentiles from a sample of traces"


def test_profile_check_says_where_figures_come_from(fed: Fed, profiles_file: Path) -> None:
    profiles_file.write_text(f'[profiles.spm]\njaeger = {{ url = "{fed.spm.jaeger.url}" }}\n')
    checked = CliRunner().invoke(app, ["profile", "check", "spm", "--json"])
    assert checked.exit_code == 0, checked.output
    [found] = map(json.loads, checked.stdout.splitlines())
    assert found["detail"].endswith("service(s); figures from its span metrics (SPM)")


def test_required_spm_on_a_jaeger_without_metrics_is_one_line(two_backends: TwoBackends) -> None:
    with (
        Workbench(two_backends.jaeger_profile(metrics=True)) as wb,
        pytest.raises(BackendUnavailableError) as raised,
    ):
        wb.traces.services()
    message = str(raised.value)
    assert "\n" not in message
    assert "has no metrics backend (SPM)" in message and "jaeger.metrics = false" in message
    with Workbench(two_backends.jaeger_profile(metrics=False)) as wb:
        assert set(wb.traces.services().percentile_source) == {"sample"}


def test_a_prometheus_down_behind_jaeger(made: Made, tmp_path: Path, profiles_file: Path) -> None:
    """Left out, jaeger.metrics falls back to the sample and says why; required, it fails
    (and so does `hxb-lab profile check`)."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with start_jaeger_with_metrics(tmp_path / "jaeger", down, free_port()) as jaeger:
        feed(jaeger, made.spans[:50])
        wait_until_stored(jaeger, made.spans[:50])
        auto = Workbench(Profile(name="auto", jaeger=JaegerConfig(url=jaeger.url)))
        required = Workbench(Profile(name="spm", jaeger=JaegerConfig(url=jaeger.url, metrics=True)))
        with auto, required:
            with pytest.warns(FallbackWarning, match="Jaeger's metrics \\(SPM\\)"):
                services = auto.traces.services()
            assert set(services.percentile_source) == {"sample"}
            assert services.attrs["percentile_source"] == "sample"
            assert services.attrs["spm"].startswith("failed: Jaeger's metrics (SPM)")
            with pytest.raises(BackendUnavailableError) as raised:
                required.traces.operations("gateway")
        profiles_file.write_text(
            f'[profiles.spm]\njaeger = {{ url = "{jaeger.url}", metrics = true }}\n'
        )
        checked = CliRunner().invoke(app, ["profile", "check", "spm"])
    message = str(raised.value)
    assert "\n" not in message and "Jaeger's metrics (SPM)" in message
    assert "check the Prometheus that Jaeger's metric_backends names" in message
    assert checked.exit_code == 1
    [line] = checked.stdout.splitlines()
    assert line.split()[:2] == ["jaeger", "FAILED"] and "Jaeger's metrics (SPM)" in line


def test_a_prometheus_that_never_answers_behind_jaeger(made: Made, tmp_path: Path) -> None:
    """Jaeger waits on its Prometheus (a named fake: a listener that never answers, as no
    real Prometheus can be made to hang); the profile's timeout_s bounds that wait, and the
    figures come from the sample, saying why."""
    with (
        silent_server() as silent,
        start_jaeger_with_metrics(tmp_path / "jaeger", f"http://{silent}", free_port()) as jaeger,
    ):
        feed(jaeger, made.spans[:50])
        wait_until_stored(jaeger, made.spans[:50])
        config = JaegerConfig(url=jaeger.url, timeout_s=1.0)
        with Workbench(Profile(name="hang", jaeger=config)) as wb:
            started = time.monotonic()
            with pytest.warns(FallbackWarning, match="no answer from Jaeger .* within 1 s"):
                services = wb.traces.services()
            assert time.monotonic() - started < 10
    assert set(services.percentile_source) == {"sample"}
    assert services.attrs["spm"].startswith("failed: Jaeger's metrics (SPM)")


def test_metrics_is_true_false_or_left_out(profiles_file: Path) -> None:
    profiles_file.write_text(
        '[profiles.odd]\njaeger = { url = "http://j:16686", metrics = "auto" }\n'
    )
    with pytest.raises(ConfigError, match=r"jaeger\.metrics.*expected true or false"):
        load_profile("odd")
