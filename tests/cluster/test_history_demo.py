"""The demo's cluster history: `wb.cluster.history()` tells the scenario's story, and
`wb.cluster.at()` gives the snapshot's frames at the seed time and the platform before the
canary rollout earlier."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.cluster.history import HISTORY_COLUMNS
from hxb_lab.config import ClickHouseConfig, Profile
from hxb_lab.demo import scenario
from hxb_lab.errors import ClusterError, HxbLabError, ParameterError
from hxb_lab.workbench import Workbench


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def test_history_names_the_rollout_and_the_cordon_before_now(demo_env: Path) -> None:
    wb = hx.connect("demo")
    changes = wb.cluster.history(start="-3d")
    assert list(changes.columns) == [name for name, _ in HISTORY_COLUMNS]
    assert str(changes["time"].dtype) == "datetime64[ns, UTC]"
    assert changes["time"].is_monotonic_increasing
    assert changes["time"].max() <= pd.Timestamp(wb.now())

    rollout = changes[changes["what"] == "rollout"]
    assert rollout[["kind", "namespace", "name", "change"]].values.tolist() == [
        ["InferenceService", "assistant", "llm-chat", "MODIFIED"]
    ]
    row = rollout.iloc[0]
    assert row["time"] == pd.Timestamp(wb.now() - scenario.CANARY_ROLLOUT.starts_before_now)
    assert row["diff"]["spec.predictor.model.storageUri"] == [
        "s3://hxb-models/llm-chat/v7",
        "s3://hxb-models/llm-chat/v8",
    ]
    assert row["diff"]["spec.predictor.canaryTrafficPercent"] == [None, 20]
    assert row["who"] == "argocd-application-controller"

    cordons = changes[changes["what"] == "cordon"]
    cordoned = wb.cluster.nodes().query("unschedulable")["name"]
    assert sorted(cordons["name"]) == sorted(cordoned)
    assert (cordons["diff"].map(lambda d: d["spec.unschedulable"]) == [[None, True]]).all()
    assert (cordons["time"] < row["time"]).all()  # the cordon came first, then the canary

    # The canary's new revision was created with the rollout; its pods came with it.
    new_revision = changes[
        (changes["name"] == "llm-chat-predictor-00008-deployment") & (changes["change"] == "ADDED")
    ]
    assert new_revision["time"].tolist() == [row["time"]]


def test_history_filters_by_kind_name_and_time(demo_env: Path) -> None:
    wb = hx.connect("demo")
    nodes = wb.cluster.history(kind="no", start="-1d")
    assert set(nodes["kind"]) == {"Node"}
    assert set(nodes["what"]) == {"cordon"}
    one = wb.cluster.history(kind="isvc", name="llm-chat", start="-3d")
    assert one["change"].tolist() == ["LISTED", "MODIFIED"]
    assert wb.cluster.history(name="llm-chat", start="-1h").empty  # the rollout was 2 h ago
    with pytest.raises(ClusterError, match="unknown resource kind 'gizmo'"):
        wb.cluster.history(kind="gizmo")
    with pytest.raises(ParameterError, match="end"):
        wb.cluster.history(start="-1h", end="-2h")
    every = wb.cluster.history(start="-6h")
    lane = wb.cluster.history(start="-6h", what=["rollout", "cordon"])
    assert len(lane) == 2 < len(every)  # the events and creations are left out
    assert lane.equals(every[every["what"].isin(["rollout", "cordon"])].reset_index(drop=True))
    with pytest.raises(ParameterError, match="what: 'rolout' is not one of rollout, "):
        wb.cluster.history(what="rolout")


def test_at_the_seed_time_gives_the_snapshots_frames(demo_env: Path) -> None:
    wb = hx.connect("demo")
    then = wb.cluster.at(wb.now())
    pd.testing.assert_frame_equal(
        _sorted(then.pods(), ["namespace", "name"]),
        _sorted(wb.cluster.pods(), ["namespace", "name"]),
    )
    pd.testing.assert_frame_equal(
        _sorted(then.nodes(), ["name"]), _sorted(wb.cluster.nodes(), ["name"])
    )
    pd.testing.assert_frame_equal(
        _sorted(then.workloads(), ["namespace", "kind", "name"]),
        _sorted(wb.cluster.workloads(), ["namespace", "kind", "name"]),
    )


def test_at_a_past_moment_gives_the_platform_before_the_rollout(demo_env: Path) -> None:
    wb = hx.connect("demo")
    rollout = wb.now() - scenario.CANARY_ROLLOUT.starts_before_now
    before = wb.cluster.at(rollout - timedelta(minutes=1))
    deployments = before.workloads(namespace="assistant").query("kind == 'Deployment'")
    assert "llm-chat-predictor-00008-deployment" not in set(deployments["name"])
    assert "llm-chat-predictor-00007-deployment" in set(deployments["name"])
    chat = before.pods(
        namespace="assistant", selector="serving.kserve.io/inferenceservice=llm-chat"
    )
    assert set(chat["labels"].map(lambda labels: labels["hxb.io/model-version"])) == {"7"}
    # Five hours and a minute ago no node was cordoned yet.
    cordoned_at = wb.cluster.history(kind="node", start="-1d")["time"].min()
    assert not wb.cluster.at(cordoned_at - timedelta(minutes=1)).nodes()["unschedulable"].any()
    assert wb.cluster.at(cordoned_at).nodes()["unschedulable"].sum() == 1


def test_a_store_without_history_says_how_to_record_one(tmp_path: Path) -> None:
    telemetry = tmp_path / "telemetry"
    telemetry.mkdir()
    wb = Workbench(Profile(name="bare", clickhouse=ClickHouseConfig(dsn=f"parquet://{telemetry}")))
    with pytest.raises(HxbLabError, match=r"holds no cluster history.*hxb-lab record"):
        wb.cluster.history()
