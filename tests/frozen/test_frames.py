"""Keeping a read's frame and answering it again: exact round trips, limits, secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from hxb_lab._redact import remember_secret
from hxb_lab.config import load_profile
from hxb_lab.frozen import FrameRecorder, FrozenFrames, NotRecordedError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _recorder(tmp_path: Path) -> FrameRecorder:
    return FrameRecorder(tmp_path / "frozen", load_profile("demo"), NOW, run_id="run-1")


def test_a_frame_comes_back_as_it_was_read(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "node": ["h100-0", "h100-1"],
            "gpus": [8, 8],
            "free": [2.5, None],
            "labels": [{"zone": "a", "gpu": 8}, {}],
            "taints": [["gpu=true:NoSchedule"], []],
            "seen": pd.to_datetime(["2026-12-06 11:00", "2026-12-06 11:30"], utc=True),
        }
    ).set_index("node")
    recorder = _recorder(tmp_path)
    start = NOW - timedelta(hours=1)
    recorder.record("cluster.gpus", (), {"start": start, "end": NOW}, frame, 0.01)

    frames = FrozenFrames.open(tmp_path / "frozen")
    back = frames.area("cluster").gpus(start=pd.Timestamp(start), end=NOW)
    pd.testing.assert_frame_equal(back, frame)
    assert frames.now() == NOW
    (entry,) = frames.calls
    assert entry["range"] == {
        "start": {"time": start.isoformat()},
        "end": {"time": NOW.isoformat()},
    }
    assert entry["rows"] == 2 and entry["profile"] == "demo"


def test_a_call_the_run_did_not_make_is_named(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    recorder.record("cluster.gpu_allocation", (), {"by": "pod"}, pd.DataFrame({"a": [1]}), 0.0)
    frames = FrozenFrames.open(tmp_path / "frozen")
    with pytest.raises(NotRecordedError) as caught:
        frames.area("cluster").gpu_allocation(by="workload")
    assert str(caught.value) == (
        "wb.cluster.gpu_allocation(by='workload') was not recorded in run run-1 "
        "(it made wb.cluster.gpu_allocation(by='pod'))"
    )


def test_frames_over_the_run_limit_are_listed_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HXB_LAB_FROZEN_MAX_BYTES", "4000")
    recorder = _recorder(tmp_path)
    big = pd.DataFrame({"x": [f"row {i}" for i in range(5000)]})
    recorder.record("logs.search", ("oom",), {}, big, 0.0)
    assert list((tmp_path / "frozen").glob("*.parquet")) == []
    with pytest.raises(
        NotRecordedError,
        match=r"was not kept with run run-1: its frame of .* "
        r"KiB is over the limit \(3.9 KiB for all the frames of a run\)",
    ):
        FrozenFrames.open(tmp_path / "frozen").area("logs").search("oom")


def test_secrets_never_reach_the_kept_files(tmp_path: Path) -> None:
    secret = "s3cr3t-token-4711"
    remember_secret(secret)
    frame = pd.DataFrame(
        {"message": [f"login with {secret}", "ok"], "env": [{"TOKEN": secret}, None]}
    )
    recorder = _recorder(tmp_path)
    recorder.record("logs.search", (f"token {secret}",), {}, frame, 0.0)
    for path in (tmp_path / "frozen").iterdir():
        assert secret.encode() not in path.read_bytes(), path.name
    back = FrozenFrames.open(tmp_path / "frozen").calls[0]
    assert back["text"] == "wb.logs.search('token ***')"
