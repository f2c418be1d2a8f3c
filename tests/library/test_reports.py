"""The report of every shipped runbook, made from its stored outputs (no kernel): what an SRE
would paste into an incident. Tables without pandas indices, counts as integers, times to the
second, parameters as typed, snake_case columns, "none" for an empty result, the caption's
percentiles equal to the table's, the verdict first, and a size that follows from the
plotly.js bundle the report needs."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

import hxb_lab as hx
from hxb_lab.runbooks import _parameters as P
from hxb_lab.runbooks import _plotlyjs
from hxb_lab.runbooks._report import PLOTLY_MIMETYPE, render_report
from hxb_lab.runbooks._run import Run
from tests.conftest import require
from tests.library.regenerate import ROOT

#: Every runbook shipped with stored outputs (platform-smoke has none: its tests run it).
STORED = sorted(
    p.stem
    for p in (ROOT / "runbooks").glob("*.ipynb")
    if any(c.get("outputs") for c in json.loads(p.read_text())["cells"])
)
MB = 1_000_000
#: The page around plotly.js: nbconvert's stylesheet (~0.27 MB), the header and the outputs.
#: Measured at 0.27-0.33 MB for the shipped runbooks; a report past this has grown.
PAGE_BOUND = int(0.5 * MB)
#: What the shipped reports weigh at most: 1.5-1.8 MB with a partial bundle (measured;
#: 5.1 MB each with the full plotly.js they all inlined before). gpu-capacity-report drew
#: a treemap, which only the full bundle has (5.11 MB); its holders are bars now (1.79 MB).
SIZE_BOUND: dict[str, int] = {}
DEFAULT_SIZE_BOUND = 2 * MB
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_FIGURE_DATA = re.compile(r'data-hxb-figure="[^"]*"')
_TABLE = re.compile(r'<table class="dataframe[^"]*"[^>]*>(.*?)</table>', re.S)
_CELL = re.compile(r"<(t[dh])\b[^>]*>(.*?)</\1>", re.S)


@dataclass
class Report:
    name: str
    html: str  # the whole page
    text: str  # without scripts, styles and figure data
    figures: list[dict]

    def tables(self) -> list[tuple[list[str], list[list[str]]]]:
        """Each output table as (header, rows) of cell texts."""
        found = []
        for body in _TABLE.findall(self.text):
            head, _, rest = body.partition("</thead>")
            header = [_plain(c) for _, c in _CELL.findall(head)]
            rows = [
                [_plain(c) for _, c in _CELL.findall(row)]
                for row in re.findall(r"<tr\b.*?</tr>", rest, re.S)
            ]
            found.append((header, rows))
        return found


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """The report of each runbook rendered from the outputs stored with it."""
    out = tmp_path_factory.mktemp("stored-reports")
    started = datetime(2025, 6, 2, 9, tzinfo=UTC)
    made = {}
    for name in STORED:
        path = ROOT / "runbooks" / f"{name}.ipynb"
        runbook = hx.runbooks.load(path)
        nb = nbformat.read(str(path), as_version=4)
        figures = [
            o["data"][PLOTLY_MIMETYPE]
            for c in nb.cells
            for o in c.get("outputs", [])
            if PLOTLY_MIMETYPE in (o.get("data") or {})
        ]
        run = Run(
            id="stored", runbook=name, status="succeeded", started=started,
            finished=started + timedelta(seconds=12), profile="demo",
            parameters=P.resolved(runbook.parameters, {}),
        )  # fmt: skip
        page = render_report(nb, run, runbook, out / f"{name}.html", []).read_text()
        text = _FIGURE_DATA.sub("", _SCRIPT_OR_STYLE.sub("", page))
        made[name] = Report(name, page, text, figures)
    return made


def test_every_shipped_runbook_with_outputs_is_covered() -> None:
    assert len(STORED) == 7 and "inference-latency-triage" in STORED


@pytest.mark.parametrize("name", STORED)
def test_the_verdict_is_the_first_thing_on_the_page(name: str, reports: dict[str, Report]) -> None:
    page = reports[name].text
    body = page[page.index("<body") :]
    verdict = body.find('class="hxb-verdict')
    assert verdict != -1, f"{name}: no verdict"
    assert body.count('class="hxb-verdict') == 1, f"{name}: the verdict is shown twice"
    title = body.index("<h1")
    # Right under the report's title: before the run's details and every cell.
    assert title < verdict < min(body.index("<table"), body.index("jp-Cell")), name


@pytest.mark.parametrize("name", STORED)
def test_tables_read_like_a_report(name: str, reports: dict[str, Report]) -> None:
    report = reports[name]
    tables = report.tables()
    assert not re.search(r"<tbody>\s*<tr[^>]*>\s*<th", report.text), f"{name}: a pandas index"
    for header, rows in tables:
        assert rows, f"{name}: a table with a header and no row ({header}): say 'none'"
        assert all(header), f"{name}: a column without a name (a pandas index?): {header}"
        assert not {"index", "level_0"} & set(header), f"{name}: a pandas index: {header}"
        for column in header:
            assert column == column.lower() and " " not in column, f"{name}: column {column!r}"
        for position, column in enumerate(header):
            values = [row[position] for row in rows if position < len(row)]
            whole_as_float = [v for v in values if re.fullmatch(r"-?[\d,]+\.0+", v)]
            fractional = [v for v in values if re.fullmatch(r"-?[\d,]*\.\d*[1-9]\d*", v)]
            assert not (whole_as_float and not fractional), (
                f"{name}: column {column!r} shows whole numbers as floats: {whole_as_float[:3]}"
            )
            for value in values:
                assert not value.endswith("..."), f"{name}: {column!r} cut short: {value!r}"
                assert value not in ("NaN", "nan", "NaT", "<NA>"), f"{name}: {column!r}: {value}"


@pytest.mark.parametrize("name", STORED)
def test_no_nanoseconds_and_no_python_reprs(name: str, reports: dict[str, Report]) -> None:
    text = reports[name].text
    shown = re.sub(r"<[^>]+>", " ", text)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{4,}", shown), f"{name}: sub-second timestamps"
    assert not re.search(r"\b1\d{18}\b", shown), f"{name}: a time as nanoseconds"
    header = text[text.index('class="hxb-header"') : text.index("</header>")]
    params = header[header.index("<summary>Parameters") :]
    values = [_plain(v) for v in re.findall(r"<td>(.*?)</td>", params, re.S)]
    assert values, f"{name}: no parameters in the header"
    for value in values:
        assert not re.fullmatch(r"(['\"]).*\1", value), f"{name}: a parameter shown as {value}"


@pytest.mark.parametrize("name", STORED)
def test_the_report_inlines_the_smallest_plotly_bundle(
    name: str, reports: dict[str, Report]
) -> None:
    report = reports[name]
    size = len(report.html.encode())
    bundles = _plotlyjs.bundles_in(report.html)
    if not report.figures:
        assert bundles == [] and size < PAGE_BOUND, (name, size)
        return
    expected = _plotlyjs.choose(_plotlyjs.trace_types(report.figures))
    assert bundles == [expected], (name, bundles)
    assert size - len(_plotlyjs.source(expected).encode()) < PAGE_BOUND, (name, size)
    assert size < SIZE_BOUND.get(name, DEFAULT_SIZE_BOUND), f"{name}: {size / MB:.2f} MB"


def test_the_captions_percentiles_are_the_tables(reports: dict[str, Report]) -> None:
    report = reports["inference-latency-triage"]
    header, rows = report.tables()[0]
    assert header[:2] == ["window", "requests"], header
    table = [row[header.index("p95_ms")] for row in rows]
    compare = next(f for f in report.figures if "before" in (f["layout"].get("meta") or {}))
    caption = compare["layout"]["title"]["text"]
    quoted = re.search(r"p95 ([\d,.]+) → ([\d,.]+) ms", caption)
    assert quoted, caption
    assert list(quoted.groups()) == table, (caption, table)
    # The verdict quotes the same figures, to the millisecond.
    meta = compare["layout"]["meta"]
    exact = [meta["before"]["p95"], meta["after"]["p95"]]
    assert [f"{v:,.1f}" for v in exact] == table
    verdict = re.search(r"\((\d+) → (\d+) ms, threshold", report.text)
    assert verdict and list(verdict.groups()) == [f"{v:.0f}" for v in exact]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.mark.browser
@pytest.mark.slow
def test_each_stored_report_draws_every_trace_with_its_bundle(
    reports: dict[str, Report], tmp_path: Path
) -> None:
    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, report in reports.items():
                if not report.figures:
                    continue
                path = tmp_path / f"{name}.html"
                path.write_text(report.html)
                page = chromium.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, found=errors: found.append(str(exc)))
                page.goto(path.as_uri())
                count = len(report.figures)
                page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {count}",
                    timeout=30_000,
                )
                # A trace type the bundle lacks is drawn as nothing (its type becomes scatter).
                drawn = page.evaluate(
                    """() => Array.from(document.querySelectorAll('div[data-hxb-figure]'))
                        .map(gd => (gd._fullData || []).map(t => t.type))"""
                )
                wanted = [[t.get("type", "scatter") for t in f["data"]] for f in report.figures]
                assert drawn == wanted, name
                assert errors == [], (name, errors)
                page.close()
        finally:
            chromium.close()
