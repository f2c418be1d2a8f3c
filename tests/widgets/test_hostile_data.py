"""`<img src=x onerror=alert(1)>` in the platform's own data reaches every view and figure
only as text, read through the real layers (snapshot cluster, chDB over Parquet
telemetry, the MLflow registry) of a copy of the seeded demo (see `hostile_home`).

Each view is driven to where the hostile rows are selected and shown, serialised as
Jupyter embeds it, and every property a browser renders as markup is read as a browser
would: no ``<img>`` and no event handler may appear, and the string must show as text
somewhere (a test that lost it on the way would pass vacuously otherwise). Its
`.figure()` is checked the same way in its JSON and its static HTML export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.widgets._base import View
from hxb_lab.workbench import Workbench
from tests.widgets.hostile_home import Hostile, hostile_home
from tests.widgets.rendering import (
    ESCAPED,
    EVIL,
    assert_figure_escaped,
    assert_only_escaped,
    assert_text_fields_plain,
    read_as_browser,
    view_markup,
)


@pytest.fixture(scope="module")
def hostile(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    """A copy of the session's demo home with the hostile string planted (never the shared
    one: other tests read it)."""
    return hostile_home(demo_home, tmp_path_factory.mktemp("hostile-home"))


@pytest.fixture
def wb(hostile: Hostile, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workbench]:
    """The demo profile on the hostile home, in a notebook that lets its own itables render
    HTML (``itables.options.allow_html = True``): the views' tables must not follow it."""
    import itables.options

    monkeypatch.setattr(itables.options, "allow_html", True)
    monkeypatch.setenv("HXB_LAB_HOME", str(hostile.home))
    workbench = hx.connect("demo")
    yield workbench
    workbench.close()


def _check(view: View, where: str) -> tuple[list[str], list[str]]:
    """The view's markup and text as embedded; markup holds the string only escaped."""
    assert view.error_message == "", f"{where}: {view.error_message}"
    markup, text = view_markup(view.widget)
    assert_only_escaped(markup, where)
    assert_text_fields_plain(text, where)
    return markup, text


def _shows_as_text(fragment: str) -> bool:
    elements, text = read_as_browser(fragment)
    return EVIL in text and not any(tag == "img" for tag, _ in elements)


# ----------------------------------------------------------------------------- views
def drive_cluster(view: Any, hostile: Hostile) -> None:
    assert view.nodes_table.select_where("name", hostile.node)
    assert view.pods_table.select_where("name", EVIL)


def drive_gpus(view: Any, hostile: Hostile) -> None:
    view.threshold.value = 50


def drive_inference(view: Any, hostile: Hostile) -> None:
    assert view.deployments_table.select_where("name", hostile.failing)
    assert view.error_message == ""
    failing = view.details.value
    assert _shows_as_text(failing), "the failing deployment's message is not shown as text"
    assert view.deployments_table.select_where("name", hostile.model)
    view.action.value = "rollback"
    view.preview_button.click()
    assert view.error_message == ""
    assert _shows_as_text(view.diff.value), "the annotation in the rollback's diff"


def drive_traces(view: Any, hostile: Hostile) -> None:
    assert view.selected_service() == EVIL
    assert view.traces_table.select_where("trace_id", hostile.trace_id)


VIEWS: dict[str, tuple[Callable[[Workbench], View], Callable[[Any, Hostile], None]]] = {
    "cluster": (lambda wb: wb.view.cluster(), drive_cluster),
    "gpus": (lambda wb: wb.view.gpus(), drive_gpus),
    "inference": (lambda wb: wb.view.inference(), drive_inference),
    "metrics": (
        lambda wb: wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname", "pod"]),
        lambda _view, _hostile: None,
    ),
    "traces": (lambda wb: wb.view.traces(service=EVIL), drive_traces),
    "services": (lambda wb: wb.view.services(), lambda _view, _hostile: None),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_view_shows_hostile_data_as_text(wb: Workbench, hostile: Hostile, name: str) -> None:
    make, drive = VIEWS[name]
    view = make(wb)
    try:
        drive(view, hostile)
        _check(view, f"wb.view.{name}()")
        assert_figure_escaped(view.figure(), f"wb.view.{name}().figure()")
    finally:
        view.close()


def test_a_pods_labels_and_annotations_show_as_text(wb: Workbench, hostile: Hostile) -> None:
    view = wb.view.cluster()
    try:
        drive_cluster(view, hostile)
        pod = view.selected_pod()
        assert pod is not None and pod["name"] == EVIL
        assert pod["annotations"] == {"hxb.io/owner-note": EVIL, EVIL: "a hostile key"}
        details = view.pod_details.value
        elements, text = read_as_browser(details)
        assert not [tag for tag, _ in elements if tag == "img"]
        assert f"pod {hostile.namespace}/{EVIL}" in text
        for shown in ("labels", "hxb.io/team", "annotations", "hxb.io/owner-note"):
            assert shown in text
        assert text.count(EVIL) == 4  # name, label value, annotation value and key
        assert details.count(ESCAPED) == 4
        # The warning event about it, in the events of the selected node's pods.
        events = view.events_table.frame
        assert f"Readiness probe failed: {EVIL}" in set(events["message"])
        view.pods_table.select(None)
        assert view.pod_details.value == ""
    finally:
        view.close()


def test_the_hostile_trace_shows_its_span_and_log_as_text(wb: Workbench, hostile: Hostile) -> None:
    view = wb.view.traces(service=EVIL)
    try:
        drive_traces(view, hostile)
        assert view.error_message == ""
        root = view.selected_span()
        assert root is not None and root["operation"] == EVIL
        assert _shows_as_text(view.attributes.value)
        assert f"hxb.note{EVIL}" in read_as_browser(view.attributes.value)[1]
        # The span picker is a <select>: its labels are text, the string appears as it is.
        assert any(EVIL in label for label, _ in view.span.options)
        logs = view.logs_table.frame
        assert f"request failed: {EVIL}" in set(logs["body"])
    finally:
        view.close()


def test_an_error_naming_hostile_input_is_escaped(wb: Workbench) -> None:
    view = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=[EVIL])
    try:
        assert view.error_message == f"invalid parameters: by: {EVIL!r} is not a valid label name"
        assert_only_escaped([view.error.value], "the error line")
    finally:
        view.close()
