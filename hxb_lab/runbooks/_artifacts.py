"""Where run outputs are kept: the profile's artifact store, ``file://`` or ``s3://``.

The demo keeps them under ``$HXB_LAB_HOME/demo/artifacts``; production uses an S3 bucket
(MinIO or another S3-compatible server named by ``artifacts.endpoint_url``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hxb_lab._redact import redact
from hxb_lab.config import ArtifactsConfig, Profile
from hxb_lab.errors import BackendUnavailableError, ConfigError, NotFoundError

__all__ = ["ArtifactStore", "join"]

_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".ipynb": "application/x-ipynb+json",
                  ".json": "application/json", ".jsonl": "application/x-ndjson"}  # fmt: skip


def join(base: str, *parts: str) -> str:
    """``base/part/part`` for URIs, without doubled slashes."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


def _local_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))


@dataclass
class ArtifactStore:
    """Put and get files by URI in one profile's store."""

    config: ArtifactsConfig
    _s3: Any = None

    @classmethod
    def of(cls, profile: Profile) -> ArtifactStore:
        config = profile.artifacts_or_default()
        scheme = urlsplit(config.uri).scheme
        if scheme not in ("file", "s3"):
            raise ConfigError(
                f"unsupported artifact store {config.uri!r}",
                profile=profile.name,
                key="artifacts.uri",
                hint="use file:///path or s3://bucket/prefix",
            )
        return cls(config)

    @property
    def uri(self) -> str:
        return self.config.uri.rstrip("/")

    def owns(self, uri: str) -> bool:
        """Whether `uri` lies in this store (so that this store can write it)."""
        return uri.rstrip("/").startswith(self.uri)

    def _client(self) -> Any:
        if self._s3 is None:
            from hxb_lab.clients.s3 import open_s3_for

            self._s3 = open_s3_for(self.config)
        return self._s3

    def _unavailable(self, action: str, uri: str, exc: BaseException) -> BackendUnavailableError:
        where = self.config.endpoint_url or "AWS S3"
        return BackendUnavailableError(
            redact(f"cannot {action} {uri} at {where}: {exc}"),
            server=where,
            hint="check artifacts.endpoint_url, the bucket and the access keys of the profile",
        )

    def put(self, local: Path, uri: str) -> str:
        """Copy a local file to `uri` in this store; returns the URI."""
        scheme = urlsplit(uri).scheme
        if scheme == "file":
            target = _local_path(uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            return uri
        parts = urlsplit(uri)
        extra = {"ContentType": _CONTENT_TYPES.get(local.suffix, "application/octet-stream")}
        try:
            self._client().upload_file(
                str(local), parts.netloc, parts.path.lstrip("/"), ExtraArgs=extra
            )
        except Exception as exc:  # botocore's errors share no useful base class
            raise self._unavailable("upload", uri, exc) from None
        return uri

    def get(self, uri: str) -> bytes:
        """The bytes stored at `uri`; `NotFoundError` when there is nothing."""
        parts = urlsplit(uri)
        if parts.scheme == "file":
            try:
                return _local_path(uri).read_bytes()
            except FileNotFoundError:
                raise NotFoundError(f"no artifact at {uri}") from None
        if parts.scheme != "s3":
            raise NotFoundError(
                f"cannot read {uri}: only file:// and s3:// artifacts are supported"
            )
        try:
            answer = self._client().get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
            body: bytes = answer["Body"].read()
            return body
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise NotFoundError(f"no artifact at {uri}") from None
            raise self._unavailable("read", uri, exc) from None
