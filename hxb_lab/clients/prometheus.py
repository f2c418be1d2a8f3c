"""Prometheus over its HTTP API: range queries parsed straight into tidy frames.

`parse_matrix` turns a ``query_range`` response into one row per sample (timestamp,
value, one column per label) without building a Python object per sample: each
series' ``values`` array is cut out of the raw bytes and parsed by numpy in one call,
and only the small ``metric`` objects go through a JSON parser. Anything unexpected falls
back to a plain JSON parse, so the fast path never changes a result.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.config import Profile

__all__ = ["MAX_POINTS", "Prometheus", "open_prometheus", "parse_matrix"]

#: Prometheus refuses range queries with more points per series than this.
MAX_POINTS = 11_000


class Prometheus(HttpApi):
    """A Prometheus server's HTTP API (``/api/v1/query_range``)."""

    name = "Prometheus"
    section = "prometheus"

    def _post(self, path: str, form: dict[str, str]) -> bytes:
        response = self._send("POST", path, data=form)
        if response.status_code in (400, 422):
            raise QueryError(
                f"Prometheus at {self.server} rejected the query: {_error(response.content)}"
            )
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"Prometheus at {self.server} answered HTTP {response.status_code}: "
                f"{redact(_error(response.content))}",
                server=self.server,
            )
        return response.content

    def query_range(self, expr: str, start: float, end: float, step: float) -> bytes:
        """The raw JSON of a range query (`start`, `end` in seconds since the epoch)."""
        form = {"query": expr, "start": _num(start), "end": _num(end), "step": _num(step)}
        return self._post("/api/v1/query_range", form)

    def _get_data(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = self._send("GET", path, params=params)
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"Prometheus at {self.server} answered HTTP {response.status_code}: "
                f"{redact(_error(response.content))}",
                server=self.server,
            )
        try:
            return response.json().get("data")
        except (ValueError, AttributeError):
            raise BackendUnavailableError(
                f"{self.server} does not answer as Prometheus (no JSON data at {path})",
                server=self.server,
                hint="check the profile's prometheus.url",
            ) from None

    def build_info(self) -> dict[str, Any]:
        """The server's version and build (``/api/v1/status/buildinfo``)."""
        data = self._get_data("/api/v1/status/buildinfo")
        return dict(data) if isinstance(data, dict) else {}

    def label_values(self, label: str) -> list[str]:
        """Every value of `label` in the server's series (``/api/v1/label/<label>/values``)."""
        data = self._get_data(f"/api/v1/label/{quote(label, safe='')}/values")
        return [str(v) for v in data] if isinstance(data, list) else []

    def range_frame(self, expr: str, start: float, end: float, step: float) -> pd.DataFrame:
        """A range query as a tidy frame: timestamp, value, one column per label."""
        return parse_matrix(self.query_range(expr, start, end, step))


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _error(body: bytes) -> str:
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace").strip()[:500]
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return body.decode(errors="replace").strip()[:500]


def open_prometheus(profile: Profile) -> Prometheus:
    """The profile's Prometheus (the factory for ``wb.clients.get("prometheus")``)."""
    config = profile.prometheus
    if config is None:
        raise ConfigError(
            "the profile has no prometheus section",
            file=profile.source,
            profile=profile.name,
            key="prometheus",
            hint='add prometheus = { url = "https://prometheus.example" }',
        )
    token = config.token.resolve() if config.token else None
    return Prometheus(config.url, token=token, verify=config.verify_tls, timeout=config.timeout_s)


def _series(payload: bytes) -> tuple[list[dict[str, str]], list[Any]] | None:
    """Labels and (time, value) arrays of each series, cut from the raw bytes; None when
    the payload is not laid out as expected (the caller then parses it as plain JSON)."""
    import numpy as np
    import orjson

    labels: list[dict[str, str]] = []
    arrays: list[Any] = []
    pos = payload.find(b'"result":')
    if pos < 0:
        return None
    while True:
        i = payload.find(b'"metric":', pos)
        if i < 0:
            break
        j = payload.find(b'"values":', i)
        if j < 0:
            return None
        labels.append(orjson.loads(payload[i + 9 : j].rstrip().rstrip(b",")))
        if payload[j + 9 : j + 11] == b"[]":
            arrays.append(np.empty((0, 2)))
            pos = j + 11
            continue
        k = payload.find(b"]]", j)
        if k < 0:
            return None
        text = payload[j + 9 : k + 2].translate(None, b'[]" \n')
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                numbers = np.fromstring(text, dtype=np.float64, sep=",")
            except (ValueError, DeprecationWarning):
                return None
        if numbers.size % 2 or numbers.size != text.count(b",") + 1:
            return None
        arrays.append(numbers.reshape(-1, 2))
        pos = k + 2
    return labels, arrays


def parse_matrix(payload: bytes) -> pd.DataFrame:
    """A ``query_range`` response as a frame: timestamp, value, one column per label.

    Rows are grouped by series (in Prometheus's order) and by time within a series.
    """
    import numpy as np
    import orjson
    import pandas as pd
    import pyarrow as pa

    head = orjson.loads(payload) if len(payload) < 4096 else None
    if head is not None and head.get("status") != "success":
        raise QueryError(f"Prometheus returned an error: {head.get('error', head)}")
    parsed = None if head is not None else _series(payload)
    if parsed is None:
        data = head if head is not None else orjson.loads(payload)
        if data.get("status") != "success":
            raise QueryError(f"Prometheus returned an error: {data.get('error', data)}")
        result = data["data"]["result"]
        if data["data"].get("resultType") != "matrix":
            raise QueryError(
                f"expected a range (matrix) result, got {data['data'].get('resultType')}"
            )
        parsed = (
            [s["metric"] for s in result],
            [
                np.array(
                    [(float(t), float(v)) for t, v in s.get("values", [])], dtype=np.float64
                ).reshape(-1, 2)
                for s in result
            ],
        )
    labels, arrays = parsed
    counts = [len(a) for a in arrays]
    pairs = np.concatenate(arrays) if arrays else np.empty((0, 2))
    millis = np.round(pairs[:, 0] * 1000).astype(np.int64)
    frame: dict[str, Any] = {
        "timestamp": pd.Series(pd.to_datetime(millis, unit="ms", utc=True)).astype(
            "datetime64[ns, UTC]"
        ),
        "value": pairs[:, 1],
    }
    rows = pa.array(np.repeat(np.arange(len(labels), dtype=np.int32), counts))
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str" dtype
    for name in sorted({k for m in labels for k in m}):
        values = pa.array([m.get(name, "") for m in labels], pa.string()).take(rows)
        frame[name] = pd.Series(values.to_pandas(types_mapper={pa.string(): text}.get))
    return pd.DataFrame(frame)
