"""GPU fleet figures: a node × GPU heatmap per product, and who holds the GPUs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hxb_lab.errors import ParameterError
from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["gpu_allocation", "gpu_heatmap"]

#: Label spellings of the same fact: DCGM exporter labels first, then HXB Lab's own.
NODE = ("node", "Hostname", "hostname", "instance")
GPU = ("gpu", "gpu_index", "GPU_I_ID", "device")
PRODUCT = ("product", "gpu_product", "modelName")
KINDS = {"utilization": ("GPU utilisation", "%"), "memory": ("GPU memory used", "GiB")}
GIB = 2**30
#: How `gpu_allocation` draws the holders of the GPUs.
HOLDERS = ("treemap", "bars")


def gpu_heatmap(
    frame: pd.DataFrame,
    *,
    kind: str = "utilization",
    value: str = "value",
    agg: str = "mean",
    unit: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """Node × GPU heatmap of utilisation (``kind="utilization"``, 0-100 %) or memory used
    (``kind="memory"``: values in bytes, as ``wb.metrics.gpu_memory()`` gives them, shown
    in GiB unless another `unit` is named), one panel per GPU product.

    `frame` is a tidy DCGM frame (``wb.metrics.gpu_utilization()`` / ``gpu_memory()``):
    `value` plus node (``Hostname``), GPU index (``gpu``) and product (``modelName``)
    labels; samples over time are reduced per GPU with `agg` ("mean", "max" or "last").
    Hover shows the pod holding the GPU when the frame has ``namespace``/``pod`` labels.
    """
    import numpy as np
    from plotly.subplots import make_subplots

    if kind not in KINDS:
        raise ParameterError([f"kind: {kind!r} is not one of {', '.join(KINDS)}"])
    if agg not in ("mean", "max", "last"):
        raise ParameterError([f"agg: {agg!r} is not one of mean, max, last"])
    name, default_unit = KINDS[kind]
    if kind == "memory" and unit is None and value in frame.columns:
        frame = frame.assign(**{value: frame[value] / GIB})
    unit = default_unit if unit is None else unit
    heading = _theme.esc(title if title is not None else f"{name} ({unit}), {agg} per GPU")
    node, gpu = _frames.first_present(frame, NODE), _frames.first_present(frame, GPU)
    _frames.require(frame, [value], "gpu_heatmap")
    if node is None or gpu is None:
        have = ", ".join(map(str, frame.columns))
        raise ParameterError(
            [
                f"no {what} column: expected one of {', '.join(names)} (the frame has: {have})"
                for what, names, found in (("node", NODE, node), ("GPU", GPU, gpu))
                if found is None
            ],
            subject="gpu_heatmap frame",
        )
    product = _frames.first_present(frame, PRODUCT)
    if frame.empty:
        return _theme.no_data(_theme.new_figure(heading))

    keys = [node, gpu] + ([product] if product else [])
    ordered = frame.sort_values("timestamp") if "timestamp" in frame.columns else frame
    grouped = ordered.groupby(keys, sort=False, dropna=False)
    reduced = getattr(grouped[value], agg)().rename("v").reset_index()
    for label in ("namespace", "pod"):
        if label in frame.columns:
            holder = grouped[label].last().rename(label).reset_index(drop=True)
            reduced[label] = holder.fillna("").astype(str).to_numpy()
    reduced["product"] = reduced[product].fillna("unknown").astype(str) if product else "GPUs"
    reduced["gpu_index"] = reduced[gpu].astype(str)

    products = sorted(reduced["product"].unique())
    heights = [reduced.loc[reduced["product"] == p, node].nunique() for p in products]
    height = 110 + 34 * sum(heights) + 70 * len(products)
    fig = make_subplots(
        rows=len(products),
        cols=1,
        row_heights=[h / sum(heights) for h in heights],
        vertical_spacing=min(0.3, 64 / height) if len(products) > 1 else 0.0,
        subplot_titles=[_theme.esc(p) for p in products],
    )
    fig.update_layout(template=_theme.template(), title={"text": heading})
    axes: dict[str, dict[str, object]] = {}
    for row, prod in enumerate(products, start=1):
        part = reduced[reduced["product"] == prod]
        nodes = sorted(part[node].astype(str).unique())
        gpus = sorted(part["gpu_index"].unique(), key=lambda g: (len(g), g))
        # Utilisation shares one 0-100 % scale. Memory gets a scale per product, up to what
        # its name says a GPU holds ("...-80GB-..."): 30 GiB is most of a 40 GB A100 and a
        # third of an 80 GB H100, which one scale for both would colour alike.
        axis = "coloraxis" if kind == "utilization" or row == 1 else f"coloraxis{row}"
        if kind == "utilization":
            top = 100.0
        else:
            top = _capacity_gib(prod, unit) or float(np.nanmax(part["v"].to_numpy()) or 1.0)
        domain = fig.get_subplot(row, 1).yaxis.domain
        axes[axis] = {
            "colorscale": _theme.SEQUENTIAL,
            "cmin": 0.0,
            "cmax": top,
            "colorbar": {
                "title": {"text": _theme.esc(unit)},
                "y": (domain[0] + domain[1]) / 2,
                "len": max(0.2, domain[1] - domain[0]),
                "yanchor": "middle",
            },
        }
        z = np.full((len(nodes), len(gpus)), np.nan)
        who = np.full((len(nodes), len(gpus)), "", dtype=object)
        for rec in part.itertuples(index=False):
            i, j = nodes.index(str(getattr(rec, node))), gpus.index(rec.gpu_index)
            z[i, j] = rec.v
            if "pod" in part.columns and rec.pod:
                who[i, j] = _theme.esc(f"{getattr(rec, 'namespace', '')}/{rec.pod}".lstrip("/"))
        fig.add_heatmap(
            z=z,
            x=[f"GPU {_theme.esc(g)}" for g in gpus],
            y=[_theme.esc(n) for n in nodes],
            customdata=who,
            coloraxis=axis,
            xgap=2,
            ygap=2,
            hovertemplate=f"%{{y}} %{{x}}<br>{_theme.esc(name)}: %{{z:.1f}} {_theme.esc(unit)}"
            "<br>%{customdata}<extra></extra>",
            row=row,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=row, col=1)
    fig.update_layout(**axes, height=max(260, height))
    return fig


def _capacity_gib(product: str, unit: str) -> float | None:
    """The memory a GPU product's name states ("NVIDIA-H100-80GB-HBM3": 80), in GiB;
    None when the name says nothing or the unit is not GiB."""
    found = re.search(r"(\d+)\s*GB", product, flags=re.IGNORECASE)
    return float(found.group(1)) if found and unit == "GiB" else None


def _label(value: object, empty: str) -> str:
    text = "" if value is None or value != value else str(value)  # NaN != NaN
    return _theme.esc(text or empty)


def gpu_allocation(
    allocation: pd.DataFrame,
    gpus: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    holders: str = "treemap",
) -> go.Figure:
    """Who holds the GPUs: a treemap workspace → namespace → workload of allocated GPUs and,
    with the inventory `gpus`, allocated against free GPUs per product beside it.

    `allocation` is ``wb.cluster.gpu_allocation(by="workload")`` (columns workspace,
    namespace, workload_name, gpu_product, gpus_allocated; coarser ``by=`` frames work
    too); `gpus` is ``wb.cluster.gpus()`` (product, allocatable, requested, free).
    ``holders="bars"``: the holders as a bar each (its GPUs, coloured by workspace) instead
    of the treemap, which reports use: bars are drawn by plotly.js's smallest bundle
    (about 1 MB), a treemap only by the whole of it (about 4.7 MB).
    """
    from plotly.subplots import make_subplots

    _frames.require(allocation, ["gpus_allocated"], "gpu_allocation")
    if holders not in HOLDERS:
        raise ParameterError(
            [f"holders: {holders!r} is not one of {', '.join(HOLDERS)}"], subject="gpu_allocation"
        )
    levels = [c for c in ("workspace", "namespace", "workload_name", "pod") if c in allocation]
    if gpus is not None:
        _frames.require(gpus, ["product", "allocatable", "free"], "gpu_allocation inventory")
    held = allocation[allocation["gpus_allocated"] > 0]
    total_held = int(held["gpus_allocated"].sum())
    heading = title
    if heading is None:
        heading = f"GPUs allocated: {total_held}"
        if gpus is not None:
            heading += f", free: {int(gpus['free'].sum())} of {int(gpus['allocatable'].sum())}"
    fig = make_subplots(
        rows=1,
        cols=2 if gpus is not None else 1,
        specs=[
            [{"type": "domain" if holders == "treemap" else "xy"}]
            + ([{"type": "xy"}] if gpus is not None else [])
        ],
        column_widths=[0.55, 0.45] if gpus is not None else None,
        horizontal_spacing=0.25,
    )
    fig.update_layout(template=_theme.template(), title={"text": _theme.esc(heading)}, height=440)
    if holders == "bars":
        _holder_bars(fig, held, levels)
    else:
        _holder_treemap(fig, held, levels, total_held)
    _inventory_bars(fig, gpus)
    return fig


def _holder_treemap(fig: go.Figure, held: pd.DataFrame, levels: list[str], total: int) -> None:
    import plotly.graph_objects as go

    ids, labels, parents, values = ["all"], ["all GPUs"], [""], [float(total)]
    sums: dict[str, float] = {}
    for rec in held.itertuples(index=False):
        path = "all"
        for depth, level in enumerate(levels):
            label = _label(getattr(rec, level), "(no workspace)" if depth == 0 else "(none)")
            node_id = f"{path}/{label}"
            if node_id not in sums:
                ids.append(node_id)
                labels.append(label)
                parents.append(path)
                sums[node_id] = 0.0
            sums[node_id] += float(rec.gpus_allocated)
            path = node_id
    values.extend(sums[i] for i in ids[1:])
    fig.add_trace(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            customdata=[plural(v, "GPU") for v in values],
            hovertemplate="%{label}<br>%{customdata}<extra></extra>",
            texttemplate="%{label}<br>%{value}",
            name="allocated",
        ),
        row=1,
        col=1,
    )


def _holder_bars(fig: go.Figure, held: pd.DataFrame, levels: list[str]) -> None:
    """A bar per holder (its levels below the workspace joined by '/'), most GPUs on top,
    one colour and legend entry per workspace."""
    rows = []
    for rec in held.itertuples(index=False):
        path = [_label(getattr(rec, lv), "(none)") for lv in levels[1:]] if levels else []
        workspace = _label(getattr(rec, levels[0]), "(no workspace)") if levels else "all"
        rows.append((workspace, "/".join(path) or workspace, float(rec.gpus_allocated)))
    totals: dict[tuple[str, str], float] = {}
    for workspace, holder, count in rows:
        totals[(workspace, holder)] = totals.get((workspace, holder), 0.0) + count
    order = sorted(totals, key=lambda k: (-totals[k], k))
    colors = _theme.colors_for(w for w, _ in order)
    for workspace in sorted({w for w, _ in order}):
        mine = [k for k in order if k[0] == workspace]
        fig.add_bar(
            x=[totals[k] for k in mine],
            y=[k[1] for k in mine],
            orientation="h",
            name=workspace,
            legendgroup="holders",
            marker_color=colors[workspace],
            customdata=[plural(totals[k], "GPU") for k in mine],
            hovertemplate=f"{workspace}: %{{y}}<br>%{{customdata}}<extra></extra>",
            row=1,
            col=1,
        )
    fig.update_yaxes(
        categoryorder="array", categoryarray=[k[1] for k in order], autorange="reversed",
        automargin=True, row=1, col=1,
    )  # fmt: skip
    fig.update_xaxes(title_text="GPUs held", row=1, col=1)
    fig.update_layout(height=max(440, 140 + 22 * len(order)))


def _inventory_bars(fig: go.Figure, gpus: pd.DataFrame | None) -> None:
    if gpus is not None:
        per = gpus.groupby("product", dropna=False)[["allocatable", "free"]].sum().sort_index()
        products = [_label(p, "unknown") for p in per.index]
        used = (per["allocatable"] - per["free"]).clip(lower=0)
        for name, series, color in (
            ("allocated", used, _theme.PALETTE[0]),
            ("free", per["free"], _theme.GOOD),
        ):
            fig.add_bar(
                x=series.to_numpy(dtype=float),
                y=products,
                orientation="h",
                name=name,
                marker_color=color,
                customdata=[plural(v, "GPU") for v in series.to_numpy(dtype=float)],
                hovertemplate=f"%{{y}}<br>{name}: %{{customdata}}<extra></extra>",
                row=1,
                col=2,
            )
        fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.12})
        fig.update_xaxes(title_text="GPUs", row=1, col=2)
