"""`wb.logs.search` on OpenSearch: the same records as in ClickHouse give the same frame,
whichever shape the writer gave them (Fluent Bit's ECS fields, the OpenTelemetry
Collector exporter's raw and otel modes); hostile values find nothing and break nothing;
a server that never answers, or answers an old version, is one line naming it.

The records are the generated telemetry's last 30 minutes of logs, read from chDB and
indexed into the session's real OpenSearch (`tests.support.opensearch`) in each shape.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from typer.testing import CliRunner

from hxb_lab.cli import app
from hxb_lab.config import (
    ClickHouseConfig,
    ElasticsearchConfig,
    GrafanaConfig,
    Profile,
    load_profile,
)
from hxb_lab.errors import BackendUnavailableError
from hxb_lab.telemetry import _logs_es
from hxb_lab.workbench import Workbench
from tests.badinput.silent import silent_server
from tests.conftest import ROOT
from tests.support.opensearch import OpenSearch
from tests.telemetry.conftest import Generated

NUMBERS = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.value % 1_000_000_000:09d}Z"


def ecs(row: dict[str, Any]) -> dict[str, Any]:
    """As Fluent Bit writes a record with ECS field names (dotted keys, level in lower case)."""
    doc = {"@timestamp": _iso(row["timestamp"]), "message": row["body"],
           "log": {"level": row["severity"].lower()}, **row["resource"], **row["attributes"]}  # fmt: skip
    if row["trace_id"]:
        doc |= {"trace.id": row["trace_id"], "span.id": row["span_id"]}
    return doc


def raw(row: dict[str, Any]) -> dict[str, Any]:
    """As the Collector's Elasticsearch exporter writes a record in its raw mode."""
    return {"@timestamp": _iso(row["timestamp"]), "Body": row["body"],
            "SeverityText": row["severity"], "SeverityNumber": NUMBERS[row["severity"]],
            "TraceId": row["trace_id"], "SpanId": row["span_id"],
            "Resource": row["resource"], **row["attributes"]}  # fmt: skip


def otel(row: dict[str, Any]) -> dict[str, Any]:
    """As the Collector's Elasticsearch exporter writes a record in its otel mode."""
    return {"@timestamp": _iso(row["timestamp"]), "body": {"text": row["body"]},
            "severity_text": row["severity"], "severity_number": NUMBERS[row["severity"]],
            "trace_id": row["trace_id"], "span_id": row["span_id"],
            "attributes": row["attributes"], "resource": {"attributes": row["resource"]}}  # fmt: skip


SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ecs": ecs, "raw": raw, "otel": otel,
}  # fmt: skip


@dataclass(frozen=True)
class Indexed:
    clickhouse: Workbench
    start: datetime
    end: datetime
    records: pd.DataFrame
    url: str

    def workbench(self, shape: str, **extra: Any) -> Workbench:
        section = ElasticsearchConfig(url=self.url, index=f"logs-{shape}", **extra)
        return Workbench(Profile(name=f"es-{shape}", elasticsearch=section))


@pytest.fixture(scope="module")
def indexed(generated: Generated, opensearch: OpenSearch) -> Iterator[Indexed]:
    profile = Profile(
        name="ch", clickhouse=ClickHouseConfig(dsn=f"parquet://{generated.directory}")
    )
    clickhouse = Workbench(profile)
    start, end = generated.at(30), generated.now
    records = clickhouse.logs.search(start=start, end=end, limit=100_000)
    assert len(records) > 300
    rows = records.to_dict(orient="records")
    for shape, write in SHAPES.items():
        opensearch.bulk(f"logs-{shape}", [write(r) for r in rows])
    yield Indexed(clickhouse, start, end, records, opensearch.url)
    clickhouse.close()


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame.sort_values(["timestamp", "service", "body", "span_id"], kind="stable")
    return order.reset_index(drop=True)


