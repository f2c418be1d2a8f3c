"""Scaling: who changes the number of replicas, and who may refuse an eviction.

Autoscalers come from three places: HorizontalPodAutoscalers (``autoscaling/v2``; KServe
creates them in raw-deployment mode), Knative's PodAutoscalers (KServe's serverless mode),
and the InferenceService's own bounds (``minReplicas``/``maxReplicas``, ``scaleMetric``,
``scaleTarget``) for the revisions the PodAutoscaler scales. A PodDisruptionBudget that
allows no disruption makes every eviction of its pods fail: `evictions_frame` says which
pods of a node a drain could not evict, and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity
from hxb_lab.cluster._selectors import parse_selector
from hxb_lab.platform._read import unobserved

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.platform._read import Item

__all__ = [
    "AUTOSCALER_COLUMNS",
    "BUDGET_COLUMNS",
    "EVICTION_COLUMNS",
    "autoscalers_frame",
    "budgets_frame",
    "evictions_frame",
]

ISVC_LABEL = "serving.kserve.io/inferenceservice"

AUTOSCALER_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("kind", "str"),
    ("name", "str"),
    ("target_kind", "str"),
    ("target_name", "str"),
    ("inference_service", "str"),
    ("min_replicas", "Int64"),
    ("max_replicas", "Int64"),
    ("current_replicas", "Int64"),
    ("desired_replicas", "Int64"),
    ("metric", "str"),
    ("target", "float64"),
    ("current", "float64"),
    ("at_max", "bool"),
    ("limited", "str"),
    ("last_scale", _frame.TIMESTAMP),
)

BUDGET_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("selector", "str"),
    ("min_available", "str"),
    ("max_unavailable", "str"),
    ("expected_pods", "Int64"),
    ("current_healthy", "Int64"),
    ("desired_healthy", "Int64"),
    ("disruptions_allowed", "Int64"),
    ("blocks_eviction", "bool"),
    ("created", _frame.TIMESTAMP),
)

EVICTION_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("pod", "str"),
    ("node", "str"),
    ("budget", "str"),
    ("disruptions_allowed", "Int64"),
    ("refused", "bool"),
    ("reason", "str"),
)


def _metric(spec: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The first metric of an HPA (name and target value: utilisation in %, or a value)."""
    for m in spec.get("metrics") or ():
        kind = m.get("type")
        body = m.get({"Resource": "resource", "ContainerResource": "containerResource",
                      "Pods": "pods", "Object": "object", "External": "external"}.get(kind, ""),
                     {}) or {}  # fmt: skip
        name = body.get("name") or (body.get("metric") or {}).get("name")
        target = body.get("target") or {}
        value = target.get("averageUtilization")
        if value is None:
            value = quantity(target.get("averageValue") or target.get("value") or 0) or None
        return (str(name) if name else kind), (None if value is None else float(value))
    return None, None


def _current(status: Mapping[str, Any]) -> float | None:
    for m in status.get("currentMetrics") or ():
        body = next((v for k, v in m.items() if k != "type" and isinstance(v, dict)), {})
        current = body.get("current") or {}
        if current.get("averageUtilization") is not None:
            return float(current["averageUtilization"])
        value = current.get("averageValue") or current.get("value")
        if value is not None:
            return quantity(value)
    return None


def _limited(status: Mapping[str, Any]) -> str | None:
    for c in status.get("conditions") or ():
        if c.get("type") == "ScalingLimited" and c.get("status") == "True":
            return str(c.get("reason") or "ScalingLimited")
        if c.get("type") == "AbleToScale" and c.get("status") == "False":
            return str(c.get("reason") or "NotAbleToScale")
    return None


