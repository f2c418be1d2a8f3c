"""Runbook parameters refuse bad values with one problem per field, before any kernel
starts: wrong types, NaN and infinity, integers beyond 64 bits, values over 64 KiB or
nested deeper than 32, unknown names; and command-line text that is not what its type
reads (``-p ports "[1,2"`` is not split into ``['[1', '2']``).

A case is one row: the values as a user gives them (Python, or command-line text), and
the field the problem names. The runbook is ``fixtures/kinds.ipynb``, one parameter of
every kind.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from hxb_lab.errors import ParameterError
from hxb_lab.runbooks import Runbook, load
from hxb_lab.runbooks._parameters import MAX_TOTAL_CHARS, MAX_VALUE_CHARS
from tests.badinput.conftest import FIXTURES, one_line


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


KINDS = load(FIXTURES / "kinds.ipynb")
S = "'service': 'a', "  # the required parameter, so each row has one problem

#: (the values, as Python, the field named)
VALUES: list[tuple[str, str]] = [
    ("{}", "service"),
    ("{'service': None}", "service"),
    ("{'service': 5}", "service"),
    ("{'service': b'a'}", "service"),
    ("{'service': ['a']}", "service"),
    ("{'service': 'x' * (MAX_VALUE_CHARS + 1)}", "service"),
    ("{'service': 'x' * 120_000_000}", "service"),
    ("{" + S + "'count': 'x'}", "count"),
    ("{" + S + "'count': 1.5}", "count"),
    ("{" + S + "'count': True}", "count"),
    ("{" + S + "'count': NAN}", "count"),
    ("{" + S + "'count': INF}", "count"),
    ("{" + S + "'count': 2**63}", "count"),
    ("{" + S + "'count': -(2**63) - 1}", "count"),
    ("{" + S + "'count': 1e300}", "count"),
    ("{" + S + "'ratio': NAN}", "ratio"),
    ("{" + S + "'ratio': INF}", "ratio"),
    ("{" + S + "'ratio': -INF}", "ratio"),
    ("{" + S + "'ratio': float('1e999')}", "ratio"),
    ("{" + S + "'ratio': '0.5'}", "ratio"),
    ("{" + S + "'ratio': None}", "ratio"),
    ("{" + S + "'dry_run': 'yes'}", "dry_run"),
    ("{" + S + "'dry_run': 1}", "dry_run"),
    ("{" + S + "'mode': 'delete'}", "mode"),
    ("{" + S + "'mode': 0}", "mode"),
    ("{" + S + "'ports': '1,2'}", "ports"),
    ("{" + S + "'ports': [1, 'x']}", "ports[1]"),
    ("{" + S + "'ports': [1, NAN]}", "ports"),
    ("{" + S + "'ports': {'a': 1}}", "ports"),
    ("{" + S + "'names': nested(33)}", "names"),
    ("{" + S + "'names': nested(300)}", "names"),
    ("{" + S + "'names': nested(100_000)}", "names"),
    ("{" + S + "'names': [INF]}", "names"),
    ("{" + S + "'names': ['x' * MAX_VALUE_CHARS]}", "names"),
    ("{" + S + "'labels': [1]}", "labels"),
    ("{" + S + "'labels': {1: 'a'}}", "labels"),
    ("{" + S + "'labels': {'a': {'b': NAN}}}", "labels"),
    ("{" + S + "'labels': {'a': nested(40)}}", "labels"),
    ("{" + S + "'note': 5}", "note"),
    ("{" + S + "'token': 5}", "token"),
    ("{" + S + "'token': 'x' * (MAX_VALUE_CHARS + 1)}", "token"),
    ("{" + S + "'extra': object()}", "extra"),
    ("{" + S + "'extra': {1, 2}}", "extra"),
    ("{" + S + "'extra': nested(50)}", "extra"),
    ("{" + S + "'nope': 1}", "nope"),
    ("{" + S + "'servce': 'b'}", "servce"),
    ("{" + S + "1: 2}", "1"),
    ("{" + S + "'n' * 10_000: 1}", "unknown parameter"),
    ("{'service': X, 'note': X, 'token': X, 'names': [X], 'labels': {'k': X}}", "parameters"),
    ("[('service', 'a')]", "parameters"),
    ("'service=a'", "parameters"),
]

#: (command-line text by name, the field named): what `-p NAME VALUE` cannot become
TEXT: list[tuple[dict[str, str], str]] = [
    ({"count": "x"}, "count"),
    ({"count": "1e999"}, "count"),
    ({"count": "9" * 5000}, "count"),
    ({"ratio": "nan"}, "ratio"),
    ({"ratio": "inf"}, "ratio"),
    ({"ratio": "-Infinity"}, "ratio"),
    ({"ratio": "1e999"}, "ratio"),
    ({"dry_run": "maybe"}, "dry_run"),
    ({"mode": "Report"}, "mode"),
    ({"ports": "[1,2"}, "ports"),
    ({"ports": "[1, 2]]"}, "ports"),
    ({"ports": "a,b"}, "ports[0]"),
    ({"ports": '{"a": 1}'}, "ports"),
    ({"names": "[" * 300 + "]" * 300}, "names"),
    ({"names": "[" * 100_000}, "names"),
    ({"labels": "[1]"}, "labels"),
    ({"labels": "{bad"}, "labels"),
    ({"labels": '{"a": NaN}'}, "labels"),
    ({"labels": '{"a": ' * 40 + "1" + "}" * 40}, "labels"),
    ({"extra": "[" * 40 + "]" * 40}, "extra"),
    ({"note": "n" * (MAX_VALUE_CHARS + 1)}, "note"),
]

#: Documented acceptances: (values, what validate returns for them)
ACCEPTED: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"service": "a", "count": 2.0}, {"service": "a", "count": 2}),
    ({"service": "a", "ratio": 1}, {"service": "a", "ratio": 1.0}),
    ({"service": "a", "names": _nested(31)}, {"service": "a", "names": _nested(31)}),
    ({"service": "x" * MAX_VALUE_CHARS}, {"service": "x" * MAX_VALUE_CHARS}),
    ({"service": "a", "note": None}, {"service": "a", "note": None}),
    ({"service": "a", "extra": "[not json"}, {"service": "a", "extra": "[not json"}),
]


def _problems(runbook: Runbook, call: Any) -> list[str]:
    with pytest.raises(ParameterError) as caught:
        call()
    text = str(caught.value)
    assert "Traceback" not in text and len(text) < 4000, text[:4000]
    return caught.value.problems


@pytest.mark.parametrize(("values", "field"), VALUES, ids=[v[0][:70] for v in VALUES])
def test_bad_values_are_one_problem_naming_the_field(values: str, field: str) -> None:
    scope = {"NAN": math.nan, "INF": math.inf, "MAX_VALUE_CHARS": MAX_VALUE_CHARS,
             "nested": _nested, "X": "x" * 60_000}  # fmt: skip
    given = eval(values, scope)  # the table above, nothing else
    problems = _problems(KINDS, lambda: KINDS.validate(given))
    assert len(problems) == 1, problems
    assert field in one_line(problems[0])


@pytest.mark.parametrize(("raw", "field"), TEXT, ids=[repr(t[0])[:70] for t in TEXT])
def test_command_line_text_that_does_not_read_as_its_type_is_refused(
    raw: dict[str, str], field: str
) -> None:
    problems = _problems(KINDS, lambda: KINDS.validate({"service": "a", **KINDS.coerce(raw)}))
    assert len(problems) == 1, problems
    assert one_line(problems[0]).startswith(field), problems[0]


@pytest.mark.parametrize(("values", "expected"), ACCEPTED, ids=[str(i) for i in range(len(ACCEPTED))])  # fmt: skip
def test_documented_acceptances(values: dict[str, Any], expected: dict[str, Any]) -> None:
    assert KINDS.validate(values) == expected


def test_the_limits_are_what_the_docs_say() -> None:
    assert (MAX_VALUE_CHARS, MAX_TOTAL_CHARS) == (64 * 1024, 256 * 1024)


def test_many_unknown_names_are_counted_not_listed() -> None:
    problems = _problems(
        KINDS, lambda: KINDS.validate({"service": "a", **{f"x{i}": i for i in range(1000)}})
    )
    assert len(problems) == 21
    assert problems[-1] == "parameters: 980 more problems not shown"
