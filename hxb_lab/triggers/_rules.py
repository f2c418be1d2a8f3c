"""Which runbook an alert starts, and with which parameters.

In order: the first of the profile's trigger rules whose ``match`` pairs all equal the
alert's labels (its parameters templated from the alert: ``"{labels.model}"``); else the
alert's ``runbook`` label; else the last path segment of its ``runbook_url`` annotation
(``https://wiki/runbooks/crashloop-triage`` -> ``crashloop-triage``) when that names a
runbook of the catalog. A runbook chosen by label or annotation gets, as parameters, the
alert's labels that bear a parameter's name. The values are the alert's strings; the
runbook's own types convert and check them (`Runbook.coerce`, `Runbook.validate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from hxb_lab.config import TriggerRule
from hxb_lab.errors import ParameterError
from hxb_lab.triggers._payload import Alert

__all__ = ["BY_ANNOTATION", "BY_LABEL", "Choice", "choose", "render"]

BY_LABEL = "runbook label"
BY_ANNOTATION = "runbook_url annotation"
_PLACEHOLDER = re.compile(r"\{\s*(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")


@dataclass(frozen=True)
class Choice:
    """The runbook an alert starts: by which rule (or `BY_LABEL`, `BY_ANNOTATION`), and
    the parameters as strings (`from_labels`: the alert's labels named like parameters)."""

    rule: str
    runbook: str
    raw: dict[str, str] = field(default_factory=dict)
    from_labels: bool = False


def render(template: str, alert: Alert, rule: str, parameter: str) -> str:
    """`template` with each ``{labels.NAME}`` and ``{annotations.NAME}`` replaced by the
    alert's value; `ParameterError` naming the rule and parameter when the alert has none."""

    def value(match: re.Match[str]) -> str:
        kind, name = match.groups()
        source = alert.labels if kind == "labels" else alert.annotations
        if name not in source:
            raise ParameterError(
                [f"{parameter}: the alert {alert.name or alert.fingerprint!r} has no "
                 f"{kind[:-1]} {name!r} for trigger rule {rule!r}"],
                subject="trigger",
            )  # fmt: skip
        return source[name]

    return _PLACEHOLDER.sub(value, template)


def _from_url(url: str) -> str:
    path = urlsplit(url).path if "://" in url else url
    stem = PurePosixPath(path.rstrip("/")).name
    return stem.removesuffix(".ipynb").removesuffix(".md").removesuffix(".html")


def choose(
    alert: Alert, rules: Iterable[TriggerRule], known: Callable[[str], bool]
) -> Choice | None:
    """The runbook `alert` starts, or None when nothing names one. `known(name)` says
    whether the catalog holds a runbook; a ``runbook`` label naming none is a
    `ParameterError` (the alert is wrong, and retrying will not mend it)."""
    for rule in rules:
        if all(alert.labels.get(k) == v for k, v in rule.match):
            raw = {name: render(t, alert, rule.name, name) for name, t in rule.parameters}
            return Choice(rule.name, rule.runbook, raw)
    label = alert.labels.get("runbook")
    if label:
        if not known(label):
            raise ParameterError(
                [f"labels.runbook: {label!r:.80} names no runbook of the catalog: fix the "
                 "alerting rule's label, or add a trigger rule for it"],
                subject="alert",
            )  # fmt: skip
        return Choice(BY_LABEL, label, from_labels=True)
    url = alert.annotations.get("runbook_url")
    if url and known(_from_url(url)):
        return Choice(BY_ANNOTATION, _from_url(url), from_labels=True)
    return None
