"""The "since last run" section of a scheduled run's report, and its notification.

A scheduled run (a CronJob's pod, or any run asked with ``since_last_run``) is compared
with the previous successful run of the same runbook and parameters (`_diff`); the report
shows what changed right under the verdict, and the profile's webhook hears of it only
when something did. A comparison that cannot be made (MLflow down) is a warning of the
run, never its failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.config import Profile
from hxb_lab.errors import HxbLabError
from hxb_lab.runbooks._diff import (
    RunDiff,
    compare,
    kept_current,
    kept_run,
    previous_run,
    tolerances_of,
)
from hxb_lab.runbooks._webhook import notify_changes

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook
    from hxb_lab.runbooks._run import Run

__all__ = ["FIRST_RUN", "notify", "since_last_run"]

FIRST_RUN = (
    '<div class="hxb-since"><b>Since last run</b>: the first successful run of these '
    "parameters; nothing to compare with.</div>"
)


def since_last_run(run: Run, runbook: Runbook, profile: Profile) -> tuple[str, RunDiff | None]:
    """The section's HTML and the comparison (None for a first run or a failed compare)."""
    try:
        previous = previous_run(run, profile)
        if previous is None:
            return FIRST_RUN, None
        tolerances = tolerances_of(runbook.notebook.get("metadata") or {})
        changes = compare(kept_run(previous, profile), kept_current(run), tolerances)
    except (HxbLabError, OSError, ValueError) as exc:
        run.warnings.append(f"not compared with the last run: {exc}")
        return "", None
    return changes.html(), changes


def notify(run: Run, changes: RunDiff | None, profile: Profile) -> None:
    """Tell the profile's webhook what changed, when something did."""
    if changes is None:
        return
    try:
        notify_changes(run, changes, profile)
    except HxbLabError as exc:
        run.warnings.append(str(exc))
