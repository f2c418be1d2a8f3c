"""The demo's model registry: every model `hxb_lab.demo.scenario` deploys, in the demo's MLflow.

Each deployment's model gets versions 1..N (N the version it serves), each with the
training run that produced it, and a download URI equal to the storage URI its
deployment serves (``s3://hxb-models/<model>/v<version>``). Alias ``champion`` marks the
version in production; llm-chat also has version 8, its canary, aliased ``challenger``.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

from hxb_lab.clients.mlflow import open_mlflow
from hxb_lab.config import load_profile
from hxb_lab.demo import scenario

if TYPE_CHECKING:
    from hxb_lab.demo import SeedContext

__all__ = ["model_uri", "seed_demo"]

_DESCRIPTIONS = {
    "llm-chat": "Chat assistant LLM served by Triton on H100s",
    "llm-summarize": "Summarisation LLM for long documents",
    "code-assist": "Code completion model",
    "text-embed": "Sentence embeddings for search",
    "reranker": "Cross-encoder reranking search results",
    "query-intent": "Classifies the intent of a search query",
    "fraud-score": "Gradient-boosted fraud score of a payment",
    "credit-limit": "Credit limit recommendation",
    "aml-graph": "Graph model flagging money-laundering patterns",
    "image-tagger": "Tags product images",
    "ocr": "Reads text in scanned documents",
    "defect-detect": "Finds manufacturing defects in camera images",
}


def model_uri(model: str, version: int) -> str:
    """Where the demo's artifacts of a model version live (its download URI)."""
    return f"s3://hxb-models/{model}/v{version}"


def _latest(d: scenario.ModelDeployment) -> int:
    return d.version + 1 if d.name == scenario.CANARY_ROLLOUT.target else d.version


def seed_demo(ctx: SeedContext) -> str:
    """The demo seeder: register the scenario's models in the demo MLflow store."""

    profile = load_profile("demo")
    uri = profile.mlflow_or_default().tracking_uri
    ctx.progress(f"registering the demo's models in {uri}")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    client = open_mlflow(profile)  # a new SQLite store is a copy of the empty-store template
    artifacts = (ctx.home / "mlflow" / "artifacts").as_uri()
    versions = register_models(client, int(ctx.now.timestamp() * 1000), artifacts)
    return f"{len(scenario.DEPLOYMENTS)} registered models, {versions} versions in {uri}"


def register_models(client: Any, now_ms: int, artifacts: str | None = None) -> int:
    """Register every model of the scenario through an ``MlflowClient``, with training
    runs in experiments ``training/<model>`` (under `artifacts`); returns the number of
    versions created."""
    return sum(_register(client, d, now_ms, artifacts) for d in scenario.DEPLOYMENTS)


def _register(client: Any, d: scenario.ModelDeployment, now_ms: int, artifacts: str | None) -> int:
    from mlflow.entities import Metric, Param, RunTag

    latest = _latest(d)
    client.create_registered_model(
        d.model,
        tags={"workspace": d.workspace, "format": d.model_format},
        description=_DESCRIPTIONS.get(d.model, ""),
    )
    location = f"{artifacts}/{d.model}" if artifacts else None
    experiment = client.create_experiment(f"training/{d.model}", artifact_location=location)
    day = 86_400_000
    for version in range(1, latest + 1):
        trained = now_ms - (latest - version + 1) * 7 * day
        run = client.create_run(
            experiment,
            start_time=trained,
            tags={"mlflow.runName": f"{d.model}-v{version}"},
        )
        score = round(0.8 + 0.15 * version / latest, 4)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("val_score", score, trained, 0)],
            params=[Param("model_format", d.model_format), Param("runtime", d.runtime)],
            tags=[RunTag("hxb.io/workspace", d.workspace)],
        )
        client.set_terminated(run.info.run_id, end_time=trained + 3_600_000)
        client.create_model_version(
            d.model,
            model_uri(d.model, version),
            run_id=run.info.run_id,
            description=f"trained {version * 7} days after the first version",
            await_creation_for=0,  # the version is READY at once; do not poll for it
        )
    client.set_registered_model_alias(d.model, "champion", str(d.version))
    with warnings.catch_warnings():  # stages are deprecated in favour of aliases
        warnings.simplefilter("ignore")
        client.transition_model_version_stage(d.model, str(d.version), "Production")
        if latest != d.version:
            client.set_registered_model_alias(d.model, "challenger", str(latest))
            client.transition_model_version_stage(d.model, str(latest), "Staging")
    return latest
