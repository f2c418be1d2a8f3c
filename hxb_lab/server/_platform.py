"""``platform/summary``: the platform at a glance for the sidebar and the status bar.

Clusters, nodes ready/total, GPUs free/total by product, firing alerts and failing
inference deployments. Each part is read on its own: a part whose layer cannot answer
says ``unavailable: <one-line reason>`` and the others still show.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import tornado.web

from hxb_lab.errors import HxbLabError
from hxb_lab.server._base import HxbHandler, blocking

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["PART_TIMEOUT_S", "PlatformSummaryHandler", "platform_summary"]

PART_TIMEOUT_S = 20.0
log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    """One line saying why a part is unavailable."""
    if isinstance(exc, HxbLabError):
        text = str(exc)
    elif isinstance(exc, AttributeError | NotImplementedError):
        text = "not available in this version of HXB Lab"
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= 300 else first[:297] + "..."


def _cluster(wb: Workbench) -> dict[str, Any]:
    """Free GPUs are those a new pod can get: on Ready nodes that are not cordoned. The
    free GPUs of the other nodes are counted apart, as ``unusable``."""
    contexts = wb.cluster.contexts()
    nodes = wb.cluster.nodes()
    by_product: dict[str, dict[str, int]] = {}
    gpu_nodes = nodes[nodes["gpu_capacity"].fillna(0) > 0]
    for row in gpu_nodes.itertuples():
        product = str(row.gpu_product) if isinstance(row.gpu_product, str) else "unknown"
        entry = by_product.setdefault(product, {"free": 0, "unusable": 0, "total": 0})
        usable = bool(row.ready) and not bool(row.unschedulable)
        entry["free" if usable else "unusable"] += int(row.gpu_free or 0)
        entry["total"] += int(row.gpu_capacity or 0)
    return {
        "clusters": [str(c) for c in contexts["cluster"]],
        "nodes": {"ready": int(nodes["ready"].fillna(False).astype(bool).sum()),
                  "total": len(nodes)},
        "gpus": [{"product": k, **v} for k, v in sorted(by_product.items())],
    }  # fmt: skip


def _alerts(wb: Workbench) -> dict[str, Any]:
    frame = wb.alerts.active()
    if "state" in frame.columns:
        frame = frame[frame["state"].fillna("active").astype(str) == "active"]
    severities = frame["severity"].fillna("none").astype(str) if "severity" in frame else None
    by_severity = (
        {} if severities is None else {k: int(v) for k, v in severities.value_counts().items()}
    )
    names = sorted({str(n) for n in frame.get("alertname", [])})
    return {"firing": len(frame), "by_severity": by_severity, "names": names[:10]}


def _deployments(wb: Workbench) -> dict[str, Any]:
    frame = wb.inference.deployments()
    failing = frame[~frame["ready"].fillna(False).astype(bool)]
    items = [
        {
            "cluster": str(r.cluster),
            "namespace": str(r.namespace),
            "name": str(r.name),
            "reason": None if not isinstance(r.reason, str) else r.reason,
        }
        for r in failing.itertuples()
    ]
    return {"failing": len(items), "total": len(frame), "items": items[:20]}


def _health(parts: dict[str, dict[str, Any]]) -> str:
    cluster = parts["cluster"]
    if "unavailable" in cluster:
        return "unavailable"
    nodes = cluster["nodes"]
    alerts = parts["alerts"]
    deployments = parts["deployments"]
    bad = (
        nodes["ready"] < nodes["total"]
        or alerts.get("firing", 0) > 0
        or deployments.get("failing", 0) > 0
    )
    return "degraded" if bad else "ok"


PARTS: dict[str, Callable[[Workbench], dict[str, Any]]] = {
    "cluster": _cluster,
    "alerts": _alerts,
    "deployments": _deployments,
}


def platform_summary(
    wb: Workbench | None = None, timeout_s: float = PART_TIMEOUT_S
) -> dict[str, Any]:
    """The summary of the active profile's platform (or of `wb`), each part read in parallel.

    Keys: profile, generated (ISO time), health (ok, degraded, unavailable), cluster
    (clusters, nodes {ready, total}, gpus [{product, free, unusable, total}]: free on
    schedulable Ready nodes, free on cordoned or NotReady ones), alerts (firing,
    by_severity, names), deployments (failing, total, items); a part that cannot be read
    is ``{"unavailable": "<one-line reason>"}``.
    """
    if wb is None:
        from hxb_lab.workbench import connect

        wb = connect()
    parts: dict[str, dict[str, Any]] = {}
    pool = concurrent.futures.ThreadPoolExecutor(len(PARTS), thread_name_prefix="hxb-summary")
    try:
        futures = {name: pool.submit(read, wb) for name, read in PARTS.items()}
        for name, future in futures.items():
            try:
                parts[name] = future.result(timeout=timeout_s)
            except concurrent.futures.TimeoutError:
                parts[name] = {"unavailable": f"no answer within {timeout_s:g} s"}
            except Exception as exc:  # one part failing never fails the summary
                if not isinstance(exc, HxbLabError | AttributeError | NotImplementedError):
                    log.warning("platform summary: %s failed", name, exc_info=True)
                parts[name] = {"unavailable": _reason(exc)}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return {
        "profile": wb.profile.name,
        "generated": datetime.now(UTC).isoformat(),
        "health": _health(parts),
        **parts,
    }


class PlatformSummaryHandler(HxbHandler):
    """``GET platform/summary``: clusters, nodes, GPUs, firing alerts, failing deployments."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await blocking(platform_summary))
