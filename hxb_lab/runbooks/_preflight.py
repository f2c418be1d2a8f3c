"""Checks made before a Job or CronJob is sent, so that bad input is one line and nothing is
left half-created: the image reference, the user's rights (SelfSubjectAccessReview), the
namespace and the runner's service account.

A check the cluster does not let us make (the user may not read namespaces or service
accounts) is skipped: the API server still has the last word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hxb_lab.clients.kube import KubeContext
from hxb_lab.config import Profile
from hxb_lab.errors import ConfigError, ForbiddenError, NotFoundError

__all__ = ["check_image", "check_objects", "pod_spec"]

# An image reference as container runtimes parse it: [registry[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?"
)
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_PLURAL = {"ConfigMap": "configmaps", "Secret": "secrets", "Job": "jobs", "CronJob": "cronjobs"}
_GROUP = {"Job": "batch", "CronJob": "batch"}


def check_image(image: str, profile: Profile) -> str:
    """`ConfigError` naming ``runbooks.image`` unless `image` parses as an image reference."""
    if not isinstance(image, str) or len(image) > 4096 or not _IMAGE.match(image):
        raise ConfigError(
            f"profile {profile.name!r}: runbooks.image {str(image)[:120]!r} is not an image "
            "reference",
            hint="write it as registry/name:tag (lower-case name), e.g. "
            "ghcr.io/hxb-platform/hxb-lab-runbooks:0.1.0",
        )
    return image


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Job or a CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _allowed(ctx: KubeContext, verb: str, kind: str, namespace: str) -> bool:
    review = ctx.json(
        "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", [],
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
         "spec": {"resourceAttributes": {"verb": verb, "group": _GROUP.get(kind, ""),
                                         "resource": _PLURAL[kind], "namespace": namespace}}},
        what=("create", "selfsubjectaccessreviews", None),
    )  # fmt: skip
    return bool((review.get("status") or {}).get("allowed"))


def _exists(ctx: KubeContext, path: str) -> bool | None:
    """Whether the object exists; None when the user may not look."""
    try:
        ctx.json("GET", path, what=("get", path.rsplit("/", 2)[-2], None))
    except NotFoundError:
        return False
    except ForbiddenError:
        return None
    return True


def check_objects(
    ctx: KubeContext,
    profile: Profile,
    objects: list[dict[str, Any]],
    needs: Iterable[tuple[str, str]],
) -> None:
    """Before anything is sent: the image parses, the user may do each of `needs` ((verb,
    kind) pairs) in the runbook namespace, the namespace exists and holds the service
    account the pods run as."""
    namespace = profile.runbooks.namespace
    for obj in objects:
        if obj["kind"] in ("Job", "CronJob"):
            for container in pod_spec(obj)["containers"]:
                check_image(container["image"], profile)
    wanted = list(dict.fromkeys(needs))
    denied = [(verb, kind) for verb, kind in wanted if not _allowed(ctx, verb, kind, namespace)]
    if denied:
        verb, kind = denied[0]
        others = ", ".join(f"{v} {_PLURAL[k]}" for v, k in denied[1:])
        raise ForbiddenError(
            user=ctx.info.user or None,
            verb=verb,
            resource=_PLURAL[kind],
            namespace=namespace,
            detail=(f"also not {others}; " if others else "")
            + f"nothing was created (context {ctx.name!r})",
        )
    if _exists(ctx, f"/api/v1/namespaces/{namespace}") is False:
        raise NotFoundError(
            f"namespace {namespace!r} does not exist on context {ctx.name!r}; nothing was created",
            hint="create it, and its service account with `hxb-lab runbook rbac`, "
            "or set runbooks.namespace in the profile",
        )
    account = profile.runbooks.service_account
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}"
    if _exists(ctx, path) is False:
        raise NotFoundError(
            f"namespace {namespace!r} has no service account {account!r} for runbook pods; "
            "nothing was created",
            hint=f"create it with `hxb-lab runbook rbac --namespace {namespace} | kubectl "
            "apply -f -`, or set runbooks.service_account in the profile",
        )
