"""The demo's firing alerts, derived from the scenario's incidents (as Alertmanager would
list them), so `wb.alerts.active()` shows them on the embedded demo."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.telemetry._flows import MODELS

if TYPE_CHECKING:
    from hxb_lab.demo.telemetry._fleet import Fleet


def demo_alerts(fleet: Fleet, now: datetime) -> list[dict[str, Any]]:
    """The alerts that fire on the demo platform, as Alertmanager would list them."""
    alerts: list[dict[str, Any]] = []
    hot = fleet.hot_gpu()
    if hot is not None:
        alerts.append(
            {
                "labels": {
                    "alertname": "GPUTemperatureHigh",
                    "severity": "critical",
                    "Hostname": hot.node,
                    "gpu": str(hot.index),
                    "UUID": hot.uuid,
                    "runbook": "node-drain-readiness",  # a throttled GPU: can its node be drained?
                },
                "annotations": {
                    "summary": f"GPU {hot.index} on {hot.node} is at 88 C and 99% busy",
                    "description": "DCGM_FI_DEV_GPU_TEMP > 85 for 5m; clocks are throttled.",
                },
                "startsAt": now - scenario.HOT_GPU.starts_before_now + timedelta(minutes=5),
            }
        )
    target = scenario.LATENCY_REGRESSION.target
    alerts.append(
        {
            "labels": {
                "alertname": "InferenceLatencyHigh",
                "severity": "warning",
                "model": target,
                "namespace": MODELS[target].workspace,
                "runbook": "inference-latency-triage",
            },
            "annotations": {
                "summary": f"p95 latency of {target} is {scenario.LATENCY_REGRESSION.factor}x "
                "its baseline",
                "description": "histogram_quantile(0.95, nv_inference_first_response_histogram_ms) "
                "is above the SLO since the canary rollout.",
            },
            "startsAt": now - scenario.LATENCY_REGRESSION.starts_before_now + timedelta(minutes=10),
        }
    )
    failing = scenario.FAILING_DEPLOYMENT.target
    alerts.append(
        {
            "labels": {
                "alertname": "InferenceServiceNotReady",
                "severity": "critical",
                "inferenceservice": failing,
                "namespace": MODELS[failing].workspace,
                "runbook": "crashloop-triage",
            },
            "annotations": {
                "summary": f"InferenceService {failing} has no ready replica",
                "description": "The predictor cannot load its model; requests get 503.",
            },
            "startsAt": now - scenario.FAILING_DEPLOYMENT.starts_before_now + timedelta(minutes=2),
        }
    )
    return alerts
