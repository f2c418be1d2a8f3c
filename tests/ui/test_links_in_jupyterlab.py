"""Links out, clicked in a real JupyterLab in Debian's Chromium: the trace view's links to
the Jaeger UI and Grafana Explore, its trace's logs' links to Kibana Discover and Grafana
Explore, and the metrics view's link to Grafana Explore each open, in a new tab with no
opener, exactly the URL `hxb_lab.telemetry.links` built (path, query and fragment, hostile
characters included).

Traces come from a real Jaeger (v2, in-memory) fed over OTLP and logs from the session's
real OpenSearch, one line per server span. The Jaeger link opens the real query service,
which answers the trace's page with its UI document (Jaeger's Go module ships a placeholder
index page, not the UI's assets) and knows the trace. Grafana and Kibana cannot run here, so
their links open a stand-in recorder: a loopback HTTP server that records the request it
gets (a browser never sends a URL's fragment: that is checked in the tab's URL).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.conftest import require
from tests.support.jaeger_server import Jaeger, feed, start_jaeger, wait_until_stored
from tests.support.opensearch import OpenSearch
from tests.support.otel_spans import make_spans
from tests.support.span_logs import ecs_logs
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.ui.test_views_in_jupyterlab import KERNEL_READY
from tests.widgets.rendering import EVIL

pytestmark = [pytest.mark.browser, pytest.mark.jaeger, pytest.mark.slow]

INDEX = "ui-links-logs"
WORKSPACE = "hxb-links"
#: A Grafana datasource uid, a Kibana data view and a metric label value that would reshape
#: a URL (or a page) if any of them reached it unencoded.
UID = f'uid "q" #frag &orgId=2 %25 {EVIL}'
DATA_VIEW = f"logs*'!(x):,#&{EVIL}"
LABEL = f'{EVIL} "q" \\ #f &a=1 %25 +'

CELLS = {
    "setup": (
        "import dataclasses, json\nimport hxb_lab as hx\n"
        "from hxb_lab.config import ElasticsearchConfig, GrafanaConfig, JaegerConfig, Profile\n"
        "from hxb_lab.telemetry.links import trace_links\n"
        "from hxb_lab.workbench import Workbench\n"
        "grafana = GrafanaConfig(url={grafana!r}, datasources=tuple(\n"
        "    (b, {uid!r}) for b in ('jaeger', 'elasticsearch', 'prometheus')))\n"
        "team = Workbench(Profile(name='links', grafana=grafana, jaeger=JaegerConfig(url={jaeger!r}),\n"
        "    elasticsearch=ElasticsearchConfig(url={opensearch!r}, index={index!r},\n"
        "        kibana_url={kibana!r}, kibana_data_view={view!r})))\n"
        "demo = Workbench(dataclasses.replace(hx.connect('demo').profile, grafana=grafana))"
    ),
    "traces": (
        "v = team.view.traces(service='gateway')\nv.which.value = 'failing'\n"
        "v.traces_table.select(0)\nv"
    ),
    "metrics": "m = demo.view.metrics('DCGM_FI_DEV_GPU_UTIL', where={{'Hostname': {label!r}}})\nm",
    "built": (
        "s, trace = v.spans, v.selected_trace()\nstart = int(s['start'].min().value)\n"
        "end = start + int(float((s['offset_ms'] + s['duration_ms']).max()) * 1e6)\n"
        "built = {{'trace': trace, 'logs': len(v.logs), 'metrics': m.frame.attrs['links'],\n"
        "         'trace_links': trace_links(team.profile, trace, start, end),\n"
        "         'log_links': v.logs.attrs['links']}}\n"
        "print('BUILT ' + json.dumps(built))"
    ),
    "done": "print('LINKS-' + 'DONE')",
}


@dataclass
class Recorder:
    """The stand-in for Grafana and Kibana: a loopback HTTP server that answers every GET
    with a small page and records the request target it received."""

    url: str
    server: http.server.ThreadingHTTPServer = field(repr=False)
    received: list[str] = field(default_factory=list)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            body = b"<!doctype html><title>stand-in recorder</title><p>recorded"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Recorder(f"http://127.0.0.1:{server.server_address[1]}", server, received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def jaeger(opensearch: OpenSearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    """A real Jaeger holding a few dozen traces, and their logs in the session's OpenSearch."""
    spans = make_spans(datetime.now(UTC).replace(microsecond=0), traces=40)
    with start_jaeger(tmp_path_factory.mktemp("links-jaeger")) as server:
        feed(server, spans)
        wait_until_stored(server, spans)
        opensearch.bulk(INDEX, ecs_logs(spans))
        yield server


