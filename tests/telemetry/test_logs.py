"""`wb.logs.search`: filters, severity levels, literal text, and correlation with traces."""

from __future__ import annotations

import pytest

from hxb_lab.errors import ParameterError
from hxb_lab.workbench import Workbench
from tests.telemetry.conftest import Generated

COLUMNS = [
    "timestamp",
    "service",
    "severity",
    "body",
    "trace_id",
    "span_id",
    "attributes",
    "resource",
]


def test_columns_and_order(wb: Workbench, generated: Generated) -> None:
    frame = wb.logs.search(start=generated.at(60), end=generated.now, limit=200)
    assert list(frame.columns) == COLUMNS and len(frame) == 200
    assert str(frame.timestamp.dtype) == "datetime64[ns, UTC]"
    assert frame.timestamp.is_monotonic_decreasing
    assert (frame.timestamp >= generated.at(60)).all()
    assert set(frame.severity) <= {"INFO", "WARN", "ERROR"}


def test_severity_is_a_minimum_level(wb: Workbench, generated: Generated) -> None:
    window = {"start": generated.at(120), "end": generated.now, "limit": 5000}
    warnings = wb.logs.search(severity="warning", **window)
    assert set(warnings.severity) == {"WARN", "ERROR"}
    errors = wb.logs.search(severity="ERROR", **window)
    assert set(errors.severity) == {"ERROR"} and len(errors) < len(warnings)
    with pytest.raises(ParameterError, match="severity: 'loud' is not a log level"):
        wb.logs.search(severity="loud")


def test_text_is_a_literal_case_insensitive_substring(wb: Workbench, generated: Generated) -> None:
    window = {"start": generated.at(60), "end": generated.now}
    timeouts = wb.logs.search(text="TIMED OUT", **window)
    assert len(timeouts) > 5 and set(timeouts.service) == {"feature-store"}
    assert all("timed out" in body.lower() for body in timeouts.body)
    assert wb.logs.search(text="POST % 200", **window).empty  # % is not a wildcard
    assert wb.logs.search(text="f_iled to load", **window).empty  # nor is _


def test_the_lines_of_one_trace(wb: Workbench, generated: Generated) -> None:
    window = {"start": generated.at(60), "end": generated.now}
    failed = wb.logs.search(service="api-gateway", severity="error", **window)
    assert len(failed) > 0 and all(" 503 " in b for b in failed.body)
    trace_id = failed.trace_id.iloc[0]
    lines = wb.logs.search(trace_id=trace_id.upper(), **window)
    assert set(lines.trace_id) == {trace_id} and len(set(lines.service)) >= 2
    spans = set(wb.traces.get(trace_id).span_id)
    assert set(lines.span_id) <= spans


def test_log_lines_without_a_trace(wb: Workbench, generated: Generated) -> None:
    events = wb.logs.search(service="kserve-controller", start=generated.at(360), end=generated.now)
    assert len(events) == 1 and "canary rollout of model version 8" in events.body.iloc[0]
    assert events.trace_id.iloc[0] == ""
    stuck = wb.logs.search(
        service="image-tagger", severity="error", start=generated.at(20), end=generated.now
    )
    assert len(stuck) > 10 and all("failed to load model" in b for b in stuck.body)


@pytest.mark.parametrize("value", ["x' OR 1=1 --", "'; DROP TABLE otel_logs; --"])
def test_values_are_bound_not_spliced(wb: Workbench, generated: Generated, value: str) -> None:
    window = {"start": generated.at(60), "end": generated.now}
    total = len(wb.logs.search(limit=100_000, **window))
    assert wb.logs.search(service=value, **window).empty
    assert wb.logs.search(text=value, **window).empty
    assert wb.logs.search(trace_id=value, **window).empty
    assert len(wb.logs.search(limit=100_000, **window)) == total > 0
