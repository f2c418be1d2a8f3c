"""Where run outputs are kept: the profile's artifact store, ``file://`` or ``s3://``.

The demo keeps them under ``$HXB_LAB_HOME/demo/artifacts``; production uses an S3 bucket
(MinIO or another S3-compatible server named by ``artifacts.endpoint_url``).

A store reads and writes inside itself only: a URI (from an MLflow tag, say) is checked
against the store's directory, after ``..`` and symlinks are resolved, or against its
bucket and prefix, before anything is read.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hxb_lab._redact import redact
from hxb_lab.config import ArtifactsConfig, Profile
from hxb_lab.errors import BackendUnavailableError, ConfigError, HxbLabError, NotFoundError

__all__ = ["ArtifactStore", "join"]

_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".ipynb": "application/x-ipynb+json",
                  ".json": "application/json", ".jsonl": "application/x-ndjson",
                  ".parquet": "application/vnd.apache.parquet"}  # fmt: skip


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
        """Whether `uri` lies inside this store: for ``file://``, once ``..`` and symlinks
        are resolved; for ``s3://``, in its bucket, under its prefix, with no ``..``."""
        try:
            parts, root = urlsplit(uri), urlsplit(self.uri)
        except ValueError:
            return False
        if parts.scheme != root.scheme or parts.query or parts.fragment:
            return False
        if parts.scheme == "file":
            if parts.netloc not in ("", "localhost"):
                return False
            base = _local_path(self.uri).resolve()
            target = _local_path(uri).resolve()
            return target == base or base in target.parents
        key, prefix = unquote(parts.path), root.path.strip("/")
        if parts.netloc != root.netloc or any(p in (".", "..") for p in key.split("/")):
            return False
        key = posixpath.normpath("/" + key).lstrip("/")
        return not prefix or key == prefix or key.startswith(prefix + "/")

    def _check(self, uri: str, action: str) -> None:
        if not self.owns(uri):
            error = NotFoundError if action == "read" else HxbLabError
            raise error(
                f"cannot {action} {redact(uri)}: it is outside the artifact store {self.uri}",
                hint="a run's outputs are read and written in its profile's store only",
            )

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

    def _refused(self, exc: OSError) -> HxbLabError:
        """A ``file://`` store that cannot take a file: read-only, full, or not a directory."""
        why = {
            errno.EROFS: "it is read-only", errno.EACCES: "it is not writable",
            errno.EPERM: "it is not writable", errno.ENOSPC: "it is full",
            errno.EDQUOT: "it is full (disk quota)", errno.EFBIG: "the file is too large for it",
        }.get(exc.errno or 0, exc.strerror or type(exc).__name__)  # fmt: skip
        return HxbLabError(
            f"cannot write the run's outputs to the artifact store {self.uri}: {why}",
            hint="free space on it or make it writable, or set artifacts.uri of the profile to "
            "another store; the outputs stay in the run directory",
        )

    def put(self, local: Path, uri: str) -> str:
        """Copy a local file to `uri` in this store; returns the URI."""
        self._check(uri, "write")
        scheme = urlsplit(uri).scheme
        if scheme == "file":
            target = _local_path(uri)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, target)
            except OSError as exc:
                with contextlib.suppress(OSError):  # never leave half a report to be read
                    target.unlink()
                raise self._refused(exc) from None
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

    def link(self, uri: str, expires_s: float) -> str:
        """A link that opens the artifact at `uri` for `expires_s` seconds without
        credentials: pre-signed for S3 (signed here, nothing is sent), `uri` itself for a
        file store."""
        self._check(uri, "read")
        parts = urlsplit(uri)
        if parts.scheme == "file":
            return uri
        try:
            link: str = self._client().generate_presigned_url(
                "get_object",
                Params={"Bucket": parts.netloc, "Key": parts.path.lstrip("/")},
                ExpiresIn=int(expires_s),
            )
        except Exception as exc:
            raise self._unavailable("sign a link to", uri, exc) from None
        return link

    def get(self, uri: str) -> bytes:
        """The bytes stored at `uri`; `NotFoundError` when there is nothing, or when `uri`
        is outside this store (then nothing is read)."""
        self._check(uri, "read")
        parts = urlsplit(uri)
        if parts.scheme == "file":
            try:
                return _local_path(uri).read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                raise NotFoundError(f"no artifact at {uri}") from None
        try:
            answer = self._client().get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))
            body: bytes = answer["Body"].read()
            return body
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise NotFoundError(f"no artifact at {uri}") from None
            raise self._unavailable("read", uri, exc) from None
