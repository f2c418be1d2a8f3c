"""Jaeger's API v3 is read where it is served, its classic JSON API otherwise, and both
give the same frames. A loopback proxy in front of the real Jaeger answers 404 for
``/api/v3`` as a stand-in for an older Jaeger (or a gateway that passes only
``/api/traces``); another one passes everything and records what was asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from opentelemetry import trace

from hxb_lab.config import JaegerConfig, Profile
from hxb_lab.errors import QueryError
from hxb_lab.workbench import Workbench
from tests.support.jaeger_proxy import Proxy, jaeger_proxy
from tests.support.jaeger_server import feed, start_jaeger, wait_until_stored
from tests.support.otel_spans import HOSTILE_OPERATION, HOSTILE_SERVICE, HOSTILE_VALUE
from tests.telemetry.jaeger.conftest import TwoBackends

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

pytestmark = pytest.mark.jaeger


@pytest.fixture
def through(two_backends: TwoBackends) -> Iterator[tuple[Proxy, Proxy]]:
    """Proxies to the test Jaeger: (passing API v3, answering 404 for it)."""
    with (
        jaeger_proxy(two_backends.jaeger.url, classic_only=False) as v3,
        jaeger_proxy(two_backends.jaeger.url, classic_only=True) as classic,
    ):
        yield v3, classic


def workbench(proxy: Proxy) -> Workbench:
    """A workbench reading Jaeger through `proxy`, its links to one UI whichever proxy."""
    config = JaegerConfig(url=proxy.url, ui_url="https://jaeger.example")
    return Workbench(Profile(name="through-proxy", jaeger=config))


def test_both_apis_give_the_same_frames(
    two_backends: TwoBackends, through: tuple[Proxy, Proxy]
) -> None:
    """The same traces, searches and figures, read once through API v3 and once through
    the classic API of a Jaeger that does not serve v3; whether v3 is served is asked once."""
    start = (two_backends.now - pd.Timedelta(minutes=15)).isoformat()
    end = two_backends.now.isoformat()
    v3_proxy, classic_proxy = through
    with workbench(v3_proxy) as v3, workbench(classic_proxy) as classic:
        found = v3.traces.search(service="gateway", start=start, end=end, limit=500)
        hostile = v3.traces.search(service=HOSTILE_SERVICE, start=start, end=end, limit=1)
        assert len(found) == 120 and len(hostile) == 1
        pd.testing.assert_frame_equal(
            found, classic.traces.search(service="gateway", start=start, end=end, limit=500)
        )
        for query in (
            {"service": "llm-chat", "operation": "infer", "status": "error"},
            {"min_duration_ms": 80, "max_duration_ms": 200, "order": "slowest", "limit": 9},
            {"service": HOSTILE_SERVICE, "operation": HOSTILE_OPERATION},
        ):
            ours = v3.traces.search(start=start, end=end, **query)
            assert len(ours) > 0
            pd.testing.assert_frame_equal(
                ours, classic.traces.search(start=start, end=end, **query)
            )
        for trace_id in [*found.trace_id[:3], *hostile.trace_id]:
            ours = v3.traces.get(trace_id)
            assert len(ours) == two_backends.span_counts[trace_id]
            pd.testing.assert_frame_equal(ours, classic.traces.get(trace_id))
        assert v3.traces.get(hostile.trace_id[0]).attributes[0] == {"note": HOSTILE_VALUE}
        pd.testing.assert_frame_equal(
            v3.traces.services(start, end), classic.traces.services(start, end)
        )
        pd.testing.assert_frame_equal(
            v3.traces.dependencies(start, end), classic.traces.dependencies(start, end)
        )
    assert "/api/traces" not in v3_proxy.paths
    assert not any(p.startswith("/api/traces/") for p in v3_proxy.paths)
    assert v3_proxy.paths.count("/api/v3/services") == 1
    assert classic_proxy.paths.count("/api/v3/services") == 1
    assert [p for p in classic_proxy.paths if p.startswith("/api/v3/")] == ["/api/v3/services"]
    assert "/api/traces" in classic_proxy.paths


def test_attribute_filters_are_sent_to_the_classic_api(
    two_backends: TwoBackends, through: tuple[Proxy, Proxy]
) -> None:
    """API v3 over HTTP takes no attribute filter: such a search asks the classic API,
    which matches them in Jaeger, so the limit cuts among matching traces only."""
    start = (two_backends.now - pd.Timedelta(minutes=15)).isoformat()
    v3_proxy, _ = through
    with workbench(v3_proxy) as wb:
        found = wb.traces.search(attributes={"note": HOSTILE_VALUE}, start=start, limit=3)
    assert len(found) == 3
    assert "/api/traces" in v3_proxy.paths
    assert "/api/v3/traces" not in v3_proxy.paths


def test_a_missing_or_malformed_trace_id_answers_alike(
    through: tuple[Proxy, Proxy],
) -> None:
    """An id Jaeger does not hold is an empty frame, a malformed one an error naming the id,
    through either API."""
    frames, errors = [], []
    for proxy in through:
        with workbench(proxy) as wb:
            frames.append(wb.traces.get("0" * 31 + "1"))
            with pytest.raises(QueryError) as error:
                wb.traces.get("not-a-trace-id")
            errors.append(str(error.value))
    assert frames[0].empty and frames[1].empty
    pd.testing.assert_frame_equal(frames[0], frames[1])
    for message in errors:
        assert message.startswith("Jaeger at http://127.0.0.1:")
        assert "rejected the query" in message and '"not-a-trace-id"' in message


def typed_spans(now: datetime) -> list[ReadableSpan]:
    """One trace of five spans, one of each kind, whose attributes hold every OTLP value
    type (and strings that JSON encoders escape differently)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, Status, StatusCode

    collected = InMemorySpanExporter()
    resource = Resource.create({"service.name": "typed", "replicas": 3, "zones": ["a", "b"]})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(collected))
    tracer = provider.get_tracer("typed-scope", "2.0")
    begin = int((now.timestamp() - 60) * 1e6) * 1000
    root = tracer.start_span("root", kind=SpanKind.SERVER, start_time=begin, attributes=TYPED)
    root.set_status(Status(StatusCode.ERROR, "it <failed> & stopped"))
    context = trace.set_span_in_context(root)
    kinds = (SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER)
    for n, kind in enumerate(kinds, start=1):
        child = tracer.start_span(
            kind.name.lower(), context, kind=kind, start_time=begin + n * 1000, attributes=TYPED
        )
        if kind is SpanKind.CLIENT:
            child.set_status(Status(StatusCode.OK))
        child.add_event("retry", {"attempt": n})
        child.end(end_time=begin + n * 1000 + 2000)
    root.end(end_time=begin + 9000)
    return list(collected.get_finished_spans())


