"""What a runbook states, kept with its run for comparing runs: its verdict and key tables.

In a run's kernel (``HXB_LAB_RUN_DIR`` set), `hx.runbooks.verdict` writes
``frozen/verdict.json`` and `hx.runbooks.table(frame, key=...)` writes
``frozen/tables/<name>.parquet``, listed in ``frozen/tables/tables.json`` with its key
columns. Outside a run nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact
from hxb_lab.frozen._encode import write_frame
from hxb_lab.frozen._record import FROZEN_DIR

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLES", "TABLES_DIR", "VERDICT", "keep_table", "keep_verdict"]

VERDICT = "verdict.json"
TABLES_DIR = "tables"
TABLES = "tables.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_lock = threading.Lock()


def _kept_dir() -> Path | None:
    run_dir = os.environ.get("HXB_LAB_RUN_DIR")
    return Path(run_dir) / FROZEN_DIR if run_dir else None


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def keep_verdict(level: str, text: str) -> None:
    """Keep the run's verdict (the last one stated counts)."""
    kept = _kept_dir()
    if kept is not None:
        _write_json(kept / VERDICT, {"level": level, "text": redact(text)})


def keep_table(frame: pd.DataFrame, key: list[str], name: str | None) -> None:
    """Keep a key table of the run: `key` names its rows. A key that is not a column of
    `frame`, or a name that is not a plain word, is a `ValueError`."""
    missing = [k for k in key if k not in frame.columns]
    if not key or missing:
        raise ValueError(f"key: {', '.join(missing) or '(none)'} is not a column of the table")
    if name is not None and not _NAME.match(name):
        raise ValueError(f"name: {name!r} is not a table name (letters, digits, _ and -)")
    kept = _kept_dir()
    if kept is None:
        return
    directory = kept / TABLES_DIR
    with _lock:
        index_path = directory / TABLES
        index = json.loads(index_path.read_text()) if index_path.exists() else []
        chosen = name or f"table_{len(index) + 1}"
        directory.mkdir(parents=True, exist_ok=True)
        write_frame(frame.reset_index(drop=True), directory / f"{chosen}.parquet")
        index = [t for t in index if t["name"] != chosen]
        index.append({"name": chosen, "key": key, "file": f"{chosen}.parquet"})
        _write_json(index_path, index)
