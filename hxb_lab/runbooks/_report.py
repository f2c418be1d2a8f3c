"""The HTML report of a run: self-contained, code hidden, one copy of plotly.js.

nbconvert's ``lab`` template in report mode (code hidden, markdown and outputs kept), with
a header naming the runbook, run, status, duration, profile and parameters (secrets
masked, every value HTML-escaped). Nothing is loaded from the network: the CDN scripts of
the template (require.js, MathJax, mermaid, the widget manager) are left out, plotly
figures (sent by the kernel as plotly JSON) become data that one script of the template
draws with plotly.js, inlined once: the smallest bundle that draws the report's traces
(`_plotlyjs`). The Content-Security-Policy trusts the scripts of the template alone (hashed
from the template rendered with no cell, before any output is added), so HTML from an
output stays inert however it was written, and nothing is fetched.
The failing cell of a failed run keeps its code, so the report shows what broke. The
runbook's verdict (its output of class ``hxb-verdict``) moves to the top of the page, under
the title, and parameters read as they are typed, not as Python reprs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact
from hxb_lab.runbooks import _plotlyjs
from hxb_lab.runbooks._display import VERDICT_CLASS

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook
    from hxb_lab.runbooks._run import Run

__all__ = ["PLOTLY_MIMETYPE", "plotly_signature", "render_report", "report_csp", "script_hashes"]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_TEMPLATE = "hxb_report.html.j2"
_TEMPLATE_SOURCE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.hxb_plotlyjs -%}
<script type="text/javascript">{{ resources.hxb_plotlyjs }}</script>
<script type="text/javascript">{{ resources.hxb_draw }}</script>
{%- endif -%}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">{{ resources.hxb_css }}</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.hxb_header }}
{%- endblock body_header -%}
"""
_CSS = """
.hxb-header { font-family: var(--jp-ui-font-family, sans-serif); margin: 16px 24px 8px;
  padding: 12px 16px; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
.hxb-header h1 { font-size: 1.4em; margin: 0 0 6px; }
.hxb-header table { border-collapse: collapse; font-size: 0.9em; }
.hxb-header th { text-align: left; padding: 2px 12px 2px 0; color: #57606a; font-weight: 600;
  vertical-align: top; }
.hxb-header td { padding: 2px 12px 2px 0; font-family: var(--jp-code-font-family, monospace); }
.hxb-status { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-weight: 600; }
.hxb-status-succeeded { background: #1a7f37; } .hxb-status-failed { background: #cf222e; }
.hxb-status-timed_out, .hxb-status-cancelled { background: #9a6700; }
.hxb-status-running { background: #0969da; }
.hxb-error { color: #cf222e; margin-top: 6px; }
.hxb-since { margin: 6px 0; } .hxb-since ul { margin: 4px 0; }
.jp-RenderedHTMLCommon table.hxb-table td, .jp-RenderedHTMLCommon table.hxb-table th {
  text-align: left; }
.jp-RenderedHTMLCommon table.hxb-table td.hxb-number { text-align: right;
  font-variant-numeric: tabular-nums; }
"""
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S | re.I)
_PLOTLYJS = "/* hxb-lab: plotly.js */"  # replaced by the bundle once the page is made
#: Draws every figure of the page from its data (its config is ours, not the figure's:
#: a figure's data cannot turn on links or "send to cloud").
_DRAW = """document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div[data-hxb-figure]").forEach(function (div) {
    var figure = JSON.parse(div.getAttribute("data-hxb-figure"));
    Plotly.newPlot(div, {data: figure.data || [], layout: figure.layout || {},
                         frames: figure.frames || [], config: {responsive: true}});
  });
});"""
#: Everything but the page's own scripts is refused; nothing is fetched, posted or framed.
_POLICY = (
    "default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src data:; "
    "font-src data:; media-src data:; form-action 'none'; base-uri 'none'"
)


def plotly_signature() -> str:
    """The line of plotly.js's banner that every bundle of the release carries once
    (``* Copyright 2012-2026, Plotly, Inc.``): a page holds it once per bundle inlined.
    `_plotlyjs.bundles_in` names them."""
    from plotly.offline import get_plotlyjs

    head = str(get_plotlyjs())[:300].splitlines()
    return next(line for line in head if "Copyright" in line and "Plotly" in line)


def _size(layout: dict[str, Any], key: str, default: str) -> str:
    template = (layout.get("template") or {}).get("layout") or {}
    value = layout.get(key, template.get(key))
    return f"{value:g}px" if isinstance(value, int | float) else default


