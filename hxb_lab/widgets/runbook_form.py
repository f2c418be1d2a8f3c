"""An ipywidgets form for a runbook, generated from its parameters (`Runbook.form()`).

One field per parameter (a dropdown for choices, a checkbox for booleans, a password box
for secrets, ...), validation messages as the values change, a Run button, a progress bar
over the cells, and a link to the report when the run is over. The run happens in a
thread, so the notebook stays usable meanwhile.

The form is handed the runbook and uses only its methods (`coerce`, `validate`, `run`):
widgets sit below the runbooks layer and never import it.
"""

from __future__ import annotations

import json
import os
import threading
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.config import Profile
from hxb_lab.errors import HxbLabError, ParameterError

if TYPE_CHECKING:
    from hxb_lab.runbooks import Run, Runbook
    from hxb_lab.runbooks._parameters import Parameter

__all__ = ["RunbookForm"]

_WIDTH = {"description_width": "160px"}


def _field(p: Parameter) -> Any:
    import ipywidgets as w

    default = p.default_value
    common: dict[str, Any] = {
        "description": p.name,
        "style": _WIDTH,
        "description_allow_html": False,
    }
    common["layout"] = w.Layout(width="480px")
    if p.kind == "choice":
        options = [(str(c), c) for c in p.choices]
        if p.nullable:
            options.insert(0, ("(none)", None))
        known = default in p.choices or (default is None and p.nullable)
        value = default if known else p.choices[0]
        return w.Dropdown(options=options, value=value, **common)
    if p.kind == "bool":
        return w.Checkbox(value=bool(default), indent=True, **common)
    if p.kind == "int" and not p.nullable:
        return w.IntText(value=default if isinstance(default, int) else 0, **common)
    if p.kind == "float" and not p.nullable:
        return w.FloatText(
            value=float(default) if isinstance(default, int | float) else 0.0, **common
        )
    if p.kind == "secret":
        return w.Password(value="", placeholder="(hidden)" if default else "", **common)
    if p.kind == "list":
        text = ", ".join(str(v) for v in default) if isinstance(default, list) else ""
        return w.Text(value=text, placeholder="comma-separated", **common)
    if p.kind in ("dict", "any") and default is not None:
        return w.Textarea(value=json.dumps(default), placeholder="JSON", **common)
    return w.Text(value="" if default is None else str(default), placeholder=p.help, **common)


class RunbookForm:
    """The form of one runbook. Display it in a notebook; `values()` reads it."""

    def __init__(self, runbook: Runbook, profile: str | Profile | None = None) -> None:
        import ipywidgets as w

        self.runbook = runbook
        self.profile = profile
        self.background = True  # run in a thread (tests set False to wait for the run)
        self.result: Run | None = None
        self.fields = {p.name: _field(p) for p in runbook.parameters}
        rows = []
        for p in runbook.parameters:
            note = f"{escape(p.help)}" + (" <b>(required)</b>" if p.required else "")
            rows.append(w.HBox([self.fields[p.name], w.HTML(f"<small>{note}</small>")]))
        self.messages = w.HTML()
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        cells = max(len(runbook.notebook.get("cells", [])), 1)
        self.progress = w.IntProgress(
            value=0, min=0, max=cells, description="cells", layout=w.Layout(visibility="hidden")
        )
        self.status = w.HTML()
        title = f"<h3>{escape(runbook.title)}</h3>"
        if runbook.description:
            title += f"<p>{escape(runbook.description)}</p>"
        self.widget = w.VBox(
            [
                w.HTML(title),
                *rows,
                w.HBox([self.run_button, self.progress]),
                self.messages,
                self.status,
            ]
        )
        self.run_button.on_click(lambda _button: self.run())
        for field in self.fields.values():
            field.observe(lambda _change: self.validate(), names="value")

    # ------------------------------------------------------------------ values
    def values(self) -> dict[str, Any]:
        """The form's values, converted by type; empty required fields are left out."""
        raw: dict[str, Any] = {}
        for p in self.runbook.parameters:
            value = self.fields[p.name].value
            if isinstance(value, str):
                if value == "" and (p.required or (p.nullable and p.kind != "str")):
                    continue
                if p.kind in ("list", "dict", "any", "int", "float"):
                    value = self.runbook.coerce({p.name: value})[p.name]
            raw[p.name] = value
        return raw

    def validate(self) -> dict[str, Any] | None:
        """The checked values, or None with the problems shown under the fields."""
        try:
            values = self.runbook.validate(self.values())
        except ParameterError as exc:
            items = "".join(f"<li>{escape(problem)}</li>" for problem in exc.problems)
            self.messages.value = f'<ul style="color:#cf222e">{items}</ul>'
            self.run_button.disabled = True
            return None
        self.messages.value = ""
        self.run_button.disabled = False
        return values

    # ------------------------------------------------------------------ running
    def run(self) -> Run | None:
        """Validate, then run the runbook (in a thread unless `background` is False)."""
        values = self.validate()
        if values is None:
            return None
        self.run_button.disabled = True
        self.progress.value = 0
        self.progress.layout.visibility = "visible"
        self.status.value = f"running {escape(self.runbook.name)} ..."
        if self.background:
            threading.Thread(target=self._run, args=(values,), daemon=True).start()
            return None
        return self._run(values)

    def _on_cell(self, index: int | None) -> None:
        if index is not None:
            self.progress.value = min(index + 1, self.progress.max)

    def _run(self, values: dict[str, Any]) -> Run | None:
        try:
            run = self.runbook.run(values, self.profile, progress_bar=False, on_cell=self._on_cell)
        except HxbLabError as exc:
            self.status.value = f'<span style="color:#cf222e">{escape(str(exc))}</span>'
            return None
        finally:
            self.run_button.disabled = False
        self.result = run
        self.progress.value = self.progress.max
        self.status.value = self._summary(run)
        return run

    @staticmethod
    def _summary(run: Run) -> str:
        colour = "#1a7f37" if run.ok else "#cf222e"
        text = f'<b style="color:{colour}">{escape(run.summary())}</b>'
        if run.report is not None:
            try:
                href = os.path.relpath(
                    run.report
                )  # JupyterLab opens links relative to the notebook
            except ValueError:
                href = run.report.as_uri()
            if href.startswith(".."):
                href = Path(run.report).as_uri()
            link = f'<a href="{escape(href)}" target="_blank">{escape(run.report.name)}</a>'
            text += f"<br>report: {link} <code>{escape(str(run.report))}</code>"
        for warning in run.warnings:
            text += f"<br><small>{escape(warning)}</small>"
        return text

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<RunbookForm {self.runbook.name!r} ({len(self.fields)} fields)>"
