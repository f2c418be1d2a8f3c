"""Traces from a real Jaeger answer with the same frames as the ClickHouse path on the same
spans: the same columns and dtypes, the same trace and span ids, the same figures."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from hxb_lab.workbench import Workbench
from tests.support.otel_spans import HOSTILE_OPERATION, HOSTILE_SERVICE, HOSTILE_VALUE
from tests.telemetry.jaeger.conftest import TwoBackends

pytestmark = pytest.mark.jaeger
Both = tuple[Workbench, Workbench]


def window(two_backends: TwoBackends) -> tuple[str, str]:
    return (
        (two_backends.now - pd.Timedelta(minutes=15)).isoformat(),
        two_backends.now.isoformat(),
    )


def same_figures(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Equal figures, ours from a sample of Jaeger's traces, theirs from every span."""
    assert set(ours.percentile_source) == {"sample"} and set(theirs.percentile_source) == {"spans"}
    pd.testing.assert_frame_equal(
        ours.drop(columns="percentile_source"), theirs.drop(columns="percentile_source"), rtol=1e-9
    )


def test_services_and_operations_match_clickhouse(both: Both, two_backends: TwoBackends) -> None:
    """Calls and errors are exact; percentiles come from the same histogram buckets, so they
    are equal when Jaeger's sample holds every trace (the frame says it does). This Jaeger
    has no span metrics (SPM), so the sample is read, and every row says so."""
    jaeger, clickhouse = both
    start, end = window(two_backends)
    ours, theirs = jaeger.traces.services(start, end), clickhouse.traces.services(start, end)
    same_figures(ours, theirs)
    assert HOSTILE_SERVICE in set(ours.service)
    assert ours.attrs["sample_complete"] is True
    assert ours.attrs["sampled_traces"] == len(two_backends.span_counts)
    assert "sample" in ours.attrs["percentiles"] and "every span" in theirs.attrs["percentiles"]
    assert ours.attrs["percentile_source"] == "sample"
    assert ours.attrs["spm"] == "not served by this Jaeger"
    for service in ("gateway", "llm-chat", HOSTILE_SERVICE):
        same_figures(
            jaeger.traces.operations(service, start, end, kinds="all"),
            clickhouse.traces.operations(service, start, end, kinds="all"),
        )


def test_a_small_sample_says_it_was_cut(two_backends: TwoBackends) -> None:
    start, end = window(two_backends)
    with Workbench(two_backends.jaeger_profile(sample_traces=5)) as wb:
        services = wb.traces.services(start, end)
    assert services.attrs["sample_complete"] is False
    assert "gateway" in services.attrs["sample_cut_services"]
    # five traces of each service were read: the gateway's 120 calls are not all seen
    assert 5 <= services.loc[services.service == "gateway", "calls"].item() < 120


@pytest.mark.parametrize(
    "query",
    [
        {"service": "gateway"},
        {"service": "gateway", "order": "slowest", "limit": 7},
        {"service": "llm-chat", "operation": "infer", "status": "error"},
        {"min_duration_ms": 80, "max_duration_ms": 200, "limit": 15},
        {"attributes": {"tenant": "team-2"}, "status": "ok"},
        {"attributes": {"service.name": "embedder"}},
        {"service": HOSTILE_SERVICE, "operation": HOSTILE_OPERATION},
        {"attributes": {"note": HOSTILE_VALUE}},
        {"attributes": {'k"}': 'v", "x": "y'}},
        {"service": "no-such-service"},
    ],
    ids=lambda q: ",".join(sorted(q)),
)
def test_search_finds_the_same_traces(both: Both, two_backends: TwoBackends, query: dict) -> None:
    """The same filters find the same traces, summarised alike; quotes, braces and JSON in
    names and values are matched literally, never read as tag syntax. Where the limit cuts,
    Jaeger chooses which recent traces fill it (its newest first): they are some of the
    matching traces, as many as asked, ranked alike."""
    jaeger, clickhouse = both
    start, end = window(two_backends)
    query = {"limit": 500, **query}
    ours = jaeger.traces.search(start=start, end=end, **query)
    theirs = clickhouse.traces.search(start=start, end=end, **query)
    assert list(ours.columns) == list(theirs.columns)
    url = two_backends.jaeger.url
    assert list(ours.link) == [f"{url}/trace/{t}" for t in ours.trace_id]
    if query["limit"] < 500 and query.get("order") != "slowest":
        every = clickhouse.traces.search(start=start, end=end, **{**query, "limit": 500})
        assert len(ours) == len(theirs) == query["limit"] < len(every)
        theirs = every[every.trace_id.isin(ours.trace_id)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours.drop(columns="link"), theirs.drop(columns="link"))


def test_expected_matches_of_hostile_values(both: Both, two_backends: TwoBackends) -> None:
    """The hostile filters above are not vacuous: they find the traces that carry them."""
    jaeger, _ = both
    start, end = window(two_backends)
    hostile = jaeger.traces.search(
        service=HOSTILE_SERVICE, operation=HOSTILE_OPERATION, start=start, end=end
    )
    assert len(hostile) == 15
    assert len(jaeger.traces.search(attributes={"note": HOSTILE_VALUE}, start=start, end=end)) == 15


