"""Who may send alerts: the credentials Alertmanager's ``http_config`` sends, checked
against the profile's secret (``alerts.token`` for ``Authorization: Bearer``, or
``alerts.username`` and ``alerts.password`` for basic auth).

A receiver whose profile names no credentials accepts nobody: an open endpoint that
starts runbooks is not a default. Secrets are compared in constant time and read when a
request comes, so a rotated secret file takes effect without a restart.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from hxb_lab.config import AlertsConfig
from hxb_lab.errors import HxbLabError

__all__ = ["Unauthorized", "check"]


class Unauthorized(HxbLabError):
    """The request does not carry the receiver's credentials (answered 401)."""


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check(authorization: str | None, config: AlertsConfig) -> None:
    """Return when `authorization` (the request's header) carries the profile's
    credentials; `Unauthorized` otherwise, saying what is expected but never the secret."""
    if config.token is None and config.password is None:
        raise Unauthorized(
            "this receiver accepts no alerts: the profile names no credentials",
            hint='set alerts.token = { env = "NAME" } (or alerts.username and alerts.password) '
            "and the same in the Alertmanager receiver's http_config",
        )
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if config.token is not None and scheme.lower() == "bearer":
        expected = config.token.resolve()
        if expected and _same(value, expected):
            return
    if config.password is not None and config.username and scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        expected = config.password.resolve()
        if expected and _same(user, config.username) & _same(password, expected):
            return
    wanted = "a bearer token" if config.token is not None else "basic auth"
    raise Unauthorized(
        f"the request does not carry the receiver's credentials ({wanted})",
        hint="set the same secret in the Alertmanager receiver's http_config",
    )
