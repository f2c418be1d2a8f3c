"""Profiles: where each backend of one platform lives.

Profiles are read from ``~/.config/hxb-lab/profiles.toml`` (or the file named by
``HXB_LAB_CONFIG``). The active profile is ``HXB_LAB_PROFILE``, else the file's
``default``, else the built-in ``demo`` profile, which needs no configuration at all:
its cluster is a snapshot directory, its telemetry Parquet files read by an in-process
chDB, its MLflow store a SQLite file, all under ``HXB_LAB_HOME``.

Secrets are never stored in the file: a secret field holds ``{ env = "NAME" }`` or
``{ file = "/path" }`` and is read only when a client needs it.

Every number in a profile is a time limit in seconds (``timeout_s``, ``request_timeout_s``):
finite, above zero and at most a day, except a count (``max_runs``): a whole number from 1. A backend that accepts a connection and never
answers fails after its section's ``timeout_s`` (default `DEFAULT_TIMEOUT_S`) with a
`BackendUnavailableError` naming the server.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hxb_lab._redact import redact_url, remember_secret
from hxb_lab._version import __version__
from hxb_lab.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEMO",
    "MAX_TIMEOUT_S",
    "RUNBOOK_IMAGE_REPOSITORY",
    "AlertmanagerConfig",
    "AlertsConfig",
    "ArtifactsConfig",
    "ClickHouseConfig",
    "ClickHouseTables",
    "ElasticsearchConfig",
    "GrafanaConfig",
    "JaegerConfig",
    "KubeConfig",
    "MlflowConfig",
    "Profile",
    "PrometheusConfig",
    "RunbooksConfig",
    "SecretRef",
    "TriggerRule",
    "active_profile_name",
    "config_path",
    "hxb_home",
    "load_profile",
    "profiles",
]

DEMO = "demo"
#: Where the runbook images live; a version's image is tagged with the version
#: (`hxb-lab runbook image build`), so a Job runs the HXB Lab that submitted it.
RUNBOOK_IMAGE_REPOSITORY = "ghcr.io/hxb-platform/hxb-lab-runbooks"
#: Seconds a backend (ClickHouse over HTTP, Prometheus, Alertmanager) may take to answer.
DEFAULT_TIMEOUT_S = 30.0
#: The longest time limit a profile may set (a day).
MAX_TIMEOUT_S = 86_400.0


def hxb_home() -> Path:
    """Directory of the embedded data (`HXB_LAB_HOME`, default ``~/.local/share/hxb-lab``)."""
    value = os.environ.get("HXB_LAB_HOME")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "hxb-lab"


def config_path() -> Path:
    """The profiles file: `HXB_LAB_CONFIG`, else ``~/.config/hxb-lab/profiles.toml``."""
    value = os.environ.get("HXB_LAB_CONFIG")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / "hxb-lab" / "profiles.toml"


def builtin_runbooks_dir() -> Path:
    """The runbook library shipped with the package (``hxb_lab/runbooks/library``).

    Package data, found through `importlib.resources`, so a wheel installed anywhere (a
    virtualenv, the runbook image, Binder) has it; a checkout's ``runbooks/`` links to it.
    """
    return Path(str(importlib.resources.files("hxb_lab") / "runbooks" / "library"))


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret: an environment variable or a file, never the value itself."""

    env: str | None = None
    file: str | None = None

    def resolve(self) -> str | None:
        """Read the secret now; None when the variable is unset. A missing file is an error."""
        if self.env:
            value = os.environ.get(self.env)
        elif self.file:
            path = Path(self.file).expanduser()
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read secret file {path}: {exc.strerror}",
                    hint="create the file or point the profile at another one",
                ) from None
        else:
            value = None
        if value:
            remember_secret(value)
        return value

    def describe(self) -> str:
        """A safe description for `profile show`: where the secret comes from, not its value."""
        if self.env:
            state = "set" if os.environ.get(self.env) else "not set"
            return f"env:{self.env} ({state})"
        return f"file:{self.file}"

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"


