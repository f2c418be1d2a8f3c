"""`wb.view.cluster()` on the demo platform: cards, node filters, pods that follow the selection."""

from __future__ import annotations

import re
from pathlib import Path

import hxb_lab as hx
from hxb_lab.widgets.cluster import ClusterView


def _text(html: str) -> str:
    return re.sub(r"<style>.*?</style>|<[^>]+>", " ", html)


def test_cluster_view_on_the_demo(demo_env: Path) -> None:
    wb = hx.connect()
    view = wb.view.cluster()
    assert isinstance(view, ClusterView)
    assert view.error_message == ""
    nodes, pods = wb.cluster.nodes(), wb.cluster.pods()
    cards = " ".join(_text(view.cards.value).split())
    ready = int(nodes["ready"].sum())
    assert f"nodes ready {ready}/{len(nodes)}" in cards
    assert f"pods {len(pods)} Running {int((pods['phase'] == 'Running').sum())}" in cards
    free, total = int(nodes["gpu_free"].sum()), int(nodes["gpu_allocatable"].sum())
    assert f"GPUs free {free}/{total}" in cards

    # Filters: text, pool, readiness.
    assert len(view.nodes_table) == len(nodes)
    view.search.value = "h100"
    assert set(view.nodes_table.frame["name"]) == set(nodes[nodes["pool"] == "h100"]["name"])
    view.search.value = ""
    view.readiness.value = "not ready"
    assert set(view.nodes_table.frame["name"]) == set(nodes[~nodes["ready"]]["name"])
    view.readiness.value = ""
    gpu_pool = next(p for p in view.pool.options if p[1] not in ("", "cpu"))[1]
    view.pool.value = gpu_pool
    assert set(view.nodes_table.frame["pool"]) == {gpu_pool}
    assert view.nodes_table.widget.caption == (f"nodes: {len(view.nodes_table)} of {len(nodes)}")
    view.pool.value = ""

    # The pods table follows the selected node, then the workspace too.
    busiest = nodes.sort_values("pods").iloc[-1]["name"]
    assert view.nodes_table.select_where("name", busiest)
    shown = view.pods_table.frame
    assert len(shown) == int((pods["node"] == busiest).sum())
    assert set(shown["node"]) == {busiest}
    assert view.pods_table.widget.caption == f"pods on node {busiest}: {len(shown)}"
    view.nodes_table.select(None)
    view.workspace.value = "search"
    assert set(view.pods_table.frame["workspace"]) == {"search"}
    assert len(view.pods_table.frame) == int((pods["workspace"] == "search").sum())

    # A selected pod shows its labels and annotations under the table.
    assert view.pod_details.value == ""
    view.pods_table.select(0)
    pod = view.selected_pod()
    assert pod is not None
    details = " ".join(_text(view.pod_details.value).split())
    assert details.startswith(f"pod search/{pod['name']} labels")
    for key, value in pod["labels"].items():
        assert f"{key} {value}" in details
    expected = " ".join(f"{k} {v}" for k, v in sorted(pod["annotations"].items()))
    assert details.endswith(f"annotations {expected or 'no annotations'}")
    view.refresh_button.click()  # a refresh keeps the pod shown
    assert view.selected_pod()["name"] == pod["name"]
    assert " ".join(_text(view.pod_details.value).split()) == details
    view.pods_table.select(None)
    assert view.pod_details.value == ""

    # Refreshing keeps the choices; the static figure covers the filtered nodes.
    view.refresh_button.click()
    assert view.workspace.value == "search"
    assert view.error_message == ""
    fig = view.figure()
    assert len(fig.data[0].y) == len(nodes)
    view.close()
