"""The demo platform's story, shared by the seeders of every layer.

The cluster simulator, the telemetry generator and the MLflow seeder each write one side
of the same platform; this module holds the names and incidents they must agree on, so
that a rollout in the cluster lines up with a latency jump in the traces, a hot GPU in
DCGM metrics sits on a node of the snapshot, and registry versions match deployments.
All times are offsets before the demo's "now" (`SeedContext.now`, the seed time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

CLUSTER = "demo"  # the demo snapshot's cluster (context) name
WORKSPACE_LABEL = "hxb.io/workspace"
WORKSPACES = ("assistant", "search", "risk", "vision")

# GPU products as GPU Feature Discovery labels them (nvidia.com/gpu.product), memory in MB.
H100 = ("NVIDIA-H100-80GB-HBM3", 81559)
A100 = ("NVIDIA-A100-SXM4-40GB", 40960)
L4 = ("NVIDIA-L4", 23034)

# Request path in front of the models: gateway -> auth -> router -> feature store / vector db.
FRONT_SERVICES = ("api-gateway", "auth", "router", "feature-store", "vector-db")


@dataclass(frozen=True)
class ModelDeployment:
    """One inference deployment of the demo (a KServe InferenceService or a Seldon Model)."""

    name: str
    workspace: str  # also its namespace
    kind: str  # "kserve" | "seldon"
    model: str  # registered model name in MLflow
    version: int  # registry version served
    model_format: str
    runtime: str
    gpu_product: str | None  # None: CPU only
    gpus_per_replica: int
    replicas: int
    p50_ms: float  # healthy median latency of one inference request


DEPLOYMENTS: tuple[ModelDeployment, ...] = (
    ModelDeployment(
        "llm-chat",
        "assistant",
        "kserve",
        "llm-chat",
        7,
        "pytorch",
        "kserve-tritonserver",
        H100[0],
        2,
        3,
        180.0,
    ),
    ModelDeployment(
        "llm-summarize",
        "assistant",
        "kserve",
        "llm-summarize",
        3,
        "pytorch",
        "kserve-tritonserver",
        H100[0],
        1,
        2,
        140.0,
    ),
    ModelDeployment(
        "code-assist",
        "assistant",
        "kserve",
        "code-assist",
        2,
        "pytorch",
        "kserve-tritonserver",
        A100[0],
        1,
        2,
        120.0,
    ),
    ModelDeployment(
        "text-embed",
        "search",
        "kserve",
        "text-embed",
        5,
        "onnx",
        "kserve-tritonserver",
        L4[0],
        1,
        4,
        12.0,
    ),
    ModelDeployment(
        "reranker",
        "search",
        "kserve",
        "reranker",
        4,
        "onnx",
        "kserve-tritonserver",
        L4[0],
        1,
        2,
        25.0,
    ),
    ModelDeployment(
        "query-intent",
        "search",
        "seldon",
        "query-intent",
        2,
        "sklearn",
        "mlserver",
        None,
        0,
        2,
        4.0,
    ),
    ModelDeployment(
        "fraud-score",
        "risk",
        "kserve",
        "fraud-score",
        12,
        "xgboost",
        "kserve-xgbserver",
        None,
        0,
        3,
        6.0,
    ),
    ModelDeployment(
        "credit-limit", "risk", "seldon", "credit-limit", 3, "lightgbm", "mlserver", None, 0, 2, 5.0
    ),
    ModelDeployment(
        "aml-graph",
        "risk",
        "kserve",
        "aml-graph",
        1,
        "pytorch",
        "kserve-torchserve",
        A100[0],
        1,
        1,
        60.0,
    ),
    ModelDeployment(
        "image-tagger",
        "vision",
        "kserve",
        "image-tagger",
        9,
        "tensorflow",
        "kserve-tritonserver",
        L4[0],
        1,
        2,
        35.0,
    ),
    ModelDeployment(
        "ocr", "vision", "kserve", "ocr", 4, "onnx", "kserve-tritonserver", A100[0], 1, 2, 45.0
    ),
    ModelDeployment(
        "defect-detect",
        "vision",
        "kserve",
        "defect-detect",
        2,
        "pytorch",
        "kserve-tritonserver",
        L4[0],
        1,
        1,
        30.0,
    ),
)


@dataclass(frozen=True)
class Incident:
    """Something a runbook should find in the demo, starting `starts_before_now` ago."""

    kind: str
    target: str  # a deployment, service or node role
    starts_before_now: timedelta
    lasts: timedelta | None = None  # None: still going on
    factor: float = 1.0  # latency multiplier, error share, or utilisation level


# llm-chat rolled out version 8 as a canary two hours ago; its p95 latency is 2.5x worse since.
CANARY_ROLLOUT = Incident("canary-rollout", "llm-chat", timedelta(hours=2), factor=0.2)
LATENCY_REGRESSION = Incident("latency-regression", "llm-chat", timedelta(hours=2), factor=2.5)
# The feature store failed 30 % of its calls for ten minutes, fifty minutes ago.
ERROR_BURST = Incident(
    "error-burst", "feature-store", timedelta(minutes=50), timedelta(minutes=10), 0.3
)
# One H100 of the first H100 node runs hot and saturated for the last 90 minutes.
HOT_GPU = Incident("hot-gpu", "h100-0/gpu-1", timedelta(minutes=90), factor=0.99)
# image-tagger cannot load its model: its InferenceService is not Ready.
FAILING_DEPLOYMENT = Incident("model-load-failure", "image-tagger", timedelta(minutes=30))


@dataclass(frozen=True)
class IdleNotebook:
    """A Jupyter notebook server that holds GPUs it stopped using: allocated, but idle."""

    workspace: str  # also its namespace
    name: str  # its StatefulSet; the pod is ``<name>-0``
    gpu_product: str
    gpus: int
    started_before_now: timedelta
    utilization: float  # mean share of its GPUs it keeps busy (DCGM_FI_DEV_GPU_UTIL / 100)
    memory_share: float  # share of the GPU memory its kernel still holds

    @property
    def pod(self) -> str:
        return f"{self.name}-0"


# Kim started a notebook server on an A100 three days ago, loaded a model in a kernel, and
# forgot it: the pod still holds the GPU (and 30 % of its memory) while DCGM shows it 0-3 %
# busy. `wb.view.gpus()` lists it as allocated but idle.
FORGOTTEN_NOTEBOOK = IdleNotebook(
    "risk", "notebook-kim", A100[0], 1, timedelta(days=3), utilization=0.012, memory_share=0.3
)