@dataclass(frozen=True)
class KubeConfig:
    """Kubernetes access: a kubeconfig and its contexts, or an offline snapshot directory."""

    kubeconfig: str | None = None  # None: $KUBECONFIG or ~/.kube/config
    contexts: tuple[str, ...] = ()  # empty: the kubeconfig's current context
    namespace: str = "default"
    workspace_label: str = "hxb.io/workspace"
    snapshot: str | None = None  # a directory of `kubectl get -o json` lists
    request_timeout_s: float = 10.0


@dataclass(frozen=True)
class ClickHouseTables:
    """Table names, defaulting to those of the OpenTelemetry Collector's ClickHouse exporter."""

    traces: str = "otel_traces"
    traces_trace_id_ts: str = "otel_traces_trace_id_ts"
    logs: str = "otel_logs"
    metrics_gauge: str = "otel_metrics_gauge"
    metrics_sum: str = "otel_metrics_sum"
    metrics_histogram: str = "otel_metrics_histogram"
    cluster_changes: str = "hxb_cluster_changes"  # ours: `hxb-lab record`'s cluster history


@dataclass(frozen=True)
class ClickHouseConfig:
    """Telemetry store: ``parquet:///dir`` (embedded), ``chdb:///dir`` or ``http(s)://host``."""

    dsn: str
    database: str = "otel"
    username: str | None = None
    password: SecretRef | None = None
    tables: ClickHouseTables = field(default_factory=ClickHouseTables)
    timeout_s: float = DEFAULT_TIMEOUT_S  # http(s): seconds for an answer to each query


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    token: SecretRef | None = None
    verify_tls: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S  # seconds for an answer to each query


@dataclass(frozen=True)
class AlertmanagerConfig:
    url: str
    token: SecretRef | None = None
    verify_tls: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class JaegerConfig:
    """Traces from Jaeger's query service (its JSON HTTP API) instead of ClickHouse.

    `ui_url` is where trace links open (default: `url`, where the query service serves
    its UI). Service and operation figures come from Jaeger's span metrics (SPM,
    ``/api/metrics/*``) when `metrics` is true, or when it is left out and Jaeger answers
    them; otherwise, and for dependencies, from at most `sample_traces` traces per service
    and time range. The frame's ``percentile_source`` column and ``attrs`` say which.
    """

    url: str
    ui_url: str | None = None
    token: SecretRef | None = None
    verify_tls: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S
    sample_traces: int = 2000
    metrics: bool | None = None  # SPM: true = required, false = never, left out = if answered


@dataclass(frozen=True)
class ElasticsearchConfig:
    """Logs in Elasticsearch or OpenSearch: the indices Fluent Bit (ECS fields) or the
    OpenTelemetry Collector's Elasticsearch exporter (raw or ECS mode) write. `kibana_url`
    gives log searches a link into Kibana's Discover (`kibana_data_view`: the data view
    it opens, else Kibana's default one). `compress` asks for gzip answers: fewer bytes on
    a slow link, more time on a fast one (off by default, as in the official clients)."""

    url: str
    index: str = "logs-*"  # an index, alias, data stream or pattern; commas for several
    username: str | None = None
    password: SecretRef | None = None
    api_key: SecretRef | None = None
    verify_tls: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S
    kibana_url: str | None = None
    kibana_data_view: str | None = None
    compress: bool = False  # ask for gzip answers (worth it on a slow link only)


@dataclass(frozen=True)
class GrafanaConfig:
    """Grafana, for links into Explore: `datasources` maps a backend (``prometheus``,
    ``elasticsearch``, ``jaeger``, ``clickhouse``) to the uid of its Grafana datasource."""

    url: str
    datasources: Pairs = ()
    org_id: int = 1


@dataclass(frozen=True)
class MlflowConfig:
    tracking_uri: str
    registry_uri: str | None = None
    token: SecretRef | None = None


@dataclass(frozen=True)
class ArtifactsConfig:
    """Where run outputs go: ``file:///dir`` or ``s3://bucket/prefix`` with an endpoint."""

    uri: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key: SecretRef | None = None
    secret_key: SecretRef | None = None


