"""The time range control every view shares: a preset ("last 1 h") or a custom start and end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hxb_lab.errors import ParameterError
from hxb_lab.times import to_instant

__all__ = ["PRESETS", "TimeRange"]

#: Label -> length of a "last ..." range.
PRESETS: dict[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
CUSTOM = "custom"


def _parse(text: str, field: str, now: datetime) -> datetime:
    """A custom start or end, in the grammar of every time argument (`hxb_lab.times`)."""
    try:
        return to_instant(text, now, field)
    except ParameterError as exc:
        raise ParameterError(exc.problems, subject="time range") from None


class TimeRange:
    """`last` one of `PRESETS` before `now()`, or a custom `start`..`end` typed in ISO."""

    def __init__(
        self,
        now: Callable[[], datetime],
        *,
        last: str = "1h",
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> None:
        import ipywidgets as w

        if last not in PRESETS:
            raise ParameterError([f"last: {last!r} is not one of {', '.join(PRESETS)}"])
        self._now = now
        self.preset = w.ToggleButtons(
            options=[*PRESETS, CUSTOM],
            value=last,
            tooltips=[f"the last {p}" for p in PRESETS] + ["from start to end"],
            style={"button_width": "auto"},  # a fixed width cut "custom" to "cus…"
        )
        self.start = w.Text(placeholder="start, e.g. 2026-11-27T07:00Z", layout={"width": "210px"})
        self.end = w.Text(placeholder="end (empty: now)", layout={"width": "210px"})
        self.apply = w.Button(description="Apply", layout={"width": "70px"})
        self.custom = w.HBox([self.start, self.end, self.apply])
        self.widget = w.HBox([self.preset, self.custom], layout={"flex_flow": "row wrap"})
        self._listeners: list[Callable[[], object]] = []
        if start is not None or end is not None:
            self.start.value = "" if start is None else str(start)
            self.end.value = "" if end is None else str(end)
            self.preset.value = CUSTOM
        self._show_custom()
        self.preset.observe(self._preset_changed, "value")
        self.apply.on_click(lambda _b: self._changed())

    def on_change(self, callback: Callable[[], object]) -> None:
        """Call `callback()` whenever the range changes (a preset picked, Apply pressed)."""
        self._listeners.append(callback)

    def _show_custom(self) -> None:
        self.custom.layout.display = "" if self.preset.value == CUSTOM else "none"

    def _preset_changed(self, _change: Any) -> None:
        self._show_custom()
        if self.preset.value != CUSTOM:
            self._changed()

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    def range(self) -> tuple[datetime, datetime]:
        """(start, end) in UTC; a bad custom value is a `ParameterError` naming the field."""
        now = self._now().astimezone(UTC)
        if self.preset.value != CUSTOM:
            return now - PRESETS[self.preset.value], now
        end = _parse(self.end.value, "end", now) if self.end.value.strip() else now
        if not self.start.value.strip():
            raise ParameterError(
                ["start: empty (type a time, or pick a preset)"], subject="time range"
            )
        start = _parse(self.start.value, "start", now)
        if start >= end:
            raise ParameterError(
                [f"start {start:%Y-%m-%d %H:%M} is not before end {end:%Y-%m-%d %H:%M}"],
                subject="time range",
            )
        return start, end

    def describe(self) -> str:
        """The range in words, for titles: "last 1h" or "2026-11-27 07:00 – 08:00 UTC"."""
        if self.preset.value != CUSTOM:
            return f"last {self.preset.value}"
        try:
            start, end = self.range()
        except ParameterError:
            return "custom range"
        until = end.strftime("%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M")
        return f"{start:%Y-%m-%d %H:%M} – {until} UTC"
