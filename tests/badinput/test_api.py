"""The Python API refuses bad input with one line naming the field: `hx.connect()` on the
demo (wb.cluster, wb.traces, wb.metrics, wb.logs, wb.inference, wb.models) and
`hx.runbooks`.

A case is one row: the call as written in a notebook, and the field its error must name.
`ACCEPTED` holds documented acceptances: the call, and what its result must satisfy.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.errors import HxbLabError, ParameterError
from hxb_lab.workbench import Workbench
from tests.badinput.conftest import nothing_in, one_line

#: Every read that takes a time range, as a call with the range's keywords left open.
TIME_READS = [
    "wb.traces.services({})",
    "wb.traces.operations('checkout', {})",
    "wb.traces.search({})",
    "wb.traces.dependencies({})",
    "wb.logs.search({})",
    "wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', {})",
    "wb.inference.health({})",
]
#: Times no read accepts: too far back or ahead, numbers, NaN, the wrong type, bad text.
BAD_TIMES = [
    "'-999999d'",
    "'99999999d'",
    "'9999-01-01'",
    "datetime(9999, 1, 1)",
    "'1900-01-01'",
    "timedelta(days=-1)",
    "timedelta(days=999_999)",
    "-5",
    "NAN",
    "'-5'",
    "'yesterday'",
    "[1]",
]
TIME_CASES = [
    (read.format(f"{key}={bad}"), key)
    for read in TIME_READS
    for key in ("start", "end")
    for bad in (BAD_TIMES if key == "start" else BAD_TIMES[:8])
] + [(f"wb.cluster.events(since={bad})", "since") for bad in BAD_TIMES]

CASES: list[tuple[str, str]] = [
    *TIME_CASES,
    # cluster
    ("wb.cluster.pods(workspace=123)", "workspace"),
    ("wb.cluster.pods(workspace='')", "workspace"),
    ("wb.cluster.pods(namespace=123)", "namespace"),
    ("wb.cluster.pods(namespace=[1])", "namespace"),
    ("wb.cluster.pods(namespace={'a': 1})", "namespace"),
    ("wb.cluster.pods(selector=5)", "selector"),
    ("wb.cluster.pods(selector='a b c ===')", "selector"),
    ("wb.cluster.pods(selector='a=' + 'b' * 10_000)", "selector"),
    ("wb.cluster.workloads(namespace=1)", "namespace"),
    ("wb.cluster.workloads(selector=[])", "selector"),
    ("wb.cluster.events(namespace=123)", "namespace"),
    ("wb.cluster.events(warnings_only='yes')", "warnings_only"),
    ("wb.cluster.gpu_allocation(by=1)", "by"),
    ("wb.cluster.gpu_allocation(by=[])", "by"),
    ("wb.cluster.gpu_allocation(by='team')", "by"),
    ("wb.cluster.watch(1)", "kind"),
    ("wb.cluster.watch('nope')", "kind"),
    ("wb.cluster.watch('pods', timeout=-1)", "timeout"),
    ("wb.cluster.watch('pods', timeout=NAN)", "timeout"),
    ("wb.cluster.watch('pods', timeout='abc')", "timeout"),
    ("wb.cluster.watch('pods', reconnect_timeout=INF)", "reconnect_timeout"),
    ("wb.cluster.watch('pods', namespace=5)", "namespace"),
    ("wb.cluster.watch('pods', cluster='elsewhere')", "elsewhere"),
    ("wb.cluster.snapshot(5)", "directory"),
    ("wb.cluster.snapshot('/nonexistent/x', kinds=['nope'])", "kind"),
    ("wb.cluster.snapshot('/nonexistent/x', kinds=5)", "kinds"),
    # traces
    ("wb.traces.search(min_duration_ms=NAN)", "min_duration_ms"),
    ("wb.traces.search(min_duration_ms=INF)", "min_duration_ms"),
    ("wb.traces.search(min_duration_ms=1e30)", "min_duration_ms"),
    ("wb.traces.search(min_duration_ms=-1)", "min_duration_ms"),
    ("wb.traces.search(min_duration_ms='5')", "min_duration_ms"),
    ("wb.traces.search(max_duration_ms=True)", "max_duration_ms"),
    ("wb.traces.search(min_duration_ms=5, max_duration_ms=1)", "max_duration_ms"),
    ("wb.traces.search(limit=0)", "limit"),
    ("wb.traces.search(limit=10**9)", "limit"),
    ("wb.traces.search(limit=NAN)", "limit"),
    ("wb.traces.search(attributes=[1, 2])", "attributes"),
    ("wb.traces.search(attributes='a=b')", "attributes"),
    ("wb.traces.search(attributes={'a': 1})", "attributes"),
    ("wb.traces.search(service=5)", "service"),
    ("wb.traces.search(service='s' * 100_000)", "service"),
    ("wb.traces.search(operation=[])", "operation"),
    ("wb.traces.search(status=5)", "status"),
    ("wb.traces.search(status='broken')", "status"),
    ("wb.traces.get(5)", "trace_id"),
    ("wb.traces.get('a' * 100_000)", "trace_id"),
    ("wb.traces.critical_path(None)", "trace_id"),
    ("wb.traces.operations(None)", "service"),
    ("wb.traces.operations('')", "service"),
    ("wb.traces.operations('x', kinds='nope')", "kind"),
    ("wb.traces.operations('x', kinds=5)", "kinds"),
    ("wb.traces.operations('x', kinds=[''])", "kinds"),
    # logs
    ("wb.logs.search(severity=5)", "severity"),
    ("wb.logs.search(severity='loud')", "severity"),
    ("wb.logs.search(limit=-1)", "limit"),
    ("wb.logs.search(limit=1.5)", "limit"),
    ("wb.logs.search(limit='10')", "limit"),
    ("wb.logs.search(text=5)", "text"),
    ("wb.logs.search(text='x' * 100_000)", "text"),
    ("wb.logs.search(trace_id=[])", "trace_id"),
    ("wb.logs.search(service=b'x')", "service"),
    # metrics
    ("wb.metrics.query(5)", "metric"),
    ("wb.metrics.query('m' * 5000)", "metric"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step=0)", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step=-1)", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step=NAN)", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step=INF)", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step=float('1e999'))", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', step='abc')", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', start='30d', step=1)", "step"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', source='x')", "source"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', source=[])", "source"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', agg='median')", "agg"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', agg=5)", "agg"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', by=5)", "by"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', by=['a b'])", "by"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', where=[1])", "where"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', where={'a': 5})", "where"),
    ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', rate='yes')", "rate"),
    ("wb.metrics.promql('')", "expr"),
    ("wb.metrics.inference_latency(quantile=NAN)", "quantile"),
    ("wb.metrics.inference_latency(quantile=2)", "quantile"),
    # inference
    ("wb.inference.deployments(namespace=5)", "namespace"),
    ("wb.inference.deployments(namespace=[None])", "namespace"),
    ("wb.inference.health(namespace=5)", "namespace"),
    ("wb.inference.pods(5)", "name"),
    ("wb.inference.pods('fraud-score', namespace=5)", "namespace"),
    ("wb.inference.scale(5, 1)", "name"),
    ("wb.inference.scale('fraud-score', -1)", "min_replicas"),
    ("wb.inference.scale('fraud-score', NAN)", "min_replicas"),
    ("wb.inference.scale('fraud-score', max_replicas=10**9)", "max_replicas"),
    ("wb.inference.scale('fraud-score', max_replicas='2')", "max_replicas"),
    ("wb.inference.scale('fraud-score', 1, apply='yes')", "apply"),
    ("wb.inference.canary('fraud-score', 's3://m/2', percent=200)", "percent"),
    ("wb.inference.canary('fraud-score', 's3://m/2', percent=NAN)", "percent"),
    ("wb.inference.canary('fraud-score', 's3://m/2', percent=0)", "percent"),
    ("wb.inference.canary('fraud-score', 5)", "storage_uri"),
    ("wb.inference.canary('fraud-score', 's3://m/2', version=2)", "exactly one"),
    ("wb.inference.promote('fraud-score', cluster=5)", "cluster"),
    ("wb.inference.rollback('no-such-deployment')", "no-such-deployment"),
    ("wb.inference.promote_from_registry('fraud-score', alias=5)", "alias"),
    # models
    ("wb.models.versions(5)", "model"),
    ("wb.models.versions('')", "model"),
    ("wb.models.versions('m' * 100_000)", "model"),
    ("wb.models.versions('no-such-model')", "no-such-model"),
    ("wb.models.resolve('fraud-score', version=-1)", "version"),
    ("wb.models.resolve('fraud-score', version=NAN)", "version"),
    ("wb.models.resolve('fraud-score', version=2.0)", "version"),
    ("wb.models.resolve('fraud-score', version='9' * 5000)", "version"),
    ("wb.models.resolve('fraud-score', alias=5)", "alias"),
    ("wb.models.resolve('fraud-score', version=1, alias='a')", "exactly one"),
]

#: Documented acceptances: the call, and what its result must satisfy.
ACCEPTED: list[tuple[str, str]] = [
    # "An unknown service or trace gives an empty frame, not an error" (wb.traces)
    ("wb.traces.search(service='no-such')", "result.empty"),
    ("wb.traces.get('0' * 32)", "result.empty"),
    ("wb.logs.search(text='\\x00')", "result.empty"),
    # "An unknown metric gives an empty frame" (wb.metrics.query)
    ("wb.metrics.query('no_such_metric')", "result.empty"),
    # a time from 1970 to 2200, an age up to 100 years (within that), "-2h" as "2h"
    ("wb.traces.services(start='15000d')", "not result.empty"),
    ("wb.traces.services(start=datetime(2020, 1, 1, tzinfo=UTC))", "not result.empty"),
    ("wb.cluster.events(since='-2h')", "result is not None"),
]


def _call(expression: str, **names: Any) -> Any:
    """Evaluate one row of a table: a call as a user writes it."""
    scope = {"NAN": math.nan, "INF": math.inf, "datetime": datetime, "timedelta": timedelta,
             "UTC": UTC, "hx": hx, **names}  # fmt: skip
    result = eval(expression, scope)  # the tables above, nothing else
    if hasattr(result, "__next__"):  # a watch that refused nothing yet would wait here
        next(result)
    return result


@pytest.mark.parametrize(("call", "field"), CASES, ids=[c[0] for c in CASES])
def test_the_api_refuses_bad_input_in_one_line_naming_the_field(
    demo_wb: Workbench, demo_env: Path, call: str, field: str
) -> None:
    with pytest.raises(HxbLabError) as caught:
        _call(call, wb=demo_wb)
    message = one_line(str(caught.value))
    assert field in message, message
    if isinstance(caught.value, ParameterError):
        assert any(field in p for p in caught.value.problems)


@pytest.mark.parametrize(("call", "check"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_documented_acceptances(demo_wb: Workbench, demo_env: Path, call: str, check: str) -> None:
    result = _call(call, wb=demo_wb)
    assert _call(check, result=result), f"{call}: {check}"


# ------------------------------------------------------------------ hx.runbooks
RUN = "hx.runbooks.get('kinds').run"
RUNBOOK_CASES: list[tuple[str, str]] = [
    ("hx.connect(5)", "5"),
    ("hx.connect('')", "''"),
    ("hx.connect('no-such')", "no-such"),
    ("hx.runbooks.get(5)", "name"),
    ("hx.runbooks.get('')", "name"),
    ("hx.runbooks.get('no-such')", "no-such"),
    (f"{RUN}({{'service': 'a'}}, timeout='abc')", "timeout"),
    (f"{RUN}({{'service': 'a'}}, timeout=-5)", "timeout"),
    (f"{RUN}({{'service': 'a'}}, timeout=0)", "timeout"),
    (f"{RUN}({{'service': 'a'}}, timeout=NAN)", "timeout"),
    (f"{RUN}({{'service': 'a'}}, timeout=INF)", "timeout"),
    (f"{RUN}({{'service': 'a'}}, timeout=[])", "timeout"),
    (f"{RUN}({{'service': 'a'}}, cell_timeout=-1)", "cell_timeout"),
    (f"{RUN}([1])", "parameters"),
    (f"{RUN}({{1: 2}})", "1"),
    (f"{RUN}({{}})", "service"),
    (f"{RUN}({{'service': 'a', 'ratio': NAN}})", "ratio"),
    (f"{RUN}({{'service': 'a', 'ratio': float('1e999')}})", "ratio"),
    (f"{RUN}({{'service': 'a', 'count': 2**70}})", "count"),
    (f"{RUN}({{'service': 'x' * 120_000_000}})", "service"),
    (f"{RUN}({{'service': 'a', 'names': nested(300)}})", "names"),
    ("hx.runbooks.get('kinds').submit({'count': 'x'})", "count"),
    ("hx.runbooks.get('kinds').submit({'service': 'a'}, timeout=-1)", "timeout"),
    ("hx.runbooks.get('kinds').schedule('not cron', {'service': 'a'})", "cron"),
    ("hx.runbooks.runs(since='99999999d')", "since"),
    ("hx.runbooks.runs(since=-5)", "since"),
    ("hx.runbooks.runs(since='9999-01-01')", "since"),
    ("hx.runbooks.log_metric('', 1)", "name"),
    ("hx.runbooks.log_metric('m', 'x')", "m"),
]


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(("call", "field"), RUNBOOK_CASES, ids=[c[0][:80] for c in RUNBOOK_CASES])
def test_runbooks_refuse_bad_input_and_write_nothing(
    bad_profile: Path, hxb_env: Path, call: str, field: str
) -> None:
    with pytest.raises(HxbLabError) as caught:
        _call(call, nested=_nested)
    message = str(caught.value)
    assert "Traceback" not in message and len(message) < 2000, message[:2000]
    assert field in message, message
    assert nothing_in(hxb_env / "runs") == []
    assert nothing_in(hxb_env / "artifacts") == []


@pytest.mark.parametrize(
    ("read", "folder"),
    [("wb.traces.services()", "traces"), ("wb.logs.search()", "logs"),
     ("wb.metrics.query('DCGM_FI_DEV_GPU_UTIL', source='clickhouse')", "metrics")],
)  # fmt: skip
def test_a_missing_telemetry_table_folder_is_an_error_not_an_empty_frame(
    tmp_path: Path, read: str, folder: str
) -> None:
    from hxb_lab.config import ClickHouseConfig, Profile
    from hxb_lab.errors import ConfigError

    wb = Workbench(Profile(name="torn", clickhouse=ClickHouseConfig(dsn=f"parquet://{tmp_path}")))
    with pytest.raises(ConfigError) as caught:
        _call(read, wb=wb)
    message = one_line(str(caught.value))
    assert f"the telemetry directory {tmp_path} has no {folder}" in message
    assert "key 'clickhouse.dsn'" in message
    wb.close()