@dataclass(frozen=True)
class RunbooksConfig:
    directories: tuple[str, ...] = ()  # searched after the shipped runbook library
    image: str = f"{RUNBOOK_IMAGE_REPOSITORY}:{__version__}"  # the submitting version's image
    namespace: str = "hxb-runbooks"
    service_account: str = "hxb-runbook-runner"
    kernel: str = "python3"
    timeout_s: float | None = (
        None  # a run's time limit when neither the run nor its runbook sets one
    )
    approval_ttl_s: float = 86_400.0  # a proposed change not approved within this expires
    self_approval: bool = False  # whoever started a run may approve its own change


#: Label or parameter pairs as a profile writes them (``{ alertname = "X" }``), sorted.
Pairs = tuple[tuple[str, str], ...]
#: The most a count in a profile may be (``alerts.max_runs``).
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class TriggerRule:
    """Alerts whose labels equal every pair of `match` start `runbook`, its parameters
    templated from the alert: ``"{labels.model}"``, ``"{annotations.summary}"``."""

    name: str
    runbook: str
    match: Pairs = ()
    parameters: Pairs = ()


@dataclass(frozen=True)
class AlertsConfig:
    """The alert receiver: how Alertmanager authenticates (a bearer `token`, or basic auth
    with `username` and `password`), how often an alert may start a run, and where the
    verdict is posted (`notify_url`, ``json`` or ``slack``)."""

    token: SecretRef | None = None
    username: str | None = None
    password: SecretRef | None = None
    cooldown_s: float = 3600.0  # the same alert again within this starts no run
    window_s: float = 60.0  # a rule starts at most max_runs runs in any window_s
    max_runs: int = 10
    notify_url: SecretRef | None = None
    notify_format: str = "json"
    link_ttl_s: float = 86_400.0  # how long the report link of a notification opens
    run_on: str = "auto"  # kubernetes | local | auto: kubernetes when kube.contexts are set
    rules: tuple[TriggerRule, ...] = ()


