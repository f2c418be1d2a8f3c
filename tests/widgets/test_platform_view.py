"""wb.view.platform() and the stack's figures on the demo (snapshot cluster, chDB DCGM
telemetry): what each area shows is what the frames hold, cluster strings escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab import viz
from hxb_lab.errors import ParameterError
from hxb_lab.widgets.platform import AREAS


@pytest.fixture
def wb(demo_env: Path):
    workbench = hx.connect()
    yield workbench
    workbench.close()


def test_each_area_of_the_platform_view_shows_the_demo_story(wb) -> None:
    view = wb.view.platform()
    assert view.error_message == "" and view.notes.value == ""
    split = {t.name: list(t.x) for t in view.pane.live.data}
    assert split == {"canary": [20], "stable": [80]}
    shown = {"traffic": None, "storage": None, "scaling": None, "notebooks": None, "secrets": None}
    for area in AREAS:
        view.area.value = area
        assert view.error_message == "", area
        shown[area] = view.first.frame
    assert "model-cache-llm-chat-v9" in set(shown["storage"]["claim"])
    assert shown["scaling"]["at_max"].any()
    candidates = shown["notebooks"][shown["notebooks"]["cull_candidate"]]
    assert list(candidates["name"]) == ["notebook-kim"]
    assert not bool(shown["secrets"].set_index("name").loc["risk-db-url", "synced"])
    expiry = view.pane.live.data[0]  # the secrets area draws the certificates' days left
    assert expiry.y[0].startswith("api.assistant.hxb.example") and expiry.x[0] < 14
    with pytest.raises(ParameterError, match="area: 'dns' is not one of traffic"):
        wb.view.platform(area="dns")


def test_idle_notebooks_are_the_cull_candidates_by_dcgm(wb) -> None:
    books = wb.platform.idle_notebooks()
    kim = books.iloc[0]
    assert (kim["name"], kim["cull_candidate"]) == ("notebook-kim", True)
    assert kim["utilization_pct"] < 5 and kim["samples"] > 0
    others = books[books["name"] != "notebook-kim"]
    assert len(others) and not others["cull_candidate"].any()


def test_istio_metrics_show_the_canary_slower_on_its_fifth_of_the_traffic(wb) -> None:
    metrics = wb.platform.route_metrics(start="-1h").set_index("subset")
    canary, stable = metrics.loc["canary"], metrics.loc["stable"]
    assert canary["revision"] == "llm-chat-predictor-00008"
    share = canary["requests_per_s"] / (canary["requests_per_s"] + stable["requests_per_s"])
    assert 0.15 < share < 0.25  # the VirtualService's 20 %
    assert canary["p95_ms"] > 2 * stable["p95_ms"]  # the regression the canary brought
    assert 0 < canary["error_rate"] < 0.01


def test_figures_escape_cluster_strings_and_say_when_empty() -> None:
    evil = "<img src=x onerror=alert(1)>"
    routes = pd.DataFrame({"namespace": [evil], "virtual_service": ["vs"], "route": ["0"],
                           "subset": ["a"], "weight": [100], "subset_defined": [False],
                           "revision": [None]})  # fmt: skip
    fig = viz.traffic_split(routes)
    assert "<img" not in fig.data[0].y[0] and fig.data[0].marker.color[0] == "#d64545"
    empty = viz.claim_status(pd.DataFrame(columns=["storage_class", "status", "requested_bytes"]))
    assert re.search("no PersistentVolumeClaims", str(empty.layout.annotations[0].text))
