"""Which telemetry backends of a profile answer, and what each holds (`hxb-lab profile check`).

A registry of probes, one per backend: `configured` says where the profile puts it (None
when it does not), `probe` asks the server one cheap question and names what it found
(tables, indices, services, jobs, alerts). A backend added later registers its own with `register`.
A probe that fails is reported, not raised: one line naming the server and what to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hxb_lab._redact import redact_url
from hxb_lab.clients.alertmanager import open_alertmanager
from hxb_lab.clients.elasticsearch import open_elasticsearch
from hxb_lab.clients.jaeger import open_jaeger
from hxb_lab.clients.prometheus import open_prometheus
from hxb_lab.config import Profile
from hxb_lab.errors import HxbLabError
from hxb_lab.telemetry import _jaeger_spm
from hxb_lab.telemetry._sql import store
from hxb_lab.times import time_range

if TYPE_CHECKING:
    from hxb_lab.context import Context

__all__ = ["PROBES", "BackendCheck", "Probe", "check", "register"]

#: At most this many names are listed for what a backend holds.
SHOWN = 20


@dataclass(frozen=True)
class BackendCheck:
    """What one backend said: whether it answers, what it holds, its version or the error."""

    backend: str
    server: str
    answers: bool
    found: tuple[str, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"backend": self.backend, "server": self.server, "answers": self.answers,
                "found": list(self.found), "detail": self.detail}  # fmt: skip


@dataclass(frozen=True)
class Probe:
    configured: Callable[[Profile], str | None]  # the server (redacted), None if absent
    probe: Callable[[Context], tuple[tuple[str, ...], str]]  # (found, detail)


PROBES: dict[str, Probe] = {}


def register(name: str, probe: Probe) -> None:
    """Add (or replace) the probe of backend `name`."""
    PROBES[name] = probe


def check(ctx: Context) -> list[BackendCheck]:
    """Probe every backend the profile configures, in registration order."""
    results = []
    for name, entry in PROBES.items():
        server = entry.configured(ctx.profile)
        if server is None:
            continue
        try:
            found, detail = entry.probe(ctx)
        except HxbLabError as exc:
            results.append(BackendCheck(name, server, False, (), str(exc).splitlines()[0]))
            continue
        results.append(BackendCheck(name, server, True, found, detail))
    return results


def _shown(names: list[str]) -> tuple[str, ...]:
    more = len(names) - SHOWN
    return tuple(names[:SHOWN]) + ((f"... {more} more",) if more > 0 else ())


def _clickhouse(ctx: Context) -> tuple[tuple[str, ...], str]:
    client = store(ctx)
    present = [key for key in client.tables if client.has(key)]
    if not present:
        raise HxbLabError(
            f"{client.server} holds none of the OpenTelemetry exporter's tables",
            hint="check the profile's clickhouse.database and clickhouse.tables",
        )
    missing = [client.tables[k] for k in client.tables if k not in present]
    detail = f"missing: {', '.join(missing)}" if missing else ""
    return _shown([client.tables[k] for k in present]), detail


def _jaeger(ctx: Context) -> tuple[tuple[str, ...], str]:
    client = ctx.clients.get("jaeger", open_jaeger)
    services = client.services()
    detail = f"Jaeger, {len(services)} service(s)"
    if not services:
        detail += "; no spans stored yet (check that the collectors send to it)"
    setting = ctx.profile.jaeger.metrics if ctx.profile.jaeger else None
    detail += "; " + _jaeger_spm.probe(client, setting, services, time_range(ctx.now())[1])
    return _shown([f"service={s}" for s in services]), detail


def _prometheus(ctx: Context) -> tuple[tuple[str, ...], str]:
    client = ctx.clients.get("prometheus", open_prometheus)
    version = client.build_info().get("version", "")
    jobs = client.label_values("job")
    metrics = client.label_values("__name__")
    return _shown([f"job={j}" for j in jobs]), f"Prometheus {version}, {len(metrics)} metrics"


def _alertmanager(ctx: Context) -> tuple[tuple[str, ...], str]:
    client = ctx.clients.get("alertmanager", open_alertmanager)
    names = sorted({str((a.get("labels") or {}).get("alertname", "")) for a in client.alerts()})
    return _shown([f"alert={n}" for n in names if n]), f"{len(names)} alert name(s) firing"


def _elasticsearch(ctx: Context) -> tuple[tuple[str, ...], str]:
    client = ctx.clients.get("elasticsearch", open_elasticsearch)
    _, number = client.version()
    index = ctx.profile.elasticsearch.index if ctx.profile.elasticsearch else ""
    found = [f"{i.get('index')} ({i.get('docs.count') or 0} docs)" for i in client.indices(index)]
    detail = f"{client.product} {number}"
    if not found:
        detail += f"; no index matches {index!r}"
    return _shown(found), detail


register(
    "clickhouse",
    Probe(lambda p: redact_url(p.clickhouse.dsn) if p.clickhouse else None, _clickhouse),
)
register(
    "jaeger",
    Probe(lambda p: redact_url(p.jaeger.url) if p.jaeger else None, _jaeger),
)
register(
    "prometheus",
    Probe(lambda p: redact_url(p.prometheus.url) if p.prometheus else None, _prometheus),
)
register(
    "alertmanager",
    Probe(lambda p: redact_url(p.alertmanager.url) if p.alertmanager else None, _alertmanager),
)
register(
    "elasticsearch",
    Probe(lambda p: redact_url(p.elasticsearch.url) if p.elasticsearch else None, _elasticsearch),
)
