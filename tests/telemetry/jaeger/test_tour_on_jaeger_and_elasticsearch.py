"""The README's Jaeger + Elasticsearch profile (``jaeger-team``) runs the tour: its Python
block, pointed at the session's real Jaeger and real OpenSearch, finds slow traces in
Jaeger, each trace's logs in OpenSearch, the error lines that say "timed out", and the
trace view shows the waterfall, the trace's logs and every link the profile allows.

The logs are one ECS line per server span of the spans Jaeger holds
(`tests.support.span_logs`), so a trace read from one backend finds its logs in the other.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import ROOT
from tests.support.opensearch import OpenSearch
from tests.support.span_logs import TIMED_OUT, ecs_logs
from tests.telemetry.jaeger.conftest import Made, TwoBackends

pytestmark = pytest.mark.jaeger

INDEX = "tour-jaeger-team-logs"


def readme_blocks() -> tuple[str, str]:
    """The README's ``jaeger-team`` profile (TOML) and the Python block right after it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(
        r"```toml\n(\[profiles\.jaeger-team\].*?)```\s*```python\n(.*?)```", readme, re.S
    )
    assert found, "README: no jaeger-team profile followed by its Python block"
    return found.group(1), found.group(2)


def test_the_readme_jaeger_and_elasticsearch_profile_runs_the_tour(
    two_backends: TwoBackends,
    made: Made,
    opensearch: OpenSearch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hxb_lab as hx

    docs = ecs_logs(made.spans)
    opensearch.bulk(INDEX, docs)
    profile, tour = readme_blocks()
    pointed = (
        profile.replace("http://jaeger-query.observability:16686", two_backends.jaeger.url)
        .replace("https://logs.example:9200", opensearch.url)
        .replace('index = "logs-*"', f'index = "{INDEX}"')
    )
    assert pointed.count("127.0.0.1") == 2 and INDEX in pointed
    (tmp_path / "profiles.toml").write_text(pointed)
    monkeypatch.setenv("HXB_LAB_CONFIG", str(tmp_path / "profiles.toml"))
    monkeypatch.setenv("ES_API_KEY", "unused-without-the-security-plugin")

    scope: dict = {"hx": hx}
    exec(compile(tour, "README.md (jaeger-team)", "exec"), scope)  # the tour, as written
    wb, slow = scope["wb"], scope["slow"]
    with wb:
        # traces from Jaeger, each linked to its page in the profile's Jaeger UI
        assert len(slow) > 0 and (slow.duration_ms >= 100).all()
        trace_id = slow.trace_id[0]
        assert slow.link[0] == f"https://jaeger.example/trace/{trace_id}"
        assert len(wb.traces.get(trace_id)) == two_backends.span_counts[trace_id]

        # the trace's logs from OpenSearch: one per server span of the trace
        logs = wb.logs.search(trace_id=trace_id)
        expected = sorted(d["span.id"] for d in docs if d["trace.id"] == trace_id)
        assert sorted(logs.span_id) == expected and len(expected) >= 2
        assert set(logs.trace_id) == {trace_id}
        kibana = logs.attrs["links"]["kibana"]
        assert kibana.startswith("https://kibana.example/app/discover#/?_g=")
        assert f'trace.id:"{trace_id}"' in unquote(kibana)

        # the error lines: every one the spans logged, and only those
        failed = wb.logs.search(severity="error", text=TIMED_OUT)
        assert len(failed) == sum(d["log"]["level"] == "error" for d in docs) > 0
        assert all(TIMED_OUT in body for body in failed.body)
        assert set(failed.severity) == {"ERROR"}

        # the trace view: Jaeger's waterfall, the trace's logs, and their links
        view = wb.view.traces(service="llm-chat")
        view.traces_table.select(0)
        shown = view.selected_trace()
        assert shown is not None and len(view.spans) == two_backends.span_counts[shown]
        assert len(view.logs) >= 2 and set(view.logs.trace_id) == {shown}
        assert f'href="https://jaeger.example/trace/{shown}"' in view.links.value
        assert "Grafana Explore" in view.links.value
        assert "Kibana Discover" in view.log_links.value
        assert 'href="https://kibana.example/app/discover#/?_g=' in view.log_links.value
