"""Every view in a real JupyterLab (demo profile) in Debian's Chromium: a notebook opens each
one; the widgets render (tables, plotly charts, cards), a hostile string shows as text, no
script runs from data, and a screenshot of each view lands in test-output/ui/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.viz.frames import EVIL

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
    "hostile": (
        "from tests.widgets.bench import StaticBench\nfrom hxb_lab.widgets import Views\n"
        "v = Views(StaticBench(evil=True)).traces()\nv.services_table.select(0)\n"
        "v.traces_table.select(0)\nv"
    ),
    "done": "print('ALL-VIEWS-' + 'DONE')",
}


KERNEL_READY = """() => {
  const accept = document.querySelector('.jp-Dialog button.jp-mod-accept');
  if (accept) { accept.click(); return false; }
  const widget = window.jupyterapp.shell.currentWidget;
  const session = widget && widget.sessionContext && widget.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}"""


def _notebook() -> dict:
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": [name]},
            "source": source,
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


def test_every_view_renders_in_jupyterlab(lab, screenshots: Path) -> None:
    require(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    (lab.root / "views.ipynb").write_text(json.dumps(_notebook()))
    # Playwright's sync API runs its own event loop: start and stop it inside the test.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            _open_every_view(chromium.new_page(viewport={"width": 1400, "height": 1000}), lab,
                             screenshots)  # fmt: skip
        finally:
            chromium.close()


def _open_every_view(page: Any, lab: Any, screenshots: Path) -> None:
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
        if name in ("gpus", "metrics", "services", "inference", "traces", "hostile"):
            output.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        if name in ("cluster", "gpus", "inference", "traces", "services", "hostile"):
            output.locator("table.dataTable tbody tr").first.wait_for(timeout=60_000)
        cells.nth(index).scroll_into_view_if_needed()
        cells.nth(index).screenshot(path=str(screenshots / f"view-{name}.png"))

    cluster = cells.nth(list(CELLS).index("cluster"))
    assert "nodes ready" in cluster.inner_text().lower()
    plots = cells.nth(list(CELLS).index("traces")).locator(".js-plotly-plot g.trace.bars")
    assert plots.count() >= 1  # the waterfall's bars are drawn

    # Hostile strings: shown as text, never parsed as markup, no script ran.
    hostile = cells.nth(list(CELLS).index("hostile"))
    assert EVIL in hostile.inner_text()
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    page.close()
