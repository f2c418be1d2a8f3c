"""The alert receiver both hosts share (the Jupyter server's route, ``hxb-lab serve``).

`Receiver.decide` reads one webhook call: the credentials first (`Unauthorized` starts
nothing), then the body (`ParameterError` naming the field), then the runbook and its
parameters, checked against the runbook's types, then the cooldown and the rule's rate
limit. It returns a `Decision`: at most one `Start` for the firing group, and how many
alerts were resolved, unmatched, deduplicated or rate-limited. The host starts the run
(`Receiver.receive` does it with the host's `Starter`); a start that fails is forgotten
by the cooldown, so Alertmanager's retry can start it. Given a `state_dir`, the receiver
reads its cooldown and rate-limit counters from there when made, and saves them when a run
starts, a start fails or an alert is rate-limited (`_state`), so a restart forgets nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hxb_lab.config import Profile
from hxb_lab.errors import ParameterError
from hxb_lab.runbooks import Runbook, load
from hxb_lab.triggers._auth import check
from hxb_lab.triggers._limits import Cooldown, RateLimit
from hxb_lab.triggers._payload import Alert, Notification, parse
from hxb_lab.triggers._rules import Choice, choose
from hxb_lab.triggers._state import StateFile, state_path

__all__ = ["Decision", "Receiver", "Start", "Starter"]

#: The most alerts of a group recorded with its run (the count is always whole).
RECORDED_ALERTS = 20


@dataclass(frozen=True)
class Start:
    """A run an alert group starts: the runbook, its checked values, and the trigger
    (rule, group key, the alerts' labels and fingerprints) recorded with the run."""

    runbook: Runbook
    values: dict[str, Any]
    rule: str
    trigger: dict[str, Any]


#: How a host starts a run: returns the run's id.
Starter = Callable[[Start], str]


@dataclass
class Decision:
    """What one notification asks for: the run to start (if any) and the alerts that
    started nothing, by reason."""

    start: Start | None = None
    keys: list[tuple[str, str]] = field(default_factory=list)
    resolved: int = 0
    unmatched: int = 0
    deduplicated: int = 0
    rate_limited: int = 0

    def answer(self, run_id: str | None = None) -> dict[str, Any]:
        """The JSON a receiver answers with."""
        runs = []
        if self.start is not None and run_id is not None:
            runs.append(
                {
                    "run_id": run_id,
                    "runbook": self.start.runbook.name,
                    "rule": self.start.rule,
                    "alerts": len(self.keys),
                }
            )
        return {
            "runs": runs,
            "resolved": self.resolved,
            "unmatched": self.unmatched,
            "deduplicated": self.deduplicated,
            "rate_limited": self.rate_limited,
        }


def _trigger(notification: Notification, firing: list[Alert], choice: Choice) -> dict[str, Any]:
    return {
        "rule": choice.rule,
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": notification.group_labels,
        "external_url": notification.external_url,
        "alert_count": len(firing),
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "labels": a.labels,
                "annotations": a.annotations,
                "starts_at": a.starts_at,
            }
            for a in firing[:RECORDED_ALERTS]
        ],
    }


