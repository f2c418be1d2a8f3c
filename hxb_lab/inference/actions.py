"""Rollout actions as patches: scale, canary, promote, rollback, promote from the registry.

Each function reads nothing and writes nothing: it turns a deployment as read (`Found`)
and the user's request into a `Change` to review, or raises an error naming what is
wrong. KServe semantics: a canary is a new storage URI plus ``canaryTrafficPercent``
(the new revision gets that share, the previous rolled-out one the rest); promoting
removes ``canaryTrafficPercent``; a full rollout changes the URI without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import HxbLabError, NotFoundError, ParameterError
from hxb_lab.inference import _kserve
from hxb_lab.inference._change import Change
from hxb_lab.inference._model_ref import MODEL_LABEL, VERSION_LABEL, ModelRef, model_ref

if TYPE_CHECKING:
    from hxb_lab.inference._kube import Found
    from hxb_lab.models import ModelVersion

__all__ = [
    "PREVIOUS_MODEL",
    "PREVIOUS_URI",
    "canary",
    "promote",
    "promote_to",
    "rollback",
    "scale",
]

Obj = dict[str, Any]
#: Annotations an action leaves so that `rollback` knows what was served before.
PREVIOUS_URI = "hxb.io/previous-storage-uri"
PREVIOUS_MODEL = "hxb.io/previous-model"  # models:/<name>/<version>


# ---------------------------------------------------------------------------- reading
def model_spec_path(found: Found) -> tuple[str, ...]:
    """Where the storage URI sits in the spec."""
    if found.kind == "seldon":
        return ()
    return _kserve.model_path(found.obj.get("spec") or {})


def storage_uri(found: Found) -> str | None:
    spec: Any = found.obj.get("spec") or {}
    for key in model_spec_path(found):
        spec = spec.get(key) or {}
    value = spec.get("storageUri")
    return None if value is None else str(value)


def current_model(found: Found) -> ModelRef:
    labels = found.obj["metadata"].get("labels") or {}
    return model_ref(storage_uri(found), labels)


def _nest(path: tuple[str, ...], leaf: Obj) -> Obj:
    out = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def _canary_percent(found: Found) -> int | None:
    predictor = (found.obj.get("spec") or {}).get("predictor") or {}
    value = predictor.get("canaryTrafficPercent")
    return None if value is None else int(value)


def _label(ref: ModelRef | None) -> str:
    if ref is None or ref.name is None:
        return "an unregistered model"
    return f"{ref.name} v{ref.version}" if ref.version is not None else ref.name


def _kserve_only(found: Found, action: str) -> None:
    if found.kind != "kserve":
        raise HxbLabError(
            f"{found.namespace}/{found.name} is a Seldon Model, which has no {action} of its own",
            hint="split traffic between Seldon Models with a Seldon Experiment",
        )


# ---------------------------------------------------------------------------- patches
def _model_patch(found: Found, uri: str, version: ModelVersion | None) -> Obj:
    """Set the storage URI and the labels saying which registered version it is."""
    spec = _nest(model_spec_path(found), {"storageUri": uri})
    if version is None and uri == storage_uri(found):
        return {"metadata": {}, "spec": spec}  # same model: its labels stay right
    labels: dict[str, str | None] = {MODEL_LABEL: None, VERSION_LABEL: None}
    if version is not None:
        labels = {MODEL_LABEL: version.name, VERSION_LABEL: str(version.version)}
    return {"metadata": {"labels": labels}, "spec": spec}


def _remember_previous(found: Found, patch: Obj) -> None:
    """Record the model served now, so that a rollback can come back to it."""
    current = current_model(found)
    annotations: dict[str, str | None] = {PREVIOUS_URI: storage_uri(found)}
    annotations[PREVIOUS_MODEL] = (
        f"models:/{current.name}/{current.version}"
        if current.name and current.version is not None
        else None
    )
    patch["metadata"]["annotations"] = annotations


def _with(patch: Obj, path: tuple[str, ...], values: Obj) -> Obj:
    target = patch.setdefault("spec", {})
    for key in path:
        target = target.setdefault(key, {})
    target.update(values)
    return patch


# ---------------------------------------------------------------------------- actions
def scale(found: Found, min_replicas: int | None, max_replicas: int | None) -> Change:
    """Set the autoscaling bounds (KServe predictor, or the Seldon Model)."""
    problems = []
    for field, value in (("min_replicas", min_replicas), ("max_replicas", max_replicas)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{field}: expected a whole number, got {value!r}")
        elif value is not None and value < 0:
            problems.append(f"{field}: must be 0 or more, got {value}")
    if min_replicas is None and max_replicas is None:
        problems.append("pass min_replicas=, max_replicas= or both")
    if problems:
        raise ParameterError(problems)
    spec = found.obj.get("spec") or {}
    holder = (spec.get("predictor") or {}) if found.kind == "kserve" else spec
    low = min_replicas if min_replicas is not None else holder.get("minReplicas")
    high = max_replicas if max_replicas is not None else holder.get("maxReplicas")
    if low is not None and high and low > high:
        raise ParameterError(
            [f"min_replicas ({low}) is above max_replicas ({high}) for {found.name}"]
        )
    values: Obj = {}
    if min_replicas is not None:
        values["minReplicas"] = min_replicas
    if max_replicas is not None:
        values["maxReplicas"] = max_replicas
    if found.kind == "seldon" and spec.get("replicas") is not None:
        replicas = int(spec["replicas"])
        clamped = max(replicas, low or 0)
        clamped = min(clamped, high) if high else clamped
        if clamped != replicas:
            values["replicas"] = clamped
    path = ("predictor",) if found.kind == "kserve" else ()
    patch = _nest(path, values)
    words = {"minReplicas": "min_replicas", "maxReplicas": "max_replicas"}
    bounds = ", ".join(f"{words.get(k, k)}={v}" for k, v in values.items())
    summary = f"scale {found.namespace}/{found.name} to {bounds}"
    return Change.plan("scale", summary, found, {"spec": patch})


def canary(found: Found, uri: str, version: ModelVersion | None, percent: int) -> Change:
    """Send `percent` % of the traffic to a new revision serving `uri`."""
    _kserve_only(found, "canary")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent < 100:
        raise ParameterError(
            [
                f"percent: expected a whole number from 1 to 99, got {percent!r} "
                "(use promote_from_registry() for a full rollout)"
            ]
        )
    running = _canary_percent(found)
    current_uri = storage_uri(found)
    if current_uri == uri and running is None:
        raise ParameterError(
            [
                f"{found.namespace}/{found.name} already serves {uri} to all traffic: "
                "a canary needs another model"
            ]
        )
    patch = _model_patch(found, uri, version)
    if running is None:
        _remember_previous(found, patch)  # during a canary the stable model stays "previous"
    _with(patch, ("predictor",), {"canaryTrafficPercent": percent})
    target = _label(ModelRef(version.name, version.version) if version else None)
    summary = (
        f"canary {target} ({uri}) on {found.namespace}/{found.name} with {percent} % of traffic"
    )
    return Change.plan("canary", summary, found, patch)


def promote(found: Found) -> Change:
    """Move all traffic to the canary (the latest revision)."""
    _kserve_only(found, "canary to promote")
    running = _canary_percent(found)
    if running is None:
        raise HxbLabError(
            f"{found.namespace}/{found.name} has no canary in progress: nothing to promote",
            hint="start one with wb.inference.canary(...)",
        )
    patch = {"spec": {"predictor": {"canaryTrafficPercent": None}}}
    summary = (
        f"promote the canary of {found.namespace}/{found.name} "
        f"({_label(current_model(found))}) from {running} % to 100 % of traffic"
    )
    return Change.plan("promote", summary, found, patch)


def previous_model(
    found: Found,
    previous: tuple[str | None, ModelRef] | None,
    registry: Callable[[ModelRef], ModelVersion | None] | None = None,
) -> tuple[str, ModelRef]:
    """The storage URI and model served before: from our annotation, else `previous`
    (what the previous revision ran), else the registry's version before the one served
    (`registry`: the version of a model before a given one)."""
    annotations = found.obj["metadata"].get("annotations") or {}
    uri = annotations.get(PREVIOUS_URI)
    if uri:
        return str(uri), model_ref(annotations.get(PREVIOUS_MODEL), {})
    if previous is not None and previous[0]:
        return previous[0], previous[1]
    current = current_model(found)
    if registry is not None and current.name and current.version is not None:
        before = registry(current)
        if before is not None:
            return before.download_uri, ModelRef(before.name, before.version)
    raise NotFoundError(
        f"cannot tell which model {found.namespace}/{found.name} served before",
        hint="no previous revision is recorded and the registry has no earlier version of "
        f"{_label(current)}; roll out a known version with "
        "promote_from_registry(name, model, alias=...) instead",
    )


def rollback(found: Found, uri: str, ref: ModelRef) -> Change:
    """Serve the previous model again, with all traffic (cancelling any canary)."""
    current_uri = storage_uri(found)
    if uri == current_uri and _canary_percent(found) is None:
        raise HxbLabError(f"{found.namespace}/{found.name} already serves its previous model {uri}")
    patch: Obj = {"metadata": {"labels": {MODEL_LABEL: ref.name, VERSION_LABEL: None}}}
    if ref.version is not None:
        patch["metadata"]["labels"][VERSION_LABEL] = str(ref.version)
    patch["spec"] = _nest(model_spec_path(found), {"storageUri": uri})
    _remember_previous(found, patch)
    if found.kind == "kserve":
        _with(patch, ("predictor",), {"canaryTrafficPercent": None})
    summary = (
        f"roll {found.namespace}/{found.name} back from {_label(current_model(found))} "
        f"to {_label(ref)} ({uri}) with all traffic"
    )
    return Change.plan("rollback", summary, found, patch)


def promote_to(found: Found, version: ModelVersion) -> Change:
    """Serve a registry version with all traffic: its download URI becomes the storage URI."""
    uri = version.download_uri
    patch = _model_patch(found, uri, version)
    if storage_uri(found) != uri:
        _remember_previous(found, patch)
    if found.kind == "kserve" and _canary_percent(found) is not None:
        _with(patch, ("predictor",), {"canaryTrafficPercent": None})
    aliases = f" ({', '.join(version.aliases)})" if version.aliases else ""
    summary = (
        f"roll out {version.name} v{version.version}{aliases} ({uri}) to "
        f"{found.namespace}/{found.name} with all traffic"
    )
    return Change.plan("promote_from_registry", summary, found, patch)