@dataclass(frozen=True)
class Profile:
    """One platform: where its cluster, telemetry, alerts, MLflow and artifacts live."""

    name: str
    description: str = ""
    kube: KubeConfig = field(default_factory=KubeConfig)
    clickhouse: ClickHouseConfig | None = None
    prometheus: PrometheusConfig | None = None
    alertmanager: AlertmanagerConfig | None = None
    jaeger: JaegerConfig | None = None
    elasticsearch: ElasticsearchConfig | None = None
    grafana: GrafanaConfig | None = None
    mlflow: MlflowConfig | None = None
    artifacts: ArtifactsConfig | None = None
    runbooks: RunbooksConfig = field(default_factory=RunbooksConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    source: str = "built-in"  # the file it came from

    @property
    def is_demo(self) -> bool:
        return self.name == DEMO

    @property
    def executors(self) -> tuple[str, ...]:
        """Where this profile can run a runbook: ``local`` always, ``kubernetes`` (a Job)
        only with a live cluster; a snapshot has no API server to create Jobs in."""
        return ("local",) if self.kube.snapshot else ("local", "kubernetes")

    def mlflow_or_default(self) -> MlflowConfig:
        """The profile's MLflow, else a local SQLite store under `HXB_LAB_HOME`."""
        return self.mlflow or MlflowConfig(f"sqlite:///{hxb_home() / 'mlflow' / 'mlflow.db'}")

    def artifacts_or_default(self) -> ArtifactsConfig:
        """The profile's artifact store, else ``file://`` under `HXB_LAB_HOME`."""
        return self.artifacts or ArtifactsConfig(f"file://{hxb_home() / 'artifacts'}")

    def runbook_directories(self) -> list[Path]:
        """The shipped runbook library first, then the profile's own directories."""
        dirs = [builtin_runbooks_dir()]
        dirs += [Path(d).expanduser() for d in self.runbooks.directories]
        return dirs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view with URLs and secrets redacted (for `profile show` and the server)."""
        return {k: _public(v) for k, v in _fields(self).items()}

    def __repr__(self) -> str:
        return f"Profile({self.summary()})"

    def summary(self) -> str:
        """One line naming the profile and where its backends live (passwords redacted)."""
        parts = [f"name={self.name!r}", f"source={self.source!r}"]
        if self.kube.snapshot:
            parts.append(f"kube=snapshot:{self.kube.snapshot}")
        elif self.kube.contexts:
            parts.append(f"kube={','.join(self.kube.contexts)}")
        if self.clickhouse:
            parts.append(f"clickhouse={redact_url(self.clickhouse.dsn)}")
        for name in ("prometheus", "alertmanager", "elasticsearch", "jaeger"):
            section = getattr(self, name)
            if section:
                parts.append(f"{name}={redact_url(section.url)}")
        return ", ".join(parts)


def require_live_cluster(profile: Profile, what: str = "schedules") -> None:
    """A profile whose cluster is a snapshot (the demo) has no API server to create CronJobs
    or Jobs in: say so, rather than complain about a missing kubeconfig."""
    if profile.kube.snapshot:
        raise ConfigError(
            f"{what} need a live cluster, and profile {profile.name!r} reads its cluster "
            f"from the snapshot {profile.kube.snapshot}",
            hint="switch to a profile with kube.kubeconfig and kube.contexts",
        )


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _public(value: Any) -> Any:
    if isinstance(value, SecretRef):
        return value.describe()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _public(v) for k, v in _fields(value).items()}
    if isinstance(value, tuple):
        return [_public(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def demo_profile() -> Profile:
    """The built-in embedded profile; every feature works on it with no configuration."""
    home = hxb_home() / "demo"
    return Profile(
        name=DEMO,
        description="Embedded demo platform: cluster snapshot, Parquet telemetry in chDB, "
        "local MLflow",
        kube=KubeConfig(snapshot=str(home / "cluster"), namespace="default"),
        clickhouse=ClickHouseConfig(dsn=f"parquet://{home / 'telemetry'}", database="otel"),
        mlflow=MlflowConfig(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"),
        artifacts=ArtifactsConfig(f"file://{home / 'artifacts'}"),
        alerts=AlertsConfig(rules=DEMO_RULES),
    )


#: The demo's alerts name their runbook; these rules give each its parameters.
DEMO_RULES = (
    TriggerRule(
        name="gpu-temperature",
        runbook="node-drain-readiness",
        match=(("alertname", "GPUTemperatureHigh"),),
        parameters=(("node", "{labels.Hostname}"),),
    ),
    TriggerRule(
        name="inference-latency",
        runbook="inference-latency-triage",
        match=(("alertname", "InferenceLatencyHigh"),),
        parameters=(("service", "{labels.model}"),),
    ),
)


# ---------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Where:
    file: str
    profile: str

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, profile=self.profile, key=key, hint=hint)


def _expand(value: str) -> str:
    """Expand ``{home}`` (HXB_LAB_HOME), a leading ``~`` and ``$VARS`` in a path or URL."""
    value = value.replace("{home}", str(hxb_home()))
    if value.startswith("~"):
        value = os.path.expanduser(value)
    return os.path.expandvars(value)


def _convert(tp: Any, value: Any, key: str, where: _Where) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value, key, where)
    if tp is SecretRef:
        if isinstance(value, str):
            raise where.error(
                key,
                "secrets are not stored in the profiles file",
                hint=f'write {key} = {{ env = "VARIABLE" }} or {key} = {{ file = "/path" }}',
            )
        if not isinstance(value, dict) or set(value) - {"env", "file"} or len(value) != 1:
            raise where.error(key, 'expected { env = "NAME" } or { file = "/path" }')
        ref = SecretRef(**{k: str(v) for k, v in value.items()})
        return SecretRef(env=ref.env, file=_expand(ref.file) if ref.file else None)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise where.error(key, f"expected a table, got {type(value).__name__}")
        return _build(tp, value, key, where)
    if tp == Pairs:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise where.error(
                key, f'expected a table of strings, e.g. {{ name = "value" }}, got {value!r:.80}'
            )
        return tuple(sorted((str(k), v) for k, v in value.items()))
    if origin is tuple and dataclasses.is_dataclass(typing.get_args(tp)[0]):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise where.error(key, f"expected an array of tables ([[{key}]]), got {value!r:.80}")
        item = typing.get_args(tp)[0]
        return tuple(_build(item, v, f"{key}[{i}]", where) for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise where.error(key, f"expected a list of strings, got {value!r}")
        return tuple(_expand(v) for v in value)
    if tp is bool:
        if not isinstance(value, bool):
            raise where.error(key, f"expected true or false, got {value!r}")
        return value
    if tp is int:  # a count
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_COUNT:
            raise where.error(
                key, f"expected a whole number from 1 to {MAX_COUNT:,}, got {value!r}"
            )
        return value
    if tp is float:  # every other number of a profile is a time limit in seconds
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.error(key, f"expected a number of seconds, got {value!r}")
        if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_S:
            raise where.error(
                key, f"expected seconds above 0 and at most {MAX_TIMEOUT_S:g}, got {value!r}"
            )
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise where.error(key, f"expected a string, got {value!r}")
        return _expand(value)
    raise TypeError(f"unsupported config type {tp!r}")  # pragma: no cover - programming error


def _build(cls: Any, data: dict[str, Any], prefix: str, where: _Where, **fixed: Any) -> Any:
    hints = typing.get_type_hints(cls)
    own = ("name", "source") if cls is Profile else ()
    known = {f.name: f for f in dataclasses.fields(cls) if f.name not in own}
    kwargs: dict[str, Any] = dict(fixed)
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            raise where.error(
                dotted, "unknown key", hint=f"known keys here: {', '.join(sorted(known))}"
            )
        kwargs[key] = _convert(hints[key], value, dotted, where)
    for name, f in known.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in kwargs:
            dotted = f"{prefix}.{name}" if prefix else name
            raise where.error(dotted, "missing required key")
    return cls(**kwargs)


def _check_urls(profile: Profile, where: _Where) -> None:
    """Refuse passwords written inline in a DSN or URL: they belong in a secret reference."""
    candidates = {
        "clickhouse.dsn": profile.clickhouse.dsn if profile.clickhouse else None,
        "prometheus.url": profile.prometheus.url if profile.prometheus else None,
        "alertmanager.url": profile.alertmanager.url if profile.alertmanager else None,
        "elasticsearch.url": profile.elasticsearch.url if profile.elasticsearch else None,
        "elasticsearch.kibana_url": profile.elasticsearch.kibana_url
        if profile.elasticsearch
        else None,
        "jaeger.url": profile.jaeger.url if profile.jaeger else None,
        "grafana.url": profile.grafana.url if profile.grafana else None,
        "mlflow.tracking_uri": profile.mlflow.tracking_uri if profile.mlflow else None,
        "artifacts.endpoint_url": profile.artifacts.endpoint_url if profile.artifacts else None,
    }
    for key, url in candidates.items():
        if url and urlsplit(url).password:
            section = key.split(".")[0]
            raise where.error(
                key,
                f"the URL {redact_url(url)} carries a password inline",
                hint=f'remove it and set {section}.password/token = {{ env = "NAME" }}',
            )


def _check_elasticsearch(profile: Profile, where: _Where) -> None:
    es = profile.elasticsearch
    if es is not None and es.password is not None and not es.username:
        raise where.error(
            "elasticsearch.password",
            "basic auth needs elasticsearch.username too",
            hint="add username, or use api_key instead",
        )


_TEMPLATE = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER = re.compile(r"^(labels|annotations)\.[A-Za-z_][A-Za-z0-9_]*$")
NOTIFY_FORMATS = ("json", "slack")
RUN_ON = ("auto", "kubernetes", "local")


def _check_alerts(profile: Profile, where: _Where) -> None:
    """Refuse a trigger rule that names a runbook no runbook directory holds, or templates
    a parameter from anything but the alert's labels and annotations, naming the rule."""
    alerts = profile.alerts
    if alerts.notify_format not in NOTIFY_FORMATS:
        raise where.error(
            "alerts.notify_format",
            f"{alerts.notify_format!r} is not a notification format",
            hint=f"one of {', '.join(NOTIFY_FORMATS)}",
        )
    if alerts.run_on not in RUN_ON:
        raise where.error(
            "alerts.run_on",
            f"{alerts.run_on!r} is not where runs go",
            hint=f"one of {', '.join(RUN_ON)}",
        )
    if alerts.password is not None and not alerts.username:
        raise where.error("alerts.password", "basic auth needs alerts.username too")
    known = {
        path.stem
        for directory in profile.runbook_directories()
        if directory.is_dir()
        for path in directory.glob("*.ipynb")
    }
    names: set[str] = set()
    for i, rule in enumerate(alerts.rules):
        key = f"alerts.rules[{i}]"
        if rule.name in names:
            raise where.error(f"{key}.name", f"a second trigger rule named {rule.name!r}")
        names.add(rule.name)
        if rule.runbook not in known:
            raise where.error(
                f"{key}.runbook",
                f"trigger rule {rule.name!r} names the runbook {rule.runbook!r}, which no "
                "runbook directory holds",
                hint=f"known runbooks: {', '.join(sorted(known)) or 'none'}",
            )
        for parameter, template in rule.parameters:
            for placeholder in _TEMPLATE.findall(template):
                if not _PLACEHOLDER.match(placeholder.strip()):
                    raise where.error(
                        f"{key}.parameters.{parameter}",
                        f"trigger rule {rule.name!r} templates {{{placeholder}}}, which is "
                        "not an alert's label or annotation",
                        hint="write {labels.NAME} or {annotations.NAME}",
                    )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            "the profiles file does not exist",
            file=str(path),
            hint="create it, or unset HXB_LAB_CONFIG to use the built-in demo profile",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start})", file=str(path), hint="save it as UTF-8"
        ) from None
    except RecursionError:
        raise ConfigError(
            "not valid TOML: nested too deeply", file=str(path), hint="a profile is flat tables"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=str(path)) from None


