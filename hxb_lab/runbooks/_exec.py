"""The entry point of a runbook pod: ``hxb-lab runbook exec NAME``.

Everything comes from the pod's environment, as the Job or CronJob set it up:
``HXB_LAB_PROFILE`` (and ``HXB_LAB_CONFIG``) the profile, ``HXB_LAB_PARAMETERS`` the
parameters as JSON (the pod annotation, through the downward API), ``HXB_LAB_SECRET_*``
the secret parameters (from a Secret), ``HXB_LAB_RUN_ID`` the run id given at submission
(a CronJob's runs make their own), ``HXB_LAB_K8S_JOB`` the Job's name and, in a
CronJob's pods, ``HXB_LAB_SCHEDULE`` its name: such a run's report says what changed since
the last run. A run an alert started has ``HXB_LAB_TRIGGER``, the alert (the pod's
annotation ``hxb.io/trigger``, see `_trigger`): once the run has ended it is recorded with
it, as the receiver records a local run's alert.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from hxb_lab.config import load_profile
from hxb_lab.errors import HxbLabError, RunbookError
from hxb_lab.runbooks import _trigger
from hxb_lab.runbooks._approval import record_trigger
from hxb_lab.runbooks._catalog import get, load
from hxb_lab.runbooks._executors import RunOptions, execute
from hxb_lab.runbooks._manifests import SCHEDULE_ENV
from hxb_lab.runbooks._parameters import secret_env_var
from hxb_lab.runbooks._run import Run

__all__ = ["exec_in_pod"]

log = logging.getLogger("hxb_lab.runbooks")


def exec_in_pod(
    name: str, notebook: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Run:
    """Run the runbook as the pod's main process with the local executor, recorded under
    the executor ``kubernetes``."""
    env = os.environ if env is None else env
    profile = load_profile(env.get("HXB_LAB_PROFILE") or None)
    runbook = load(notebook, name=name) if notebook else get(name, profile)
    raw = env.get("HXB_LAB_PARAMETERS") or "{}"
    try:
        params = json.loads(raw)
    except ValueError as exc:
        raise RunbookError(f"HXB_LAB_PARAMETERS is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise RunbookError("HXB_LAB_PARAMETERS must be a JSON object of parameter values")
    for p in runbook.parameters:
        variable = secret_env_var(p.name)
        if p.secret and env.get(variable):
            params[p.name] = env[variable]
    options = RunOptions(
        profile,
        run_id=env.get("HXB_LAB_RUN_ID") or None,
        progress_bar=False,
        recorded_as="kubernetes",
        kubernetes_job=env.get("HXB_LAB_K8S_JOB") or None,
        since_last_run=bool(env.get(SCHEDULE_ENV)),  # a CronJob's run: what changed?
    )
    run = execute(runbook, params, options)
    trigger = _trigger.read(env.get(_trigger.ENV))
    if trigger is not None:
        started_by = trigger.pop("started_by", None) or "alertmanager"
        try:
            record_trigger(run.id, trigger, started_by, profile)
        except HxbLabError as exc:
            log.warning("run %s: the alert that started it was not recorded: %s", run.id, exc)
    return run
