"""The dates of a TLS Secret's certificate, and nothing else of the Secret.

Only ``data["tls.crt"]`` is decoded; the key (``tls.key``) is never touched, and the
Secret object is dropped as soon as its certificate is taken.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from hxb_lab.warn import warn_user

__all__ = ["certificate_dates", "tls_certificate"]


def tls_certificate(secret: dict[str, Any] | None) -> bytes | None:
    """The PEM certificate (chain) of a ``kubernetes.io/tls`` Secret, or None."""
    if not secret:
        return None
    encoded = (secret.get("data") or {}).get("tls.crt")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def certificate_dates(pem: bytes | None, where: str = "") -> datetime | None:
    """When the first (leaf) certificate of `pem` expires (UTC), or None when it does not parse."""
    if not pem:
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        warn_user(f"the certificate of TLS Secret {where or '?'} does not parse as PEM")
        return None
    return cert.not_valid_after_utc