def _notebook(values: dict[str, str]) -> dict[str, Any]:
    cells = [
        {
            "cell_type": "code",
            "metadata": {"tags": [name]},
            "source": source.format(**values),
            "outputs": [],
            "execution_count": None,
        }
        for name, source in CELLS.items()
    ]
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return {
        "cells": cells,
        "metadata": {"kernelspec": kernel, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _parts(url: str) -> tuple[str, str, dict[str, list[str]], str]:
    """A URL as a browser or server compares it: origin, path, query and fragment decoded."""
    split = urlsplit(url)
    query = parse_qs(split.query, keep_blank_values=True, strict_parsing=bool(split.query))
    return f"{split.scheme}://{split.netloc}", unquote(split.path), query, unquote(split.fragment)


def test_every_link_opens_the_page_it_was_built_for(
    lab: Any,
    jaeger: Jaeger,
    opensearch: OpenSearch,
    recorder: Recorder,
    screenshots: Path,
) -> None:
    require(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    values = {
        "grafana": f"{recorder.url}/grafana/",
        "kibana": f"{recorder.url}/kibana",
        "jaeger": jaeger.url,
        "opensearch": opensearch.url,
        "index": INDEX,
        "uid": UID,
        "view": DATA_VIEW,
        "label": LABEL,
    }
    (lab.root / "links.ipynb").write_text(json.dumps(_notebook(values)))
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = chromium.new_page(viewport={"width": 1400, "height": 1600})
                _click_every_link(page, lab, jaeger, recorder, screenshots)
            finally:
                chromium.close()
    finally:
        _shut_down_kernels(lab, "links.ipynb")


def _shut_down_kernels(lab: Any, path: str) -> None:
    """End the notebook's kernel: the Lab outlives this test, and other tests share it."""
    import httpx

    with httpx.Client(base_url=lab.url, params={"token": lab.token}, timeout=30) as http:
        for session in http.get("/api/sessions").raise_for_status().json():
            if session["path"] == path:
                http.delete(f"/api/sessions/{session['id']}").raise_for_status()


def _run_notebook(page: Any, lab: Any, screenshots: Path) -> dict[str, Any]:
    # A workspace of its own: the Lab's default one (what the other browser tests open)
    # does not restore this notebook's tab.
    page.goto(f"{lab.url}/lab/workspaces/{WORKSPACE}/tree/links.ipynb?token={lab.token}")
    page.wait_for_function(
        "() => window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000
    )
    page.wait_for_function(KERNEL_READY, polling=500, timeout=90_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        page.wait_for_selector("text=LINKS-DONE", timeout=120_000)
    except Exception:
        page.screenshot(path=str(screenshots / "links-failure.png"), full_page=True)
        raise
    errors = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
    printed = page.locator(".jp-RenderedText", has_text="BUILT ").inner_text()
    built: dict[str, Any] = json.loads(printed.split("BUILT ", 1)[1])
    return built


def _click_every_link(
    page: Any, lab: Any, jaeger: Jaeger, recorder: Recorder, screenshots: Path
) -> None:
    import httpx

    built = _run_notebook(page, lab, screenshots)
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    traces, metrics = (
        cells.nth(list(CELLS).index("traces")),
        cells.nth(list(CELLS).index("metrics")),
    )
    traces.locator(".hxb-links a").first.wait_for(timeout=60_000)
    metrics.locator(".hxb-links a").first.wait_for(timeout=60_000)
    traces.screenshot(path=str(screenshots / "links-traces.png"))
    trace = built["trace"]
    assert built["logs"] >= 2  # the failing trace's logs, from OpenSearch

    # Every link the views show, and the URL links.py built for it.
    shown = {
        "Jaeger UI": (traces.locator(".hxb-links").nth(0), built["trace_links"]["jaeger"]),
        "Grafana Explore (trace)": (
            traces.locator(".hxb-links").nth(0),
            built["trace_links"]["grafana"],
        ),
        "Kibana Discover": (traces.locator(".hxb-links").nth(1), built["log_links"]["kibana"]),
        "Grafana Explore (logs)": (
            traces.locator(".hxb-links").nth(1),
            built["log_links"]["grafana"],
        ),
        "Grafana Explore (metrics)": (metrics.locator(".hxb-links"), built["metrics"]["grafana"]),
    }
    assert traces.locator(".hxb-links").count() == 2 and metrics.locator(".hxb-links").count() == 1
    # What each link must name, checked on the URL itself (not only against the builder).
    assert built["trace_links"]["jaeger"] == f"{jaeger.url}/trace/{trace}"
    for name, (_, url) in shown.items():
        if "Grafana" in name:
            origin, path, query, _ = _parts(url)
            assert (origin, path) == (recorder.url, "/grafana/explore"), name
            (pane,) = json.loads(query["panes"][0]).values()
            assert pane["datasource"] == UID and query["orgId"] == ["1"], name
    trace_pane = json.loads(_parts(built["trace_links"]["grafana"])[2]["panes"][0])["hxb"]
    assert trace_pane["queries"][0]["query"] == trace
    metric_pane = json.loads(_parts(built["metrics"]["grafana"])[2]["panes"][0])["hxb"]
    assert LABEL.replace("\\", "\\\\").replace('"', '\\"') in metric_pane["queries"][0]["expr"]
    kibana_fragment = _parts(built["log_links"]["kibana"])[3]
    assert f'trace.id:"{trace}"' in kibana_fragment
    assert "dataViewId:'logs*!'!!(x):,#&" + EVIL + "'" in kibana_fragment  # Rison-escaped

    for name, (links, url) in shown.items():
        label = name.split(" (")[0]
        anchor = links.locator("a", has_text=label)
        assert anchor.count() == 1, name
        assert anchor.get_attribute("href") == url, name
        assert anchor.get_attribute("target") == "_blank", name
        assert "noopener" in (anchor.get_attribute("rel") or "").split(), name
        before = len(recorder.received)
        with page.context.expect_page() as opened:
            anchor.click()
        tab = opened.value
        tab.wait_for_load_state("load")
        assert _parts(tab.url) == _parts(url), name
        assert tab.evaluate("() => window.opener === null"), name
        status = tab.evaluate("() => performance.getEntriesByType('navigation')[0].responseStatus")
        assert status == 200, name
        if label == "Jaeger UI":
            # the real query service answered the trace's page with its UI document...
            served = httpx.get(url, timeout=10)
            assert served.status_code == 200 and "text/html" in served.headers["content-type"]
            title = re.search(r"<title>(.*?)</title>", served.text, re.S)
            assert title and tab.title() == title.group(1).strip(), name
            assert tab.locator("base[data-inject-target='BASE_URL']").count() == 1, name
            # ... and knows the trace that page names
            asked = _parts(tab.url)[1].removeprefix("/trace/")
            answer = httpx.get(f"{jaeger.url}/api/traces/{asked}", timeout=10).json()
            assert [t["traceID"].rjust(32, "0") for t in answer["data"]] == [trace]
        else:
            # the stand-in recorder got the path and query; the fragment stayed in the tab
            got = [r for r in recorder.received[before:] if r != "/favicon.ico"]
            assert len(got) == 1, (name, got)
            sent = _parts(recorder.url + got[0])
            assert sent[:3] == _parts(url)[:3] and sent[3] == "", name
            assert tab.title() == "stand-in recorder", name
        tab.close()
    page.close()