def test_a_trace_its_critical_path_and_dependencies(both: Both, two_backends: TwoBackends) -> None:
    jaeger, clickhouse = both
    start, end = window(two_backends)
    found = clickhouse.traces.search(
        service="llm-chat", status="error", start=start, end=end, limit=3
    )
    for trace_id in [
        *found.trace_id,
        *clickhouse.traces.search(service=HOSTILE_SERVICE, start=start, end=end, limit=1).trace_id,
    ]:
        ours, theirs = jaeger.traces.get(trace_id), clickhouse.traces.get(trace_id)
        assert len(ours) == two_backends.span_counts[trace_id]
        pd.testing.assert_frame_equal(ours, theirs)
        pd.testing.assert_frame_equal(
            jaeger.traces.critical_path(trace_id), clickhouse.traces.critical_path(trace_id)
        )
    assert jaeger.traces.get("0" * 32).empty
    assert list(jaeger.traces.get("0" * 32).columns) == list(
        clickhouse.traces.get("0" * 32).columns
    )
    ours, theirs = (
        jaeger.traces.dependencies(start, end),
        clickhouse.traces.dependencies(start, end),
    )
    pd.testing.assert_frame_equal(ours.drop(columns="p95_ms"), theirs.drop(columns="p95_ms"))
    assert ours.p95_ms.to_numpy() == pytest.approx(theirs.p95_ms.to_numpy(), rel=0.05)
    assert ("gateway", "audit-log") in set(zip(ours.parent, ours.child, strict=True))


def test_a_jaeger_that_never_answers_fails_in_one_line() -> None:
    """The silent server is a named fake (`tests.badinput.silent`): no real Jaeger hangs."""
    from hxb_lab.config import JaegerConfig, Profile
    from hxb_lab.errors import BackendUnavailableError
    from tests.badinput.silent import silent_server

    with silent_server() as address:
        wb = Workbench(
            Profile(name="silent", jaeger=JaegerConfig(url=f"http://{address}", timeout_s=0.5))
        )
        with pytest.raises(BackendUnavailableError) as error:
            wb.traces.search(service="gateway")
        wb.close()
    message = str(error.value)
    assert "\n" not in message.split("hint:")[0].strip()
    assert f"no answer from Jaeger at http://{address} within 0.5 s" in message
    assert "jaeger.timeout_s" in message


def test_a_url_that_is_not_the_query_api_names_what_to_check(two_backends: TwoBackends) -> None:
    """The profile pointing at Jaeger's OTLP receiver instead of its query service."""
    from hxb_lab.config import JaegerConfig, Profile
    from hxb_lab.errors import BackendUnavailableError

    otlp = two_backends.jaeger.otlp_url.removesuffix("/v1/traces")
    wb = Workbench(Profile(name="wrong-port", jaeger=JaegerConfig(url=otlp)))
    with wb, pytest.raises(BackendUnavailableError) as error:
        wb.traces.services()
    message = str(error.value)
    assert message.startswith(f"Jaeger at {otlp} answered HTTP 404 to /api/services")
    assert "query service (port 16686)" in message


def test_the_readme_jaeger_profile_runs_the_tours_trace_calls(
    two_backends: TwoBackends, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's Jaeger profile, pointed at the test Jaeger, answers the tour's calls and
    links each trace to its ui_url; the trace view shows the Jaeger and Grafana links."""
    import hxb_lab as hx

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = next(b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if "jaeger = {" in b)
    text = block.replace("http://jaeger-query.observability:16686", two_backends.jaeger.url)
    assert text != block
    (tmp_path / "profiles.toml").write_text(text)
    monkeypatch.setenv("HXB_LAB_CONFIG", str(tmp_path / "profiles.toml"))
    name = re.search(r"\[profiles\.([\w-]+)\]", text)
    assert name is not None
    with hx.connect(name.group(1)) as wb:
        assert "llm-chat" in set(wb.traces.services().service)
        found = wb.traces.search(service="llm-chat", min_duration_ms=50, start="-2h")
        assert len(found) > 0 and (found.duration_ms >= 50).all()
        trace_id = found.trace_id[0]
        assert found.link[0] == f"https://jaeger.example/trace/{trace_id}"
        assert len(wb.traces.get(trace_id)) == two_backends.span_counts[trace_id]
        assert wb.traces.critical_path(trace_id).critical_ms.sum() > 0
        view = wb.view.traces(service="llm-chat")
        view.traces_table.select(0)
        shown = view.selected_trace()
        assert f'href="https://jaeger.example/trace/{shown}"' in view.links.value
        assert (
            'href="https://grafana.example/explore?schemaVersion=1&amp;panes=' in view.links.value
        )
        assert "Jaeger UI" in view.links.value and "Grafana Explore" in view.links.value
