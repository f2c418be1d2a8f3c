"""Redaction of secrets in text that reaches users: errors, reprs, reports and logs.

A secret is remembered once resolved (`remember_secret`) and masked by `redact()` in
everything this process writes afterwards. A URL is a secret's carrier too: the password
of its userinfo and the values of its sensitive query parameters are masked, and
remembered, so the same value printed on its own is masked as well.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SENSITIVE_QUERY = re.compile(r"pass|secret|token|key|signature|credential|auth", re.I)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_SHORTEST = 4  # masking "a" everywhere would destroy text, and protect nothing

_known: set[str] = set()
_lock = threading.Lock()


def secrets_in_url(url: str) -> list[str]:
    """The secret parts of a URL: its userinfo password, its sensitive query values."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
    except ValueError:
        return []
    if parts.query:
        found += [v for k, v in parse_qsl(parts.query) if v and _SENSITIVE_QUERY.search(k)]
    return found


def remember_secret(value: str) -> None:
    """Register a resolved secret so `redact()` masks it wherever it appears later."""
    found = [value, *(secrets_in_url(value) if "://" in value else ())]
    found = [s for s in found if len(s) >= _SHORTEST]
    if found:
        with _lock:
            _known.update(found)


def redact_url(url: str) -> str:
    """Mask the password of a URL's userinfo and the values of sensitive query parameters."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc, changed = parts.netloc, False
    if password is not None:
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
    """Mask URL passwords, every secret resolved so far in this process, and `extra` values.

    The secrets of the URLs in `text` are remembered first, so the password of a printed
    connection string is masked even where it appears alone.
    """
    if "://" in text:
        for match in _URL.finditer(text):
            for secret in secrets_in_url(match.group(0)):
                remember_secret(secret)
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    with _lock:
        secrets = sorted(_known | {s for s in extra if len(s) >= _SHORTEST}, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text
