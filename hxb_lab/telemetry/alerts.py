"""`wb.alerts`: the alerts that fire now, from Alertmanager.

On a profile without Alertmanager whose telemetry is a Parquet directory (the embedded
demo), the alerts come from that directory's ``alerts.parquet``, which the demo
generator derives from the scenario's incidents, so the demo shows firing alerts too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hxb_lab.clients.alertmanager import open_alertmanager
from hxb_lab.errors import ConfigError
from hxb_lab.otel_tables import ALERTS_FILE
from hxb_lab.telemetry import _sql
from hxb_lab.telemetry._facade import Facade

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
}


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
        runbook (the name or URL the alert's ``runbook`` label or annotation gives).
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
                }
            )
        return _sorted(_sql.typed(pd.DataFrame(rows), ALERTS))

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
            }
        )
        return _sorted(_sql.typed(frame, ALERTS))


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["starts_at", "alertname"], ascending=[False, True]).reset_index(
        drop=True
    )
