"""``platform/summary``: the platform at a glance, each part on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.conftest import body, get


async def test_summary_of_the_demo_counts_nodes_and_gpus_as_the_cluster_frames_do(
    jp_fetch: Any, demo_env: Path
) -> None:
    import hxb_lab as hx

    wb = hx.connect()
    nodes = wb.cluster.nodes()
    alerts = wb.alerts.active()
    deployments = wb.inference.deployments()

    data = body(await get(jp_fetch, "platform", "summary"))

    assert data["profile"] == "demo"
    cluster = data["cluster"]
    assert sorted(cluster["clusters"]) == sorted(set(nodes["cluster"]))
    assert cluster["nodes"] == {"ready": int(nodes["ready"].sum()), "total": len(nodes)}
    gpu_nodes = nodes[nodes["gpu_capacity"] > 0]
    expected = {
        product: int(group["gpu_capacity"].sum())
        for product, group in gpu_nodes.groupby("gpu_product")
    }
    assert {g["product"]: g["total"] for g in cluster["gpus"]} == expected
    assert sum(g["total"] for g in cluster["gpus"]) > 0
    firing = alerts[alerts["state"] == "active"]
    assert data["alerts"]["firing"] == len(firing) > 0
    assert data["alerts"]["names"] == sorted(set(firing["alertname"]))
    failing = deployments[~deployments["ready"].astype(bool)]
    assert data["deployments"]["failing"] == len(failing) > 0  # the demo's model that fails to load
    assert data["deployments"]["total"] == len(deployments)
    assert {d["name"] for d in data["deployments"]["items"]} == set(failing["name"])
    assert data["health"] == "degraded"


async def test_an_unreachable_cluster_is_one_unavailable_part_not_a_failed_summary(
    jp_fetch: Any, profiles_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    profiles_file.write_text(
        f'default = "broken"\n\n[profiles.broken]\nkube = {{ kubeconfig = "{missing}" }}\n'
    )

    response = await get(jp_fetch, "platform", "summary")

    assert response.code == 200
    data = body(response)
    assert data["profile"] == "broken"
    assert data["health"] == "unavailable"
    reason = data["cluster"]["unavailable"]
    assert str(missing) in reason and "\n" not in reason
    assert set(data) >= {"alerts", "deployments"}


async def test_free_gpus_are_those_on_ready_schedulable_nodes(
    jp_fetch: Any, demo_env: Path
) -> None:
    """The demo cordons an A100 node with 8 free GPUs: the sidebar must not offer them."""
    import hxb_lab as hx

    nodes = hx.connect().cluster.nodes()
    gpu_nodes = nodes[nodes["gpu_capacity"] > 0]
    usable = gpu_nodes["ready"] & ~gpu_nodes["unschedulable"]
    assert (~usable & (gpu_nodes["gpu_free"] > 0)).any(), "the demo has free GPUs it cannot use"

    data = body(await get(jp_fetch, "platform", "summary"))

    shown = {g["product"]: g for g in data["cluster"]["gpus"]}
    for product, group in gpu_nodes.groupby("gpu_product"):
        ok = usable[group.index]
        assert shown[product] == {
            "product": product,
            "free": int(group.loc[ok, "gpu_free"].sum()),
            "unusable": int(group.loc[~ok, "gpu_free"].sum()),
            "total": int(group["gpu_capacity"].sum()),
        }
    a100 = shown["NVIDIA-A100-SXM4-40GB"]
    assert a100["unusable"] == 8 and a100["free"] == 6
