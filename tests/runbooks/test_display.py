"""How runbooks show their tables and verdict (`hx.runbooks.table`, `hx.runbooks.verdict`)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.runbooks._display import snake_case, table_html
from hxb_lab.runbooks._report import parameter_text


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]


def test_a_table_shows_what_a_reader_expects() -> None:
    frame = pd.DataFrame(
        {
            "modelName": ["<b>llm</b>", None],
            "calls": [4018.0, 255.0],
            "p95_ms": [322.354, np.nan],
            "last_seen": pd.to_datetime([1748850210538829312, 1748850210000000000], utc=True),
            "ready": [True, False],
            "aliases": [["champion", "v8"], []],
            "message": ["x" * 80, "ok"],
        },
        index=[7, 3],  # left over from a sort: row numbers, not data
    )
    rows = _cells(table_html(frame))
    assert rows[0] == ["model_name", "calls", "p95_ms", "last_seen", "ready", "aliases", "message"]
    assert rows[1] == [
        "&lt;b&gt;llm&lt;/b&gt;", "4,018", "322.4", "2025-06-02 07:43:30", "yes",
        "champion, v8", "x" * 80,
    ]  # fmt: skip
    assert rows[2] == ["–", "255", "–", "2025-06-02 07:43:30", "no", "–", "ok"]


def test_a_named_index_is_a_column_and_decimals_are_per_column() -> None:
    frame = pd.DataFrame(
        {"error_rate": [0.0021, 0.0015], "p95_ms": [429.8, 1714.4]},
        index=pd.Index(["v7", "v8"], name="version"),
    )
    rows = _cells(table_html(frame, decimals={"error_rate": 4}))
    assert rows == [["version", "error_rate", "p95_ms"], ["v7", "0.0021", "429.8"],
                    ["v8", "0.0015", "1,714.4"]]  # fmt: skip


def test_an_empty_result_is_one_line() -> None:
    empty = pd.DataFrame(columns=["pod", "gpus_pending"])
    assert table_html(empty) == '<p class="hxb-empty"><em>none</em></p>'
    assert "no pod &lt;waiting&gt;" in table_html(empty, empty="no pod <waiting>")
    assert hx.runbooks.table(empty).data == table_html(empty)


def test_verdict_and_names() -> None:
    shown = hx.runbooks.verdict("action", "roll back <llm-chat>").data
    assert shown.startswith('<div class="hxb-verdict hxb-verdict-action"')
    assert "VERDICT:</b> roll back &lt;llm-chat&gt;" in shown
    with pytest.raises(ValueError, match="level: 'bad' is not one of ok, warning, action"):
        hx.runbooks.verdict("bad", "x")
    assert [snake_case(n) for n in ("modelName", "Hostname", "p95 ms", "GPUCount")] == [
        "model_name", "hostname", "p95_ms", "gpu_count",
    ]  # fmt: skip


def test_parameters_read_as_typed() -> None:
    values = ["llm-chat", "", 500.0, 0.2, True, None, ["a", "b"], 3]
    assert [parameter_text(v) for v in values] == [
        "llm-chat", "(empty)", "500", "0.2", "true", "none", "a, b", "3",
    ]  # fmt: skip