class Receiver:
    """Alertmanager notifications in, runbook runs out, for one profile (`starter`: how
    `receive` starts a run; a host that starts runs itself calls `decide`)."""

    def __init__(
        self,
        profile: Profile,
        starter: Starter | None = None,
        clock: Callable[[], float] = time.time,
        state_dir: Path | None = None,
    ) -> None:
        self.profile = profile
        self.starter = starter
        config = profile.alerts
        self.cooldown = Cooldown(config.cooldown_s, clock)
        self.rate = RateLimit(config.max_runs, config.window_s, clock)
        self.state = None
        if state_dir is not None:
            self.state = StateFile(state_path(state_dir, profile.name), self._snapshot)
            saved = self.state.read()
            self.cooldown.restore(saved["seen"])
            self.rate.restore(saved["starts"], saved["skipped"])
        self._runbooks: dict[Path, tuple[int, Runbook]] = {}

    # ------------------------------------------------------------------ the catalog
    def _catalog(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for directory in self.profile.runbook_directories():
            if directory.is_dir():
                for path in sorted(directory.glob("*.ipynb")):
                    found.setdefault(path.stem, path)
        return found

    def _runbook(self, name: str, path: Path) -> Runbook:
        """The runbook at `path`, loaded again only when its file changed."""
        mtime = os.stat(path).st_mtime_ns
        cached = self._runbooks.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, load(path, name=name))
            self._runbooks[path] = cached
        return cached[1]

    def _values(self, choice: Choice, alert: Alert, runbook: Runbook) -> dict[str, Any]:
        raw = dict(choice.raw)
        if choice.from_labels:
            names = {p.name for p in runbook.parameters}
            raw = {k: v for k, v in alert.labels.items() if k in names}
        try:
            return runbook.validate(runbook.coerce(raw))
        except ParameterError as exc:
            raise ParameterError(
                exc.problems,
                subject=f"parameters of runbook {runbook.name!r} from the alert "
                f"{alert.name!r} ({choice.rule})",
            ) from None

    # ------------------------------------------------------------------ receiving
    def authorize(self, authorization: str | None) -> None:
        """`Unauthorized` unless the request's header carries the receiver's credentials."""
        check(authorization, self.profile.alerts)

    def decide(self, body: bytes, authorization: str | None) -> Decision:
        """What the notification in `body` asks for (see the module docstring)."""
        check(authorization, self.profile.alerts)
        notification = parse(body)
        firing = sorted(notification.firing, key=lambda a: (a.starts_at, a.fingerprint))
        decision = Decision(resolved=len(notification.alerts) - len(firing))
        if not firing:
            return decision
        catalog = self._catalog()
        chosen: tuple[Choice, Alert] | None = None
        for alert in firing:
            choice = choose(alert, self.profile.alerts.rules, catalog.__contains__)
            if choice is not None:
                chosen = (choice, alert)
                break
        if chosen is None:
            decision.unmatched = len(firing)
            return decision
        choice, alert = chosen
        if choice.runbook not in catalog:
            raise ParameterError(
                [f"runbook: trigger rule {choice.rule!r} names {choice.runbook!r}, which is no "
                 "longer in the catalog: restore it or change the rule"],
                subject="trigger",
            )  # fmt: skip
        runbook = self._runbook(choice.runbook, catalog[choice.runbook])
        values = self._values(choice, alert, runbook)
        keys = [(notification.group_key, a.fingerprint) for a in firing]
        if not self.cooldown.fresh(keys):
            decision.deduplicated = len(firing)
            return decision
        if not self.rate.allow(choice.rule, len(firing)):
            decision.rate_limited = len(firing)
            self.save()
            return decision
        decision.keys = keys
        self.save()
        decision.start = Start(runbook, values, choice.rule, _trigger(notification, firing, choice))
        return decision

    def failed(self, decision: Decision) -> None:
        """The host could not start `decision`'s run: a re-sent alert may try again."""
        self.cooldown.forget(decision.keys)
        self.save()

    def _snapshot(self) -> dict[str, Any]:
        starts, skipped = self.rate.snapshot()
        return {"seen": self.cooldown.snapshot(), "starts": starts, "skipped": skipped}

    def save(self) -> None:
        """Have the cooldown and rate-limit counters written to the state file, if there is
        one (by its writer thread: `close` waits for it)."""
        if self.state is not None:
            self.state.changed()

    def close(self) -> None:
        """The receiver stops: its state file written to the last change."""
        if self.state is not None:
            self.state.close()

    def receive(self, body: bytes, authorization: str | None) -> dict[str, Any]:
        """Decide, start the run with the host's `Starter`, and answer (see `Decision`)."""
        decision = self.decide(body, authorization)
        if decision.start is None:
            return decision.answer()
        if self.starter is None:
            raise TypeError("this receiver was made without a starter: start decide()'s run")
        try:
            run_id = self.starter(decision.start)
        except BaseException:
            self.failed(decision)
            raise
        return decision.answer(run_id)
