"""Figures: pure functions from a frame to a `plotly.graph_objects.Figure`, for reports.

Every figure uses the project template (``plotly.io.templates["hxb"]``), carries it inside
itself so a static HTML export looks the same anywhere, escapes every label that came
from a cluster or from telemetry, and never touches a backend.

    from hxb_lab import viz
    viz.timeseries(wb.metrics.gpu_utilization())
    viz.trace_waterfall(wb.traces.get(trace_id))
"""

from __future__ import annotations

from hxb_lab.viz._theme import TEMPLATE, template
from hxb_lab.viz.changes import with_changes
from hxb_lab.viz.cluster import node_capacity
from hxb_lab.viz.delivery import application_status, pipeline_timeline
from hxb_lab.viz.gpus import gpu_allocation, gpu_heatmap
from hxb_lab.viz.guards import falco_timeline, violations_by_constraint
from hxb_lab.viz.latency import compare, latency_distribution
from hxb_lab.viz.platform import (
    autoscaler_headroom,
    certificate_expiry,
    claim_status,
    notebook_utilization,
    traffic_split,
)
from hxb_lab.viz.services import service_map
from hxb_lab.viz.timeseries import MAX_POINTS, timeseries
from hxb_lab.viz.traces import critical_path, trace_waterfall

__all__ = [
    "MAX_POINTS",
    "TEMPLATE",
    "application_status",
    "autoscaler_headroom",
    "certificate_expiry",
    "claim_status",
    "compare",
    "critical_path",
    "falco_timeline",
    "gpu_allocation",
    "gpu_heatmap",
    "latency_distribution",
    "node_capacity",
    "notebook_utilization",
    "pipeline_timeline",
    "service_map",
    "template",
    "timeseries",
    "trace_waterfall",
    "traffic_split",
    "violations_by_constraint",
    "with_changes",
]
