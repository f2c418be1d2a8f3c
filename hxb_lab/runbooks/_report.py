"""The HTML report of a run: self-contained, code hidden, one copy of plotly.js.

nbconvert's ``lab`` template in report mode (code hidden, markdown and outputs kept), with
a header naming the runbook, run, status, duration, profile and parameters (secrets
masked, every value HTML-escaped). Nothing is loaded from the network: the CDN scripts of
the template (require.js, MathJax, mermaid, the widget manager) are left out, plotly
figures (sent by the kernel as plotly JSON) become data that one script of the template
draws with plotly.js, inlined once. The Content-Security-Policy trusts the scripts of the
template alone (hashed from the template rendered with no cell, before any output is
added), so HTML from an output stays inert however it was written, and nothing is fetched.
The failing cell of a failed run keeps its code, so the report shows what broke.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact

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
    """The first line of the plotly.js bundle's banner (``* plotly.js vX.Y.Z``)."""
    from plotly.offline import get_plotlyjs

    head = str(get_plotlyjs())[:200].splitlines()
    return next((line for line in head if "plotly.js v" in line), head[0])


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


def _figures_to_html(nb: Any) -> bool:
    """Give every plotly output an HTML rendering as data; True if there was one."""
    found = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            figure = data.get(PLOTLY_MIMETYPE)
            if not isinstance(figure, dict):
                continue
            found = True
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


def _row(name: str, value: str) -> str:
    return f"<tr><th>{escape(name)}</th><td>{value}</td></tr>"


def header_html(run: Run, runbook: Runbook, secrets: list[str]) -> str:
    """The header block; every value escaped, secrets masked."""

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
        f"<tr><th>{safe(k)}</th><td>{safe(repr(v))}</td></tr>" for k, v in run.parameters.items()
    )
    error = ""
    if run.error:
        error = f'<div class="hxb-error">{safe(run.error)}</div>'
    description = f"<p>{safe(runbook.description)}</p>" if runbook.description else ""
    return (
        f'<header class="hxb-header"><h1>{safe(runbook.title)}</h1>{description}'
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


def _with_plotlyjs(html: str) -> str:
    from plotly.offline import get_plotlyjs

    return html.replace(_PLOTLYJS, get_plotlyjs(), 1)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


_hashes: dict[bool, tuple[str, ...]] = {}


def script_hashes(figures: bool = True, exporter: Any = None) -> tuple[str, ...]:
    """The CSP hashes of a report's own scripts: those of the template rendered with no
    cell at all, so no output can add one (plotly.js and the figures' drawing, when the
    report has figures). Computed once; `exporter` is the one the report will use, whose
    template is then compiled once for both."""
    if figures not in _hashes:
        import nbformat

        empty: Any = nbformat.v4.new_notebook
        html, _ = (exporter or _exporter()).from_notebook_node(
            empty(), resources=_resources("", figures)
        )
        if figures:
            html = _with_plotlyjs(html)
        _hashes[figures] = tuple(sorted({_sha256(m.group(1)) for m in _SCRIPT.finditer(html)}))
    return _hashes[figures]


def report_csp(figures: bool = True, exporter: Any = None) -> str:
    """The Content-Security-Policy of a report: its own scripts, nothing fetched."""
    return _POLICY.format(scripts=" ".join(script_hashes(figures, exporter)) or "'none'")


def render_report(nb: Any, run: Run, runbook: Runbook, target: Path, secrets: list[str]) -> Path:
    """Write the HTML report of an executed notebook to `target`."""
    nb = copy.deepcopy(nb)
    _cap_outputs(nb)
    _widgets_to_static(nb)
    has_figures = _figures_to_html(nb)
    _show_only_failing_code(nb)
    nb.metadata.pop("widgets", None)  # widget state would need the CDN widget manager
    nb.metadata["title"] = f"{runbook.title} - run {run.id}"
    exporter = _exporter()
    policy = report_csp(has_figures, exporter)  # before any output: outputs cannot change it
    resources = _resources(header_html(run, runbook, secrets), has_figures)
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    html = redact(html, secrets)  # before plotly.js goes in: its code is nobody's secret
    if has_figures:
        html = _with_plotlyjs(html)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    html = html.replace("<head>", "<head>\n" + meta, 1)
    target.write_text(html, encoding="utf-8")
    return target
