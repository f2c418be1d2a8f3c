"""The S3 connection of a profile's artifact store (AWS S3, MinIO, any S3-compatible server).

boto3 is imported on first use. Access keys come from the profile's secret references;
without them boto3's own chain applies (environment, web identity in a pod, ...).
"""

from __future__ import annotations

from typing import Any

from hxb_lab.config import ArtifactsConfig, Profile

__all__ = ["open_s3", "open_s3_for"]


def open_s3_for(config: ArtifactsConfig) -> Any:
    """A boto3 S3 client for an artifact store configuration (path-style addressing)."""
    import boto3
    from botocore.config import Config

    access = config.access_key.resolve() if config.access_key else None
    secret = config.secret_key.resolve() if config.secret_key else None
    return boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region or "us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": "path"},  # MinIO and most on-premise servers need it
            signature_version="s3v4",  # pre-signed links too (boto3 signs them v2 otherwise)
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def open_s3(profile: Profile) -> Any:
    """A boto3 S3 client for the profile's artifact store."""
    return open_s3_for(profile.artifacts_or_default())
