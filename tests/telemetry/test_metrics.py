"""`wb.metrics`: the structured query on ClickHouse (SQL) and on a real Prometheus (PromQL),
checked against each other on the same samples; steps, shortcuts, errors."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import orjson
import pandas as pd
import pytest

from hxb_lab.clients.prometheus import parse_matrix
from hxb_lab.config import PrometheusConfig, SecretRef
from hxb_lab.errors import BackendUnavailableError, ParameterError, QueryError
from hxb_lab.telemetry._metric_query import auto_step, histogram_quantile, plan
from hxb_lab.telemetry.metrics import GPU_LABELS
from hxb_lab.workbench import Workbench
from tests.telemetry.conftest import Generated, free_port, workbench

HISTOGRAM = "nv_inference_first_response_histogram_ms"


def test_a_grouped_gauge_is_a_tidy_frame(wb: Workbench, generated: Generated) -> None:
    frame = wb.metrics.query(
        "DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], agg="max", step=600,
        start=generated.at(60), end=generated.now,
    )  # fmt: skip
    assert list(frame.columns) == ["timestamp", "value", "Hostname"]
    assert str(frame.timestamp.dtype) == "datetime64[ns, UTC]"
    assert frame.value.dtype == np.float64 and str(frame.Hostname.dtype) == "str"
    assert set(frame.Hostname) >= {"gpu-h100-0", "gpu-a100-0", "gpu-l4-0"}
    assert (frame.timestamp.dt.minute % 10 == 0).all()  # evaluation times are step-aligned
    hot = frame[frame.Hostname == "gpu-h100-0"]
    assert (hot.value >= 97).all()
    assert len(hot) == 7  # every 10 minutes over an hour, both ends included


def test_without_by_every_series_keeps_all_its_labels(wb: Workbench, generated: Generated) -> None:
    frame = wb.metrics.query(
        "DCGM_FI_DEV_GPU_TEMP", where={"Hostname": "gpu-h100-0", "gpu": ["0", "1"]},
        step=900, start=generated.at(60), end=generated.now,
    )  # fmt: skip
    assert list(frame.columns[:2]) == ["timestamp", "value"]
    assert set(frame.columns[2:]) == {"DCGM_FI_DRIVER_VERSION", "Hostname", "UUID", "container",
                                      "device", "gpu", "modelName", "namespace", "pod"}  # fmt: skip
    assert set(frame.gpu) == {"0", "1"} and len(frame) == 2 * 5
    hot = frame[frame.gpu == "1"].value
    assert (hot > 85).all() and (frame[frame.gpu == "0"].value < 80).all()


def test_rates_of_counters_and_quantiles_of_histograms(wb: Workbench, generated: Generated) -> None:
    window = {"start": generated.at(60), "end": generated.now, "step": 1800}
    rate = wb.metrics.query(
        "nv_inference_request_success", by=["model"], agg="sum", rate=True, **window
    )
    per_model = rate.groupby("model").value.mean()
    assert 20 < per_model["llm-chat"] < 120  # requests per second
    assert per_model["text-embed"] > per_model["llm-chat"]
    p95 = wb.metrics.query(
        HISTOGRAM, by=["model", "version"], agg="p95", where={"model": "llm-chat"}, **window
    )
    by_version = p95.groupby("version").value.mean()
    assert by_version["8"] > 2 * by_version["7"]  # the canary is the slow one
    with pytest.raises(
        QueryError, match="DCGM_FI_DEV_GPU_UTIL is a gauge metric: quantiles need a histogram"
    ):
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", agg="p95", **window)
    with pytest.raises(QueryError, match="is a histogram: ask for a quantile"):
        wb.metrics.query(HISTOGRAM, agg="avg", **window)


def test_an_unknown_metric_is_an_empty_frame(wb: Workbench, generated: Generated) -> None:
    frame = wb.metrics.query(
        "no_such_metric", by=["pod"], start=generated.at(60), end=generated.now
    )
    assert frame.empty and list(frame.columns) == ["timestamp", "value", "pod"]
    assert str(frame.timestamp.dtype) == "datetime64[ns, UTC]"


def test_steps_stay_within_prometheus_limit(wb: Workbench, generated: Generated) -> None:
    assert auto_step(0, 3600) == 15
    assert auto_step(0, 6 * 3600) == 120
    for days in (1, 30, 400, 4000):
        step = auto_step(0, days * 86400)
        assert days * 86400 / step + 1 <= 11_000
    with pytest.raises(QueryError) as error:
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", step=1, start=generated.at(360), end=generated.now)
    message = str(error.value)
    assert "a step of 1s gives 21,601 points per series" in message
    assert "more than the 11,000 Prometheus allows" in message
    assert "use step=2 (seconds) or more" in message
    ok = wb.metrics.query(
        "DCGM_FI_DEV_GPU_UTIL", by=[], step="2s", start=generated.at(360), end=generated.now
    )
    assert 0 < len(ok) <= 11_000
    with pytest.raises(ParameterError, match="step: expected a whole number of seconds"):
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", step=0.5)


def test_bad_arguments_are_named(wb: Workbench) -> None:
    with pytest.raises(
        ParameterError, match="agg: 'median' is not one of avg, sum, min, max, count"
    ):
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", agg="median")
    with pytest.raises(ParameterError, match="by: 'node name' is not a valid label name"):
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", by=["node name"])
    with pytest.raises(ParameterError, match="source: 'graphite' is not one of"):
        wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", source="graphite")
    with pytest.raises(ParameterError, match="quantile: expected a number between 0 and 1"):
        wb.metrics.inference_latency(quantile=95)


@pytest.mark.parametrize(
    "value", ["x' OR 1=1 --", "gpu-h100-0' OR ''='", '"} or vector(1) or {x="']
)
def test_label_values_are_bound_not_spliced(
    wb: Workbench, generated: Generated, value: str
) -> None:
    frame = wb.metrics.query(
        "DCGM_FI_DEV_GPU_UTIL", where={"Hostname": value}, by=["Hostname"],
        start=generated.at(60), end=generated.now,
    )  # fmt: skip
    assert frame.empty


def test_shortcuts_use_the_standard_metric_names(wb: Workbench, generated: Generated) -> None:
    window = {"start": generated.at(60), "end": generated.now, "step": 600}
    util = wb.metrics.gpu_utilization(node="gpu-h100-0", **window)
    assert list(util.columns) == ["timestamp", "value", *GPU_LABELS]
    assert set(util.Hostname) == {"gpu-h100-0"} and util.value.between(0, 100).all()
    memory = wb.metrics.gpu_memory(**window)
    mib = wb.metrics.query("DCGM_FI_DEV_FB_USED", by=list(GPU_LABELS), **window)
    assert np.allclose(memory.value, mib.value * 1024 * 1024)
    assert memory.value.max() > 60e9  # an LLM fills most of an 80 GB H100
    latency = wb.metrics.inference_latency(model="llm-chat", **window)
    assert list(latency.columns) == ["timestamp", "value", "model", "version"]
    assert set(latency.version) == {"7", "8"}
    throughput = wb.metrics.inference_throughput(model="image-tagger", start=generated.at(120),
                                                 end=generated.now, step=600)  # fmt: skip
    before = throughput[throughput.timestamp <= pd.Timestamp(generated.at(40))].value
    after = throughput[throughput.timestamp >= pd.Timestamp(generated.at(20))].value
    assert (before > 5).all() and (after == 0).all()  # the model stopped loading 30 min ago


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    bounds = [1.0, 2.0, 4.0]
    assert histogram_quantile(0.5, bounds, [0, 10, 20, 20]) == pytest.approx(2.0)
    assert histogram_quantile(0.25, bounds, [0, 10, 20, 20]) == pytest.approx(1.5)
    assert histogram_quantile(0.75, bounds, [0, 10, 20, 20]) == pytest.approx(3.0)
    assert histogram_quantile(0.5, bounds, [10, 10, 10, 10]) == pytest.approx(0.5)  # from 0
    assert histogram_quantile(0.99, bounds, [0, 0, 1, 100]) == 4.0  # +Inf: highest bound
    dipped = [0, 10, 8, 16, 20]  # rates of separate bucket series can dip: made monotonic
    assert histogram_quantile(0.6, [1.0, 2.0, 4.0, 8.0], dipped) == pytest.approx(4 + 4 * 2 / 6)
    assert math.isnan(histogram_quantile(0.5, bounds, [0, 0, 0, 0]))


def test_plan_aligns_evaluation_times_and_windows() -> None:
    q = plan("m", where=None, by=None, agg="avg", rate=False, step=60,
             start_ns=1_000_030 * 10**9, end_ns=1_003_630 * 10**9)  # fmt: skip
    assert q.start_s % 60 == 0 and q.start_s <= 1_000_030 and q.end_s <= 1_003_630
    assert q.window_s == 120 and q.points == (q.end_s - q.start_s) // 60 + 1


# ---------------------------------------------------------------- against a real Prometheus

COMPARED = [
    {"metric": "DCGM_FI_DEV_GPU_UTIL", "by": ["Hostname"], "agg": "avg", "step": 600},
    {"metric": "DCGM_FI_DEV_GPU_TEMP", "where": {"Hostname": "gpu-h100-0"}, "step": 900},
    {"metric": "DCGM_FI_DEV_POWER_USAGE", "by": ["modelName"], "agg": "max", "step": 300},
    {"metric": "DCGM_FI_DEV_GPU_UTIL", "by": ["modelName"], "agg": "count", "step": 1200},
    {"metric": "DCGM_FI_DEV_FB_USED", "by": [], "agg": "sum", "step": 60},
    {
        "metric": "nv_inference_request_success",
        "by": ["model"],
        "agg": "sum",
        "rate": True,
        "step": 600,
    },
    {
        "metric": "nv_inference_request_failure",
        "where": {"model": ["llm-chat", "ocr"]},
        "rate": True,
        "step": 1800,
    },
    {"metric": HISTOGRAM, "by": ["model", "version"], "agg": "p95", "step": 900},
    {"metric": HISTOGRAM, "where": {"model": "ocr"}, "agg": "p50", "step": 1800},
]


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "query", COMPARED, ids=[f"{q['metric']}-{q.get('agg', 'avg')}" for q in COMPARED]
)
def test_both_backends_give_the_same_frame(
    wb_prometheus: Workbench, generated: Generated, query: dict[str, object]
) -> None:
    window = {"start": generated.at(120), "end": generated.at(1)}
    promql = wb_prometheus.metrics.query(**query, **window, source="prometheus")  # type: ignore[arg-type]
    sql = wb_prometheus.metrics.query(**query, **window, source="clickhouse")  # type: ignore[arg-type]
    assert len(promql) > 0
    assert list(promql.columns) == list(sql.columns)
    assert promql.dtypes.astype(str).tolist() == sql.dtypes.astype(str).tolist()
    labels = [c for c in promql.columns if c != "value"]
    assert promql[labels].equals(sql[labels])
    worst = float(np.max(np.abs(promql.value - sql.value) / np.maximum(np.abs(sql.value), 1e-9)))
    assert worst < 1e-9, worst  # the same samples and formulas, up to float rounding


@pytest.mark.prometheus
def test_prometheus_is_the_default_source_when_configured(
    wb_prometheus: Workbench, generated: Generated
) -> None:
    assert wb_prometheus.metrics.source() == "prometheus"
    frame = wb_prometheus.metrics.gpu_utilization(
        node="gpu-h100-0", start=generated.at(60), end=generated.at(1)
    )
    assert list(frame.columns) == ["timestamp", "value", *GPU_LABELS] and len(frame) > 0


@pytest.mark.prometheus
def test_raw_promql_and_its_errors(wb_prometheus: Workbench, generated: Generated) -> None:
    frame = wb_prometheus.metrics.promql(
        "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)",
        start=generated.at(60),
        end=generated.at(1),
        step=300,
    )
    assert list(frame.columns) == ["timestamp", "value", "Hostname"]
    assert frame.groupby("Hostname").value.max()["gpu-h100-0"] >= 85
    with pytest.raises(
        QueryError, match=r"rejected the query: .*parse error.*unclosed left parenthesis"
    ):
        wb_prometheus.metrics.promql("sum(rate(DCGM_FI_DEV_GPU_UTIL[5m]", start=generated.at(60))
    with pytest.raises(QueryError, match="use step=2"):
        wb_prometheus.metrics.promql("up", start=generated.at(360), end=generated.now, step=1)
    assert wb_prometheus.metrics.query(
        "DCGM_FI_DEV_GPU_UTIL", where={"Hostname": '"} or vector(1) or {x="'}, by=["Hostname"],
        start=generated.at(60), end=generated.at(1),
    ).empty  # fmt: skip


def test_an_unreachable_prometheus_is_named_and_its_token_redacted(
    generated: Generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HXB_TEST_PROM_TOKEN", "t0ken-value-123")
    port = free_port()
    config = PrometheusConfig(
        url=f"http://127.0.0.1:{port}", token=SecretRef(env="HXB_TEST_PROM_TOKEN")
    )
    wb = workbench(generated.directory, prometheus=config)
    with pytest.raises(
        BackendUnavailableError, match=f"cannot reach Prometheus at http://127.0.0.1:{port}"
    ) as error:
        wb.metrics.query("up")
    assert "t0ken-value-123" not in str(error.value)
    wb.close()


def test_parsing_a_range_response_matches_a_plain_json_parse() -> None:
    result = [
        {
            "metric": {"__name__": "m", "label": 'quo"te]] and \\ back'},
            "values": [[1.5, "1"], [3, "NaN"]],
        },
        {"metric": {"label": "b"}, "values": [[1.5, "+Inf"], [3, "-2.5e-3"]]},
        {"metric": {"other": "c"}, "values": []},
        {"metric": {}, "values": [[1700000000.123, "42"]]},
    ]
    payload = orjson.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    )
    padded = payload[:-1] + b',"padding":"' + b"x" * 5000 + b'"}'  # big enough for the fast path
    frame = parse_matrix(padded)
    assert list(frame.columns) == ["timestamp", "value", "__name__", "label", "other"]
    assert frame.label.tolist() == ['quo"te]] and \\ back'] * 2 + ["b", "b", ""]
    values = frame.value.tolist()
    assert (
        values[0] == 1 and math.isnan(values[1]) and values[2] == math.inf and values[3] == -0.0025
    )
    assert frame.timestamp.iloc[4] == pd.Timestamp("2023-11-14T22:13:20.123Z")
    plain = parse_matrix(payload)  # small: parsed as plain JSON
    pd.testing.assert_frame_equal(frame, plain)
    assert str(frame.timestamp.dtype) == "datetime64[ns, UTC]"
    assert timedelta(seconds=1.5) == (frame.timestamp.iloc[1] - frame.timestamp.iloc[0])
