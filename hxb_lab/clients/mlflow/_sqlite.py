"""Facts about an MLflow SQLite store file, read with ``sqlite3`` (no mlflow import)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DEFAULT_WORKSPACE", "schema_revision", "store_path"]

DEFAULT_WORKSPACE = "default"


def store_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` tracking URI, None for any other URI."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def schema_revision(path: Path) -> str | None:
    """The store's alembic revision; None when it is not an MLflow store (or unreadable), or
    when it has experiments outside the default workspace."""
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30) as db:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
            other = db.execute(
                "SELECT 1 FROM experiments WHERE workspace != ? LIMIT 1", (DEFAULT_WORKSPACE,)
            ).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None or other is not None else str(row[0])
