"""Links into Grafana Explore and Kibana Discover: the URLs built, with hostile values
encoded so that they come back out of the URL unchanged and never end a string early."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd

from hxb_lab.config import ElasticsearchConfig, GrafanaConfig
from hxb_lab.telemetry._metric_query import plan
from hxb_lab.telemetry._promql import to_promql
from hxb_lab.telemetry.links import (
    grafana_explore,
    iso,
    kibana_discover,
    kql_phrase,
    lucene_phrase,
    rison,
)
from tests.telemetry.conftest import Generated, workbench

START = 1_795_766_400_000_000_000  # 2026-11-27T08:00:00Z
END = START + 3_600_000_000_000
HOSTILE = "a\" OR *:* ' !) (x:'y') \\ é"
GRAFANA = GrafanaConfig(
    url="https://grafana.example/", datasources=(("prometheus", "prom-uid"),), org_id=3
)


def test_grafana_explore_opens_the_query_on_the_profiles_datasource() -> None:
    url = grafana_explore(GRAFANA, "prometheus", {"expr": 'up{job="x"}'}, START, END)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "grafana.example", "/explore")
    query = parse_qs(parts.query)
    assert query["orgId"] == ["3"] and query["schemaVersion"] == ["1"]
    (pane,) = json.loads(query["panes"][0]).values()
    assert pane["datasource"] == "prom-uid"
    assert pane["queries"] == [
        {"refId": "A", "datasource": {"uid": "prom-uid"}, "expr": 'up{job="x"}'}
    ]
    assert pane["range"] == {"from": "1795766400000", "to": "1795770000000"}


def test_a_hostile_query_comes_back_out_of_the_grafana_url_unchanged() -> None:
    url = grafana_explore(GRAFANA, "prometheus", {"expr": HOSTILE + "&orgId=9#"}, START, END)
    assert url is not None and "#" not in url and " " not in url
    query = parse_qs(urlsplit(url).query)
    assert query["orgId"] == ["3"]
    (pane,) = json.loads(query["panes"][0]).values()
    assert pane["queries"][0]["expr"] == HOSTILE + "&orgId=9#"


def test_no_grafana_or_no_datasource_means_no_link() -> None:
    assert grafana_explore(None, "prometheus", {"expr": "up"}, START, END) is None
    assert grafana_explore(GRAFANA, "elasticsearch", {"query": "x"}, START, END) is None


def test_kibana_discover_opens_the_query_over_the_time_range() -> None:
    config = ElasticsearchConfig(
        url="http://es:9200", kibana_url="https://kibana.example/base/", kibana_data_view="logs"
    )
    url = kibana_discover(config, kql_phrase("service.name", "checkout"), START, END)
    assert url == (
        "https://kibana.example/base/app/discover#/"
        "?_g=(filters:!(),time:(from:'2026-11-27T08:00:00.000Z',to:'2026-11-27T09:00:00.000Z'))"
        "&_a=(query:(language:'kuery',query:'service.name:%22checkout%22'),"
        "dataSource:(dataViewId:'logs',type:'dataView'),index:'logs')"
    )
    assert kibana_discover(ElasticsearchConfig(url="http://es:9200"), "x", START, END) is None


def test_a_hostile_value_stays_inside_its_kql_phrase_and_rison_string() -> None:
    config = ElasticsearchConfig(url="http://es:9200", kibana_url="https://kibana.example")
    url = kibana_discover(config, kql_phrase("message", HOSTILE), START, END)
    assert url is not None and " " not in url and "#/?" in url and url.count("#") == 1
    state = unquote(url.split("&_a=", 1)[1])
    # KQL: the value's quote and backslash are escaped; Rison: ' and ! are escaped with !
    kql = "message:\"a\\\" OR *:* ' !) (x:'y') \\\\ é\""
    assert state == f"(query:(language:'kuery',query:{rison(kql)}))"
    assert rison(kql) == "'" + kql.replace("!", "!!").replace("'", "!'") + "'"


def test_rison_and_lucene_spellings() -> None:
    assert rison({"a": [1, True, None, "x y"], "b c": False}) == "(a:!(1,!t,!n,'x y'),'b c':!f)"
    assert lucene_phrase("Body", 'say "hi" \\o/') == 'Body:"say \\"hi\\" \\\\o/"'
    assert iso(START + 1_234_567) == "2026-11-27T08:00:00.001Z"


def test_a_metric_query_links_to_the_same_promql_in_grafana(generated: Generated) -> None:
    start, end = generated.at(60), generated.now
    with workbench(generated.directory, grafana=GRAFANA) as wb:
        frame = wb.metrics.query(
            "DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], start=start, end=end, source="clickhouse"
        )
        assert (
            workbench(generated.directory)
            .metrics.query("DCGM_FI_DEV_GPU_UTIL", start=start, end=end, source="clickhouse")
            .attrs["links"]
            == {}
        )
    (pane,) = json.loads(
        parse_qs(urlsplit(frame.attrs["links"]["grafana"]).query)["panes"][0]
    ).values()
    start_ns, end_ns = pd.Timestamp(start).value, pd.Timestamp(end).value
    q = plan("DCGM_FI_DEV_GPU_UTIL", where=None, by=["Hostname"], agg="avg", rate=False,
             step=None, start_ns=start_ns, end_ns=end_ns)  # fmt: skip
    assert pane["queries"][0]["expr"] == to_promql(q) and "Hostname" in to_promql(q)
    assert pane["range"] == {"from": str(start_ns // 10**6), "to": str(end_ns // 10**6)}
