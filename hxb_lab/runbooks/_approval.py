"""A write waits for a second person: a run proposes a `Change`, someone else approves it.

Inside a run, ``hx.runbooks.propose(change)`` records the reviewed change (its diff, the
patch with the resourceVersion that was read) in the run's directory instead of applying
it, and the run ends with its change *awaiting approval*. `approve` applies exactly that
patch with the approver's own credentials (the profile's kubeconfig): the server-side dry
run, then the patch; an object changed since is a conflict and nothing is applied.
`reject` records a refusal with its reason. The approver must be another identity than
whoever started the run (``HXB_LAB_USER``, else the login name; an alert's run was started
by Alertmanager) unless ``runbooks.self_approval`` allows it, and a proposal expires after
``runbooks.approval_ttl_s``. Every step is recorded with the run: in its directory
(``proposal.json``) and as tags of its MLflow run, which `audit` reads back.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.config import Profile
from hxb_lab.errors import ClusterError, ConflictError, NotFoundError, RunbookError
from hxb_lab.frames import TIMESTAMP, Schema, build
from hxb_lab.runbooks import _history
from hxb_lab.runbooks._run import local_run
from hxb_lab.workbench import Workbench

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.inference import Change

__all__ = [
    "AUDIT",
    "PROPOSAL_FILE",
    "TRIGGER_FILE",
    "ApprovalRefused",
    "approve",
    "audit",
    "identity",
    "propose",
    "record_trigger",
    "reject",
    "review",
]

PROPOSAL_FILE = "proposal.json"
TRIGGER_FILE = "trigger.json"
AWAITING = "awaiting approval"
APPROVAL = _history.TAG + "approval"
AUDITED = _history.TAG + "audited"
_LIMIT = 6000  # MLflow's longest tag value


class ApprovalRefused(RunbookError):
    """An approval that may not happen: the same person, a decided or expired proposal."""


def identity() -> str:
    """Who acts here: ``HXB_LAB_USER`` (a host that knows its user sets it), else the login."""
    return os.environ.get("HXB_LAB_USER") or getpass.getuser()


def _now() -> datetime:
    return datetime.now(UTC)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


# ---------------------------------------------------------------------- in a run


def propose(change: Change) -> Change:
    """Record `change` for a second person to approve (`approve`), instead of applying it.

    Call it inside a run (``hx.runbooks.propose(wb.inference.scale(...))``); the change is
    shown in the report and the run's change waits for approval. A change that changes
    nothing is not recorded."""
    directory = os.environ.get("HXB_LAB_RUN_DIR")
    if not directory:
        raise RunbookError(
            "propose() records a change with the run it belongs to, and this is not a run",
            hint="outside a run, read change.diff and call change.apply() yourself",
        )
    if change.empty:
        return change
    proposal = {
        "state": AWAITING,
        "run_id": os.environ.get("HXB_LAB_RUN_ID", Path(directory).name),
        "runbook": os.environ.get("HXB_LAB_RUNBOOK", ""),
        "proposed_at": _now().isoformat(),
        "started_by": identity(),
        "change": {
            "action": change.action,
            "summary": change.summary,
            "cluster": change.cluster,
            "namespace": change.namespace,
            "name": change.name,
            "kind": change.kind,
            "resource": change.resource,
            "patch": change.patch,
            "before": change.before,
            "after": change.after,
            "diff": change.diff,
        },
        "events": [{"at": _now().isoformat(), "event": "proposed", "by": identity()}],
    }
    _write(Path(directory) / PROPOSAL_FILE, proposal)
    return change


def record_trigger(run_id: str, trigger: dict[str, Any], started_by: str, profile: Profile) -> None:
    """Keep with the ended run `run_id` the alert that started it (`started_by`: who the
    starter was): in its directory and as tags of its MLflow run."""
    _write(_run_directory(run_id) / TRIGGER_FILE, {**trigger, "started_by": started_by})
    tags = {
        _history.TAG + "trigger": json.dumps(trigger)[:_LIMIT],
        AUDITED: "true",
        APPROVAL + ".started_by": started_by,
    }
    _history.set_tags(run_id, tags, profile)


# ---------------------------------------------------------------------- deciding


def _run_directory(run_id: str) -> Path:
    run = local_run(run_id)
    if run is None or run.directory is None:
        raise NotFoundError(
            f"no run {run_id!r} here", hint="hxb-lab runbook runs lists the recorded runs"
        )
    return run.directory


def _proposal(run_id: str) -> tuple[Path, dict[str, Any]]:
    path = _run_directory(run_id) / PROPOSAL_FILE
    if not path.exists():
        raise NotFoundError(
            f"run {run_id!r} proposed no change", hint="only a run that called propose() waits"
        )
    return path, json.loads(path.read_text())


def _trigger(path: Path) -> dict[str, Any] | None:
    target = path.parent / TRIGGER_FILE
    return json.loads(target.read_text()) if target.exists() else None


def _started_by(path: Path, proposal: dict[str, Any]) -> str:
    trigger = _trigger(path)
    return str((trigger or {}).get("started_by") or proposal["started_by"])


def _record(
    path: Path, proposal: dict[str, Any], state: str, by: str, profile: Profile, **event: Any
) -> dict[str, Any]:
    """The decision in ``proposal.json`` and in the run's MLflow tags."""
    now = _now().isoformat()
    proposal["state"] = state
    proposal["events"].append({"at": now, "event": state, "by": by, **event})
    _write(path, proposal)
    trigger = _trigger(path)
    tags = {
        APPROVAL: state,
        AUDITED: "true",
        APPROVAL + ".by": by,
        APPROVAL + ".at": now,
        APPROVAL + ".started_by": _started_by(path, proposal),
        APPROVAL + ".patch": json.dumps(proposal["change"]["patch"])[:_LIMIT],
        APPROVAL + ".target": "{resource} {namespace}/{name} on {cluster}".format(
            **proposal["change"]
        ),
        APPROVAL + ".answer": str(event.get("answer") or event.get("reason") or "")[:_LIMIT],
    }
    if trigger is not None:
        tags[_history.TAG + "trigger"] = json.dumps(trigger)[:_LIMIT]
    _history.set_tags(proposal["run_id"], tags, profile)
    return proposal


