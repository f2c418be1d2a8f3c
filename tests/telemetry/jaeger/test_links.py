"""Links out: each trace of a search frame, and the trace view, link to the Jaeger UI and
Grafana Explore when the profile names them; the URLs are built from encoded parts only."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from hxb_lab.config import ClickHouseConfig, GrafanaConfig, JaegerConfig, Profile
from hxb_lab.telemetry.links import grafana_explore, jaeger_trace, trace_link, trace_links
from hxb_lab.workbench import Workbench
from tests.telemetry.jaeger.conftest import Made

GRAFANA = GrafanaConfig(url="https://grafana.example/", datasources=(("jaeger", "jaeger-uid"),))


def explore_state(url: str) -> dict:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "grafana.example", "/explore")
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["schemaVersion"] == ["1"] and query["orgId"] == ["1"]
    return json.loads(query["panes"][0])["hxb"]


def test_a_trace_links_to_the_jaeger_ui_and_grafana_explore() -> None:
    profile = Profile(
        name="links",
        jaeger=JaegerConfig(url="http://jaeger-query:16686", ui_url="https://jaeger.example/"),
        grafana=GRAFANA,
    )
    links = trace_links(
        profile,
        "4bf92f3577b34da6a3ce929d0e0e4736",
        1_700_000_000_000_000_000,
        1_700_000_000_250_000_000,
    )
    assert links["jaeger"] == "https://jaeger.example/trace/4bf92f3577b34da6a3ce929d0e0e4736"
    pane = explore_state(links["grafana"])
    assert pane["datasource"] == "jaeger-uid"
    assert pane["queries"] == [
        {
            "refId": "A",
            "datasource": {"uid": "jaeger-uid"},
            "query": "4bf92f3577b34da6a3ce929d0e0e4736",
        }
    ]
    assert pane["range"] == {"from": "1699999940000", "to": "1700000060250"}
    # the frame's one link prefers the Jaeger UI; without ui_url the query service serves it
    assert trace_link(profile, "ab", 0, 1) == "https://jaeger.example/trace/ab"
    bare = JaegerConfig(url="http://jaeger-query:16686/")
    assert jaeger_trace(bare, "ab") == "http://jaeger-query:16686/trace/ab"
    assert trace_link(Profile(name="none"), "ab", 0, 1) == ""
    grafana_only = Profile(name="g", grafana=GRAFANA)
    assert explore_state(trace_link(grafana_only, "ab", 0, 1))["queries"][0]["query"] == "ab"


def test_hostile_ids_and_uids_cannot_reshape_a_link() -> None:
    odd = 'x/../../admin?y=1#"}]'
    profile = Profile(name="odd", jaeger=JaegerConfig(url="https://jaeger.example"))
    url = trace_link(profile, odd, 0, 1)
    assert urlsplit(url).path == "/trace/x%2F..%2F..%2Fadmin%3Fy%3D1%23%22%7D%5D"
    assert urlsplit(url).query == "" and urlsplit(url).fragment == ""
    grafana = GrafanaConfig(url="https://grafana.example", datasources=(("jaeger", 'u"}&orgId=2'),))
    pane = explore_state(grafana_explore(grafana, "jaeger", {"query": odd}, 0, 1) or "")
    assert pane["datasource"] == 'u"}&orgId=2' and pane["queries"][0]["query"] == odd
    assert grafana_explore(grafana, "elasticsearch", {"query": "x"}, 0, 1) is None


def test_search_frames_carry_each_traces_link(made: Made) -> None:
    profile = Profile(
        name="clickhouse-with-grafana",
        clickhouse=ClickHouseConfig(dsn=f"parquet://{made.directory}"),
        grafana=GRAFANA,
    )
    with Workbench(profile) as wb:
        found = wb.traces.search(service="gateway", start="-20m", end=made.now, limit=5)
    assert len(found) == 5 and list(found.columns)[-1] == "link"
    for row in found.itertuples():
        pane = explore_state(row.link)
        assert pane["queries"][0]["query"] == row.trace_id
        start_ms = row.start.value // 10**6
        assert int(pane["range"]["from"]) == start_ms - 60_000
        assert (
            int(pane["range"]["to"])
            == (row.start.value + int(row.duration_ms * 1e6)) // 10**6 + 60_000
        )
    with Workbench(Profile(name="plain", clickhouse=profile.clickhouse)) as wb:
        plain = wb.traces.search(service="gateway", start="-20m", end=made.now, limit=5)
    assert set(plain.link) == {""}
