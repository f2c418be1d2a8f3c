"""The demo seeding mechanism: seeders run in order, the manifest comes last, no half-seeds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hxb_lab import demo
from hxb_lab.demo import SeedContext
from hxb_lab.errors import ConfigError


@pytest.fixture
def only_these_seeders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(demo, "_BUILTIN", [])
    monkeypatch.setattr(demo, "_registered", {})

    def first(ctx: SeedContext) -> str:
        calls.append(f"first:{ctx.size}")
        ctx.path("cluster", "nodes.json").write_text("[]")
        return "1 file"

    def second(ctx: SeedContext) -> str:
        assert (ctx.home / "cluster" / "nodes.json").exists(), "runs after `first`"
        calls.append("second")
        return "2 files"

    demo.register("first", first)
    demo.register("second", second)
    return calls


def test_seed_runs_seeders_in_order_and_writes_the_manifest(
    only_these_seeders: list[str], hxb_env: Path
) -> None:
    results = demo.seed("small")
    assert only_these_seeders == ["first:small", "second"]
    assert [(r.name, r.summary) for r in results] == [("first", "1 file"), ("second", "2 files")]
    manifest = json.loads((hxb_env / "demo" / "manifest.json").read_text())
    assert [p["name"] for p in manifest["parts"]] == ["first", "second"]
    # Same size again: kept, nothing re-run.
    demo.seed("small")
    assert only_these_seeders == ["first:small", "second"]
    # Reset rebuilds.
    demo.seed("small", reset=True)
    assert only_these_seeders.count("second") == 2


def test_a_failing_seeder_leaves_no_half_seeded_demo(
    only_these_seeders: list[str], hxb_env: Path
) -> None:
    def broken(ctx: SeedContext) -> str:
        raise RuntimeError("disk full")

    demo.register("broken", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        demo.seed("small")
    assert not (hxb_env / "demo").exists()
    assert demo.manifest() is None


def test_connect_seeds_the_demo_on_first_use(only_these_seeders: list[str], hxb_env: Path) -> None:
    import hxb_lab as hx

    wb = hx.connect()
    assert wb.profile.name == "demo"
    assert demo.manifest() is not None
    assert only_these_seeders == ["first:small", "second"]


def test_a_missing_profiles_file_stops_seeding_at_once(
    hxb_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not after the cluster and telemetry steps (about 20 s): before any seeder runs."""
    monkeypatch.setenv("HXB_LAB_CONFIG", str(hxb_env / "missing.toml"))
    ran: list[str] = []
    monkeypatch.setattr(demo, "seeders", lambda: [("cluster", lambda _ctx: ran.append("x"))])
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"missing\.toml: the profiles file does not exist"):
        demo.seed("small")
    assert time.monotonic() - started < 1.0
    assert ran == [] and not demo.demo_dir().exists()