def _check_open(path: Path, proposal: dict[str, Any], who: str, profile: Profile) -> None:
    run_id = proposal["run_id"]
    if proposal["state"] != AWAITING:
        raise ApprovalRefused(
            f"the change of run {run_id} is already {proposal['state']}",
            hint="a decided change is not decided again; run the runbook again for a new one",
        )
    expires = datetime.fromisoformat(proposal["proposed_at"]) + timedelta(
        seconds=profile.runbooks.approval_ttl_s
    )
    if _now() >= expires:
        _record(path, proposal, "expired", who, profile, answer=f"expired at {expires:%c} UTC")
        raise ApprovalRefused(
            f"the change of run {run_id} expired at {expires.isoformat()} unapproved: "
            "nothing was applied",
            hint="run the runbook again to review the change against the cluster as it is",
        )
    starter = _started_by(path, proposal)
    if who == starter and not profile.runbooks.self_approval:
        raise ApprovalRefused(
            f"{who!r} started run {run_id} and may not approve its own change",
            hint="a second person approves it (or set runbooks.self_approval = true)",
        )


def approve(run_id: str, profile: Profile, approver: str | None = None) -> dict[str, Any]:
    """Apply the change run `run_id` proposed, exactly as reviewed, as `approver` (default:
    `identity()`) with `profile`'s credentials; the proposal, decided, is returned.

    `ConflictError` (recorded ``conflict``) when the object changed since it was read,
    `ForbiddenError` or `ClusterError` (recorded ``refused``) when the API server refuses
    it: in each case nothing was applied."""
    from hxb_lab.inference import Change  # at runtime too, where it is used

    who = approver or identity()
    path, proposal = _proposal(run_id)
    _check_open(path, proposal, who, profile)
    stored = proposal["change"]
    with Workbench(profile) as wb:
        found = wb.inference._find(stored["name"], stored["namespace"], stored["cluster"])
        reviewed = Change(
            action=stored["action"],
            summary=stored["summary"],
            cluster=stored["cluster"],
            namespace=stored["namespace"],
            name=stored["name"],
            kind=stored["kind"],
            resource=stored["resource"],
            patch=stored["patch"],
            before=stored["before"],
            after=stored["after"],
            _found=found,
        )
        try:
            done = reviewed.apply()
        except ConflictError as exc:
            _record(path, proposal, "conflict", who, profile, answer=str(exc))
            raise
        except ClusterError as exc:
            _record(path, proposal, "refused", who, profile, answer=str(exc))
            raise
    answer = f"applied: {json.dumps(done.after, sort_keys=True, default=str)}"
    return _record(path, proposal, "applied", who, profile, answer=answer)


