"""What every view shares: time range, refresh, auto-refresh, loading state, inline errors."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from hxb_lab.errors import ParameterError
from hxb_lab.widgets._base import ON_CHANGE, message_of
from hxb_lab.widgets.services import ServicesView
from hxb_lab.widgets.traces import TracesView
from tests.widgets.bench import NOW, StaticBench


def test_presets_end_at_the_workbench_now_and_custom_ranges_are_validated() -> None:
    view = ServicesView(StaticBench())
    assert view.range() == (NOW - timedelta(hours=1), NOW)
    view.time.preset.value = "24h"
    assert view.range() == (NOW - timedelta(hours=24), NOW)
    view.time.preset.value = "custom"
    view.time.start.value = "2026-11-27T06:00Z"
    view.time.end.value = "2026-11-27T07:30Z"
    view.time.apply.click()
    start, end = view.range()
    assert (start.hour, end.hour, end.minute) == (6, 7, 30)
    assert view.time.describe() == "2026-11-27 06:00 – 07:30 UTC"
    assert view.error_message == ""
    view.time.start.value = "yesterday-ish"
    view.time.apply.click()
    assert view.error_message == (
        "invalid time range: start: 'yesterday-ish' is not a time or an age (use a datetime, "
        "an ISO time like '2026-11-27T08:00Z', 'now', or an age like '30m', '2h', '1d')"
    )
    view.time.start.value = "2026-11-27T09:00Z"
    view.time.apply.click()
    assert "start 2026-11-27 09:00 is not before end 2026-11-27 07:30" in view.error_message


def test_changing_the_range_refreshes_and_the_status_says_when_and_what() -> None:
    view = ServicesView(StaticBench())
    before = view.refreshes
    view.time.preset.value = "6h"
    assert view.refreshes == before + 1
    assert "updated" in view.status.value
    assert "last 6h" in view.status.value
    view.refresh_button.click()
    assert view.refreshes == before + 2


def test_a_known_error_shows_its_message_inline_on_one_line_and_recovery_clears_it() -> None:
    bench = StaticBench()
    view = TracesView(bench)
    bench.fail("services", ParameterError(["end: before start", "limit: must be positive"]))
    assert view.refresh() is False
    assert view.error_message == "2 invalid parameters: end: before start; limit: must be positive"
    assert "\n" not in view.error.value
    assert "Traceback" not in view.error.value
    assert "failed" in view.status.value
    bench.failures.clear()
    assert view.refresh() is True
    assert view.error_message == ""
    assert view.error.value == ""


def test_an_unexpected_exception_is_one_line_naming_it_never_a_traceback() -> None:
    bench = StaticBench()
    view = TracesView(bench)
    bench.fail("services", KeyError("p95_ms"))
    view.refresh()
    assert view.error_message == "internal error: KeyError: 'p95_ms'"
    assert message_of(RuntimeError("a\n  b")) == "internal error: RuntimeError: a; b"


def test_secrets_in_an_error_are_redacted_and_markup_escaped() -> None:
    bench = StaticBench()
    view = ServicesView(bench)
    bench.fail("services")
    bench.traces.services = lambda **_: (_ for _ in ()).throw(  # type: ignore[method-assign]
        ConnectionError("https://otel:hunter22@ch.example:8443 said <b>no</b>")
    )
    view.refresh()
    assert "hunter22" not in view.error.value
    assert "otel:***@ch.example" in view.error.value
    assert "&lt;b&gt;no&lt;/b&gt;" in view.error.value


def test_the_loading_state_shows_while_reading() -> None:
    bench = StaticBench()
    view = ServicesView(bench)
    seen = []
    real = bench.traces.dependencies

    def watching(**kwargs):
        seen.append((view.loading, view.refresh_button.disabled, view.status.value))
        return real(**kwargs)

    bench.traces.dependencies = watching  # type: ignore[method-assign]
    view.refresh()
    loading, disabled, status = seen[0]
    assert loading
    assert disabled
    assert "loading…" in status
    assert not view.loading
    assert not view.refresh_button.disabled


def test_interval_refresh_runs_until_stopped() -> None:
    view = ServicesView(StaticBench(), refresh_every=0.05)
    start = view.refreshes
    for _ in range(3):
        view.refreshed.clear()
        assert view.refreshed.wait(5), "no refresh on the interval"
    assert view.refreshes >= start + 3
    view.every(None)
    view.auto.value = 10  # the dropdown drives the same switch
    assert view._repeater is not None
    assert view._repeater.seconds == 10
    view.close()
    assert view._repeater is None


def test_on_change_refresh_follows_the_cluster_watch() -> None:
    from hxb_lab.widgets.cluster import ClusterView

    bench = StaticBench()
    done = threading.Event()

    class Event:
        type = "MODIFIED"

    def changes():
        yield Event()
        done.set()

    bench.changes = changes()
    view = ClusterView(bench)
    assert ("on change", ON_CHANGE) in view.auto.options
    before = view.refreshes
    view.auto.value = ON_CHANGE
    assert done.wait(5)
    assert view._repeater is not None
    assert view._repeater.ended.wait(5)
    assert view.refreshes == before + 1


def test_repr_is_short_and_the_view_displays_as_its_widget() -> None:
    view = ServicesView(StaticBench(), last="15m")
    assert repr(view) == "<ServicesView of profile 'static', last 15m>"
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    with pytest.raises(ParameterError, match="last: '2h' is not one of 15m, 1h, 6h, 24h, 7d"):
        ServicesView(StaticBench(), last="2h")
