"""Redaction of secrets in text that reaches users: errors, reprs, reports and logs."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SENSITIVE_QUERY = re.compile(r"pass|secret|token|key|signature|credential|auth", re.I)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")

_known: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Register a resolved secret so `redact()` masks it wherever it appears later."""
    if len(value) >= 4:  # masking "a" everywhere would destroy text, and protect nothing
        with _lock:
            _known.add(value)


def redact_url(url: str) -> str:
    """Mask the password of a URL's userinfo and the values of sensitive query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc, changed = parts.netloc, False
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
        changed = True
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SENSITIVE_QUERY.search(k) for k, _ in pairs):
            query = urlencode(
                [(k, MASK if _SENSITIVE_QUERY.search(k) else v) for k, v in pairs], safe="*"
            )
            changed = True
    if not changed:  # keep the URL byte for byte (urlunsplit would drop "///" of file URLs)
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str, extra: tuple[str, ...] | list[str] = ()) -> str:
    """Mask URL passwords, every secret resolved so far in this process, and `extra` values."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    with _lock:
        secrets = sorted(_known | {s for s in extra if len(s) >= 4}, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