def searches(records: pd.DataFrame) -> dict[str, dict[str, Any]]:
    failed = records[(records.service == "api-gateway") & (records.severity == "ERROR")]
    routed = next(a for a in records.attributes if "http.route" in a)
    return {
        "everything": {},
        "service-and-level": {"service": "api-gateway", "severity": "error"},
        "warnings-and-up": {"severity": "warning"},
        "one-trace": {"trace_id": failed.trace_id.iloc[0].upper()},
        "text": {"text": " ".join(failed.body.iloc[0].split()[:2]).upper()},
        "attribute": {"attributes": {"http.route": routed["http.route"]}},
        "all-at-once": {"service": "api-gateway", "text": "503", "severity": "warn"},
    }


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_same_records_give_the_same_frame_as_clickhouse(indexed: Indexed, shape: str) -> None:
    es = indexed.workbench(shape)
    window = {"start": indexed.start, "end": indexed.end, "limit": 100_000}
    for name, filters in searches(indexed.records).items():
        expected = canonical(indexed.clickhouse.logs.search(**window, **filters))
        got = es.logs.search(**window, **filters)
        assert list(got.columns) == list(expected.columns)
        assert got.timestamp.is_monotonic_decreasing, name
        if shape == "ecs":  # ECS has no place for the resource apart from the record
            assert all(got.resource.map(lambda r: r.get("service.name") is not None))
            expected, got = expected.drop(columns="resource"), got.drop(columns="resource")
        assert len(got) == len(expected) > 0, name
        pd.testing.assert_frame_equal(canonical(got), expected, obj=f"{shape}: {name}")


def test_large_results_come_in_pages_without_losing_a_record(
    indexed: Indexed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_logs_es, "PAGE", 37)  # many records share a millisecond
    es = indexed.workbench("raw")
    window = {"start": indexed.start, "end": indexed.end}
    got = es.logs.search(**window, limit=100_000)
    pd.testing.assert_frame_equal(canonical(got), canonical(indexed.records))
    newest = es.logs.search(**window, limit=100)
    assert len(newest) == 100 and newest.timestamp.is_monotonic_decreasing
    cutoff = indexed.records.timestamp.iloc[99].floor("ms")
    assert (newest.timestamp >= cutoff).all()


def test_compressed_answers_give_the_same_frame(indexed: Indexed) -> None:
    window = {"start": indexed.start, "end": indexed.end, "limit": 100_000}
    plain = indexed.workbench("raw").logs.search(**window)
    packed = indexed.workbench("raw", compress=True).logs.search(**window)
    assert len(plain) == len(indexed.records)
    pd.testing.assert_frame_equal(packed, plain)


HOSTILE = [
    "*",
    "service.name:* OR *:*",
    'api-gateway" OR "1"="1',
    "x' OR 1=1 --",
    '{"match_all": {}}',
    "\\\\ (a) [b] {c} ^~ && || ! / ? :",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_match_only_themselves(indexed: Indexed, value: str) -> None:
    es = indexed.workbench("ecs")
    window = {"start": indexed.start, "end": indexed.end}
    for filters in (
        {"service": value},
        {"text": value},
        {"trace_id": value},
        {"attributes": {"http.route": value}},
        {"attributes": {value: "GET"}},
        {"service": "api-gateway", "text": value},
    ):
        assert es.logs.search(**window, **filters).empty, filters
    assert len(es.logs.search(**window, limit=100_000)) == len(indexed.records)


def test_an_attribute_named_like_another_part_of_the_record_matches_nothing(
    indexed: Indexed,
) -> None:
    """As in ClickHouse, `attributes` filters on log attributes only: a key that names the
    body, the service, the severity or the trace in a writer's own fields selects nothing."""
    first = indexed.records.iloc[0]
    window = {"start": indexed.start, "end": indexed.end}
    named = {
        "ecs": {"message": first.body, "service.name": first.service, "trace.id": first.trace_id},
        "raw": {"Body": first.body, "Resource.service.name": first.service,
                "SeverityText": first.severity, "TraceId": first.trace_id},
        "otel": {"body.text": first.body, "severity_text": first.severity},
    }  # fmt: skip
    for shape, pairs in named.items():
        es = indexed.workbench(shape)
        for key, value in pairs.items():
            assert indexed.clickhouse.logs.search(**window, attributes={key: value}).empty
            assert es.logs.search(**window, attributes={key: value}).empty, (shape, key)


def test_searches_carry_links_to_kibana_and_grafana(indexed: Indexed) -> None:
    es = indexed.workbench("ecs", kibana_url="https://kibana.example")
    profile = Profile(
        name="links",
        elasticsearch=es.profile.elasticsearch,
        grafana=GrafanaConfig(
            url="https://grafana.example", datasources=(("elasticsearch", "es1"),)
        ),
    )
    with Workbench(profile) as wb:
        frame = wb.logs.search(service='api "gw"', start=indexed.start, end=indexed.end)
    links = frame.attrs["links"]
    assert links["kibana"].startswith("https://kibana.example/app/discover#/?_g=")
    assert "service.name:%22api%20%5C%22gw%5C%22%22" in links["kibana"]
    query = parse_qs(urlsplit(links["grafana"]).query)
    (pane,) = json.loads(query["panes"][0]).values()
    assert pane["datasource"] == "es1"
    assert pane["queries"][0]["query"] == 'service.name:"api \\"gw\\""'
    assert indexed.workbench("ecs").logs.search(start=indexed.start).attrs["links"] == {}


def test_a_server_that_never_answers_is_named_with_its_timeout() -> None:
    with silent_server() as address:
        section = ElasticsearchConfig(url=f"http://{address}", timeout_s=0.5)
        wb = Workbench(Profile(name="silent", elasticsearch=section))
        with wb, pytest.raises(BackendUnavailableError) as error:
            wb.logs.search()
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"no answer from Elasticsearch at http://{address} within 0.5 s "
        "(check that it is up, or raise the profile's elasticsearch.timeout_s)"
    )


