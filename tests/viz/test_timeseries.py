"""`timeseries()`: one line per series, labels in legend and hover, downsampling of long series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hxb_lab import viz
from tests.viz import frames as F


def _frame(n: int, series: int = 1, freq: str = "s") -> pd.DataFrame:
    times = pd.date_range("2026-11-27", periods=n, freq=freq, tz="UTC")
    rng = np.random.default_rng(3)
    return pd.concat(
        [
            pd.DataFrame({"timestamp": times, "value": rng.normal(size=n).cumsum(), "pod": f"p{i}"})
            for i in range(series)
        ],
        ignore_index=True,
    )


def test_one_line_per_series_named_by_the_labels_that_differ() -> None:
    fig = viz.timeseries(F.gpu_metrics(), unit="%")
    assert len(fig.data) == 12  # 3 hosts x 4 GPUs
    names = {t.meta for t in fig.data}  # whole names; the legend's are cut at 60 characters
    # modelName follows the host, namespace and pod the GPU: all differ somewhere, so all named;
    # empty labels are left out.
    assert "gpu=1, modelName=NVIDIA-L4, Hostname=l4-0" in names
    assert (
        "gpu=0, modelName=NVIDIA-H100-80GB-HBM3, Hostname=h100-0, namespace=assistant, "
        "pod=llm-chat-1" in names
    )
    assert all(t.hovertemplate.startswith("%{meta}<br>") for t in fig.data)
    assert all(len(t.name) <= 60 and t.meta.startswith(t.name.rstrip("…")) for t in fig.data)
    assert fig.layout.showlegend is True
    assert fig.layout.meta == {"points": 36, "shown": 36, "downsampled": False}
    assert "downsampled" not in fig.layout.title.text


def test_a_single_label_names_its_series_by_value_and_points_stay_in_time_order() -> None:
    frame = _frame(50, series=2).sample(frac=1.0, random_state=1)  # shuffled
    fig = viz.timeseries(frame, title="queue depth")
    assert [t.name for t in fig.data] == ["p0", "p1"]
    xs = pd.to_datetime(pd.Series(fig.data[0].x))
    assert xs.is_monotonic_increasing
    assert len(xs) == 50
    original = frame[frame["pod"] == "p0"].sort_values("timestamp")["value"].to_numpy()
    assert np.array_equal(np.asarray(fig.data[0].y), original)
    assert fig.layout.title.text == "queue depth"


def test_a_long_series_is_downsampled_to_at_most_4000_points_and_the_title_says_so() -> None:
    frame = _frame(200_000, series=2)
    fig = viz.timeseries(frame)
    assert [len(t.x) for t in fig.data] == [4000, 4000]
    assert fig.layout.meta == {"points": 400_000, "shown": 8000, "downsampled": True}
    assert "downsampled to at most 4,000 points per series, from 400,000" in fig.layout.title.text
    # MinMaxLTTB keeps the shape: the peaks (nearly all of the range) and both ends.
    first = frame[frame["pod"] == "p0"]
    ys = np.asarray(fig.data[0].y)
    assert ys.max() == first["value"].max()
    assert ys.max() - ys.min() > 0.99 * (first["value"].max() - first["value"].min())
    assert ys[-1] == first["value"].iloc[-1]
    assert pd.Timestamp(fig.data[0].x[0]) == first["timestamp"].iloc[0].tz_localize(None)
    assert fig.data[0].type == "scatter"
    assert len(fig.to_json()) < 400_000


def test_gaps_survive_downsampling() -> None:
    frame = _frame(10_000)
    frame.loc[4000:4999, "value"] = np.nan
    fig = viz.timeseries(frame, max_points=1000)
    assert len(fig.data[0].y) <= 1000
    assert np.isnan(np.asarray(fig.data[0].y, dtype=float)).any()


def test_many_points_in_all_use_webgl_and_an_empty_frame_says_no_data() -> None:
    fig = viz.timeseries(_frame(1000, series=30))
    assert {t.type for t in fig.data} == {"scattergl"}
    empty = viz.timeseries(_frame(1).iloc[:0])
    assert empty.layout.annotations[0].text == "no data in this range"


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamps_of_any_resolution_land_on_the_same_instants(unit: str) -> None:
    frame = _frame(10, freq="min")
    frame["timestamp"] = frame["timestamp"].dt.as_unit(unit)
    fig = viz.timeseries(frame)
    assert pd.Timestamp(fig.data[0].x[-1]) == pd.Timestamp("2026-11-27 00:09:00")


def test_evenly_spaced_shortcut_picks_the_same_points_and_uneven_series_use_time() -> None:
    import importlib

    module = importlib.import_module("hxb_lab.viz.timeseries")
    x = np.arange(200_000, dtype=np.int64) * 1_000 + 5
    y = np.random.default_rng(2).normal(size=200_000).cumsum()
    assert np.array_equal(module.downsample(x, y, 500), module.downsample(x, y, 500, even=True))
    uneven = _frame(50_000)
    uneven["timestamp"] = uneven["timestamp"] + pd.to_timedelta(
        np.random.default_rng(4).integers(0, 900, len(uneven)), unit="ms"
    )
    fig = viz.timeseries(uneven, max_points=1000)
    shown = pd.to_datetime(pd.Series(fig.data[0].x))
    assert len(shown) == 1000 and shown.is_monotonic_increasing


def test_a_legend_of_long_names_goes_below_and_the_plot_keeps_its_height() -> None:
    """The inference view's GPU chart was 50 px wide beside a legend of long names."""
    fig = viz.timeseries(F.gpu_metrics(), unit="%")  # 12 series, names up to 90 characters
    legend = fig.layout.legend
    assert (legend.orientation, legend.yref, legend.yanchor) == ("h", "container", "bottom")
    # The figure grows by what the legend and the axis take below the plot.
    plot_height = fig.layout.height - fig.layout.margin.b - fig.layout.template.layout.margin.t
    assert plot_height >= 300
    few = viz.timeseries(_frame(10, series=3), unit="%")  # three short names: beside the plot
    assert few.layout.legend.orientation is None and few.layout.height == 400
