"""The demo's story as the cluster shows it: what `hxb_lab.demo.scenario` says is there, is."""

from __future__ import annotations

import pandas as pd

import hxb_lab as hx
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import Builder
from tests.cluster.conftest import NOW


def test_the_forgotten_notebook_holds_a_whole_a100_for_days(snap: hx.Workbench) -> None:
    notebook = scenario.FORGOTTEN_NOTEBOOK
    held = snap.cluster.gpu_allocation(by="pod").set_index(["namespace", "pod"])
    row = held.loc[("risk", "notebook-kim-0")]
    assert (row["gpus_allocated"], row["gpu_product"], row["phase"]) == (
        1,
        "NVIDIA-A100-SXM4-40GB",
        "Running",
    )
    gpus = snap.cluster.gpus().set_index("node")
    assert gpus.loc[row["node"], "product"] == notebook.gpu_product
    pods = snap.cluster.pods(workspace="risk").set_index("name")
    pod = pods.loc["notebook-kim-0"]
    assert pod["workload_kind"] == "StatefulSet" and pod["workload_name"] == "notebook-kim"
    assert pd.Timestamp(NOW) - pod["started"] == pd.Timedelta(days=3)


def test_a_part_told_aside_leaves_every_other_random_choice_alone() -> None:
    """The notebook draws from a stream of its own, so adding it to the story did not
    rename or re-time the rest of the platform."""
    plain, with_aside = Builder(7, NOW), Builder(7, NOW)
    first = [plain.suffix(), plain.uid()]
    assert [with_aside.suffix(), with_aside.uid()] == first
    with with_aside.aside("notebook-kim"):
        own = with_aside.suffix(10)
    assert [with_aside.suffix(), with_aside.uid()] == [plain.suffix(), plain.uid()]
    again = Builder(7, NOW)
    with again.aside("notebook-kim"):
        assert again.suffix(10) == own  # its own stream is deterministic too
