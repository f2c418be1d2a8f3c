"""A reviewable change to one deployment: the diff a person reads, the patch the server gets.

An action never writes on its own: it returns a `Change`. `Change.apply()` sends the patch
as a JSON merge patch carrying the resourceVersion that was read, first with
``dryRun=All`` (admission, schema validation and RBAC, nothing stored) and then for real.
If the object changed since it was read, the server answers 409 and nothing changes, so
what is applied is exactly what was reviewed.

Two guard rails speak before a write: a target managed by an Argo CD Application with
automated sync is named in `gitops` (the change would be reverted; the place to change it
is in Git) and `apply()` refuses it unless told `despite_gitops=True`; and an admission
webhook's refusal in the dry run (Gatekeeper's constraints) is raised as an
`AdmissionDeniedError` whose `reason` is the webhook's own message.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact
from hxb_lab.errors import (
    AdmissionDeniedError,
    ClusterError,
    ClusterUnavailableError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
)

if TYPE_CHECKING:
    from hxb_lab.inference._kube import Found

__all__ = ["FIELD_MANAGER", "Change", "merge_patch", "review_view"]

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"
FIELD_MANAGER = "hxb-lab"


def merge_patch(target: Any, patch: Any) -> Any:
    """`patch` applied to a copy of `target` as RFC 7386 JSON merge patch (None deletes)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def review_view(obj: Obj) -> Obj:
    """The part of an object a change may touch: labels, annotations and spec."""
    meta = obj.get("metadata") or {}
    view: Obj = {"metadata": {}}
    for key in ("labels", "annotations"):
        if meta.get(key):
            view["metadata"][key] = copy.deepcopy(meta[key])
    view["spec"] = copy.deepcopy(obj.get("spec") or {})
    return view


def _yaml(obj: Obj) -> list[str]:
    import yaml

    text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, width=100)
    return text.splitlines(keepends=True)


