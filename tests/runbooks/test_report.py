"""The HTML report: self-contained, plotly.js exactly once, code hidden, header escaped,
and a Content-Security-Policy that trusts the report's own scripts only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.runbooks import _plotlyjs
from hxb_lab.runbooks._report import header_html, plotly_signature, report_csp, script_hashes
from hxb_lab.runbooks._run import Run
from tests.conftest import require
from tests.runbooks.conftest import fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"')
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S)


def _plotlyjs_size() -> int:
    from plotly.offline import get_plotlyjs

    return len(get_plotlyjs().encode())


def test_a_report_with_figures_embeds_plotly_once_and_needs_no_network(local_profile: str) -> None:
    run = hx.runbooks.get("plotly_figures", local_profile).run({"points": 4}, local_profile)
    assert run.status == "succeeded", run.error
    html = run.report.read_text()
    assert html.count(plotly_signature()) == 1
    assert _plotlyjs.bundles_in(html) == ["basic"]  # a scatter and a bar: the basic bundle
    assert html.count('class="plotly-graph-div"') == 2  # both figures, as HTML
    assert "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]+src=[\"']?https?:", html)  # no CDN script
    assert not re.search(r"<link[^>]+href=[\"']?https?:", html)
    assert "require.min.js" not in html and "MathJax.js" not in html
    csp = _CSP.search(html)
    assert csp and "default-src 'none'" in csp.group(1) and "'sha256-" in csp.group(1)
    assert len(html.encode()) <= _plotlyjs_size() // 4 + 1_000_000
    # Report mode: outputs and markdown kept, code hidden; printed HTML stays text.
    assert "Two figures; the report embeds plotly.js once." in html
    assert "go.Figure(go.Bar" not in html
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; escaped" in html
    # The header.
    assert "Plotly figures" in html and run.id in html and "succeeded" in html
    assert "Profile</th><td>local" in html


def test_a_report_without_figures_carries_no_plotly(local_profile: str) -> None:
    run = hx.runbooks.get("untyped_parameters", local_profile).run({}, local_profile)
    html = run.report.read_text()
    assert plotly_signature() not in html
    assert len(html.encode()) < 1_000_000


def test_the_header_escapes_every_value_and_masks_secrets(tmp_path: Path) -> None:
    rb = hx.runbooks.get(str(fixture("succeeds")))
    started = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    run = Run(
        id="r-1",
        runbook="succeeds",
        status="failed",
        started=started,
        finished=started + timedelta(seconds=2.5),
        parameters={"service": "<img src=x onerror=alert(1)>", "token": "***"},
        profile="prod<eu>",
        ename="ValueError",
        evalue="bad <script>x</script> value tok-abc123",
        failed_cell=3,
    )
    html = header_html(run, rb, secrets=["tok-abc123"])
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "prod&lt;eu&gt;" in html
    assert "tok-abc123" not in html
    assert "2.5 s" in html and "in cell 3" in html


def test_a_view_shown_by_a_runbook_is_its_figure_in_the_report(demo_env: Path) -> None:
    run = hx.runbooks.get(str(fixture("shows_a_view"))).run({"last": "6h"})
    assert run.status == "succeeded", run.error
    html = run.report.read_text()
    # The view's static figure, drawn by plotly.js (once); no inert widget placeholder.
    assert html.count('class="plotly-graph-div"') == 1
    assert html.count(plotly_signature()) == 1
    assert "GPU utilisation (%), mean per GPU, last 6h" in html
    assert "widget-view+json" not in html
    # A plain widget has no static form: the report says what it was.
    assert (
        "IntSlider(value=0, description='plain') (interactive: open the notebook to use it)" in html
    )
    # The notebook keeps the live widget, and names the view in its text form.
    import json

    outputs = [o for c in json.loads(run.output_notebook.read_text())["cells"]
               for o in c.get("outputs", [])]  # fmt: skip
    view = next(o["data"] for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {}))
    assert "application/vnd.jupyter.widget-view+json" in view
    assert "".join(view["text/plain"]) == "<GpusView of profile 'demo', last 6h>"


def test_the_policy_trusts_the_report_own_scripts_not_those_of_outputs(local_profile: str) -> None:
    run = hx.runbooks.get("injects_script", local_profile).run({}, local_profile)
    assert run.status == "succeeded", run.error
    html = run.report.read_text()

    policy = _CSP.search(html)
    assert policy is not None
    trusted = set(re.findall(r"'sha256-[^']+'", policy.group(1)))
    # plotly.js (the bundle it inlines) and the drawing, no more
    assert trusted == set(script_hashes(figures=True, bundles=["basic"]))
    assert "<script>window.__pwned = 1</script>" in html  # the output is there, as written
    hashes = {_sha256(body) for body in _SCRIPT.findall(html)}
    assert _sha256("window.__pwned = 1") in hashes - trusted
    assert "'unsafe-inline'" not in policy.group(1).split("script-src")[1].split(";")[0]
    assert "form-action 'none'" in policy.group(1)


def test_a_report_inlines_the_smallest_plotly_bundle_that_draws_its_traces(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _plotlyjs.available() == ("basic", "cartesian", "full"), (
        f"the partial plotly.js bundles are missing from {_plotlyjs.DIRECTORY}: "
        "run make install (tools/fetch-plotly-bundles.sh)"
    )
    assert _plotlyjs.choose({"scatter", "bar"}) == "basic"
    assert _plotlyjs.choose(set()) == "basic"
    assert _plotlyjs.choose({"bar", "heatmap", "scatter"}) == "cartesian"
    assert _plotlyjs.choose({"bar", "treemap"}) == "full"
    assert _plotlyjs.choose({"scattergl"}) == "full"
    assert _plotlyjs.trace_types([{"data": [{"x": [1]}, {"type": "bar"}]}]) == {"scatter", "bar"}
    for name in ("basic", "cartesian", "full"):
        assert _plotlyjs.bundles_in(_plotlyjs.source(name)) == [name]
        assert plotly_signature() in _plotlyjs.source(name)
    # The server's header trusts whichever bundle a report inlined.
    header = set(re.findall(r"'sha256-[^']+'", report_csp()))
    for name in ("basic", "cartesian", "full"):
        assert set(script_hashes(bundles=[name])) <= header
    # A bundle of another release is never mixed with plotly.py's figures.
    other = _plotlyjs.source("basic").replace(f"v{_plotlyjs.plotly_version()}", "v0.0.1", 1)
    (tmp_path / "plotly-basic.min.js").write_text(other)
    monkeypatch.setattr(_plotlyjs, "DIRECTORY", tmp_path)
    _plotlyjs._partial.cache_clear()
    try:
        assert _plotlyjs.available() == ("full",)
        assert _plotlyjs.choose({"scatter"}) == "full"
    finally:
        monkeypatch.undo()
        _plotlyjs._partial.cache_clear()


def _sha256(script: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.browser
@pytest.mark.slow
def test_output_html_stays_inert_in_the_report_opened_from_disk_while_figures_draw(
    local_profile: str,
) -> None:
    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    run = hx.runbooks.get("injects_script", local_profile).run({}, local_profile)
    assert run.status == "succeeded", run.error

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(run.report.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)  # drawn
            assert page.locator(".js-plotly-plot .bars path").count() == 3
            assert page.locator(".from-the-cluster img").count() == 1  # shown, inert
            assert page.evaluate("[typeof window.__pwned, typeof window.__pwned_img]") == [
                "undefined",
                "undefined",
            ]
            assert errors == []
        finally:
            chromium.close()


def test_an_output_too_large_for_a_report_is_a_note_and_stays_whole_in_the_notebook(
    local_profile: str,
) -> None:
    run = hx.runbooks.get("prints_a_lot", local_profile).run({"size_mb": 6}, local_profile)
    html = run.report.read_text()
    assert len(html.encode()) < 1_000_000  # not the 6 MB printed
    assert "[output of 6.0 MB left out of the report (at most 5 MB for one output)" in html
    assert "the small output after it" in html
    assert run.output_notebook is not None
    assert run.output_notebook.stat().st_size > 6 * 2**20  # the notebook keeps it whole
