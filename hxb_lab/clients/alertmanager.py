"""Alertmanager over its v2 HTTP API (``/api/v2/alerts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact, redact_url
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError

if TYPE_CHECKING:
    from hxb_lab.config import Profile

__all__ = ["Alertmanager", "open_alertmanager"]


class Alertmanager:
    """An Alertmanager: list alerts, post alerts (what Prometheus does when a rule fires)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        verify: bool = True,
        timeout: float = 30.0,
        transport: Any = None,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.server = redact_url(self.url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, verify=verify, timeout=timeout, transport=transport
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach Alertmanager at {self.server}: "
                f"{redact(str(exc)) or type(exc).__name__}",
                server=self.server,
                hint="check that it is up and the profile's alertmanager.url",
            ) from None
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

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"<Alertmanager {self.server}>"


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
    return Alertmanager(config.url, token=token, verify=config.verify_tls)
