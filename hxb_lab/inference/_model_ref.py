"""Which registered model version a deployment serves.

A storage URI that names the registry (``models:/fraud-score/12``) says it outright. Any
other URI (``s3://...``) is the download URI of a version; which one is recorded in the
labels ``hxb.io/model`` and ``hxb.io/model-version``, which the platform's deploy
pipeline and HXB Lab's own actions set together with the URI. Reading them costs no call
to MLflow, so `wb.inference.deployments()` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MODEL_LABEL", "VERSION_LABEL", "ModelRef", "model_ref"]

MODEL_LABEL = "hxb.io/model"
VERSION_LABEL = "hxb.io/model-version"
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))?/?$")


@dataclass(frozen=True)
class ModelRef:
    name: str | None = None
    version: int | None = None
    alias: str | None = None


def model_ref(uri: object, labels: Mapping[str, str]) -> ModelRef:
    """The registered model and version behind a storage URI (None when unknown)."""
    match = _MODELS_URI.match(str(uri or ""))
    if match:
        version = match.group("version")
        return ModelRef(
            match.group("name"), int(version) if version else None, match.group("alias")
        )
    name = labels.get(MODEL_LABEL)
    version = str(labels.get(VERSION_LABEL, ""))
    if not name:
        return ModelRef()
    return ModelRef(name, int(version) if version.isdigit() else None)
