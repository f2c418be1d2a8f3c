"""Trigger rules are checked when the profile loads: a rule naming a runbook that does not
exist, or templating from anything but the alert, is refused naming the rule and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hxb_lab.config import load_profile
from hxb_lab.errors import ConfigError
from tests.triggers.conftest import profile_text

RULE = '[[profiles.alerts.alerts.rules]]\nname = "{name}"\nrunbook = "{runbook}"\n{extra}\n'


def test_the_rules_load_as_written(profiles_file: Path) -> None:
    profiles_file.write_text(profile_text())
    (rule,) = load_profile().alerts.rules
    assert (rule.name, rule.runbook) == ("service-down", "checks")
    assert dict(rule.match) == {"alertname": "ServiceDown"}
    assert dict(rule.parameters) == {"service": "{labels.service}", "replicas": "{labels.replicas}"}


@pytest.mark.parametrize(
    ("rules", "extra", "says"),
    [
        (
            RULE.format(name="typo", runbook="chekcs", extra=""),
            "",
            "key 'alerts.rules[0].runbook': trigger rule 'typo' names the runbook 'chekcs', "
            "which no runbook directory holds (known runbooks: ",
        ),
        (
            RULE.format(
                name="odd", runbook="checks", extra='parameters = { service = "{env.HOME}" }'
            ),
            "",
            "key 'alerts.rules[0].parameters.service': trigger rule 'odd' templates {env.HOME}",
        ),
        (
            RULE.format(name="m", runbook="checks", extra="match = { alertname = 3 }"),
            "",
            "key 'alerts.rules[0].match': expected a table of strings",
        ),
        (
            RULE.format(name="a", runbook="checks", extra="") * 2,
            "",
            "key 'alerts.rules[1].name': a second trigger rule named 'a'",
        ),
        (
            '[[profiles.alerts.alerts.rules]]\nrunbook = "checks"\n',
            "",
            "key 'alerts.rules[0].name': missing required key",
        ),
        ("", "max_runs = 0\n", "key 'alerts.max_runs': expected a whole number from 1"),
        ("", 'notify_format = "teams"\n', "key 'alerts.notify_format': 'teams' is not a"),
        (
            "",
            'notify_url = "https://hooks.example/T0/B0/x"\n',
            "key 'alerts.notify_url': secrets are not stored in the profiles file",
        ),
    ],
    ids=[
        "unknown-runbook",
        "template",
        "match",
        "duplicate",
        "no-name",
        "max-runs",
        "format",
        "inline-url",
    ],
)
def test_a_wrong_rule_is_refused_when_the_profile_loads(
    profiles_file: Path, rules: str, extra: str, says: str
) -> None:
    profiles_file.write_text(profile_text(rules=rules, extra=extra))
    with pytest.raises(ConfigError) as caught:
        load_profile()
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)
