"""The HTML report of a run: self-contained, code hidden, one copy of plotly.js.

nbconvert's ``lab`` template in report mode (code hidden, markdown and outputs kept), with
a header naming the runbook, run, status, duration, profile and parameters (secrets
masked, every value HTML-escaped). Nothing is loaded from the network: the CDN scripts of
the template (require.js, MathJax, mermaid, the widget manager) are left out, plotly
figures (sent by the kernel as plotly JSON) become HTML with plotly.js inlined once, and a
Content-Security-Policy lets the page run only its own inline scripts and fetch nothing.
The failing cell of a failed run keeps its code, so the report shows what broke.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook
    from hxb_lab.runbooks._run import Run

__all__ = ["PLOTLY_MIMETYPE", "plotly_signature", "render_report"]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_TEMPLATE = "hxb_report.html.j2"
_TEMPLATE_SOURCE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.hxb_plotlyjs -%}
<script type="text/javascript">{{ resources.hxb_plotlyjs }}</script>
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


def plotly_signature() -> str:
    """The first line of the plotly.js bundle's banner (``* plotly.js vX.Y.Z``)."""
    from plotly.offline import get_plotlyjs

    head = str(get_plotlyjs())[:200].splitlines()
    return next((line for line in head if "plotly.js v" in line), head[0])


def _figures_to_html(nb: Any) -> bool:
    """Give every plotly output an HTML rendering without plotly.js; True if there was one."""
    import plotly.io as pio

    found = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            figure = data.get(PLOTLY_MIMETYPE)
            if figure is None:
                continue
            found = True
            data["text/html"] = pio.to_html(
                figure, include_plotlyjs=False, full_html=False, validate=False,
                default_height="450px",
            )  # fmt: skip
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


def _csp(html: str) -> str:
    """A Content-Security-Policy admitting exactly the page's inline scripts, and no network."""
    hashes = sorted(
        {
            "'sha256-"
            + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode()
            + "'"
            for m in _SCRIPT.finditer(html)
        }
    )
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(hashes) or chr(39) + 'none' + chr(39)} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; media-src data:"
    )
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'


def render_report(nb: Any, run: Run, runbook: Runbook, target: Path, secrets: list[str]) -> Path:
    """Write the HTML report of an executed notebook to `target`."""
    import copy

    import nbconvert
    from jinja2 import DictLoader

    nb = copy.deepcopy(nb)
    _widgets_to_static(nb)
    has_figures = _figures_to_html(nb)
    _show_only_failing_code(nb)
    nb.metadata.pop("widgets", None)  # widget state would need the CDN widget manager
    nb.metadata["title"] = f"{runbook.title} - run {run.id}"
    exporter_class: Any = nbconvert.HTMLExporter
    exporter = exporter_class(
        template_name="lab",
        extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_SOURCE})],
        template_file=_TEMPLATE,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources: dict[str, Any] = {
        "hxb_header": header_html(run, runbook, secrets),
        "hxb_css": _CSS,
        "hxb_plotlyjs": "",
    }
    placeholder = "/* hxb-lab: plotly.js */"
    if has_figures:
        resources["hxb_plotlyjs"] = placeholder
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    html = redact(html, secrets)  # before plotly.js goes in: its code is nobody's secret
    if has_figures:
        from plotly.offline import get_plotlyjs

        html = html.replace(placeholder, get_plotlyjs(), 1)
    html = html.replace("<head>", "<head>\n" + _csp(html), 1)
    target.write_text(html, encoding="utf-8")
    return target
