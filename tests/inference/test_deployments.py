"""`wb.inference.deployments()` and `pods()`: the demo's story, a live API server equal to
its snapshot, and the KServe and Seldon spellings a cluster may use."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from hxb_lab.errors import HxbLabError, NotFoundError
from hxb_lab.inference.deployments import DEPLOYMENT_COLUMNS, POD_EXTRA_COLUMNS
from hxb_lab.workbench import Workbench
from tests.inference.conftest import (
    PREFIX,
    ServingPlatform,
    live_workbench,
    put_inference_service,
    snapshot_workbench,
)

COLUMNS = [
    "cluster", "namespace", "workspace", "name", "kind", "ready", "reason", "message", "url",
    "model_format", "runtime", "storage_uri", "model_name", "model_version",
    "previous_model_version", "min_replicas", "max_replicas", "replicas", "ready_replicas",
    "gpus_per_replica", "gpu_product", "canary_percent", "latest_ready_revision",
    "previous_revision", "created",
]  # fmt: skip


def _one(frame: pd.DataFrame, name: str) -> pd.Series:
    rows = frame[frame["name"] == name]
    assert len(rows) == 1, f"{name}: {len(rows)} rows"
    return rows.iloc[0]


def test_the_demo_shows_every_deployment_with_its_model_gpus_and_health(demo_wb: Workbench) -> None:
    df = demo_wb.inference.deployments()
    assert list(df.columns) == COLUMNS == [c for c, _ in DEPLOYMENT_COLUMNS]
    assert str(df["created"].dtype) == "datetime64[ns, UTC]"
    assert str(df["model_version"].dtype) == "Int64"
    assert str(df["gpus_per_replica"].dtype) == "int64"
    assert len(df) == 12
    assert set(df["kind"]) == {"kserve", "seldon"}
    assert (df["workspace"] == df["namespace"]).all()

    chat = _one(df, "llm-chat")  # the canary in progress
    assert (chat["kind"], chat["ready"], chat["model_name"]) == ("kserve", True, "llm-chat")
    assert (chat["model_version"], chat["previous_model_version"], chat["canary_percent"]) == (
        8,
        7,
        20,
    )
    assert chat["latest_ready_revision"] == "llm-chat-predictor-00008"
    assert chat["previous_revision"] == "llm-chat-predictor-00007"
    assert (chat["gpu_product"], chat["gpus_per_replica"]) == ("NVIDIA-H100-80GB-HBM3", 2)
    assert (chat["runtime"], chat["model_format"]) == ("kserve-tritonserver", "pytorch")
    assert chat["url"] == "https://llm-chat-assistant.hxb.example"

    tagger = _one(df, "image-tagger")  # cannot load its model
    assert not tagger["ready"]
    assert tagger["reason"] == "RevisionFailed"
    assert "failed to load model image-tagger v9" in tagger["message"]
    assert tagger["ready_replicas"] == 0
    assert pd.isna(tagger["latest_ready_revision"])

    fraud = _one(df, "fraud-score")  # CPU only
    assert fraud["gpus_per_replica"] == 0
    assert pd.isna(fraud["gpu_product"])
    assert (fraud["storage_uri"], fraud["model_version"]) == ("s3://hxb-models/fraud-score/v12", 12)
    assert (fraud["min_replicas"], fraud["max_replicas"], fraud["replicas"]) == (3, 6, 3)
    assert pd.isna(fraud["canary_percent"])
    assert pd.isna(fraud["previous_model_version"])

    embed = _one(df, "text-embed")
    assert embed["gpu_product"] == "NVIDIA-L4"
    intent = _one(df, "query-intent")  # a Seldon Model
    assert (intent["kind"], intent["runtime"], intent["model_format"]) == (
        "seldon",
        "mlserver",
        "sklearn",
    )
    assert (intent["ready"], intent["replicas"], intent["ready_replicas"]) == (True, 2, 2)
    assert pd.isna(intent["max_replicas"])
    assert pd.isna(intent["url"])


def test_the_demo_deployments_are_read_within_a_second(demo_wb: Workbench) -> None:
    import hxb_lab.inference.deployments  # noqa: F401  (imports are not the read)

    started = time.perf_counter()
    df = demo_wb.inference.deployments()
    assert time.perf_counter() - started < 1.0
    assert len(df) == 12


def test_a_namespace_filter_keeps_its_deployments_only(demo_wb: Workbench) -> None:
    assert set(demo_wb.inference.deployments(namespace="risk")["name"]) == {
        "fraud-score", "credit-limit", "aml-graph",
    }  # fmt: skip
    assert demo_wb.inference.deployments(namespace=["nope"]).columns.tolist() == COLUMNS


def test_the_pods_behind_a_deployment_show_revision_node_and_gpu(demo_wb: Workbench) -> None:
    pods = demo_wb.inference.pods("llm-chat")
    assert list(pods.columns[-5:]) == [c for c, _ in POD_EXTRA_COLUMNS]
    assert {"node", "gpu_requests", "phase", "ready"} <= set(pods.columns)
    assert len(pods) == 4
    assert set(pods["deployment"]) == {"llm-chat"}
    assert pods.groupby("revision")["model_version"].first().to_dict() == {
        "llm-chat-predictor-00007": 7,
        "llm-chat-predictor-00008": 8,
    }
    assert (pods["gpu_requests"] == 2).all()
    assert (pods["gpu_product"] == "NVIDIA-H100-80GB-HBM3").all()
    assert set(pods["component"]) == {"predictor"}

    tagger = demo_wb.inference.pods("image-tagger")
    assert set(tagger["reason"]) == {"CrashLoopBackOff"}
    assert not tagger["ready"].any()

    server = demo_wb.inference.pods("query-intent")  # the pods of the Seldon server loading it
    assert set(server["name"]) == {"mlserver-0", "mlserver-1"}
    assert (server["gpu_requests"] == 0).all()


def test_an_unknown_name_is_named_with_the_closest_ones(demo_wb: Workbench) -> None:
    with pytest.raises(
        NotFoundError, match=r"no inference deployment 'llm-chta' \(did you mean llm-chat"
    ):
        demo_wb.inference.pods("llm-chta")
    with pytest.raises(NotFoundError, match="in namespace 'search'"):
        demo_wb.inference.pods("llm-chat", namespace="search")


def _write_list(directory: Path, name: str, items: list[dict[str, object]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def test_older_predictor_spellings_affinity_and_registry_uris(tmp_path: Path) -> None:
    """A framework key instead of `model`, a GPU chosen by node affinity, a `models:/` URI,
    and an object no controller has reconciled yet."""
    products = ["NVIDIA-A100-SXM4-40GB", "NVIDIA-H100-80GB-HBM3"]
    expression = {"key": "nvidia.com/gpu.product", "operator": "In", "values": products}
    terms = {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}}
    legacy_predictor = {
        "minReplicas": 0,
        "affinity": affinity,
        "sklearn": {
            "storageUri": "models:/churn/3",
            "resources": {"limits": {"nvidia.com/gpu": "1"}},
        },
    }
    signed = "s3://bucket/m?X-Amz-Signature=abcd1234"
    fresh_model = {"modelFormat": {"name": "onnx"}, "storageUri": signed}
    isvcs = [
        {
            "metadata": {
                "name": "legacy",
                "namespace": "team",
                "creationTimestamp": "2026-01-02T03:04:05Z",
            },
            "spec": {"predictor": legacy_predictor},
        },
        {
            "metadata": {"name": "fresh", "namespace": "team"},
            "spec": {"predictor": {"model": fresh_model}},
        },
    ]
    _write_list(tmp_path / "c1", "inferenceservices.serving.kserve.io.json", isvcs)
    _write_list(tmp_path / "c1", "namespaces.json", [{"metadata": {"name": "team"}}])
    df = snapshot_workbench(tmp_path).inference.deployments()
    legacy = _one(df, "legacy")
    assert (legacy["model_format"], legacy["model_name"], legacy["model_version"]) == (
        "sklearn",
        "churn",
        3,
    )
    assert legacy["gpu_product"] == "NVIDIA-A100-SXM4-40GB|NVIDIA-H100-80GB-HBM3"
    assert (legacy["gpus_per_replica"], legacy["min_replicas"]) == (1, 0)
    assert legacy["created"] == pd.Timestamp("2026-01-02T03:04:05Z")
    fresh = _one(df, "fresh")
    assert (fresh["ready"], fresh["reason"], fresh["min_replicas"]) == (False, "NoStatus", 1)
    assert fresh["storage_uri"] == "s3://bucket/m?X-Amz-Signature=***", "signed URLs are redacted"
    assert pd.isna(fresh["model_name"])
    assert pd.isna(fresh["replicas"])
    assert pd.isna(legacy["workspace"])


@pytest.mark.kube
def test_a_live_cluster_gives_the_frame_of_its_snapshot(
    control_plane: object, serving_platform: ServingPlatform
) -> None:
    live = live_workbench(control_plane)  # type: ignore[arg-type]
    offline = snapshot_workbench(serving_platform.snapshot.parent)
    namespaces = serving_platform.namespaces
    got = live.inference.deployments(namespace=namespaces).drop(columns=["created"])
    want = offline.inference.deployments(namespace=namespaces).drop(columns=["created"])
    assert len(got) == 12
    assert set(got["namespace"]) == set(namespaces)
    pd.testing.assert_frame_equal(got, want)
    chat = _one(got, "llm-chat")
    assert (chat["canary_percent"], chat["previous_model_version"]) == (20, 7)

    # Tests copy llm-chat into namespaces of their own: name the one of the platform.
    where = f"{PREFIX}assistant"
    pods = live.inference.pods("llm-chat", namespace=where).drop(columns=["created", "started"])
    offline_pods = offline.inference.pods("llm-chat", namespace=where).drop(
        columns=["created", "started"]
    )
    pd.testing.assert_frame_equal(pods, offline_pods)
    assert len(pods) == 4
    assert pods["node"].str.startswith(f"{PREFIX}h100-").all()
    live.close()


@pytest.mark.kube
def test_a_name_in_two_namespaces_must_be_told_apart(
    control_plane: object,
    serving_platform: ServingPlatform,
    scenario_platform: object,
    kube_namespace: str,
) -> None:
    put_inference_service(control_plane, scenario_platform, "fraud-score", kube_namespace)  # type: ignore[arg-type]
    wb = live_workbench(control_plane)  # type: ignore[arg-type]
    with pytest.raises(
        HxbLabError, match=r"\d+ inference deployments are called 'fraud-score'"
    ) as many:
        wb.inference.pods("fraud-score")
    assert f"admin/{kube_namespace}" in str(many.value)
    assert f"admin/{PREFIX}risk" in str(many.value)
    assert "pass namespace=" in str(many.value)
    assert wb.inference.pods("fraud-score", namespace=kube_namespace).empty  # no pods copied
    wb.close()
