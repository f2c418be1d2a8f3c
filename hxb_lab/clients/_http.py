"""The shared shape of the HTTP API clients (Prometheus, Alertmanager, MLflow): one httpx
client with the profile's token, and an unreachable server reported by name, password
redacted. Every request is bounded by `timeout` seconds (connecting, and each wait for
bytes of the answer), so a server that accepts a connection and never answers is a
`BackendUnavailableError` after that long, not a hang."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from hxb_lab._redact import redact, redact_url
from hxb_lab.errors import BackendUnavailableError

if TYPE_CHECKING:
    import httpx


class HttpApi:
    """An HTTP API server named in a profile section (`name` is also the profile key)."""

    name: ClassVar[str] = "server"
    section: ClassVar[str] = ""
    setting: ClassVar[str] = "url"  # the key of `section` that holds the URL

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

        self.timeout = timeout
        self.url = url.rstrip("/")
        self.server = redact_url(self.url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, verify=verify, timeout=timeout, transport=transport
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; a connection failure is a `BackendUnavailableError` naming the server."""
        import httpx

        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise BackendUnavailableError(
                f"no answer from {self.name} at {self.server} within {self.timeout:g} s",
                server=self.server,
                hint=f"check that it is up, or raise the profile's {self.section}.timeout_s",
            ) from None
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach {self.name} at {self.server}: "
                f"{redact(str(exc)) or type(exc).__name__}",
                server=self.server,
                hint=f"check that it is up and the profile's {self.section}.{self.setting}",
            ) from None

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"<{self.name} {self.server}>"
