"""`hxb-lab profile check` on a profile whose ClickHouse, Jaeger, Prometheus and Alertmanager
are real: each answers, with what it holds (the OpenSearch case is in
test_logs_elasticsearch); a backend that does not answer is one line naming its URL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hxb_lab.cli import app
from tests.support.processes import free_port
from tests.telemetry.conftest import Generated, Made, TwoBackends


@pytest.mark.alertmanager
@pytest.mark.jaeger
def test_every_backend_answers_with_what_it_holds(
    generated: Generated,
    prometheus: str,
    alertmanager: str,
    made: Made,
    two_backends: TwoBackends,
    profiles_file: Path,
) -> None:
    profiles_file.write_text(
        "[profiles.live]\n"
        f'clickhouse = {{ dsn = "parquet://{generated.directory}" }}\n'
        f'jaeger = {{ url = "{two_backends.jaeger.url}" }}\n'
        f'prometheus = {{ url = "{prometheus}" }}\n'
        f'alertmanager = {{ url = "{alertmanager}" }}\n'
    )
    checked = CliRunner().invoke(app, ["profile", "check", "live", "--json"])
    assert checked.exit_code == 0, checked.output
    found = {r["backend"]: r for r in map(json.loads, checked.stdout.splitlines())}
    assert list(found) == ["clickhouse", "jaeger", "prometheus", "alertmanager"]
    assert all(r["answers"] for r in found.values())
    assert {"otel_traces", "otel_logs", "otel_metrics_gauge"} <= set(found["clickhouse"]["found"])
    services = sorted({str(s.resource.attributes["service.name"]) for s in made.spans})
    assert found["jaeger"]["server"] == two_backends.jaeger.url
    assert found["jaeger"]["found"] == [f"service={s}" for s in services]
    assert found["jaeger"]["detail"] == (
        f"Jaeger, {len(services)} service(s); no span metrics (SPM): figures from a sample of traces"
    )
    assert re.fullmatch(r"Prometheus 2\.\S+, [1-9][0-9]* metrics", found["prometheus"]["detail"])
    assert found["alertmanager"]["detail"].endswith("alert name(s) firing")

    text = CliRunner().invoke(app, ["profile", "check", "live"])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.stdout.splitlines() if x.startswith("jaeger"))
    assert line.split()[:3] == ["jaeger", "ok", two_backends.jaeger.url]
    assert f"Jaeger, {len(services)} service(s); no span metrics (SPM)" in line
    assert f"a sample of traces; found service={services[0]}" in line


def test_a_backend_that_does_not_answer_is_one_line_naming_it(profiles_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    profiles_file.write_text(f'[profiles.gone]\njaeger = {{ url = "{url}", timeout_s = 5 }}\n')
    checked = CliRunner().invoke(app, ["profile", "check", "gone"])
    assert checked.exit_code == 1
    [line] = checked.stdout.splitlines()
    assert line.startswith(f"jaeger        FAILED {url}  cannot reach Jaeger at {url}")
    assert line.endswith("(check that it is up and the profile's jaeger.url)")

    as_json = CliRunner().invoke(app, ["profile", "check", "gone", "--json"])
    [found] = map(json.loads, as_json.stdout.splitlines())
    assert (found["backend"], found["answers"], found["found"]) == ("jaeger", False, [])
    assert url in found["detail"] and "jaeger.url" in found["detail"]
