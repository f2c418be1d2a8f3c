"""wb.platform on the real API server: the simulated platform's traffic, storage, scaling,
Kubeflow and secrets-operator objects (the demo's story) read live, the same frames from its
snapshot, and the reads that cover less than was asked (absent CRDs, unknown versions, a
user who may not list a kind, objects without status)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pandas as pd
import pytest

from hxb_lab.cluster import Resource
from hxb_lab.cluster.optional import AbsentKindWarning
from hxb_lab.platform._read import read_kind
from hxb_lab.warn import PartialReadWarning
from tests.cluster.conftest import LIVE_PREFIX, live_workbench, snapshot_workbench

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench
    from tests.cluster.conftest import LivePlatform
    from tests.support.controlplane import ControlPlane

READS = (
    "routes", "ingresses", "volumes", "storage_classes", "ceph", "autoscalers",
    "disruption_budgets", "notebooks", "secret_syncs",
)  # fmt: skip


def _ours(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the simulated platform in the shared server (its names start with eq-)."""
    column = "namespace" if "namespace" in frame else "name"
    ours = frame[frame[column].fillna("").str.startswith(LIVE_PREFIX)]
    return ours.drop(columns=[c for c in ("created",) if c in frame])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns[:6])).reset_index(drop=True)


def test_every_read_gives_the_same_frame_live_and_from_its_snapshot(
    live: Workbench, live_platform: LivePlatform
) -> None:
    snap = snapshot_workbench(live_platform.snapshot.parent)
    for read in READS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialReadWarning)
            got = _sorted(_ours(getattr(live.platform, read)()).assign(cluster="x"))
            want = _sorted(_ours(getattr(snap.platform, read)()).assign(cluster="x"))
        assert len(got) > 0, read
        pd.testing.assert_frame_equal(got, want, obj=read)


def test_the_story_read_live(live: Workbench) -> None:
    ns = f"{LIVE_PREFIX}assistant"
    routes = live.platform.routes(namespace=ns).set_index("subset")
    assert routes.loc["canary", "weight"] == 20 and routes.loc["stable", "weight"] == 80
    assert routes.loc["canary", "revision"] == "llm-chat-predictor-00008"
    assert (routes["inference_service"] == "llm-chat").all()
    assert (routes["weight"] == routes["kserve_percent"]).all() and routes["subset_defined"].all()

    ingresses = live.platform.ingresses().set_index("name")
    api = ingresses.loc["api"]
    assert (api["kind"], api["ingress_class"], api["deployment"]) == ("Ingress", "nginx", "api")
    assert 8.9 < api["tls_days_left"] <= 9.0
    assert ingresses.loc["search-api", "path"] == "/v1"
    assert ingresses.loc["search-api", "ingress_class"] == "traefik"

    volumes = live.platform.volumes()
    pending = volumes[(volumes["status"] == "Pending") & volumes["namespace"].eq(ns)]
    assert list(pending["claim"]) == ["model-cache-llm-chat-v9"]
    assert pending["model_cache"].all() and pending["requested_bytes"].iloc[0] == 2 * 2**40
    kim = volumes[volumes["claim"] == "notebook-kim-workspace"].iloc[0]
    assert kim["status"] == "Bound" and kim["pods"] == "notebook-kim-0"
    assert "VolumeReleased" in set(_ours(volumes)["status"])

    ceph = _ours(live.platform.ceph()).iloc[0]
    assert ceph["health"] == "HEALTH_WARN" and "OSD_NEARFULL" in ceph["checks"]
    assert 0.85 < ceph["used_share"] < 0.9

    scalers = live.platform.autoscalers(namespace=ns)
    hpa = scalers[scalers["kind"] == "HorizontalPodAutoscaler"].iloc[0]
    assert hpa["at_max"] and hpa["limited"] == "TooManyReplicas" and hpa["current"] == 134.0
    assert set(scalers[scalers["kind"] == "PodAutoscaler"]["inference_service"]) >= {"llm-chat"}

    budget = live.platform.disruption_budgets(namespace=ns).iloc[0]
    assert budget["name"] == "llm-chat" and budget["blocks_eviction"]
    evictions = live.platform.evictions(f"{LIVE_PREFIX}h100-0")
    refused = evictions[evictions["refused"]]
    assert len(refused) >= 1 and set(refused["budget"]) == {"llm-chat"}

    books = live.platform.notebooks().set_index("name")
    assert books.loc["notebook-kim", "gpu_product"] == "NVIDIA-A100-SXM4-40GB"
    assert (
        books.loc["notebook-kim", "gpus"] == 1 and books.loc["notebook-kim", "status"] == "Running"
    )

    syncs = live.platform.secret_syncs().set_index("name")
    assert syncs.loc["risk-db-url", "synced"] == False  # noqa: E712 (a nullable boolean)
    assert syncs.loc["risk-db-url", "reason"] == "SecretSyncedError"
    assert syncs.loc["registry-pull", "kind"] == "SealedSecret"