@dataclass(frozen=True)
class Change:
    """A proposed change to one deployment; `apply()` makes it, `diff` shows it."""

    action: str  # scale, canary, promote, rollback, promote_from_registry
    summary: str  # one line in the user's words
    cluster: str
    namespace: str
    name: str
    kind: str  # kserve | seldon
    resource: str  # inferenceservices.serving.kserve.io, models.mlops.seldon.io
    patch: Obj  # the JSON merge patch, metadata.resourceVersion included
    before: Obj = field(repr=False)
    after: Obj = field(repr=False)
    applied: bool = False
    gitops: str = ""  # the Argo CD Application managing the target, and what that means
    reverted: bool = False  # True when that Application syncs automatically
    _found: Found | None = field(default=None, repr=False, compare=False)

    @classmethod
    def plan(cls, action: str, summary: str, found: Found, patch: Obj) -> Change:
        """The change `patch` would make to `found`, with the read resourceVersion pinned."""
        before = review_view(found.obj)
        after = merge_patch(before, patch)
        for key in ("labels", "annotations"):  # a map emptied by the patch is gone
            if after["metadata"].get(key) == {}:
                del after["metadata"][key]
        full = copy.deepcopy(patch) if after != before else {}
        version = (found.obj.get("metadata") or {}).get("resourceVersion")
        if full and version:
            full.setdefault("metadata", {})["resourceVersion"] = str(version)
        return cls(
            action=action,
            summary=summary,
            cluster=found.cluster,
            namespace=found.namespace,
            name=found.name,
            kind=found.kind,
            resource=found.resource.qualified,
            patch=full,
            before=before,
            after=after,
            _found=found,
        )

    @property
    def resource_version(self) -> str | None:
        """The resourceVersion the change was reviewed against (its precondition)."""
        value = (self.patch.get("metadata") or {}).get("resourceVersion")
        return None if value is None else str(value)

    @property
    def empty(self) -> bool:
        """True when the deployment already is as asked: there is nothing to apply."""
        return not self.patch

    @property
    def target(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name}"

    @property
    def diff(self) -> str:
        """A unified diff of labels, annotations and spec, current -> proposed."""
        where = f"{self.resource} {self.namespace}/{self.name}"
        lines = difflib.unified_diff(
            _yaml(self.before),
            _yaml(self.after),
            fromfile=f"{where} (current)",
            tofile=f"{where} ({'applied' if self.applied else 'proposed'})",
        )
        return redact("".join(lines))

    def apply(self, *, despite_gitops: bool = False) -> Change:
        """Make the change: a server-side dry run, then the patch with its resourceVersion.

        Raises `ConflictError` if the deployment changed since it was read, `ForbiddenError`
        if the user may not patch it, `AdmissionDeniedError` if an admission webhook
        (Gatekeeper) refuses it, and `ClusterError` if Argo CD would revert it (unless
        `despite_gitops=True`); in every case nothing changed.
        """
        if self.applied or self.empty:
            return self
        found = self._found
        assert found is not None
        if found.source.transport != "live":
            raise ClusterError(
                f"the {found.cluster} cluster is a snapshot: actions are dry runs only",
                hint="read the diff here; to apply it, connect with a profile naming a live "
                "cluster",
            )
        if self.reverted and not despite_gitops:
            raise ClusterError(
                f"not applied: {self.resource} {self.namespace}/{self.name} is {self.gitops}",
                hint="change it in Git; or apply(despite_gitops=True) to change it until "
                "Argo CD syncs again",
            )
        context = found.source.context  # type: ignore[attr-defined]
        path = found.resource.path(self.namespace, self.name)
        what = ("patch", self.resource, self.namespace)
        phase = "the server-side dry run of"
        try:
            result = context.json(
                "PATCH", path, [("dryRun", "All"), ("fieldManager", FIELD_MANAGER)],
                body=self.patch, content_type=MERGE, what=what,
            )  # fmt: skip
            phase = "the change to"
            result = context.json(
                "PATCH", path, [("fieldManager", FIELD_MANAGER)],
                body=self.patch, content_type=MERGE, what=what,
            )  # fmt: skip
        except ConflictError:
            raise ConflictError(
                f"{self.resource} {self.namespace}/{self.name} on {self.cluster!r} changed "
                f"since it was read (resourceVersion {self.resource_version}): nothing was "
                "changed",
                hint="run the action again to review the diff against the current object",
            ) from None
        except AdmissionDeniedError as exc:
            who = "Gatekeeper" if "gatekeeper" in exc.webhook else f"the webhook {exc.webhook}"
            raise AdmissionDeniedError(
                f"{who} denied {phase} {self.namespace}/{self.name} ({self.action}) on "
                f"{self.cluster!r}, so nothing was changed: {exc.reason}",
                webhook=exc.webhook,
                reason=exc.reason,
                hint="see wb.policy.constraints() for the constraint named in brackets",
            ) from None
        except (ForbiddenError, NotFoundError, ClusterUnavailableError):
            raise
        except ClusterError as exc:
            raise ClusterError(
                f"the API server refused {phase} {self.namespace}/{self.name} "
                f"({self.action}) on {self.cluster!r}, so nothing was changed: {exc.message}",
                hint=exc.hint,
            ) from None
        applied = review_view(result)
        return dataclasses.replace(self, applied=True, after=applied)

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        state = "applied" if self.applied else "dry run"
        body = self.diff if not self.empty else "(no change)\n"
        note = f"note: {self.gitops}\n" if self.gitops else ""
        return f"{self.summary} [{state}]\n{body}{note}"

    def __repr__(self) -> str:
        state = "applied" if self.applied else ("no change" if self.empty else "dry run")
        return f"<Change {self.action} {self.target} ({state}): {self.summary}>"

    def _repr_html_(self) -> str:
        state = "applied" if self.applied else ("no change" if self.empty else "dry run")
        lines = []
        for line in self.diff.splitlines():
            style = ""
            if line.startswith("+") and not line.startswith("+++"):
                style = ' style="color:#1a7f37"'
            elif line.startswith("-") and not line.startswith("---"):
                style = ' style="color:#cf222e"'
            lines.append(f"<span{style}>{html.escape(line)}</span>")
        note = (
            f'<p style="color:#9a6700">&#9888; {html.escape(self.gitops)}</p>'
            if self.gitops
            else ""
        )
        return (
            f"<div><b>{html.escape(self.summary)}</b> <i>({html.escape(state)})</i>{note}"
            f"<pre>{chr(10).join(lines)}</pre></div>"
        )