def _hpa_row(cluster: str, hpa: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = hpa.get("metadata") or {}
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    metric, target = _metric(spec)
    current_n, high = status.get("currentReplicas"), spec.get("maxReplicas")
    return (
        cluster, meta.get("namespace"), "HorizontalPodAutoscaler", meta.get("name"),
        ref.get("kind"), ref.get("name"), (meta.get("labels") or {}).get(ISVC_LABEL),
        spec.get("minReplicas", 1), high, current_n, status.get("desiredReplicas"),
        metric, target, _current(status),
        current_n is not None and high is not None and int(current_n) >= int(high),
        _limited(status), status.get("lastScaleTime"),
    )  # fmt: skip


def _isvc_bounds(services: Iterable[Item]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """{(cluster, namespace, InferenceService): its predictor's scaling spec}."""
    return {
        (c, str((s.get("metadata") or {}).get("namespace")),
         str((s.get("metadata") or {}).get("name"))):
        ((s.get("spec") or {}).get("predictor") or {})
        for c, s in services
    }  # fmt: skip


def _kpa_row(
    cluster: str, kpa: Mapping[str, Any], bounds: Mapping[tuple[str, str, str], Mapping[str, Any]]
) -> tuple[Any, ...]:
    meta = kpa.get("metadata") or {}
    spec = kpa.get("spec") or {}
    status = kpa.get("status") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    isvc = labels.get(ISVC_LABEL)
    predictor = bounds.get((cluster, str(meta.get("namespace")), str(isvc))) or {}
    low = predictor.get("minReplicas", annotations.get("autoscaling.knative.dev/min-scale"))
    high = predictor.get("maxReplicas", annotations.get("autoscaling.knative.dev/max-scale"))
    metric = predictor.get("scaleMetric") or annotations.get("autoscaling.knative.dev/metric")
    target = predictor.get("scaleTarget") or annotations.get("autoscaling.knative.dev/target")
    actual, desired = status.get("actualScale"), status.get("desiredScale")
    ref = spec.get("scaleTargetRef") or {}
    ready = {c.get("type"): c for c in status.get("conditions") or ()}.get("Ready") or {}
    return (
        cluster, meta.get("namespace"), "PodAutoscaler", meta.get("name"), ref.get("kind"),
        ref.get("name"), isvc, None if low is None else int(low),
        None if high is None or int(high) == 0 else int(high), actual, desired,
        metric or "concurrency", None if target is None else float(target), None,
        high is not None and int(high) > 0 and actual is not None and int(actual) >= int(high),
        None, ready.get("lastTransitionTime"),
    )  # fmt: skip


def autoscalers_frame(
    hpas: Iterable[Item], kpas: Iterable[Item], services: Iterable[Item]
) -> pd.DataFrame:
    """One row per autoscaler (see `Platform.autoscalers`)."""
    rows = [_hpa_row(c, h) for c, h in hpas]
    bounds = _isvc_bounds(services)
    rows += [_kpa_row(c, k, bounds) for c, k in kpas]
    return _frame.build(AUTOSCALER_COLUMNS, rows)


def _selector_text(selector: Mapping[str, Any] | None) -> str:
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        op = str(expr.get("operator"))
        values = ",".join(expr.get("values") or ())
        if op == "In":
            parts.append(f"{expr.get('key')} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr.get('key')} notin ({values})")
        elif op == "Exists":
            parts.append(str(expr.get("key")))
        elif op == "DoesNotExist":
            parts.append(f"!{expr.get('key')}")
    return ",".join(parts)


def budgets_frame(budgets: Iterable[Item]) -> pd.DataFrame:
    """One row per PodDisruptionBudget (see `Platform.disruption_budgets`)."""
    rows: list[tuple[Any, ...]] = []
    for cluster, pdb in budgets:
        meta = pdb.get("metadata") or {}
        spec = pdb.get("spec") or {}
        status = {} if unobserved(pdb, "PodDisruptionBudget") else pdb.get("status") or {}
        allowed = status.get("disruptionsAllowed")
        low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
        rows.append(
            (cluster, meta.get("namespace"), meta.get("name"), _selector_text(spec.get("selector")),
             None if low is None else str(low), None if high is None else str(high),
             status.get("expectedPods"), status.get("currentHealthy"),
             status.get("desiredHealthy"), allowed, allowed is not None and int(allowed) <= 0,
             meta.get("creationTimestamp"))
        )  # fmt: skip
    return _frame.build(BUDGET_COLUMNS, rows)


def evictions_frame(node: str, pods: Iterable[Item], budgets: Iterable[Item]) -> pd.DataFrame:
    """What the Eviction API would answer for each pod a drain of `node` evicts (DaemonSet
    and mirror pods stay; finished pods are not evicted). The budgets are charged as a drain
    charges them, one pod after the other: a budget allowing 1 disruption lets the first of
    its pods go and refuses the next."""
    by_ns: dict[tuple[str, str], list[tuple[str, Any, list[int | None]]]] = {}
    for cluster, pdb in budgets:
        meta = pdb.get("metadata") or {}
        spec = pdb.get("spec") or {}
        allowed = (
            None
            if unobserved(pdb, "PodDisruptionBudget")
            else (pdb.get("status") or {}).get("disruptionsAllowed")
        )
        if spec.get("selector") is None:  # policy/v1: a budget without a selector selects none
            continue
        selector = parse_selector(_selector_text(spec["selector"]))  # None: every pod
        by_ns.setdefault((cluster, str(meta.get("namespace"))), []).append(
            (str(meta.get("name")), selector, [None if allowed is None else int(allowed)])
        )
    rows: list[tuple[Any, ...]] = []
    for cluster, pod in pods:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        if spec.get("nodeName") != node:
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        owners = {r.get("kind") for r in meta.get("ownerReferences") or ()}
        if owners & {"DaemonSet", "Node"}:
            continue
        ns = str(meta.get("namespace"))
        labels = meta.get("labels") or {}
        covering = [b for b in by_ns.get((cluster, ns), ()) if b[1] is None or b[1].matches(labels)]
        if not covering:
            rows.append((cluster, ns, meta.get("name"), node, None, None, False, None))
            continue
        if len(covering) > 1:
            names = ", ".join(b[0] for b in covering)
            rows.append((cluster, ns, meta.get("name"), node, names, None, True,
                         f"more than one PodDisruptionBudget selects the pod ({names})"))  # fmt: skip
            continue
        name, _, left = covering[0]
        reason = None
        if left[0] is None:  # the API server answers 429 until the controller has observed it
            reason = f"PodDisruptionBudget {name} is not yet observed by the disruption controller"
        elif left[0] <= 0:
            reason = (
                f"PodDisruptionBudget {name} allows no more disruptions (needs more healthy pods)"
            )
        rows.append(
            (cluster, ns, meta.get("name"), node, name, left[0], reason is not None, reason)
        )
        if reason is None and left[0] is not None:
            left[0] -= 1
    return _frame.build(EVICTION_COLUMNS, rows)