def _figure_html(figure: dict[str, Any]) -> str:
    """A figure as data: a div the template's script draws (no script of its own)."""
    layout = figure.get("layout") or {}
    style = f"height:{_size(layout, 'height', '450px')}; width:{_size(layout, 'width', '100%')};"
    data = json.dumps({k: figure.get(k) for k in ("data", "layout", "frames") if figure.get(k)})
    return f'<div class="plotly-graph-div" style="{style}" data-hxb-figure="{escape(data)}"></div>'


def _figures_to_html(nb: Any) -> list[dict[str, Any]]:
    """Give every plotly output an HTML rendering as data; the figures."""
    found: list[dict[str, Any]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            figure = data.get(PLOTLY_MIMETYPE)
            if not isinstance(figure, dict):
                continue
            found.append(figure)
            data["text/html"] = _figure_html(figure)
            del data[PLOTLY_MIMETYPE]
    return found


def _widgets_to_static(nb: Any) -> None:
    """A report has no kernel and no widget manager: an output that is a widget shows its
    static rendering (a view's figure, see `View._repr_mimebundle_`) or says what it was."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if data.pop(WIDGET_MIMETYPE, None) is None:
                continue
            if set(data) <= {"text/plain"}:
                shown = str(data.get("text/plain") or "a widget")
                data["text/plain"] = f"{shown} (interactive: open the notebook to use it)"


#: The largest single output a report embeds, and all its outputs together (bytes of text,
#: figures counted as their JSON). Beyond them an output is a line saying where it is: the
#: run's notebook keeps every output whole.
MAX_OUTPUT_BYTES = 5 * 2**20
MAX_OUTPUTS_BYTES = 40 * 2**20


def _output_size(output: Any) -> int:
    if output.get("output_type") == "stream":
        return len(str(output.get("text") or "").encode())
    size = 0
    for value in (output.get("data") or {}).values():
        text = value if isinstance(value, str) else json.dumps(value)
        size += len(text.encode())
    return size


def _cap_outputs(nb: Any) -> int:
    """Replace outputs over `MAX_OUTPUT_BYTES`, or past `MAX_OUTPUTS_BYTES` in all, by a note;
    how many were left out."""
    total, left_out = 0, 0
    for cell in nb.cells:
        for i, output in enumerate(cell.get("outputs", [])):
            size = _output_size(output)
            if size <= MAX_OUTPUT_BYTES and total + size <= MAX_OUTPUTS_BYTES:
                total += size
                continue
            left_out += 1
            limit = (
                f"{MAX_OUTPUT_BYTES / 2**20:.0f} MB for one output"
                if size > MAX_OUTPUT_BYTES
                else f"{MAX_OUTPUTS_BYTES / 2**20:.0f} MB for all outputs"
            )
            note = (
                f"[output of {size / 2**20:.1f} MB left out of the report (at most {limit}): "
                "it is whole in the run's notebook]"
            )
            cell["outputs"][i] = {"output_type": "stream", "name": "stdout", "text": note}
    return left_out


def _show_only_failing_code(nb: Any) -> None:
    """Hide the code of every cell but the failing one(s)."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if not failed:
            cell.setdefault("metadata", {}).setdefault("transient", {})["remove_source"] = True


def _lift_verdict(nb: Any) -> str:
    """Take the first output holding the runbook's verdict out of its cell; its HTML, or ""
    when there is none. The report shows it first, in the header."""
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        for i, output in enumerate(outputs):
            html = (output.get("data") or {}).get("text/html")
            text = "".join(html) if isinstance(html, list) else html
            if isinstance(text, str) and f'class="{VERDICT_CLASS}' in text:
                del outputs[i]
                return text
    return ""


def parameter_text(value: Any) -> str:
    """A parameter's value as it is typed on the command line, not as a Python repr:
    ``llm-chat``, ``500``, ``0.2``, ``true``, ``a, b``; an empty string is ``(empty)``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value if value else "(empty)"
    if isinstance(value, list | tuple):
        return ", ".join(parameter_text(v) for v in value) or "(empty)"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _row(name: str, value: str) -> str:
    return f"<tr><th>{escape(name)}</th><td>{value}</td></tr>"


def header_html(run: Run, runbook: Runbook, secrets: list[str], verdict: str = "") -> str:
    """The header block, the run's `verdict` (an output's HTML) right under the title;
    every value escaped, secrets masked."""

    def safe(value: Any) -> str:
        return escape(redact(str(value), secrets))

    status = (
        f'<span class="hxb-status hxb-status-{safe(run.status)}">'
        f"{safe(run.status.replace('_', ' '))}</span>"
    )
    duration = f"{run.duration.total_seconds():.1f} s" if run.duration else "-"
    rows = [
        _row("Runbook", f"{safe(runbook.name)}"),
        _row("Run", safe(run.id)),
        _row("Status", status),
        _row("Started", safe(run.started.isoformat(timespec="seconds"))),
        _row("Duration", safe(duration)),
        _row("Profile", safe(run.profile)),
        _row(
            "Executor",
            safe(run.executor + (f" (job {run.kubernetes_job})" if run.kubernetes_job else "")),
        ),
    ]
    params = "".join(
        f"<tr><th>{safe(k)}</th><td>{safe(parameter_text(v))}</td></tr>"
        for k, v in run.parameters.items()
    )
    error = ""
    if run.error:
        error = f'<div class="hxb-error">{safe(run.error)}</div>'
    description = f"<p>{safe(runbook.description)}</p>" if runbook.description else ""
    return (
        f'<header class="hxb-header"><h1>{safe(runbook.title)}</h1>{verdict}{description}'
        f"<table>{''.join(rows)}</table>"
        f"<details open><summary>Parameters</summary><table>{params}</table></details>"
        f"{error}</header>"
    )


def _exporter() -> Any:
    import nbconvert
    from jinja2 import DictLoader

    exporter_class: Any = nbconvert.HTMLExporter
    return exporter_class(
        template_name="lab",
        extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_SOURCE})],
        template_file=_TEMPLATE,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


def _resources(header: str, figures: bool) -> dict[str, Any]:
    return {
        "hxb_header": header,
        "hxb_css": _CSS,
        "hxb_plotlyjs": _PLOTLYJS if figures else "",
        "hxb_draw": _DRAW,
    }


def _with_plotlyjs(html: str, bundle: str) -> str:
    return html.replace(_PLOTLYJS, _plotlyjs.source(bundle), 1)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


_scripts: dict[bool, tuple[str, ...]] = {}
_bundle_hashes: dict[str, str] = {}


def script_hashes(
    figures: bool = True, exporter: Any = None, bundles: Iterable[str] | None = None
) -> tuple[str, ...]:
    """The CSP hashes of a report's own scripts: those of the template rendered with no
    cell at all, so no output can add one (the figures' drawing and plotly.js, when the
    report has figures: each of `bundles`, by default every bundle a report may inline).
    Computed once; `exporter` is the one the report will use, whose template is then
    compiled once for both."""
    if figures not in _scripts:
        import nbformat

        empty: Any = nbformat.v4.new_notebook
        html, _ = (exporter or _exporter()).from_notebook_node(
            empty(), resources=_resources("", figures)
        )
        _scripts[figures] = tuple(m.group(1) for m in _SCRIPT.finditer(html))
    hashes = {_sha256(script) for script in _scripts[figures] if script != _PLOTLYJS}
    if figures:
        for bundle in _plotlyjs.available() if bundles is None else bundles:
            if bundle not in _bundle_hashes:
                _bundle_hashes[bundle] = _sha256(_plotlyjs.source(bundle))
            hashes.add(_bundle_hashes[bundle])
    return tuple(sorted(hashes))


def report_csp(
    figures: bool = True, exporter: Any = None, bundles: Iterable[str] | None = None
) -> str:
    """The Content-Security-Policy of a report: its own scripts, nothing fetched (plotly.js
    as each of `bundles`; by default any bundle a report may inline, as the server's
    header must allow whichever a report chose)."""
    hashes = script_hashes(figures, exporter, bundles)
    return _POLICY.format(scripts=" ".join(hashes) or "'none'")


def render_report(
    nb: Any, run: Run, runbook: Runbook, target: Path, secrets: list[str], since: str = ""
) -> Path:
    """Write the HTML report of an executed notebook to `target`; `since` (HTML: what
    changed since the last run) goes right under the verdict."""
    nb = copy.deepcopy(nb)
    verdict = _lift_verdict(nb)
    _cap_outputs(nb)
    _widgets_to_static(nb)
    figures = _figures_to_html(nb)
    has_figures = bool(figures)
    bundle = _plotlyjs.choose(_plotlyjs.trace_types(figures))
    _show_only_failing_code(nb)
    nb.metadata.pop("widgets", None)  # widget state would need the CDN widget manager
    nb.metadata["title"] = f"{runbook.title} - run {run.id}"
    exporter = _exporter()
    # Before any output: outputs cannot change it.
    policy = report_csp(has_figures, exporter, bundles=[bundle])
    header = header_html(run, runbook, secrets, verdict=verdict + since)
    resources = _resources(header, has_figures)
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    html = redact(html, secrets)  # before plotly.js goes in: its code is nobody's secret
    if has_figures:
        html = _with_plotlyjs(html, bundle)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    html = html.replace("<head>", "<head>\n" + meta, 1)
    target.write_text(html, encoding="utf-8")
    return target
