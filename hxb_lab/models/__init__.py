"""The MLflow model registry: registered models, versions, aliases, who serves them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hxb_lab import checks as _checks
from hxb_lab.clients import mlflow as _mlflow
from hxb_lab.errors import HxbLabError as _HxbLabError
from hxb_lab.errors import ParameterError as _ParameterError
from hxb_lab.models import _frames
from hxb_lab.warn import warn_user as _warn_user

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.mlflow import Registry
    from hxb_lab.context import Context

__all__ = ["ModelVersion", "Models"]


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version, as an action needs it."""

    name: str
    version: int
    download_uri: str
    source: str | None
    run_id: str | None
    aliases: tuple[str, ...]
    stage: str

    @property
    def uri(self) -> str:
        """The version's registry URI, ``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"


class Models:
    """The profile's MLflow model registry as frames.

    `deployments` reads the inference deployments (inference owns which deployment serves
    which version); the frames' served_by column comes from it, and is empty without it.
    """

    def __init__(
        self, ctx: Context, *, deployments: Callable[[], pd.DataFrame] | None = None
    ) -> None:
        self._ctx = ctx
        self._deployments = deployments

    def __repr__(self) -> str:
        return f"<Models of profile {self._ctx.profile.name!r}>"

    def _registry(self) -> Registry:
        registry: Registry = self._ctx.clients.get("mlflow_registry", _mlflow.open_registry)
        return registry

    def _servers(self) -> dict[tuple[str, int], list[tuple[str, int | None]]]:
        if self._deployments is None:
            return {}
        try:
            deployments = self._deployments()
        except _HxbLabError as exc:
            _warn_user(f"the served_by column is empty: the cluster could not be read: {exc}")
            return {}
        return _frames.servers(deployments)

    def registered(self) -> pd.DataFrame:
        """One row per registered model.

        Columns: name, description, versions (how many), latest_version, aliases
        ("challenger=8, champion=7"), tags ("k=v, ..."), served_by (the deployments serving
        any of its versions, "namespace/name, ..."), created, updated.
        """
        registry = self._registry()
        return _frames.registered_frame(
            registry.registered_models(), registry.all_versions(), self._servers()
        )

    def versions(self, name: str) -> pd.DataFrame:
        """The versions of one registered model, newest first.

        Columns: name, version, aliases ("champion"), stage (None, Staging, Production,
        Archived), status, run_id, source, download_uri (what a server downloads),
        description, served_by ("namespace/name (traffic %)"), created, updated.
        An unknown model is a `NotFoundError`.
        """
        _check_name(name)
        registry = self._registry()
        model = registry.registered_model(name)
        found = registry.versions(name)
        uris = {v["version"]: registry.download_uri(name, v["version"]) for v in found}
        return _frames.versions_frame(found, model["aliases"], uris, self._servers())

    def resolve(
        self, name: str, version: int | str | None = None, alias: str | None = None
    ) -> ModelVersion:
        """The version `version`, or the one `alias` points to, of model `name`.

        Unknown models, versions and aliases are a `NotFoundError` naming them.
        """
        _check_name(name)
        if (version is None) == (alias is None):
            raise _ParameterError(["pass exactly one of version= and alias="])
        registry = self._registry()
        if alias is not None:
            found = registry.version_by_alias(name, _checks.text(alias, "alias"))
        else:
            text = str(version).strip()
            if isinstance(version, bool | float) or not text.isdigit() or len(text) > 18:
                raise _ParameterError([f"version: expected a version number, got {version!r}"])
            found = registry.version(name, int(text))
        aliases = registry.registered_model(name)["aliases"]
        return ModelVersion(
            name=found["name"],
            version=found["version"],
            download_uri=registry.download_uri(name, found["version"]),
            source=found["source"],
            run_id=found["run_id"],
            aliases=tuple(sorted(a for a, v in aliases.items() if v == found["version"])),
            stage=found["stage"],
        )

    def version_before(self, name: str, version: int) -> ModelVersion | None:
        """The newest registered version of `name` older than `version` (what served before
        it, when nothing else recorded it), or None when `version` is the first."""
        _check_name(name)
        earlier = [
            int(v["version"])
            for v in self._registry().versions(name)
            if int(v["version"]) < version
        ]
        return self.resolve(name, version=max(earlier)) if earlier else None


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise _ParameterError([f"model: expected a registered model name, got {name!r}"])
    _checks.text(name, "model")
