"""Alertmanager over its v2 HTTP API (``/api/v2/alerts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError

if TYPE_CHECKING:
    from hxb_lab.config import Profile

__all__ = ["Alertmanager", "open_alertmanager"]


class Alertmanager(HttpApi):
    """An Alertmanager: list alerts, post alerts (what Prometheus does when a rule fires)."""

    name = "Alertmanager"
    section = "alertmanager"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code == 400:
            raise QueryError(
                f"Alertmanager at {self.server} rejected the request: {response.text.strip()}"
            )
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"Alertmanager at {self.server} answered HTTP {response.status_code}: "
                f"{redact(response.text.strip()[:300])}",
                server=self.server,
            )
        return response.json() if response.content else None

    def alerts(
        self, *, active: bool = True, silenced: bool = False, inhibited: bool = False
    ) -> list[dict[str, Any]]:
        """Alerts as the API returns them (labels, annotations, startsAt, status, ...)."""
        params = {
            "active": str(active).lower(),
            "silenced": str(silenced).lower(),
            "inhibited": str(inhibited).lower(),
        }
        data = self._request("GET", "/api/v2/alerts", params=params)
        return list(data or [])

    def post(self, alerts: list[dict[str, Any]]) -> None:
        """Post alerts (``labels``, ``annotations``, ``startsAt``, ``endsAt``...)."""
        self._request("POST", "/api/v2/alerts", json=alerts)


def open_alertmanager(profile: Profile) -> Alertmanager:
    """The profile's Alertmanager (the factory for ``wb.clients.get("alertmanager")``)."""
    config = profile.alertmanager
    if config is None:
        raise ConfigError(
            "the profile has no alertmanager section",
            file=profile.source,
            profile=profile.name,
            key="alertmanager",
            hint='add alertmanager = { url = "https://alertmanager.example" }',
        )
    token = config.token.resolve() if config.token else None
    return Alertmanager(config.url, token=token, verify=config.verify_tls, timeout=config.timeout_s)
