"""Links from a frame to the same thing in the tools a team already looks at: Grafana
Explore (with the profile's datasource uid) and Kibana Discover.

Each builder returns a URL, or None when the profile does not configure that tool. Values
from users reach a URL only encoded: as JSON (Grafana's ``panes``), as a Rison string
(Kibana's app state), inside a quoted KQL or Lucene phrase with its escapes, and then
percent-encoded. Frames carry their links in ``frame.attrs["links"]``, a dict from the
tool (``"grafana"``, ``"kibana"``, ``"jaeger"``) to the URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from hxb_lab.config import ElasticsearchConfig, GrafanaConfig, JaegerConfig, Profile

__all__ = [
    "attach",
    "grafana_explore",
    "iso",
    "jaeger_trace",
    "kibana_discover",
    "kql_phrase",
    "lucene_phrase",
    "rison",
    "trace_link",
    "trace_links",
]

#: Nanoseconds added before and after a trace's own time in a Grafana Explore range.
TRACE_MARGIN_NS = 60 * 10**9

_RISON_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def iso(ns: int) -> str:
    """Nanoseconds since the epoch as an ISO 8601 UTC time with milliseconds."""
    moment = datetime.fromtimestamp(ns // 1_000_000 / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rison(value: Any) -> str:
    """`value` (dicts, lists, strings, numbers, booleans, None) as Rison, the URL-friendly
    JSON that Kibana's app state is written in. Strings are always quoted."""
    if value is None:
        return "!n"
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, Mapping):
        items = ((k if _RISON_ID.match(k) else rison(k)) + ":" + rison(v) for k, v in value.items())
        return "(" + ",".join(items) + ")"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    raise TypeError(f"cannot write {type(value).__name__} as Rison")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kql_phrase(field: str, value: str) -> str:
    """``field:"value"`` in Kibana's query language, the value matched as a phrase."""
    return f"{field}:{_quoted(value)}"


def lucene_phrase(field: str, value: str) -> str:
    """``field:"value"`` in Lucene syntax (Grafana's Elasticsearch queries), the value a
    quoted phrase: inside quotes only ``"`` and ``\\`` are special, and both are escaped."""
    return f"{field}:{_quoted(value)}"


def grafana_explore(
    grafana: GrafanaConfig | None,
    backend: str,
    query: Mapping[str, Any],
    start_ns: int,
    end_ns: int,
) -> str | None:
    """Grafana Explore on the datasource the profile names for `backend`, running `query`
    (the datasource's own query fields, e.g. ``{"expr": "up"}`` for Prometheus) over
    ``[start_ns, end_ns)``; None without grafana or without a datasource for `backend`."""
    if grafana is None:
        return None
    uid = dict(grafana.datasources).get(backend)
    if not uid:
        return None
    pane = {
        "datasource": uid,
        "queries": [{"refId": "A", "datasource": {"uid": uid}, **query}],
        "range": {"from": str(start_ns // 1_000_000), "to": str(end_ns // 1_000_000)},
    }
    params = {
        "schemaVersion": "1",
        "panes": json.dumps({"hxb": pane}, separators=(",", ":"), ensure_ascii=False),
        "orgId": str(grafana.org_id),
    }
    return f"{grafana.url.rstrip('/')}/explore?{urlencode(params, quote_via=quote)}"


def kibana_discover(
    elasticsearch: ElasticsearchConfig | None, kql: str, start_ns: int, end_ns: int
) -> str | None:
    """Kibana Discover running the KQL query `kql` over ``[start_ns, end_ns)`` (on the
    profile's `kibana_data_view`, else Kibana's default); None without a `kibana_url`."""
    if elasticsearch is None or not elasticsearch.kibana_url:
        return None
    g = {"filters": [], "time": {"from": iso(start_ns), "to": iso(end_ns)}}
    a: dict[str, Any] = {"query": {"language": "kuery", "query": kql}}
    view = elasticsearch.kibana_data_view
    if view:
        a["dataSource"] = {"dataViewId": view, "type": "dataView"}
        a["index"] = view
    safe = "!'():,*@$-_.~/"
    return (
        f"{elasticsearch.kibana_url.rstrip('/')}/app/discover#/"
        f"?_g={quote(rison(g), safe=safe)}&_a={quote(rison(a), safe=safe)}"
    )


def attach(frame: Any, **links: str | None) -> Any:
    """`frame` with ``attrs["links"]`` holding the links given (those that are not None)."""
    frame.attrs["links"] = {tool: url for tool, url in links.items() if url}
    return frame


def jaeger_trace(jaeger: JaegerConfig | None, trace_id: str) -> str | None:
    """The trace's page in the Jaeger UI (``jaeger.ui_url``, else the query service's
    ``jaeger.url``, which serves the UI too); None without a jaeger section."""
    if jaeger is None:
        return None
    base = (jaeger.ui_url or jaeger.url).rstrip("/")
    return f"{base}/trace/{quote(trace_id, safe='')}"


def _grafana_trace(profile: Profile, trace_id: str, start_ns: int, end_ns: int) -> str | None:
    """Grafana Explore on the profile's ``jaeger`` datasource, over the trace's time and a
    minute either side."""
    return grafana_explore(
        profile.grafana,
        "jaeger",
        {"query": trace_id},
        start_ns - TRACE_MARGIN_NS,
        end_ns + TRACE_MARGIN_NS,
    )


def trace_links(profile: Profile, trace_id: str, start_ns: int, end_ns: int) -> dict[str, str]:
    """The links the profile allows for one trace: ``jaeger`` (its UI) and ``grafana``
    (Explore on the profile's ``jaeger`` datasource, over the trace's time and a minute
    either side)."""
    found = {
        "jaeger": jaeger_trace(profile.jaeger, trace_id),
        "grafana": _grafana_trace(profile, trace_id, start_ns, end_ns),
    }
    return {tool: url for tool, url in found.items() if url}


def trace_link(profile: Profile, trace_id: str, start_ns: int, end_ns: int) -> str:
    """The one link a row of a trace frame carries: the Jaeger UI, else Grafana Explore,
    else ``""`` (the Grafana link is built only when there is no Jaeger UI)."""
    return (
        jaeger_trace(profile.jaeger, trace_id)
        or _grafana_trace(profile, trace_id, start_ns, end_ns)
        or ""
    )