class _OldElasticsearch(http.server.BaseHTTPRequestHandler):
    """A named fake: answers ``GET /`` as an Elasticsearch 6.8 would (no real one runs here)."""

    def do_GET(self) -> None:
        body = json.dumps({"version": {"number": "6.8.23"}, "tagline": "You Know, for Search"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_an_old_version_is_refused_by_name() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OldElasticsearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        wb = Workbench(Profile(name="old", elasticsearch=ElasticsearchConfig(url=url)))
        with wb, pytest.raises(BackendUnavailableError) as error:
            wb.logs.search(start=datetime.now() - timedelta(hours=1))
    finally:
        server.shutdown()
        server.server_close()
    assert str(error.value) == (
        f"Elasticsearch at {url} answered version 6.8.23, which HXB Lab cannot search "
        "(point elasticsearch.url at Elasticsearch 7.10 or newer, or OpenSearch 1.0 or newer)"
    )


def readme_profile(name: str) -> str:
    """The TOML block of the README that defines profile `name`."""
    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if f"[profiles.{name}]" in b]
    return block


def test_the_readme_profile_searches_opensearch_and_checks_its_backends(
    indexed: Indexed, generated: Generated, profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = readme_profile("efk")
    text = text.replace("https://opensearch.example:9200", indexed.url)
    text = re.sub(
        r"clickhouse = \{[^\n]*\}",
        f'clickhouse = {{ dsn = "parquet://{generated.directory}" }}',
        text,
    )
    profiles_file.write_text(text)
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "s3cret-for-tests")  # no security plugin: unused
    profile = load_profile("efk")
    assert profile.elasticsearch is not None and profile.elasticsearch.index == "logs-*"
    window = {"start": indexed.start, "end": indexed.end, "limit": 100_000}
    with Workbench(profile) as wb:
        failed = wb.logs.search(service="api-gateway", severity="error", **window)
    expected = indexed.clickhouse.logs.search(service="api-gateway", severity="error", **window)
    # logs-* holds the records three times, once per writer's shape: each is read alike
    assert len(failed) == 3 * len(expected) > 0
    tripled = pd.concat([expected.drop(columns="resource")] * 3)
    pd.testing.assert_frame_equal(canonical(failed.drop(columns="resource")), canonical(tripled))
    assert set(failed.attrs["links"]) == {"kibana", "grafana"}

    checked = CliRunner().invoke(app, ["profile", "check", "efk", "--json"])
    assert checked.exit_code == 0, checked.output
    by_backend = {r["backend"]: r for r in map(json.loads, checked.stdout.splitlines())}
    assert set(by_backend) == {"clickhouse", "elasticsearch"}
    es = by_backend["elasticsearch"]
    assert es["answers"] and es["detail"] == "OpenSearch 2.19.6"
    count = len(indexed.records)
    assert es["found"] == [f"logs-{s} ({count} docs)" for s in ("ecs", "otel", "raw")]
    assert "otel_logs" in by_backend["clickhouse"]["found"]
    lines = CliRunner().invoke(app, ["profile", "check", "efk"]).stdout
    assert re.search(
        rf"^elasticsearch +ok +{re.escape(indexed.url)}  OpenSearch 2\.19\.6; found logs-ecs",
        lines,
        re.M,
    )


def test_profile_check_names_a_backend_that_does_not_answer(profiles_file: Path) -> None:
    with silent_server() as address:
        profiles_file.write_text(
            f'[profiles.x]\nelasticsearch = {{ url = "http://u@{address}", timeout_s = 0.5 }}\n'
        )
        checked = CliRunner().invoke(app, ["profile", "check", "x"])
    assert checked.exit_code == 1
    assert checked.stdout.splitlines() == [
        f"elasticsearch FAILED http://u@{address}  no answer from Elasticsearch at "
        f"http://u@{address} within 0.5 s (check that it is up, or raise the profile's "
        "elasticsearch.timeout_s)"
    ]
