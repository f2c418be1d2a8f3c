"""The present of a profile: the wall clock, or on the demo the moment it was seeded.

The demo's data is laid out before the instant its seeding recorded in
``$HXB_LAB_HOME/demo/manifest.json``, so a demo seeded last week still shows its "last
hour". Every default time range (`wb.now()`, run history, views) reads this one clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hxb_lab.config import Profile, hxb_home

__all__ = ["MANIFEST", "demo_dir", "demo_manifest", "now"]

#: Written last by the demo seeding, so a demo directory without it is not a finished one.
MANIFEST = "manifest.json"


def demo_dir() -> Path:
    """Where the embedded demo platform lives: ``$HXB_LAB_HOME/demo``."""
    return hxb_home() / "demo"


def demo_manifest() -> dict[str, Any] | None:
    """The manifest of the seeded demo, or None when it has not been seeded (completely)."""
    try:
        data: dict[str, Any] = json.loads((demo_dir() / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data


def now(profile: Profile) -> datetime:
    """The present for default time ranges: the seed time on the demo, else the clock."""
    if profile.is_demo:
        anchor = (demo_manifest() or {}).get("now")
        if anchor:
            return datetime.fromisoformat(anchor)
    return datetime.now(UTC)
