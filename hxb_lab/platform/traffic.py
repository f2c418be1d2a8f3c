"""Traffic: how requests reach the platform's services.

Istio VirtualServices split an HTTP route between subsets by weight; a DestinationRule says
which pods a subset is (its labels). When a subset's labels name a Knative revision
(``serving.knative.dev/revision``), the row is joined to the InferenceService whose
traffic block lists that revision, with the percent KServe believes it gets, so a split
that disagrees with KServe shows. Ingresses (NGINX's ``Ingress``, Traefik's
``IngressRoute``) are read down to the Deployment behind each backend Service, and the
expiry of the TLS certificate each host presents (only the certificate of the Secret is
parsed; no key is ever read into a frame).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.platform._certs import certificate_dates

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.platform._read import Item

__all__ = [
    "INGRESS_COLUMNS", "ISTIO_BY", "ROUTE_COLUMNS", "ROUTE_METRIC_COLUMNS", "ingresses_frame",
    "route_metrics_frame", "routes_frame", "service_host",
]  # fmt: skip

REVISION_LABEL = "serving.knative.dev/revision"

ROUTE_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("virtual_service", "str"),
    ("hosts", "str"),
    ("gateways", "str"),
    ("route", "str"),
    ("match", "str"),
    ("destination", "str"),
    ("subset", "str"),
    ("port", "Int64"),
    ("weight", "int64"),
    ("subset_labels", "str"),
    ("subset_defined", "bool"),
    ("revision", "str"),
    ("inference_service", "str"),
    ("kserve_percent", "Int64"),
    ("created", _frame.TIMESTAMP),
)

INGRESS_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("kind", "str"),
    ("name", "str"),
    ("ingress_class", "str"),
    ("host", "str"),
    ("path", "str"),
    ("service", "str"),
    ("service_port", "str"),
    ("deployment", "str"),
    ("tls_secret", "str"),
    ("tls_expires", _frame.TIMESTAMP),
    ("tls_days_left", "float64"),
    ("created", _frame.TIMESTAMP),
)


def service_host(host: str, namespace: str) -> str:
    """A mesh host as ``service.namespace`` (short names are in the VirtualService's namespace)."""
    for suffix in (".svc.cluster.local", ".svc"):
        host = host.removesuffix(suffix)
    return host if "." in host else f"{host}.{namespace}"


def _match(http: Mapping[str, Any]) -> str:
    parts = []
    for m in http.get("match") or ():
        uri = m.get("uri") or {}
        for how in ("exact", "prefix", "regex"):
            if how in uri:
                parts.append(f"uri {how} {uri[how]}")
        for header, rule in (m.get("headers") or {}).items():
            value = next(iter(rule.values()), "") if isinstance(rule, dict) else rule
            parts.append(f"header {header}={value}")
    return "; ".join(parts)


def _subsets(rules: Iterable[Item]) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """{(cluster, service.namespace): {subset: labels}} from DestinationRules."""
    found: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for cluster, rule in rules:
        ns = str((rule.get("metadata") or {}).get("namespace") or "")
        spec = rule.get("spec") or {}
        host = service_host(str(spec.get("host") or ""), ns)
        named = found.setdefault((cluster, host), {})
        for subset in spec.get("subsets") or ():
            named[str(subset.get("name"))] = dict(subset.get("labels") or {})
    return found


def _revisions(services: Iterable[Item]) -> dict[tuple[str, str, str], tuple[str, int | None]]:
    """{(cluster, namespace, revision): (InferenceService, percent)} from KServe's status."""
    found: dict[tuple[str, str, str], tuple[str, int | None]] = {}
    for cluster, isvc in services:
        meta = isvc.get("metadata") or {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        components = (isvc.get("status") or {}).get("components") or {}
        for component in components.values():
            for key in (
                "latestCreatedRevision",
                "latestReadyRevision",
                "previousRolledoutRevision",
            ):
                if component.get(key):
                    found.setdefault((cluster, ns, component[key]), (name, None))
            for split in component.get("traffic") or ():
                if split.get("revisionName"):
                    percent = split.get("percent")
                    found[(cluster, ns, split["revisionName"])] = (
                        name,
                        None if percent is None else int(percent),
                    )
    return found


def routes_frame(
    virtual_services: Iterable[Item], rules: Iterable[Item], services: Iterable[Item]
) -> pd.DataFrame:
    """One row per destination of each HTTP route (see `Platform.routes`)."""
    subsets = _subsets(rules)
    revisions = _revisions(services)
    rows: list[tuple[Any, ...]] = []
    for cluster, vs in virtual_services:
        meta = vs.get("metadata") or {}
        ns = str(meta.get("namespace") or "")
        spec = vs.get("spec") or {}
        for index, http in enumerate(spec.get("http") or ()):
            destinations = http.get("route") or ()
            for dest in destinations:
                target = dest.get("destination") or {}
                host = service_host(str(target.get("host") or ""), ns)
                subset = target.get("subset")
                labels = (subsets.get((cluster, host)) or {}).get(subset) if subset else None
                revision = (labels or {}).get(REVISION_LABEL)
                joined = revisions.get((cluster, host.split(".")[1], revision or ""))
                weight = dest.get("weight")
                rows.append(
                    (
                        cluster,
                        ns,
                        meta.get("name"),
                        ", ".join(spec.get("hosts") or ()),
                        ", ".join(spec.get("gateways") or ()),
                        http.get("name") or str(index),
                        _match(http),
                        host,
                        subset,
                        (target.get("port") or {}).get("number"),
                        int(100 if weight is None and len(destinations) == 1 else weight or 0),
                        ", ".join(f"{k}={v}" for k, v in sorted((labels or {}).items())),
                        subset is None or labels is not None,
                        revision,
                        joined[0] if joined else None,
                        joined[1] if joined else None,
                        meta.get("creationTimestamp"),
                    )
                )
    return _frame.build(ROUTE_COLUMNS, rows)


def _deployments(
    services: Iterable[Item], deployments: Iterable[Item]
) -> dict[tuple[str, str, str], str]:
    """{(cluster, namespace, service): deployment names} by the Service's selector."""
    by_ns: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = {}
    for cluster, d in deployments:
        meta = d.get("metadata") or {}
        template = ((d.get("spec") or {}).get("template") or {}).get("metadata") or {}
        by_ns.setdefault((cluster, str(meta.get("namespace"))), []).append(
            (str(meta.get("name")), dict(template.get("labels") or {}))
        )
    found = {}
    for cluster, svc in services:
        meta = svc.get("metadata") or {}
        ns = str(meta.get("namespace"))
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        names = [
            name
            for name, labels in by_ns.get((cluster, ns), ())
            if all(labels.get(k) == v for k, v in selector.items())
        ]
        found[(cluster, ns, str(meta.get("name")))] = ", ".join(sorted(names))
    return found


_TRAEFIK_HOST = re.compile(r"Host\(\s*`([^`]+)`")
_TRAEFIK_PATH = re.compile(r"PathPrefix\(\s*`([^`]+)`|Path\(\s*`([^`]+)`")


def _ingress_rules(kind: str, obj: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """(ingress_class, host, path, service, port, tls_secret) of one Ingress or IngressRoute."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    annotations = meta.get("annotations") or {}
    out = []
    if kind == "Ingress":
        klass = spec.get("ingressClassName") or annotations.get("kubernetes.io/ingress.class")
        secrets = {
            h: t.get("secretName") for t in spec.get("tls") or () for h in t.get("hosts") or ()
        }
        for rule in spec.get("rules") or ():
            host = rule.get("host")
            for path in (rule.get("http") or {}).get("paths") or ():
                backend = (path.get("backend") or {}).get("service") or {}
                port = backend.get("port") or {}
                out.append(
                    (klass, host, path.get("path") or "/", backend.get("name"),
                     str(port.get("number") or port.get("name") or ""), secrets.get(host))
                )  # fmt: skip
        return out
    secret = (spec.get("tls") or {}).get("secretName")
    for route in spec.get("routes") or ():
        text = str(route.get("match") or "")
        host = _TRAEFIK_HOST.search(text)
        path = _TRAEFIK_PATH.search(text)
        for service in route.get("services") or ():
            if service.get("kind", "Service") != "Service":
                continue
            out.append(
                ("traefik", host.group(1) if host else None,
                 (path.group(1) or path.group(2)) if path else "/", service.get("name"),
                 str(service.get("port") or ""), secret)
            )  # fmt: skip
    return out


def ingresses_frame(
    ingresses: Iterable[tuple[str, str, dict[str, Any]]],
    services: Iterable[Item],
    deployments: Iterable[Item],
    certificate: Any,
    now: datetime,
) -> pd.DataFrame:
    """`ingresses` are (cluster, kind, object); `certificate(cluster, namespace, secret)`
    returns the PEM certificate of a TLS Secret, or None."""
    behind = _deployments(services, deployments)
    expiry: dict[tuple[str, str, str], Any] = {}
    rows: list[tuple[Any, ...]] = []
    for cluster, kind, obj in ingresses:
        meta = obj.get("metadata") or {}
        ns = str(meta.get("namespace") or "")
        for klass, host, path, service, port, secret in _ingress_rules(kind, obj):
            expires = None
            if secret:
                key = (cluster, ns, secret)
                if key not in expiry:
                    expiry[key] = certificate_dates(
                        certificate(cluster, ns, secret), f"{ns}/{secret}"
                    )
                expires = expiry[key]
            days = (expires - now).total_seconds() / 86400 if expires is not None else None
            rows.append(
                (cluster, ns, kind, meta.get("name"), klass, host, path, service, port,
                 behind.get((cluster, ns, str(service))), secret,
                 expires, days, meta.get("creationTimestamp"))
            )  # fmt: skip
    return _frame.build(INGRESS_COLUMNS, rows)


ROUTE_METRIC_COLUMNS: _frame.Schema = (
    ("namespace", "str"),
    ("virtual_service", "str"),
    ("route", "str"),
    ("destination", "str"),
    ("subset", "str"),
    ("weight", "int64"),
    ("revision", "str"),
    ("inference_service", "str"),
    ("requests_per_s", "float64"),
    ("errors_per_s", "float64"),
    ("error_rate", "float64"),
    ("p95_ms", "float64"),
)
#: Istio's standard labels for the destination side of a request.
ISTIO_BY = ("destination_service_namespace", "destination_service_name",
            "destination_canonical_revision")  # fmt: skip


def route_metrics_frame(
    routes: pd.DataFrame, requests: pd.DataFrame, durations: pd.DataFrame
) -> pd.DataFrame:
    """`routes` (see `routes_frame`) with Istio's request rate, 5xx rate and p95 latency of
    the revision each destination sends to, averaged over the range. `requests` is the rate
    of ``istio_requests_total`` by `ISTIO_BY` and ``response_code``; `durations` the p95 of
    ``istio_request_duration_milliseconds`` by `ISTIO_BY`."""
    keyed: dict[tuple[str, str, str], list[float]] = {}
    if not requests.empty and set(ISTIO_BY) <= set(requests.columns):
        means = requests.groupby([*ISTIO_BY, "response_code"])["value"].mean().reset_index()
        for row in means.itertuples(index=False):
            ns, svc, rev, code, value = row
            cell = keyed.setdefault((str(ns), str(svc), str(rev)), [0.0, 0.0, float("nan")])
            cell[0] += float(value)
            if str(code).startswith("5"):
                cell[1] += float(value)
    if not durations.empty and set(ISTIO_BY) <= set(durations.columns):
        for row in (
            durations.groupby(list(ISTIO_BY))["value"].mean().reset_index().itertuples(index=False)
        ):
            ns, svc, rev, value = row
            keyed.setdefault((str(ns), str(svc), str(rev)), [0.0, 0.0, float("nan")])[2] = value
    rows: list[tuple[Any, ...]] = []
    for r in routes.itertuples(index=False):
        service, _, ns = str(r.destination).partition(".")
        found = keyed.get((ns, service, str(r.revision)))
        total, errors, p95 = found if found else (float("nan"),) * 3
        rate = errors / total if total else float("nan")
        rows.append(
            (r.namespace, r.virtual_service, r.route, r.destination, r.subset, r.weight,
             r.revision, r.inference_service, total, errors, rate, p95)
        )  # fmt: skip
    return _frame.build(ROUTE_METRIC_COLUMNS, rows)
