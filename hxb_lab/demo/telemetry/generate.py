"""The demo's telemetry: a deterministic GPU-inference platform in the exporter's tables.

`generate()` writes six hours of traces and logs, 24 hours of metrics (every 30 s, so a day
of GPU utilisation or request rate at 1-minute steps) and the active alerts, ending at `now`,
as Parquet files in one directory, laid out as the embedded demo reads them (see
`hxb_lab.otel_tables.PARQUET_LAYOUT`); `load_into()` copies such a directory into
the exporter's tables of a ClickHouse (on-disk chDB or a server). The story is
`hxb_lab.demo.scenario`: an API gateway, auth, a router, a feature store and a vector database
in front of twelve model deployments, with a latency regression of llm-chat after its
canary rollout, an error burst in the feature store, a hot GPU and a deployment that
cannot load its model. The same seed gives the same data.

Sizes: ``small`` (60 k spans, a few seconds, for tests), ``medium`` (1.2 M spans, the demo),
``large`` (10 M spans, for benchmarks, under two minutes).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab import otel_tables as schema
from hxb_lab.demo import scenario
from hxb_lab.demo.telemetry import _sql as _gen_sql
from hxb_lab.demo.telemetry._alerts import demo_alerts
from hxb_lab.demo.telemetry._fleet import load_fleet
from hxb_lab.demo.telemetry._metrics import generate_metrics
from hxb_lab.demo.telemetry._metrics_write import write_metrics
from hxb_lab.demo.telemetry._sql import literal
from hxb_lab.demo.telemetry._traces import TraceBuilder, write_traces
from hxb_lab.errors import ConfigError
from hxb_lab.otel_tables import ALERTS_FILE

if TYPE_CHECKING:
    from hxb_lab.demo import SeedContext

__all__ = [
    "METRICS_WINDOW",
    "SIZES",
    "WINDOW",
    "TelemetrySummary",
    "generate",
    "load_into",
    "seed_demo",
]

SIZES = {"small": 60_000, "medium": 1_200_000, "large": 10_000_000}
#: What traces and logs cover, before `now`.
WINDOW = timedelta(hours=6)
#: What metrics cover, before `now`: a day, for the views' "last 24h" at 1-minute steps.
METRICS_WINDOW = timedelta(hours=24)
SUMMARY_FILE = "summary.json"
_PARTS = (
    "traces",
    "traces_trace_id_ts",
    "logs",
    "metrics_gauge",
    "metrics_sum",
    "metrics_histogram",
    "traces_red_1m",
)


@dataclass(frozen=True)
class TelemetrySummary:
    """What `generate` wrote."""

    directory: str
    size: str
    seed: int
    start: str  # of traces and logs
    end: str
    metrics_start: str
    spans: int
    traces: int
    logs: int
    metric_points: int
    alerts: int
    seconds: float

    def line(self) -> str:
        """One line for the demo's seeding report."""
        return (
            f"{_short(self.spans)} spans, {_short(self.logs)} log lines, "
            f"{_short(self.metric_points)} metric points, {self.alerts} alerts"
        )


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1000:
        return f"{n / 1e3:.0f} k"
    return str(n)