def _load() -> tuple[dict[str, Profile], str | None, Path]:
    path = config_path()
    found = {DEMO: demo_profile()}
    if not path.exists() and "HXB_LAB_CONFIG" not in os.environ:
        return found, None, path
    data = _read_file(path)
    top = _Where(str(path), "")
    unknown = set(data) - {"default", "profiles"}
    if unknown:
        raise ConfigError(
            "unknown top-level key",
            file=str(path),
            key=sorted(unknown)[0],
            hint="the file holds `default = NAME` and [profiles.NAME] tables",
        )
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise top.error("default", f"expected a profile name, got {default!r}")
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise top.error("profiles", "expected [profiles.NAME] tables")
    for name, table in tables.items():
        where = _Where(str(path), name)
        if name == DEMO:
            raise where.error("profiles.demo", "the name 'demo' is reserved for the built-in")
        if not isinstance(table, dict):
            raise where.error(f"profiles.{name}", "expected a table")
        profile = _build(Profile, table, "", where, name=name, source=str(path))
        _check_urls(profile, where)
        _check_elasticsearch(profile, where)
        _check_alerts(profile, where)
        found[name] = profile
    if default is not None and default not in found:
        raise top.error(
            "default",
            f"names the profile {default!r}, which the file does not define",
            hint=f"defined: {', '.join(sorted(found))}",
        )
    return found, default, path


def profiles() -> dict[str, Profile]:
    """Every profile: the built-in ``demo`` plus those of the profiles file."""
    return _load()[0]


def active_profile_name() -> str:
    """`HXB_LAB_PROFILE`, else the file's ``default``, else ``demo``."""
    env = os.environ.get("HXB_LAB_PROFILE")
    if env:
        return env
    _, default, _ = _load()
    return default or DEMO


def load_profile(name: str | None = None) -> Profile:
    """The named profile (or the active one); `ConfigError` names the file when it is unknown."""
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{name!r:.60} is not a profile name", hint="omit it for the active one")
    found, default, path = _load()
    chosen = name or os.environ.get("HXB_LAB_PROFILE") or default or DEMO
    if chosen not in found:
        origin = "HXB_LAB_PROFILE" if not name and os.environ.get("HXB_LAB_PROFILE") else None
        raise ConfigError(
            f"unknown profile {chosen!r}" + (f" (from {origin})" if origin else ""),
            file=str(path),
            hint=f"known profiles: {', '.join(sorted(found))}",
        )
    return found[chosen]
