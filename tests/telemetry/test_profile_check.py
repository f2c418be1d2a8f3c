"""`hxb-lab profile check` on a profile whose ClickHouse, Prometheus and Alertmanager are
real: each answers, with what it holds (the OpenSearch case is in test_logs_elasticsearch)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hxb_lab.cli import app
from tests.telemetry.conftest import Generated


@pytest.mark.alertmanager
def test_every_backend_answers_with_what_it_holds(
    generated: Generated, prometheus: str, alertmanager: str, profiles_file: Path
) -> None:
    profiles_file.write_text(
        "[profiles.live]\n"
        f'clickhouse = {{ dsn = "parquet://{generated.directory}" }}\n'
        f'prometheus = {{ url = "{prometheus}" }}\n'
        f'alertmanager = {{ url = "{alertmanager}" }}\n'
    )
    checked = CliRunner().invoke(app, ["profile", "check", "live", "--json"])
    assert checked.exit_code == 0, checked.output
    found = {r["backend"]: r for r in map(json.loads, checked.stdout.splitlines())}
    assert list(found) == ["clickhouse", "prometheus", "alertmanager"]
    assert all(r["answers"] for r in found.values())
    assert {"otel_traces", "otel_logs", "otel_metrics_gauge"} <= set(found["clickhouse"]["found"])
    assert re.fullmatch(r"Prometheus 2\.\S+, [1-9][0-9]* metrics", found["prometheus"]["detail"])
    assert found["alertmanager"]["detail"].endswith("alert name(s) firing")