def _events(fleet: Any, start_ns: int, now_ns: int) -> Any:
    """Log lines that belong to no trace: the rollout, a model that cannot load, a hot GPU."""
    import pyarrow as pa

    rows: list[dict[str, Any]] = []

    def at(before: timedelta) -> int:
        return now_ns - int(before.total_seconds() * 1e9)

    def add(t: int, service: str, severity: str, body: str, **extra: str) -> None:
        if start_ns <= t < now_ns:
            rows.append(
                {"Start": t, "Service": service, "Severity": severity, "Body": body, **extra}
            )

    chat = scenario.CANARY_ROLLOUT.target
    canary = [p for p in fleet.pods[chat] if p.canary]
    version = canary[0].version if canary else 0
    add(
        at(scenario.CANARY_ROLLOUT.starts_before_now),
        "kserve-controller",
        "INFO",
        f"InferenceService {scenario.DEPLOYMENTS[0].workspace}/{chat}: canary rollout of model "
        f"version {version} started with {scenario.CANARY_ROLLOUT.factor:.0%} of traffic",
        Namespace="kserve",
        Model=chat,
    )
    failing = scenario.FAILING_DEPLOYMENT.target
    step = 30 * 10**9
    for i, pod in enumerate(fleet.pods[failing]):
        t = at(scenario.FAILING_DEPLOYMENT.starts_before_now) + i * 10**9
        while t < now_ns:
            add(
                t,
                failing,
                "ERROR",
                f"failed to load model '{failing}' version {pod.version}: CUDA error: "
                "out of memory (requested 14.6 GiB, 2.1 GiB free)",
                Namespace=pod.namespace,
                Pod=pod.name,
                Node=pod.node,
                Model=failing,
            )
            t += step
    hot = fleet.hot_gpu()
    if hot is not None:
        t = at(scenario.HOT_GPU.starts_before_now) + 2 * step
        while t < now_ns:
            add(
                t,
                "node-problem-detector",
                "WARN",
                f"GPU {hot.index} ({hot.uuid}) on {hot.node}: temperature 88 C above the "
                "slowdown threshold 87 C, SM clocks throttled",
                Namespace="kube-system",
                Node=hot.node,
                Gpu=str(hot.index),
            )
            t += 2 * step
    burst = at(scenario.ERROR_BURST.starts_before_now)
    lasts = scenario.ERROR_BURST.lasts or timedelta(minutes=10)
    for k in range(int(lasts.total_seconds() // 20)):
        add(
            burst + k * 20 * 10**9,
            scenario.ERROR_BURST.target,
            "ERROR",
            "online store read timed out after 250ms: redis connection pool exhausted (64/64)",
            Namespace="platform",
        )
    for t, severity, body in _falco_alerts(fleet, at):
        add(t, "falco", severity, body, Namespace="falco")
    names = ("Service", "Severity", "Body", "Namespace", "Pod", "Node", "Model", "Gpu")
    return pa.table(
        {
            "Start": pa.array([r["Start"] for r in rows], pa.int64()),
            **{n: pa.array([r.get(n, "") for r in rows], pa.string()) for n in names},
        }
    )


#: Falco's priorities as OpenTelemetry severity texts (the collector's mapping).
_FALCO_SEVERITY = {"Critical": "ERROR", "Warning": "WARN", "Notice": "INFO"}


def _falco_alerts(fleet: Any, at: Any) -> list[tuple[int, str, str]]:
    """Falco's JSON alerts: someone opened a shell in the forgotten notebook and ran a
    binary it downloaded; image-tagger's predictor reads the service-account token."""
    idle = scenario.FORGOTTEN_NOTEBOOK
    notebook_image = "quay.io/jupyter/pytorch-notebook"
    tagger = fleet.pods.get(scenario.FAILING_DEPLOYMENT.target) or []
    alerts = [
        (
            timedelta(minutes=42),
            "Notice",
            "Terminal shell in container",
            idle.workspace,
            idle.pod,
            "notebook",
            notebook_image,
            "bash",
            "jovyan",
            ["container", "shell", "mitre_execution"],
        ),
        (
            timedelta(minutes=37),
            "Critical",
            "Drop and execute new binary in container",
            idle.workspace,
            idle.pod,
            "notebook",
            notebook_image,
            "./.cache/xmrig --donate-level 1 -o pool.example:3333",
            "jovyan",
            ["container", "mitre_persistence", "TA0003"],
        ),
    ]
    if tagger:
        pod = tagger[0]
        alerts.append(
            (
                timedelta(minutes=21),
                "Warning",
                "Read sensitive file untrusted",
                pod.namespace,
                pod.name,
                "kserve-container",
                "nvcr.io/nvidia/tritonserver",
                "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
                "root",
                ["filesystem", "mitre_credential_access"],
            )
        )
    lines = []
    for before, priority, rule, ns, pod_name, container, image, cmd, user, tags in alerts:
        t = at(before)
        when = datetime.fromtimestamp(t / 1e9, UTC).isoformat().replace("+00:00", "Z")
        fields = {
            "k8s.ns.name": ns,
            "k8s.pod.name": pod_name,
            "container.name": container,
            "container.image.repository": image,
            "proc.cmdline": cmd,
            "user.name": user,
        }
        output = (
            f"{when}: {priority} {rule} (user={user} command={cmd} "
            f"k8s.ns={ns} k8s.pod={pod_name} container={container} image={image})"
        )
        body = {
            "hostname": "falco",
            "output": output,
            "output_fields": fields,
            "priority": priority,
            "rule": rule,
            "source": "syscall",
            "tags": tags,
            "time": when,
        }
        lines.append((t, _FALCO_SEVERITY[priority], json.dumps(body, sort_keys=True)))
    return lines


def _write_alerts(path: Path, alerts: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "alertname": [a["labels"]["alertname"] for a in alerts],
            "severity": [a["labels"].get("severity", "") for a in alerts],
            "state": ["active"] * len(alerts),
            "starts_at": pa.array([a["startsAt"] for a in alerts], pa.timestamp("ns", "UTC")),
            "labels": [json.dumps(a["labels"], sort_keys=True) for a in alerts],
            "annotations": [json.dumps(a["annotations"], sort_keys=True) for a in alerts],
        }
    )
    pq.write_table(table, str(path))


def generate(
    directory: Path | str,
    *,
    size: str = "small",
    spans: int | None = None,
    seed: int = 7,
    now: datetime | None = None,
    home: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> TelemetrySummary:
    """Write the demo's telemetry as Parquet under `directory`: traces and logs of the six
    hours before `now`, metrics of the 24 hours before it.

    `spans` overrides the size's span count; `home` is the demo directory whose cluster
    snapshot names the GPU nodes and pods (without one, a fleet is derived from the scenario).
    """
    import clickhouse_connect
    import pyarrow.feather as feather

    if size not in SIZES:
        raise ConfigError(
            f"unknown telemetry size {size!r}", key="size", hint=f"use one of {list(SIZES)}"
        )
    report = progress or (lambda _msg: None)
    began = time.perf_counter()
    out = Path(directory).resolve()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now_ns = int(now.timestamp()) * 10**9 + now.microsecond * 1000
    start_ns = now_ns - int(WINDOW.total_seconds() * 1e9)
    metrics_start_ns = now_ns - int(METRICS_WINDOW.total_seconds() * 1e9)
    for part in _PARTS:
        shutil.rmtree(out / part, ignore_errors=True)
        (out / part).mkdir(parents=True)
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    fleet = load_fleet(home, seed)
    target = spans or SIZES[size]
    report(f"simulating {_short(target)} spans on {len(fleet.gpus)} GPUs ({fleet.source}) ...")
    builder = TraceBuilder(seed, fleet, now_ns)
    builder.run(target, start_ns, now_ns)
    report("writing traces ...")
    n_spans, n_traces = write_traces(builder, out / "traces"), builder.traces
    del builder
    feather.write_feather(_events(fleet, start_ns, now_ns), str(work / "events.arrow"))
    client = clickhouse_connect.get_client(dsn="chdb://memory")
    try:
        files = {"traces": out / "traces" / "*.parquet", "events": work / "events.arrow"}
        report("writing the trace-id lookup, the RED rollup and logs ...")
        lookup = out / "traces_trace_id_ts" / "lookup.parquet"
        client.command(_gen_sql.render(_gen_sql.TRACE_ID_TS, out=lookup, **files))
        rollup = out / "traces_red_1m" / "rollup.parquet"
        client.command(_gen_sql.render(_gen_sql.ROLLUP, out=rollup, **files))
        logs = out / "logs" / "{_partition_id}.parquet"
        client.command(
            _gen_sql.render(_gen_sql.LOGS, out=logs, **files),
            parameters={"cluster": scenario.CLUSTER},
        )
        logs_glob = _gen_sql.literal(str(out / "logs" / "*.parquet"))
        n_logs = int(str(client.command(f"SELECT count() FROM file({logs_glob})")))
    finally:
        client.close()
    report("writing metrics ...")
    metrics = generate_metrics(fleet, metrics_start_ns, now_ns, now_ns, seed)
    write_metrics(metrics, out, scenario.CLUSTER, metrics_start_ns)
    alerts = demo_alerts(fleet, now)
    _write_alerts(out / ALERTS_FILE, alerts)
    shutil.rmtree(work, ignore_errors=True)
    summary = TelemetrySummary(
        directory=str(out),
        size=size,
        seed=seed,
        start=datetime.fromtimestamp(start_ns / 1e9, UTC).isoformat(),
        end=now.isoformat(),
        metrics_start=datetime.fromtimestamp(metrics_start_ns / 1e9, UTC).isoformat(),
        spans=n_spans,
        traces=n_traces,
        logs=n_logs,
        metric_points=metrics.points,
        alerts=len(alerts),
        seconds=round(time.perf_counter() - began, 2),
    )
    (out / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2))
    return summary


def seed_demo(ctx: SeedContext) -> str:
    """The demo seeder: telemetry under ``<demo>/telemetry`` ending at the demo's `now`."""
    summary = generate(
        ctx.home / "telemetry",
        size=ctx.size,
        seed=ctx.seed,
        now=ctx.now,
        home=ctx.home,
        progress=ctx.progress,
    )
    return summary.line()


def load_into(
    client: Any, directory: Path | str, database: str, tables: dict[str, str]
) -> dict[str, int]:
    """Copy a generated directory into the exporter's tables (created when missing; with
    the RED rollup and its materialized view when `tables` names ``traces_red_1m``).

    `client` is a clickhouse-connect client on a chDB or a ClickHouse server that can read
    `directory` (chDB always can; a server needs the files in its ``user_files``). Returns
    the rows copied per table key.
    """

    schema.create_tables(client, database, tables)
    root = Path(directory).resolve()
    copied: dict[str, int] = {}
    for key, sub in schema.PARQUET_LAYOUT.items():
        if key in ("traces_trace_id_ts", schema.ROLLUP) or key not in tables:
            continue  # filled by their materialized views from the traces, or not wanted
        files = sorted((root / sub).glob("*.parquet"))
        if not files:
            copied[key] = 0
            continue
        columns = ", ".join(f"`{c}`" for c in schema.STRUCTURES[key])
        source = f"file({literal(str(root / sub / '*.parquet'))}, Parquet, {literal(schema.structure(key))})"
        client.command(
            f"INSERT INTO `{database}`.`{tables[key]}` ({columns}) SELECT {columns} FROM {source}"
        )
        copied[key] = int(client.command(f"SELECT count() FROM `{database}`.`{tables[key]}`"))
    return copied
