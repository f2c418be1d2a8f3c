"""The parameters cell: schema, validation, coercion and the injected cell (no kernel)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hxb_lab import times
from hxb_lab.errors import ParameterError
from hxb_lab.runbooks import Secret
from hxb_lab.runbooks import _parameters as P
from hxb_lab.runbooks._catalog import load
from hxb_lab.runbooks._cron import check_cron
from tests.runbooks.conftest import fixture

ISSUE_CELL = """from typing import Literal
from hxb_lab.runbooks import Secret
service: str                       # Service to investigate (required: no default)
window: str = "1h"                 # Look-back window, e.g. 30m, 6h, 2d
threshold_ms: float = 250.0        # p95 latency that counts as slow
mode: Literal["report", "fix"] = "report"
dry_run: bool = True
token: Secret = ""                 # redacted everywhere
"""


def test_schema_of_the_issue_example() -> None:
    params = P.parse_parameters(ISSUE_CELL)
    schema = P.schema(params, title="Latency check")
    assert schema["title"] == "Latency check"
    assert schema["required"] == ["service"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert list(props) == ["service", "window", "threshold_ms", "mode", "dry_run", "token"]
    assert props["service"] == {
        "type": "string",
        "description": "Service to investigate (required: no default)",
        "x-hxb-annotation": "str",
    }
    assert props["window"]["default"] == "1h"
    assert props["window"]["description"] == "Look-back window, e.g. 30m, 6h, 2d"
    assert props["threshold_ms"]["type"] == "number"
    assert props["threshold_ms"]["default"] == 250.0
    assert props["mode"]["enum"] == ["report", "fix"]
    assert props["mode"]["type"] == "string"
    assert props["dry_run"] == {"type": "boolean", "default": True, "x-hxb-annotation": "bool"}
    assert props["token"]["format"] == "password"
    assert props["token"]["writeOnly"] is True
    assert props["token"]["description"] == "redacted everywhere"


def test_more_types_lists_optionals_and_integers() -> None:
    params = P.parse_parameters(
        "hosts: list[str] = ['a']\nlimit: int | None = None\nlevel: Optional[int] = 3\n"
        "extra: dict = {}\nretries: int = 2\nratio: Literal[0.5, 1.0] = 1.0\n"
    )
    props = P.schema(params)["properties"]
    assert props["hosts"]["type"] == "array" and props["hosts"]["items"] == {"type": "string"}
    assert props["limit"]["type"] == ["integer", "null"]
    assert props["level"]["type"] == ["integer", "null"]
    assert props["extra"]["type"] == "object"
    assert props["retries"] == {"type": "integer", "default": 2, "x-hxb-annotation": "int"}
    assert props["ratio"]["enum"] == [0.5, 1.0] and props["ratio"]["type"] == "number"


def test_untyped_parameters_take_their_type_from_the_default() -> None:
    rb = load(fixture("untyped_parameters"))
    kinds = {p.name: p.kind for p in rb.parameters}
    assert kinds == {
        "alpha": "float", "count": "int", "name": "str", "enabled": "bool",
        "items": "list", "options": "dict", "nothing": "any",
    }  # fmt: skip
    props = rb.schema["properties"]
    assert props["alpha"] == {"type": "number", "description": "Learning rate", "default": 0.5}
    assert props["items"]["items"] == {"type": "integer"}
    assert rb.schema["required"] == []
    assert rb.title == "Untyped parameters"  # from the first heading


#: A parameters cell written for plain papermill: a magic, a line that is not Python, string
#: annotations and a type HXB Lab cannot check.
PAPERMILL_CELL = """%env EXAMPLE_MODE=fast
from datetime import datetime
limit = 1 +
count: "int" = 3  # How many
when: datetime = None  # From when
label: "list[" = "x"
"""


def test_a_papermill_cell_loads_with_warnings_for_what_cannot_be_typed() -> None:
    params, warnings = P.read_parameters(PAPERMILL_CELL, where="ops/check.ipynb (cell 1)")
    assert [(p.name, p.kind, p.default) for p in params] == [
        ("count", "int", 3), ("when", "any", None), ("label", "str", "x"),
    ]  # fmt: skip
    assert params[0].type_name() == "int" and params[0].help == "How many"
    assert warnings == [
        "ops/check.ipynb (cell 1): line 1 is not Python ('%env EXAMPLE_MODE=fast'): skipped",
        "ops/check.ipynb (cell 1): line 3 is not Python ('limit = 1 +'): skipped",
        "ops/check.ipynb (cell 1): parameter 'when' has a type HXB Lab cannot check (datetime): "
        f"it takes any value (use {P._SUPPORTED})",
        "ops/check.ipynb (cell 1): parameter 'label' has a type HXB Lab cannot check ('list['): "
        f"it takes a string, as its default (use {P._SUPPORTED})",
    ]
    assert P.validate(params, {"count": 5, "when": "2025-06-02"}) == {
        "count": 5, "when": "2025-06-02"
    }  # fmt: skip
    with pytest.raises(ParameterError, match="count: expected an integer"):
        P.validate(params, {"count": "many"})


def test_every_parameter_papermill_finds_is_ours_or_a_warning(tmp_path: Path) -> None:
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    cell = nbformat.v4.new_code_cell(PAPERMILL_CELL)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path / "papermill.ipynb"
    nbformat.write(nb, str(path))
    theirs = set(papermill.inspect_notebook(str(path)))
    rb = load(path)
    ours = {p.name for p in rb.parameters}
    skipped = {name for name in theirs - ours if any(f"{name} =" in w for w in rb.warnings)}
    assert theirs == ours | skipped and skipped == {"limit"}


def test_a_cell_without_any_parameter_python_is_all_warnings() -> None:
    params, warnings = P.read_parameters("x: int = = 3\n!ls\n")
    assert params == [] and len(warnings) == 2


def test_bounds_and_durations_come_from_the_cell() -> None:
    params = P.parse_parameters(
        "threshold_ms: int = 500  # >= 0\n"
        "idle_below: float = 25.0  # Utilisation (%) under which a GPU is idle; >= 0, <= 100\n"
        "ratio: float = 0.5  # A share (> 0 and < 1)\n"
        'window: str = "2h"  # Look-back window: 30m, 2h, 1d\n'
        'name: str = "api"  # A name; >= 3\n'
    )
    props = P.schema(params)["properties"]
    assert props["threshold_ms"]["minimum"] == 0 and "description" not in props["threshold_ms"]
    assert (props["idle_below"]["minimum"], props["idle_below"]["maximum"]) == (0, 100)
    assert props["idle_below"]["description"] == "Utilisation (%) under which a GPU is idle"
    assert props["ratio"]["exclusiveMinimum"] == 0 and props["ratio"]["exclusiveMaximum"] == 1
    assert props["window"]["pattern"] == times.DURATION_PATTERN
    assert props["window"]["description"] == "Look-back window: 30m, 2h, 1d"
    assert "pattern" not in props["name"] and "minimum" not in props["name"]
    with pytest.raises(ParameterError) as caught:
        P.validate(params, {"threshold_ms": -5, "window": "2x", "ratio": 1, "idle_below": 101})
    assert caught.value.problems == [
        "threshold_ms: expected >= 0, got -5",
        "window: '2x' is not a duration (use a number and a unit: 30m, 2h, 1d)",
        "ratio: expected < 1, got 1",
        "idle_below: expected <= 100, got 101",
    ]
    good = {"threshold_ms": 0, "window": "90s", "ratio": 0.2, "idle_below": 100}
    assert P.validate(params, good) == {**good, "ratio": 0.2, "idle_below": 100.0}
    for text in ("30m", "2h", "1.5h", "1d", "1w", "250ms", " 2 h "):
        assert re.fullmatch(times.DURATION_PATTERN, text), text
        assert times.parse_duration(text, "window") > 0
    for text in ("2x", "-2h", "h", "2", "2hh", ""):
        assert not re.fullmatch(times.DURATION_PATTERN, text), text


def test_validation_lists_every_problem_at_once() -> None:
    params = P.parse_parameters(ISSUE_CELL)
    with pytest.raises(ParameterError) as caught:
        P.validate(
            params,
            {"treshold_ms": 3, "threshold_ms": "fast", "mode": "delete", "dry_run": "yes"},
            runbook="latency",
        )
    problems = caught.value.problems
    assert problems == [
        "treshold_ms: unknown parameter (did you mean 'threshold_ms'?); known parameters: "
        "service, window, threshold_ms, mode, dry_run, token",
        "threshold_ms: expected a number, got 'fast' (str)",
        "mode: 'delete' is not one of 'report', 'fix'",
        "dry_run: expected true or false, got 'yes' (str)",
        "service: required, and has no default (Service to investigate (required: no default))",
    ]
    assert str(caught.value).startswith("5 invalid parameters for runbook 'latency':")


def test_validation_normalises_and_keeps_only_given_values() -> None:
    params = P.parse_parameters(ISSUE_CELL + "hosts: list[int] = []\n")
    values = P.validate(params, {"service": "checkout", "threshold_ms": 300, "token": "s3cr3t"})
    assert values == {"service": "checkout", "threshold_ms": 300.0, "token": "s3cr3t"}
    assert isinstance(values["threshold_ms"], float)
    assert isinstance(values["token"], Secret) and repr(values["token"]) == "Secret('***')"
    with pytest.raises(ParameterError, match=r"hosts\[1\]: expected an integer, got 'b'"):
        P.validate(params, {"service": "x", "hosts": [1, "b"]})
    with pytest.raises(ParameterError, match="dry_run: expected true or false, got 1"):
        P.validate(params, {"service": "x", "dry_run": 1})


def test_command_line_strings_are_converted_by_type() -> None:
    params = P.parse_parameters(ISSUE_CELL + "hosts: list[int] = []\nlimit: int | None = 3\n")
    raw = {"threshold_ms": "300", "dry_run": "false", "mode": "fix", "hosts": "1, 2",
           "limit": "none", "service": "42"}  # fmt: skip
    values = P.validate(params, P.coerce(params, raw))
    assert values == {"threshold_ms": 300.0, "dry_run": False, "mode": "fix", "hosts": [1, 2],
                      "limit": None, "service": "42"}  # fmt: skip
    kept = P.coerce(params, {"threshold_ms": "abc", "dry_run": "maybe"})
    assert kept == {"threshold_ms": "abc", "dry_run": "maybe"}  # left for validate to report


@pytest.mark.parametrize(
    "value",
    [
        "\"; import os; os.system('id') #",
        "'''; __import__('os').system('id'); '''",
        'line\nbreak\\"',
        "x' + str(__import__('os').getpid()) + '",
    ],
)
def test_a_value_carrying_code_stays_a_string_literal(value: str) -> None:
    params = P.parse_parameters('note: str = ""\ncount: int = 1\n')
    source = P.injected_source(params, P.validate(params, {"note": value, "count": 2}))
    tree = ast.parse(source)
    assigns = [n for n in tree.body if isinstance(n, ast.Assign)]
    assert len(tree.body) == len(assigns) == 2  # nothing but two assignments
    note = assigns[0].value
    assert isinstance(note, ast.Constant) and note.value == value
    assert not any(isinstance(n, ast.Call) for n in ast.walk(tree))


def test_a_secret_value_is_not_in_the_injected_cell() -> None:
    params = P.parse_parameters(ISSUE_CELL)
    values = P.validate(params, {"service": "s", "token": "tok-9f8e7d"})
    source = P.injected_source(params, values, run_id="r1")
    assert "tok-9f8e7d" not in source
    assert "token = _HxbSecret.from_environment('token')" in source
    assert P.redacted(params, values) == {"service": "s", "token": "***"}


def test_secret_parameter_reads_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P.secret_env_var("api-token"), "value-123")
    assert P.secret_env_var("api-token") == "HXB_LAB_SECRET_API_TOKEN"
    secret = Secret.from_environment("api-token")
    assert secret == "value-123" and "value-123" not in repr(secret)


def test_cron_expressions_are_checked_field_by_field() -> None:
    assert check_cron("*/15  6-18 * * MON-FRI") == "*/15 6-18 * * MON-FRI"
    assert check_cron("@daily") == "@daily"
    with pytest.raises(ParameterError, match="has 4 fields; a cron expression has 5"):
        check_cron("0 6 * *")
    with pytest.raises(ParameterError) as caught:
        check_cron("61 25 * 13 *")
    assert caught.value.problems == [
        "'61 25 * 13 *': minute: 61 is outside 0-59",
        "'61 25 * 13 *': hour: 25 is outside 0-23",
        "'61 25 * 13 *': month: 13 is outside 1-12",
    ]
    with pytest.raises(ParameterError, match="a step of 0 never fires"):
        check_cron("*/0 * * * *")