def reject(
    run_id: str, reason: str, profile: Profile, approver: str | None = None
) -> dict[str, Any]:
    """Refuse the change run `run_id` proposed, with `reason`; nothing is applied."""
    if not isinstance(reason, str) or not reason.strip():
        raise ApprovalRefused("a rejection says why", hint='pass --reason "..."')
    who = approver or identity()
    path, proposal = _proposal(run_id)
    _check_open(path, proposal, who, profile)
    return _record(path, proposal, "rejected", who, profile, reason=reason.strip()[:_LIMIT])


# ---------------------------------------------------------------------- reading back


def review(directory: Path, profile: Profile) -> dict[str, Any] | None:
    """What a reviewer reads about the change the run in `directory` proposed, or None:
    ``{"state", "summary", "target", "diff", "proposed_by", "proposed_at", "expires_at",
    "decided_by", "decided_at", "note"}``. A proposal past its time reads ``expired``
    (the next decision records it); `note` is the last decision's answer or reason."""
    path = directory / PROPOSAL_FILE
    try:
        proposal = json.loads(path.read_text())
        change = proposal["change"]
        proposed_at = datetime.fromisoformat(proposal["proposed_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none, or one being written: the next read shows it
    expires = proposed_at + timedelta(seconds=profile.runbooks.approval_ttl_s)
    state = str(proposal.get("state", AWAITING))
    if state == AWAITING and _now() >= expires:
        state = "expired"
    events = proposal.get("events") or []
    last = events[-1] if len(events) > 1 else {}
    return {
        "state": state,
        "summary": str(change.get("summary", "")),
        "target": "{resource} {namespace}/{name} on {cluster}".format_map(
            {k: change.get(k, "?") for k in ("resource", "namespace", "name", "cluster")}
        ),
        "diff": str(change.get("diff", "")),
        "proposed_by": _started_by(path, proposal),
        "proposed_at": proposed_at.isoformat(),
        "expires_at": expires.isoformat(),
        "decided_by": last.get("by"),
        "decided_at": last.get("at"),
        "note": str(last.get("answer") or last.get("reason") or "") or None,
    }


#: The columns of `audit`.
AUDIT: Schema = (
    ("run_id", "str"),
    ("runbook", "str"),
    ("status", "str"),
    ("started", TIMESTAMP),
    ("trigger", "object"),  # the alert: rule, group_key, alerts (labels, fingerprint)
    ("started_by", "str"),
    ("approval", "str"),  # applied, conflict, refused, rejected, expired
    ("decided_by", "str"),
    ("decided_at", TIMESTAMP),
    ("target", "str"),
    ("patch", "object"),
    ("answer", "str"),
)


def audit(profile: Profile, since: Any = None, limit: int = 1000) -> pd.DataFrame:
    """Runs with an alert or a decided change on record, newest first (see `AUDIT`)."""
    rows = []
    for mlrun in _history.search_audited(profile, AUDITED, since, limit):
        tags = mlrun["data"]["tags"]
        row = _history.row_of(mlrun)

        def loaded(key: str, tags: dict[str, str] = tags) -> Any:
            try:
                return json.loads(tags[key]) if key in tags else None
            except ValueError:
                return tags[key]

        rows.append(
            (
                row["run_id"],
                row["runbook"],
                row["status"],
                row["started"].isoformat(),
                loaded(_history.TAG + "trigger"),
                tags.get(APPROVAL + ".started_by", ""),
                tags.get(APPROVAL, ""),
                tags.get(APPROVAL + ".by", ""),
                tags.get(APPROVAL + ".at"),
                tags.get(APPROVAL + ".target", ""),
                loaded(APPROVAL + ".patch"),
                tags.get(APPROVAL + ".answer", ""),
            )
        )
    return build(AUDIT, rows)
