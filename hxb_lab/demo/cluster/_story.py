"""The story the simulator tells: what runs where on the demo platform, and what is wrong."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster.pods import pod_requests
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster import _delivery
from hxb_lab.demo.cluster._builder import condition, resources, ts
from hxb_lab.demo.cluster._events import tell_events
from hxb_lab.demo.cluster._inference import inference_service, seldon_model
from hxb_lab.demo.cluster._pods import Container, PodState, pod_ready
from hxb_lab.demo.cluster._stack import tell_stack

if TYPE_CHECKING:
    from hxb_lab.demo.cluster.simulate import _Simulation

Obj = dict[str, Any]
EXTRA_WORKSPACES = (
    "research",
    "recsys",
    "speech",
    "forecasting",
    "ads",
    "maps",
    "trust",
    "payments",
)
SYSTEM = (
    "kube-system",
    "default",
    "platform",
    "monitoring",
    "kserve",
    "knative-serving",
    "seldon-system",
    "argocd",
    "gpu-operator",
)
FILLER = (
    "api",
    "worker",
    "ingest",
    "scheduler",
    "ui",
    "etl",
    "cache",
    "gateway",
    "batch",
    "stream",
    "indexer",
    "sync",
    "export",
    "labeler",
    "monitor",
    "feature-jobs",
)


def tell(sim: _Simulation) -> None:
    """Lay out the whole platform on `sim`, in creation order (owners before pods)."""
    for name in SYSTEM:
        sim.namespace(name)
    names = (*scenario.WORKSPACES, *EXTRA_WORKSPACES)[: sim.size.workspaces]
    sim.workspaces = [sim.namespace(ws, workspace=True) for ws in names]
    sim.build_nodes()
    _daemonsets(sim)
    for deployment in scenario.DEPLOYMENTS:
        if deployment.kind == "kserve":
            inference_service(sim, deployment)
        else:
            seldon_model(sim, deployment)
    _system(sim)
    _jobs(sim)
    _notebooks(sim)
    _forgotten_notebook(sim)
    _troubled(sim)
    _filler(sim)
    _quotas(sim)
    _delivery.applications(sim)
    with sim.b.aside("tekton"):
        _delivery.pipeline_runs(sim)
    with sim.b.aside("gatekeeper"):
        _delivery.constraints(sim)
    tell_events(sim)
    tell_stack(sim)


def _daemonsets(sim: _Simulation) -> None:
    sim.daemonset(
        sim.ns("kube-system"), "kube-proxy", "registry.k8s.io/kube-proxy:v1.31.4", gpu_only=False
    )
    sim.daemonset(
        sim.ns("monitoring"),
        "node-exporter",
        "quay.io/prometheus/node-exporter:v1.8.2",
        gpu_only=False,
    )
    for name, image in (
        ("nvidia-device-plugin-daemonset", "nvcr.io/nvidia/k8s-device-plugin:v0.16.2"),
        ("nvidia-dcgm-exporter", "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.8-3.6.0-ubuntu22.04"),
        ("gpu-feature-discovery", "nvcr.io/nvidia/k8s-device-plugin:v0.16.2"),
    ):
        sim.daemonset(sim.ns("gpu-operator"), name, image, gpu_only=True)


def _system(sim: _Simulation) -> None:
    s = sim.size.scale
    small = resources("100m", "128Mi")
    for ns, name, image, replicas in (
        ("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.3", 2),
        (
            "kube-system",
            "metrics-server",
            "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
            1,
        ),
        ("kserve", "kserve-controller-manager", "kserve/kserve-controller:v0.14.0", 1),
        ("knative-serving", "activator", "gcr.io/knative-releases/activator:v1.15.2", 2),
        ("knative-serving", "controller", "gcr.io/knative-releases/controller:v1.15.2", 1),
        ("seldon-system", "seldon-v2-controller-manager", "seldonio/seldonv2-controller:2.8.4", 1),
        ("argocd", "argocd-server", "quay.io/argoproj/argocd:v2.13.1", 1),
        ("argocd", "argocd-repo-server", "quay.io/argoproj/argocd:v2.13.1", 1),
        ("monitoring", "otel-collector", "otel/opentelemetry-collector-contrib:0.112.0", 2 * s),
        ("monitoring", "grafana", "grafana/grafana:11.3.0", 1),
    ):
        sim.deployment(sim.ns(ns), name, [Container(name.split("-")[0], image, small)], replicas)
    for ns, name, image, replicas, res in (
        (
            "argocd",
            "argocd-application-controller",
            "quay.io/argoproj/argocd:v2.13.1",
            1,
            resources("250m", "512Mi"),
        ),
        ("seldon-system", "seldon-scheduler", "seldonio/seldon-scheduler:2.8.4", 1, small),
        (
            "monitoring",
            "prometheus-k8s",
            "quay.io/prometheus/prometheus:v2.55.0",
            2,
            resources("1", "8Gi"),
        ),
        (
            "monitoring",
            "clickhouse",
            "clickhouse/clickhouse-server:24.8",
            2 + s,
            resources("2", "16Gi"),
        ),
        ("platform", "vector-db", "qdrant/qdrant:v1.12.1", 3, resources("1", "8Gi")),
    ):
        sim.statefulset(sim.ns(ns), name, [Container(name.split("-")[0], image, res)], replicas)
    for name, replicas in (("api-gateway", 3), ("auth", 2), ("router", 3), ("feature-store", 3)):
        image = f"ghcr.io/hxb-platform/{name}:2.14.0"
        sim.deployment(
            sim.ns("platform"),
            name,
            [Container(name, image, resources("500m", "512Mi"), 8080)],
            replicas * s,
        )


def _job(
    sim: _Simulation,
    ns: str,
    name: str,
    outcome: str,
    *,
    gpus: int = 0,
    product: str | None = None,
    cpu: str = "2",
    memory: str = "8Gi",
    parallelism: int = 1,
) -> Obj:
    b = sim.b
    started = b.ago(timedelta(minutes=20), timedelta(hours=20))
    labels = {"job-name": name, "batch.kubernetes.io/job-name": name}
    image = "ghcr.io/hxb-platform/trainer:3.2.0"
    res = resources(cpu, memory, gpus)
    pod_spec: Obj = {
        "containers": [{"name": "trainer", "image": image, "resources": res}],
        "restartPolicy": "Never",
    }
    if gpus and product:
        pod_spec["nodeSelector"] = {"nvidia.com/gpu.product": product}
        pod_spec["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": b.meta(name, ns, started, {"hxb.io/kind": "training"}),
        "spec": {
            "completions": parallelism,
            "parallelism": parallelism,
            "backoffLimit": 3,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
    sim.add("jobs.batch", job)
    containers = [Container("trainer", image, res)]
    if outcome == "complete":
        states = [PodState("succeeded")] * parallelism
    elif outcome == "failed":
        states = [PodState("failed")] * 4
    else:
        states = [PodState()] * parallelism
    pods = sim.run_pods(
        job,
        ns,
        name,
        labels,
        containers,
        len(states),
        states=states,
        started=started,
        product=product,
        gpus=gpus,
        restart_policy="Never",
    )
    status: Obj = {"startTime": ts(started)}
    if outcome == "complete":
        done = started + timedelta(minutes=b.rng.randint(10, 60))
        status.update(
            succeeded=parallelism,
            ready=0,
            completionTime=ts(done),
            conditions=[
                {
                    **condition(
                        "SuccessCriteriaMet",
                        True,
                        done,
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                    "lastProbeTime": ts(done),
                },
                {
                    **condition(
                        "Complete",
                        True,
                        done,
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                    "lastProbeTime": ts(done),
                },
            ],
        )
    elif outcome == "failed":
        done = started + timedelta(minutes=b.rng.randint(10, 60))
        status.update(
            failed=4,
            ready=0,
            conditions=[
                {
                    **condition(
                        "FailureTarget",
                        True,
                        done,
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    ),
                    "lastProbeTime": ts(done),
                },
                {
                    **condition(
                        "Failed",
                        True,
                        done,
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    ),
                    "lastProbeTime": ts(done),
                },
            ],
        )
    else:
        status.update(active=len(pods), ready=sum(1 for p in pods if pod_ready(p)))
    job["status"] = status
    return job


def _jobs(sim: _Simulation) -> None:
    ws = dict(zip(scenario.WORKSPACES, sim.workspaces, strict=False))
    stamp = sim.now.strftime("%Y%m%d")
    # Wants a whole H100 node while the canary holds GPUs: Pending for want of GPUs.
    _job(
        sim,
        ws["assistant"],
        "finetune-llm-chat-v9",
        "running",
        gpus=8,
        product=scenario.H100[0],
        cpu="32",
        memory="256Gi",
    )
    _job(
        sim,
        ws["search"],
        f"embed-refresh-{stamp}",
        "complete",
        gpus=1,
        product=scenario.L4[0],
        cpu="4",
        memory="16Gi",
    )
    _job(sim, ws["risk"], "fraud-retrain", "running", cpu="4", memory="16Gi")
    _job(sim, ws["vision"], "ocr-eval", "failed", gpus=1, product=scenario.A100[0])
    extra = sim.workspaces[len(scenario.WORKSPACES) :]
    for i in range(2 * (sim.size.scale - 1)):
        ns = extra[i % len(extra)] if extra else sim.workspaces[i % len(sim.workspaces)]
        product = (scenario.H100[0], scenario.A100[0])[i % 2]
        _job(
            sim,
            ns,
            f"pretrain-shard-{i}",
            "running",
            gpus=8,
            product=product,
            cpu="48",
            memory="512Gi",
        )


def _notebooks(sim: _Simulation) -> None:
    users = ("ana", "bo", "chen", "dara", "eli", "femi", "gus", "hana")
    image = "quay.io/jupyter/pytorch-notebook:cuda12-2024-11-18"
    count = 4 * sim.size.scale
    for i in range(count):
        ns = sim.workspaces[i % len(sim.workspaces)]
        user = users[i % len(users)] + (str(i // len(users)) if i >= len(users) else "")
        kind = i % 4
        labels = {"notebook-name": f"notebook-{user}", "hxb.io/kind": "notebook"}
        if kind == 0:
            res = resources("2", "8Gi", mig={"1g.5gb": 1})
            sim.statefulset(
                ns,
                f"notebook-{user}",
                [Container("notebook", image, res, 8888)],
                1,
                labels=labels,
                mig={"1g.5gb": 1},
            )
        elif kind == 1:
            res = resources("4", "16Gi", 1)
            sim.statefulset(
                ns,
                f"notebook-{user}",
                [Container("notebook", image, res, 8888)],
                1,
                labels=labels,
                product=scenario.L4[0],
                gpus=1,
            )
        else:
            res = resources("1", "4Gi")
            sim.statefulset(
                ns, f"notebook-{user}", [Container("notebook", image, res, 8888)], 1, labels=labels
            )


def _forgotten_notebook(sim: _Simulation) -> None:
    """`scenario.FORGOTTEN_NOTEBOOK`: a notebook server holding a whole GPU for days (its
    DCGM metrics show it idle)."""
    idle = scenario.FORGOTTEN_NOTEBOOK
    ws = dict(zip(scenario.WORKSPACES, sim.workspaces, strict=False))
    image = "quay.io/jupyter/pytorch-notebook:cuda12-2024-11-18"
    res = resources("4", "32Gi", idle.gpus)
    with sim.b.aside(idle.name):
        sim.statefulset(
            ws[idle.workspace],
            idle.name,
            [Container("notebook", image, res, 8888)],
            1,
            labels={"notebook-name": idle.name, "hxb.io/kind": "notebook"},
            started=sim.now - idle.started_before_now,
            product=idle.gpu_product,
            gpus=idle.gpus,
        )


def _troubled(sim: _Simulation) -> None:
    ws = dict(zip(scenario.WORKSPACES, sim.workspaces, strict=False))
    b = sim.b
    image = "ghcr.io/hxb-platform/embedding-cache:1.4.2"
    sim.deployment(
        ws["search"],
        "embedding-cache",
        [Container("cache", image, resources("1", "2Gi"), 6379)],
        2,
        states=[PodState(), PodState("oomkilled", b.rng.randint(4, 9))],
    )
    sim.deployment(
        ws["risk"],
        "report-builder",
        [
            Container(
                "builder", "ghcr.io/hxb-platform/report-builder:0.9.1", resources("500m", "1Gi")
            )
        ],
        1,
        states=[PodState("crashloop", b.rng.randint(12, 30), "KeyError: 'RISK_DB_URL'")],
    )


def _filler(sim: _Simulation) -> None:
    b = sim.b
    cpus = ("50m", "100m", "100m", "200m", "250m", "250m", "500m")
    mems = ("128Mi", "256Mi", "256Mi", "512Mi", "1Gi")
    i = 0
    while len(sim.platform["pods"]) < sim.size.pods:
        ns = sim.workspaces[i % len(sim.workspaces)]
        word = FILLER[(i // len(sim.workspaces)) % len(FILLER)]
        round_ = i // (len(sim.workspaces) * len(FILLER))
        name = word if round_ == 0 else f"{word}-{round_}"
        left = sim.size.pods - len(sim.platform["pods"])
        replicas = min(left, b.rng.randint(1, 6))
        image = f"ghcr.io/hxb-platform/{word}:{b.rng.randint(1, 4)}.{b.rng.randint(0, 20)}.0"
        res = resources(b.rng.choice(cpus), b.rng.choice(mems))
        states = [PodState("running", b.rng.choice((0, 0, 0, 0, 1, 2))) for _ in range(replicas)]
        sim.deployment(
            ns, name, [Container(word.split("-")[0], image, res, 8080)], replicas, states=states
        )
        i += 1


def _quotas(sim: _Simulation) -> None:
    used: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    created: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for p in sim.platform["pods"]:
        ns = p["metadata"]["namespace"]
        cpu, mem, gpu, _ = pod_requests(p["spec"])
        for target in (
            [used[ns], created[ns]]
            if p["status"]["phase"] not in ("Succeeded", "Failed")
            else [created[ns]]
        ):
            target[0] += cpu
            target[1] += mem
            target[2] += gpu
            target[3] += 1
    for ns in sim.workspaces:
        u, c = used[ns], created[ns]
        full = ns.endswith("assistant")  # the assistant workspace has used all its GPUs
        hard = {
            "requests.cpu": str(math.ceil(c[0] * 1.3) + 8),
            "requests.memory": f"{math.ceil(c[1] / 2**30 * 1.3) + 16}Gi",
            "requests.nvidia.com/gpu": str(int(c[2]) + (0 if full else 8)),
            "pods": str(int(c[3]) + 50),
        }
        status_used = {
            "requests.cpu": f"{round(u[0] * 1000)}m",
            "requests.memory": str(int(u[1])),
            "requests.nvidia.com/gpu": str(int(u[2])),
            "pods": str(int(u[3])),
        }
        sim.add(
            "resourcequotas",
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": sim.b.meta(
                    "compute", ns, sim.b.ago(timedelta(days=30), timedelta(days=90))
                ),
                "spec": {"hard": hard},
                "status": {"hard": dict(hard), "used": status_used},
            },
        )