TYPED: dict[str, Any] = {
    "flag": True, "off": False, "count": -5, "big": 2**62, "ratio": 0.1, "whole": 2.0,
    "tiny": 3.25e-7, "huge": 1e21, "note": 'q"<>&é\u2028',
    "names": ["x", 'y"<&>é\n\t\\/'], "ids": [1, 2, -3], "flags": [True, False],
    "ratios": [1.0, 0.1, 1e20, 1e21, 3.25e-7, 1e-5, 123.456, 1 / 3],
}  # fmt: skip


def test_every_value_type_reads_the_same_through_both_apis(tmp_path: Path) -> None:
    """Kinds, statuses, resource and attribute values of every type: API v3's OTLP JSON
    gives the text the classic API gives (its own small Jaeger: the shared one's services
    are counted by other tests)."""
    now = datetime.now(UTC).replace(microsecond=0)
    spans = typed_spans(now)
    with start_jaeger(tmp_path) as jaeger:
        feed(jaeger, spans)
        (trace_id,) = wait_until_stored(jaeger, spans)
        frames = []
        for classic_only in (False, True):
            with (
                jaeger_proxy(jaeger.url, classic_only=classic_only) as proxy,
                workbench(proxy) as wb,
            ):
                frames.append(wb.traces.get(trace_id))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    got = frames[0].set_index("operation")
    assert got.kind.to_dict() == {
        "root": "server", "internal": "internal", "client": "client",
        "producer": "producer", "consumer": "consumer",
    }  # fmt: skip
    assert got.status.to_dict() == {
        "root": "error", "internal": "unset", "client": "ok", "producer": "unset",
        "consumer": "unset",
    }  # fmt: skip
    assert got.status_message["root"] == "it <failed> & stopped"
    assert got.attributes["root"] == {
        "flag": "true", "off": "false", "count": "-5", "big": "4611686018427387904",
        "ratio": "0.1", "whole": "2", "tiny": "3.25e-07", "huge": "1e+21",
        "note": 'q"<>&é\u2028',
        "names": '["x","y\\"\\u003c\\u0026\\u003eé\\n\\t\\\\/"]', "ids": "[1,2,-3]",
        "flags": "[true,false]",
        "ratios": "[1,0.1,100000000000000000000,1e+21,3.25e-7,0.00001,123.456,"
        "0.3333333333333333]",
    }  # fmt: skip
    resource = got.resource["root"]
    assert (resource["service.name"], resource["replicas"]) == ("typed", "3")
    assert resource["zones"] == '["a","b"]'


def test_the_garbage_collector_is_left_as_it_was(two_backends: TwoBackends) -> None:
    """An API v3 answer is read with Python's cyclic collector paused: it runs again after,
    and stays off for a session that turned it off."""
    start = (two_backends.now - pd.Timedelta(minutes=15)).isoformat()
    with Workbench(two_backends.jaeger_profile()) as wb:
        found = wb.traces.search(service="gateway", start=start, limit=5)
        assert len(found) == 5 and gc.isenabled()
        gc.disable()
        try:
            assert len(wb.traces.get(found.trace_id[0])) > 0
            assert not gc.isenabled()
        finally:
            gc.enable()
