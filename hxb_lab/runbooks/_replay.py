"""Replaying a run from the frames it kept: a workbench that answers its reads, and the
runbook executed again against them.

A run's frames are in its directory (``frozen/``), and in the artifact store beside its
report; the store's copy is fetched into ``$HXB_LAB_HOME/replays/<run id>/`` when the run
directory is gone (another machine, a pod, a cleaned-up laptop).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hxb_lab.config import Profile, hxb_home
from hxb_lab.errors import NotFoundError
from hxb_lab.frozen import FROZEN_DIR, MANIFEST, TABLES, TABLES_DIR, VERDICT, FrozenFrames
from hxb_lab.runbooks._artifacts import ArtifactStore, join
from hxb_lab.runbooks._catalog import load
from hxb_lab.runbooks._executors import RunOptions, execute
from hxb_lab.runbooks._history import find_run
from hxb_lab.runbooks._run import Run, local_run
from hxb_lab.workbench import Workbench

__all__ = ["frames_of", "kept_of", "outputs_of", "replay", "rerun"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def _replays(run_id: str) -> Path:
    if not _NAME.match(run_id):
        raise NotFoundError(f"{run_id!r} is not a run id")
    return hxb_home() / "replays" / run_id


def _base(row: dict[str, Any]) -> str:
    """Where a recorded run's outputs are in the artifact store (beside its report)."""
    uri = row.get("report_uri") or row.get("notebook_uri")
    if not uri:
        raise NotFoundError(f"run {row['run_id']!r} has no outputs in the artifact store")
    return str(uri).rsplit("/", 1)[0]


def _fetch(store: ArtifactStore, base: str, name: str, target: Path) -> None:
    if not _NAME.match(name.replace("/", "_")) or ".." in name:
        raise NotFoundError(f"the kept file {name!r} has a name a replay does not read")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(store.get(join(base, FROZEN_DIR, name)))
    tmp.replace(target)


def _get_json(store: ArtifactStore, base: str, name: str) -> Any:
    try:
        return json.loads(store.get(join(base, FROZEN_DIR, name)))
    except (NotFoundError, ValueError):
        return None


def kept_of(row: dict[str, Any], profile: Profile) -> Path | None:
    """A copy of what a recorded run kept in the artifact store (frames, verdict, key
    tables) in ``$HXB_LAB_HOME/replays/<run id>/frozen``; None when it kept nothing."""
    base, target = _base(row), _replays(str(row["run_id"])) / FROZEN_DIR
    store = ArtifactStore.of(profile)
    manifest = _get_json(store, base, MANIFEST)
    tables = _get_json(store, base, f"{TABLES_DIR}/{TABLES}")
    verdict = _get_json(store, base, VERDICT)
    if manifest is None and tables is None and verdict is None:
        return None
    names = [str(c["file"]) for c in (manifest or {}).get("calls", []) if c.get("file")]
    names += [f"{TABLES_DIR}/{t['file']}" for t in tables or [] if t.get("file")]
    for name in names:
        _fetch(store, base, name, target / name)
    # The indexes last: a copy is whole, or has none.
    for name, data in (
        (f"{TABLES_DIR}/{TABLES}", tables),
        (VERDICT, verdict),
        (MANIFEST, manifest),
    ):
        if data is not None:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(json.dumps(data))
    return target


def frames_of(run_id: str, profile: Profile) -> Path:
    """The ``frozen/`` directory of run `run_id`: its own, else fetched from the store."""
    local = local_run(run_id)
    if local is not None and local.directory is not None:
        kept = local.directory / FROZEN_DIR
        if (kept / MANIFEST).exists():
            return kept
    fetched = kept_of(find_run(run_id, profile), profile)
    if fetched is None or not (fetched / MANIFEST).exists():
        raise NotFoundError(
            f"run {run_id!r} kept no frames",
            hint="runs made before frozen reads, or with HXB_LAB_FROZEN_MAX_BYTES=0, "
            "cannot be replayed",
        )
    return fetched


def replay(run_id: str, profile: Profile) -> Workbench:
    """A workbench answering the reads run `run_id` made from the frames it kept."""
    return Workbench(profile, FrozenFrames.open(frames_of(run_id, profile)))


def outputs_of(run_id: str, profile: Profile) -> tuple[Run | None, dict[str, Any] | None]:
    """The local record of a run, else its MLflow record (one of them, or `NotFoundError`)."""
    local = local_run(run_id)
    if local is not None:
        return local, None
    return None, find_run(run_id, profile)


def rerun(run_id: str, profile: Profile, output: Path | None = None) -> Run:
    """Execute run `run_id`'s notebook again, with its parameters, against the frames it
    kept; a new run, recorded under the executor ``replay``, with its own report."""
    frames = frames_of(run_id, profile)
    local, row = outputs_of(run_id, profile)
    if local is not None and local.output_notebook is not None and local.output_notebook.exists():
        notebook, name, params = local.output_notebook, local.runbook, local.parameters
    else:
        row = row or find_run(run_id, profile)
        uri = row.get("notebook_uri")
        if not uri:
            raise NotFoundError(f"run {run_id!r} has no notebook in the artifact store")
        name, params = str(row["runbook"]), dict(row["parameters"] or {})
        notebook = _replays(str(row["run_id"])) / f"{name}.ipynb"
        notebook.write_bytes(ArtifactStore.of(profile).get(str(uri)))
    runbook = load(notebook, name=name)
    options = RunOptions(profile, output=output, recorded_as="replay", replay=frames)
    result: Run = execute(runbook, params, options)
    return result
