"""`wb.alerts`: the alerts that fire now, from Alertmanager.

On a profile without Alertmanager whose telemetry is a Parquet directory (the embedded
demo), the alerts come from that directory's ``alerts.parquet``, which the demo
generator derives from the scenario's incidents, so the demo shows firing alerts too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hxb_lab.clients.alertmanager import open_alertmanager
from hxb_lab.errors import ConfigError
from hxb_lab.otel_tables import ALERTS_FILE
from hxb_lab.telemetry import _sql
from hxb_lab.telemetry._facade import Facade
from hxb_lab.telemetry.links import grafana_explore

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.alertmanager import Alertmanager

__all__ = ["ALERTS", "Alerts"]

ALERTS = {
    "alertname": "str",
    "severity": "str",
    "state": "str",
    "starts_at": "ts",
    "labels": "object",
    "annotations": "object",
    "runbook": "str",
    "link": "str",
}
#: A link opens the hour before an alert started, up to now.
LINK_LEAD_NS = 3_600_000_000_000


def runbook(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """The runbook an alert points to: its ``runbook`` label, else the ``runbook`` or
    ``runbook_url`` annotation; "" when none."""
    return (
        labels.get("runbook") or annotations.get("runbook") or annotations.get("runbook_url") or ""
    )


class Alerts(Facade):
    """Alerts from Alertmanager (or the demo's own, see the module docstring)."""

    def _alertmanager(self) -> Alertmanager:

        client: Alertmanager = self._ctx.clients.get("alertmanager", open_alertmanager)
        return client

    def active(self) -> pd.DataFrame:
        """Alerts firing now (not silenced, not inhibited), most recent first.

        Columns: alertname, severity, state, starts_at, labels (dict), annotations (dict),
        runbook (the name or URL the alert's ``runbook`` label or annotation gives), link
        (the alert's expression in Grafana Explore when the profile has a ``grafana``
        section with a ``prometheus`` datasource, else "").
        """
        import pandas as pd

        profile = self._ctx.profile
        if profile.alertmanager is None:
            return self._from_parquet()
        rows: list[dict[str, Any]] = []
        for alert in self._alertmanager().alerts(active=True):
            labels = dict(alert.get("labels") or {})
            annotations = dict(alert.get("annotations") or {})
            rows.append(
                {
                    "alertname": labels.get("alertname", ""),
                    "severity": labels.get("severity", ""),
                    "state": (alert.get("status") or {}).get("state", ""),
                    "starts_at": pd.Timestamp(alert["startsAt"]).value
                    if alert.get("startsAt")
                    else 0,
                    "labels": labels,
                    "annotations": annotations,
                    "runbook": runbook(labels, annotations),
                    "generator": alert.get("generatorURL") or "",
                }
            )
        now_ns = pd.Timestamp(self._ctx.now()).value
        for row in rows:
            row["link"] = self._link(str(row.pop("generator")), int(row["starts_at"]), now_ns)
        return _sorted(_sql.typed(pd.DataFrame(rows), ALERTS))

    def _link(self, generator: str, starts_at: int, now_ns: int) -> str:
        """Grafana Explore on the expression of the alert's Prometheus ``generatorURL``
        (``/graph?g0.expr=...``); the generator itself when Grafana made the alert."""
        grafana = self._ctx.profile.grafana
        if grafana is None or not generator:
            return ""
        expr = parse_qs(urlsplit(generator).query).get("g0.expr")
        if expr:
            start = min(starts_at, now_ns) - LINK_LEAD_NS
            query = {"expr": expr[0], "range": True}
            return grafana_explore(grafana, "prometheus", query, start, now_ns) or ""
        if generator.startswith(grafana.url.rstrip("/") + "/"):
            return generator
        return ""

    def _from_parquet(self) -> pd.DataFrame:
        import pandas as pd

        config = self._ctx.profile.clickhouse
        dsn = urlsplit(config.dsn) if config else None
        path = Path(dsn.path) / ALERTS_FILE if dsn and dsn.scheme == "parquet" else None
        if path is None or not path.exists():
            raise ConfigError(
                "the profile has no alertmanager section",
                file=self._ctx.profile.source,
                profile=self._ctx.profile.name,
                key="alertmanager",
                hint='add alertmanager = { url = "https://alertmanager.example" }',
            )
        raw = pd.read_parquet(path)
        labels = [json.loads(x) for x in raw["labels"]]
        annotations = [json.loads(x) for x in raw["annotations"]]
        frame = pd.DataFrame(
            {
                "alertname": raw["alertname"],
                "severity": raw["severity"],
                "state": raw["state"],
                "starts_at": raw["starts_at"].astype("datetime64[ns, UTC]").astype("int64"),
                "labels": labels,
                "annotations": annotations,
                "runbook": [runbook(a, b) for a, b in zip(labels, annotations, strict=True)],
                "link": [""] * len(raw),
            }
        )
        return _sorted(_sql.typed(frame, ALERTS))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["starts_at", "alertname"], ascending=[False, True]).reset_index(
        drop=True
    )
