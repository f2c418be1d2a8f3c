"""Every view in a real JupyterLab (demo profile) in Debian's Chromium: a notebook opens each
one; the widgets render (tables, plotly charts, cards), a hostile string planted in a copy
of the demo's data (a pod's name, label and annotations; a service, span attribute and log
line) shows as text, no script runs from data, and a screenshot of each view lands in
test-output/ui/. With several views in the one notebook every chart is drawn (none empty),
each plot keeps its room beside legends and labels, the service map's names meet no
arrow, dot or other name and the map is not cut, the inference cards show the runtime's
and the callers' error rates, no control label is cut, and the charts follow the Lab's
theme when it switches to dark and back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hxb_lab.viz._theme import DARK_INK, INK
from tests.conftest import require
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.widgets.hostile_home import Hostile, hostile_home
from tests.widgets.rendering import EVIL

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = {
    "setup": "import hxb_lab as hx\nwb = hx.connect()\nwb",
    "cluster": "wb.view.cluster()",
    "gpus": "wb.view.gpus(last='6h')",
    "inference": (
        "v = wb.view.inference()\nv.deployments_table.select_where('name', 'llm-chat')\nv"
    ),
    "metrics": "wb.view.metrics('DCGM_FI_DEV_GPU_UTIL', by=['Hostname', 'gpu'], last='6h')",
    "traces": (
        "v = wb.view.traces(service='api-gateway')\nv.which.value = 'failing'\n"
        "v.traces_table.select(0)\nv"
    ),
    "services": "wb.view.services()",
    "services-again": "wb.view.services(last='6h')",  # several charts load at once
    # The demo profile on a copy of the demo with hostile data (see `hostile_home`).
    "hostile-pod": (
        "import os\nfrom tests.widgets.rendering import EVIL\n"
        "os.environ['HXB_LAB_HOME'] = {home!r}\nhostile = hx.connect('demo')\n"
        "v = hostile.view.cluster()\nv.nodes_table.select_where('name', {node!r})\n"
        "v.pods_table.select_where('name', EVIL)\nv"
    ),
    "hostile-trace": (
        "v = hostile.view.traces(service=EVIL)\n"
        "v.traces_table.select_where('trace_id', {trace_id!r})\nv"
    ),
    "done": "print('ALL-VIEWS-' + 'DONE')",
}
HOSTILE = ("hostile-pod", "hostile-trace")
CHARTED = ("gpus", "metrics", "services", "services-again", "inference", "traces", "hostile-trace")
#: Per drawn plotly chart: its traces, the plot area's size, the figure's width, font colour.
PLOTS = """(cell) => [...cell.querySelectorAll('.js-plotly-plot')].map(p => {
  const area = p.querySelector('.nsewdrag');
  return {traces: (p.data || []).length, width: p.getBoundingClientRect().width,
          area: area ? [+area.getAttribute('width'), +area.getAttribute('height')] : [0, 0],
          ink: p._fullLayout.font.color, title: (p._fullLayout.title || {}).text || ''};
})"""
#: Service-map names whose box meets a service's dot, another name, or an arrow (points
#: along each arrow's path every 2 px, widened by half its stroke).
MAP_NAMES_CLEAR = """(cell) => {
  const plot = [...cell.querySelectorAll('.js-plotly-plot')]
    .find(p => ((p._fullLayout.title || {}).text || '').startsWith('service map'));
  const names = [...plot.querySelectorAll('g.annotation text.annotation-text')]
    .filter(t => t.textContent).map(t => [t.textContent, t.getBoundingClientRect()]);
  const traces = [...plot.querySelectorAll('g.scatterlayer g.trace')];
  const dots = [...traces[traces.length - 1].querySelectorAll('path.point')]
    .map(e => e.getBoundingClientRect());
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                        a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const found = [];
  const shown = [...cell.querySelectorAll('.jp-OutputArea-output')].pop().getBoundingClientRect();
  if (plot.querySelector('.main-svg').getBoundingClientRect().right > shown.right + 1) {
    found.push('the map is cut at the right');
  }
  if (names.length !== dots.length || names.length === 0) found.push('names: ' + names.length);
  for (const [name, box] of names) {
    if (dots.some(d => hit(box, d))) found.push(name + ' on a service');
    if (names.some(([other, b]) => other !== name && hit(box, b))) found.push(name + ' on a name');
    for (const line of plot.querySelectorAll('path.js-line')) {
      const m = line.getScreenCTM(), half = parseFloat(getComputedStyle(line).strokeWidth) / 2;
      for (let s = 0; s <= line.getTotalLength(); s += 2) {
        const p = line.getPointAtLength(s), q = new DOMPoint(p.x, p.y).matrixTransform(m);
        if (q.x > box.left - half && q.x < box.right + half &&
            q.y > box.top - half && q.y < box.bottom + half) {
          found.push(name + ' on an arrow'); break;
        }
      }
    }
  }
  return found;
}"""
#: The metrics chart's "changes" lane as drawn: its axis title, its rows' names and the
#: centre of each mark, in page coordinates (for the mouse to hover it).
CHANGES_LANE = """(cell) => {
  const plot = cell.querySelector('.js-plotly-plot');
  const title = plot.querySelector('.g-y2title text');
  return {title: title ? title.textContent : '',
          rows: [...plot.querySelectorAll('.y2tick text')].map(t => t.textContent),
          marks: [...plot.querySelectorAll('g.subplot.xy2 g.trace.scatter path.point')]
            .map(e => { const r = e.getBoundingClientRect();
                        return [r.x + r.width / 2, r.y + r.height / 2]; })};
}"""
#: Labels of buttons, toggles and descriptions whose text does not fit (shown with "…").
CUT_LABELS = """(cell) => [...cell.querySelectorAll(
  '.widget-toggle-button, .widget-button, .widget-label, .widget-label-basic')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.textContent.trim())"""


KERNEL_READY = """() => {
  const accept = document.querySelector('.jp-Dialog button.jp-mod-accept');
  if (accept) { accept.click(); return false; }
  const widget = window.jupyterapp.shell.currentWidget;
  const session = widget && widget.sessionContext && widget.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}"""


def _notebook(hostile: Hostile) -> dict:
    where = {"home": str(hostile.home), "node": hostile.node, "trace_id": hostile.trace_id}
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": [name]},
            "source": source.format(**where) if name in HOSTILE else source,
            "outputs": [],
            "execution_count": None,
        }
        for name, source in CELLS.items()
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_every_view_renders_in_jupyterlab(
    lab, screenshots: Path, demo_home: Path, tmp_path: Path
) -> None:
    require(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    hostile = hostile_home(demo_home, tmp_path)
    (lab.root / "views.ipynb").write_text(json.dumps(_notebook(hostile)))
    # Playwright's sync API runs its own event loop: start and stop it inside the test.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1800})
            _open_every_view(page, lab, screenshots, hostile)
        finally:
            chromium.close()


def _open_every_view(page: Any, lab: Any, screenshots: Path, hostile: Hostile) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(lab.open_url("views.ipynb"))
    page.wait_for_function(
        "() => window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000
    )
    # Until the notebook's kernel is connected and idle, accept "Select Kernel" if asked.
    page.wait_for_function(KERNEL_READY, polling=500, timeout=90_000)
    # Not awaited: the command resolves only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        page.wait_for_selector("text=ALL-VIEWS-DONE", timeout=180_000)
    except Exception:
        page.screenshot(path=str(screenshots / "views-failure.png"), full_page=True)
        raise
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    assert cells.count() == len(CELLS)
    errors = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()

    for index, name in enumerate(CELLS):
        if name in ("setup", "done"):
            continue
        output = cells.nth(index).locator(".jp-OutputArea-output")
        output.first.wait_for(state="visible", timeout=60_000)
        # The view's widgets rendered: its heading, and no inline error line.
        output.locator(".widget-html").first.wait_for(timeout=60_000)
        assert output.locator(".hxb-error").count() == 0, output.locator(".hxb-error").inner_text()
        if name in CHARTED:
            output.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        if name in ("cluster", "gpus", "inference", "traces", "services", *HOSTILE):
            output.locator("table.dataTable tbody tr").first.wait_for(timeout=60_000)
        cells.nth(index).scroll_into_view_if_needed()
        cells.nth(index).screenshot(path=str(screenshots / f"view-{name}.png"))

    _check_layout(page, cells, screenshots)

    cluster = cells.nth(list(CELLS).index("cluster"))
    assert "nodes ready" in cluster.inner_text().lower()
    for name in ("metrics", "inference"):  # live time axes show times, not nanoseconds
        ticks = (
            cells.nth(list(CELLS).index(name))
            .locator(".js-plotly-plot .xtick text")
            .all_text_contents()
        )
        assert ticks, name
        assert all(re.search(r"\d\d:\d\d|[A-Z][a-z]{2} \d", t) for t in ticks), (name, ticks)
    _check_changes_lane(page, cells.nth(list(CELLS).index("metrics")))
    plots = cells.nth(list(CELLS).index("traces")).locator(".js-plotly-plot g.trace.bars")
    assert plots.count() >= 1  # the waterfall's bars are drawn

    # Hostile strings: shown as text, never parsed as markup, no script ran.
    pod = cells.nth(list(CELLS).index("hostile-pod"))
    details = pod.locator(".widget-html", has_text="hxb.io/owner-note")
    assert details.count() == 1
    assert f"pod {hostile.namespace}/{EVIL}" in details.inner_text()
    assert details.inner_text().count(EVIL) == 4  # name, label, annotation key and value
    assert EVIL in pod.locator("table.dataTable tbody").nth(1).inner_text()  # the pods table
    trace = cells.nth(list(CELLS).index("hostile-trace"))
    assert EVIL in trace.locator("table.dataTable").first.inner_text()  # the services table
    ticks = trace.locator(".js-plotly-plot .ytick text").all_text_contents()
    # The waterfall's root span, "service: operation", cut to its label width: shown as text.
    assert any(t.startswith(f"{EVIL}: ") for t in ticks), ticks
    assert f"request failed: {EVIL}" in trace.inner_text()  # its log line
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    page.close()


def _check_changes_lane(page: Any, cell: Any) -> None:
    """The metrics chart's "changes" lane on the demo: the cordon and the canary rollout,
    each mark naming its object when the mouse is over it."""
    cell.scroll_into_view_if_needed()
    lane = cell.evaluate(CHANGES_LANE)
    assert lane["title"] == "changes", lane
    assert sorted(lane["rows"]) == ["cordon", "rollout"], lane
    assert len(lane["marks"]) == 2, lane
    told = []
    for x, y in lane["marks"]:
        page.mouse.move(x, y)
        label = page.locator(".hoverlayer .hovertext").first
        label.wait_for(timeout=5_000)
        told.append(" ".join(label.text_content().split()))
        page.mouse.move(0, 0)
    # plotly's label: the lane's row, then the mark's text and its time
    assert any(
        t.startswith("cordon") and "Node a100-1: cordoned (by kubectl-cordon)" in t for t in told
    ), told
    assert any(
        t.startswith("rollout") and "InferenceService assistant/llm-chat: " in t for t in told
    ), told


def _plots(cells: Any, name: str) -> list[dict[str, Any]]:
    plots: list[dict[str, Any]] = cells.nth(list(CELLS).index(name)).evaluate(PLOTS)
    return plots


def _check_layout(page: Any, cells: Any, screenshots: Path) -> None:
    """What issue 17 saw: empty charts with several views, plots squeezed by legends and
    labels, cut labels, Python reprs, "1 pods", white charts in a dark Lab."""
    for name in CHARTED:
        for plot in _plots(cells, name):
            assert plot["traces"] > 0, (name, plot["title"], "drawn empty")
    gpu = next(p for p in _plots(cells, "inference") if "GPU utilisation" in p["title"])
    assert gpu["area"][0] >= 0.6 * gpu["width"], gpu  # not 50 px beside its legend
    assert gpu["area"][1] >= 200, gpu
    waterfall = _plots(cells, "traces")[0]
    assert waterfall["area"][0] >= 0.5 * waterfall["width"], waterfall  # bars, not labels
    for index, name in enumerate(CELLS):
        cut = cells.nth(index).evaluate(CUT_LABELS)
        assert cut == [], (name, cut)
    for name in ("services", "services-again"):  # names clear of dots, names and arrows
        overlaps = cells.nth(list(CELLS).index(name)).evaluate(MAP_NAMES_CLEAR)
        assert overlaps == [], (name, overlaps)
    # The selected deployment's error rate from its runtime, beside its callers' (traces).
    cards = cells.nth(list(CELLS).index("inference")).locator(".hxb-cards").inner_text()
    assert re.search(
        r"error rate\s+[\d.]+%\s+from (Triton|MLServer|TorchServe|KServe) metrics", cards, re.I
    ), cards
    assert re.search(
        r"error rate \(callers\)\s+[\d.]+%\s+from traces: [\d,]+ calls", cards, re.I
    ), cards
    traces = cells.nth(list(CELLS).index("traces"))
    assert "['" not in traces.locator("table.dataTable").nth(1).inner_text()  # services column
    gpus_text = cells.nth(list(CELLS).index("gpus")).inner_text()
    assert not re.search(r"\b1 (pods|GPUs)\b", gpus_text), gpus_text[:400]

    # The Lab switches to its dark theme: every chart follows, then back to light.
    for theme, ink in (("JupyterLab Dark", DARK_INK), ("JupyterLab Light", INK)):
        page.evaluate(
            "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
            theme,
        )
        page.wait_for_function(
            """([ink]) => {
              const plots = [...document.querySelectorAll('.jp-Notebook .js-plotly-plot')];
              return plots.length > 0 && plots.every(p => p._fullLayout.font.color === ink);
            }""",
            arg=[ink],
            timeout=60_000,
        )
        if theme == "JupyterLab Dark":
            for name in ("gpus", "services", "inference"):
                cell = cells.nth(list(CELLS).index(name))
                cell.scroll_into_view_if_needed()
                cell.screenshot(path=str(screenshots / f"view-{name}-dark.png"))
