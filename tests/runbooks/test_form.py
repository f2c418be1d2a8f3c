"""The ipywidgets form generated from a runbook's parameters."""

from __future__ import annotations

import ipywidgets as w

import hxb_lab as hx
from tests.runbooks.conftest import fixture


def test_the_form_has_a_field_per_parameter_of_the_right_kind() -> None:
    form = hx.runbooks.get(str(fixture("succeeds"))).form()
    fields = form.fields
    assert list(fields) == ["service", "window", "threshold_ms", "mode", "dry_run", "hosts", "note"]
    assert isinstance(fields["service"], w.Text) and fields["service"].value == ""
    assert isinstance(fields["threshold_ms"], w.FloatText) and fields["threshold_ms"].value == 250.0
    assert isinstance(fields["mode"], w.Dropdown)
    assert list(fields["mode"].options) == [("report", "report"), ("fix", "fix")]
    assert isinstance(fields["dry_run"], w.Checkbox) and fields["dry_run"].value is True
    assert fields["hosts"].value == "gpu-1"
    secret = hx.runbooks.get(str(fixture("secret_parameter"))).form().fields["token"]
    assert isinstance(secret, w.Password)
    assert "application/vnd.jupyter.widget-view+json" in form._repr_mimebundle_()
    assert repr(form) == "<RunbookForm 'succeeds' (7 fields)>"


def test_validation_messages_follow_the_values() -> None:
    form = hx.runbooks.get(str(fixture("succeeds"))).form()
    assert form.validate() is None
    assert "service: required" in form.messages.value
    assert form.run_button.disabled
    form.fields["service"].value = "cart <b>"
    form.fields["hosts"].value = "a, b"
    assert form.messages.value == ""  # re-validated on change
    assert not form.run_button.disabled
    assert form.validate() == {
        "service": "cart <b>", "window": "1h", "threshold_ms": 250.0, "mode": "report",
        "dry_run": True, "hosts": ["a", "b"], "note": "",
    }  # fmt: skip


def test_the_run_button_runs_and_links_the_report(local_profile: str) -> None:
    form = hx.runbooks.get("succeeds", local_profile).form(local_profile)
    form.background = False  # wait for the run instead of a thread
    form.fields["service"].value = "from-the-form"
    form.fields["mode"].value = "fix"
    form.run_button.click()
    run = form.result
    assert run is not None and run.status == "succeeded", form.status.value
    assert run.parameters["service"] == "from-the-form" and run.parameters["mode"] == "fix"
    assert "succeeded" in form.status.value
    assert 'target="_blank">report.html</a>' in form.status.value
    assert str(run.report) in form.status.value
    assert form.progress.value == form.progress.max
    assert not form.run_button.disabled
