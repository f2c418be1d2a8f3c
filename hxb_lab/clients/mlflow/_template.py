"""The empty-store template: a new MLflow SQLite store is a copy, not a migration.

Creating an MLflow SQLite store runs every schema migration since MLflow 1.x: seconds of
work that give the same empty database each time. The first store created with an mlflow
version is kept (under ``$XDG_CACHE_HOME/hxb-lab/mlflow/``) and later stores are copies.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from hxb_lab.clients.mlflow._sqlite import schema_revision

__all__ = ["from_template", "keep_as_template", "template_path"]


def template_path() -> Path | None:
    """Where the empty store of the installed mlflow is kept; None without mlflow."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("mlflow")
    except PackageNotFoundError:
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return base / "hxb-lab" / "mlflow" / f"empty-{release}.db"


def from_template(target: Path) -> bool:
    """Create the store `target` as a copy of the template; False when there is none."""
    template = template_path()
    if template is None or not template.is_file() or target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(template, partial)
        os.link(partial, target)  # whole or not at all; never over a store another run made
    except FileExistsError:
        return True  # a concurrent run created it first
    except OSError:
        return False
    finally:
        partial.unlink(missing_ok=True)
    return True


def keep_as_template(fresh: Path) -> None:
    """Save a store mlflow has just created (still empty) as the template, once."""
    template = template_path()
    if template is None or template.exists() or schema_revision(fresh) is None:
        return
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        partial = template.with_suffix(f".{os.getpid()}.tmp")
        with sqlite3.connect(fresh) as source, sqlite3.connect(partial) as copy:
            source.backup(copy)
        partial.replace(template)
    except (OSError, sqlite3.Error):
        return  # only an optimisation