def test_no_secret_value_reaches_a_frame(live: Workbench, live_platform: LivePlatform) -> None:
    frames = [getattr(live.platform, read)() for read in ("ingresses", "secret_syncs")]
    text = "".join(f.to_csv() for f in frames)
    assert "CERTIFICATE" not in text and "AgB" not in text  # no PEM, no sealed data
    stored = orjson.loads((live_platform.snapshot / "secrets.json").read_bytes())["items"]
    assert stored and all(s["data"]["tls.key"] == "" for s in stored)  # the demo has no keys


def test_a_cluster_without_the_crd_or_its_version_gives_an_empty_read_and_one_note(
    live: Workbench,
) -> None:
    absent = Resource("Widget", "widgets", "example.hxb.io", "v1")
    with pytest.warns(AbsentKindWarning) as notes:
        assert list(read_kind(live.cluster, absent)) == []
    assert [str(n.message) for n in notes] == [
        "cluster 'admin' has no Widget CRD (widgets.example.hxb.io): no rows from it"
    ]
    newer = Resource("VirtualService", "virtualservices", "networking.istio.io", "v2")
    with pytest.warns(PartialReadWarning, match="serves virtualservices.networking.istio.io in"):
        assert list(read_kind(live.cluster, newer)) == []


def test_a_user_who_may_not_list_a_kind_gets_one_warning_and_the_rest(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    control_plane.grant_namespace_access(
        kube_namespace, create_namespace=False,
        rules=[("", ["pods", "services"]), ("networking.k8s.io", ["ingresses"])],
    )  # fmt: skip
    control_plane.apply(
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": "web", "namespace": kube_namespace},
         "spec": {"rules": [{"host": "web.example", "http": {"paths": [{
             "path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    )  # fmt: skip
    wb = live_workbench(control_plane, "restricted", namespace=kube_namespace)
    with pytest.warns(PartialReadWarning) as notes:
        frame = wb.platform.ingresses(namespace=kube_namespace)
    assert list(frame["host"]) == ["web.example"]
    messages = [str(n.message) for n in notes]
    assert any("on 'restricted': its IngressRoute rows are missing" in m for m in messages)
    assert any("on 'restricted': its Deployment rows are missing" in m for m in messages)


def test_objects_without_status_are_named_once_and_keep_their_rows(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    control_plane.apply(
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "metadata": {"name": "new", "namespace": kube_namespace},
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "x"}}}}
    )  # fmt: skip
    wb = live_workbench(control_plane)
    with pytest.warns(
        PartialReadWarning,
        match=rf"1 PodDisruptionBudget object\(s\) have no status yet \({kube_namespace}/new\)",
    ):
        frame = wb.platform.disruption_budgets(namespace=kube_namespace)
    row = frame.iloc[0]
    assert row["max_unavailable"] == "1" and pd.isna(row["disruptions_allowed"])
    assert not row["blocks_eviction"]


def test_a_snapshot_without_a_kind_or_with_an_unknown_version(tmp_path: Path) -> None:
    cluster = tmp_path / "edge"
    cluster.mkdir()
    book = {"metadata": {"name": "nb", "namespace": "ml"}, "spec": {}, "kind": "Notebook"}
    items = [{**book, "apiVersion": "kubeflow.org/v1"},
             {**book, "apiVersion": "kubeflow.org/v2", "metadata": {"name": "nb2", "namespace": "ml"}}]  # fmt: skip
    (cluster / "notebooks.kubeflow.org.json").write_bytes(orjson.dumps({"items": items}))
    (cluster / "pods.json").write_bytes(orjson.dumps({"items": []}))
    wb = snapshot_workbench(tmp_path)
    with pytest.warns(AbsentKindWarning) as notes:
        assert wb.platform.secret_syncs().empty
    assert [str(n.message).split(":")[0] for n in notes] == [
        "snapshot 'edge' has no ExternalSecret list (externalsecrets.external-secrets.io.json)",
        "snapshot 'edge' has no SealedSecret list (sealedsecrets.bitnami.com.json)",
    ]
    with pytest.warns(
        PartialReadWarning, match="snapshot 'edge' holds Notebook objects of kubeflow.org/v2,"
    ):
        books = wb.platform.notebooks()
    assert list(books["name"]) == ["nb"]
