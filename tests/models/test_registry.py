"""`wb.models`: registered models and versions with aliases, stages, runs, download URIs
and the deployments serving them, from a real MLflow server (REST) and from the demo's
SQLite store (the mlflow library); both give the same frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hxb_lab.config import KubeConfig, MlflowConfig, Profile
from hxb_lab.errors import BackendUnavailableError, NotFoundError, ParameterError
from hxb_lab.models._frames import REGISTERED_COLUMNS, VERSION_COLUMNS
from hxb_lab.workbench import Workbench
from tests.support.mlflow_server import MlflowServer

REGISTERED = [
    "name", "description", "versions", "latest_version", "aliases", "tags", "served_by",
    "created", "updated",
]  # fmt: skip
VERSIONS = [
    "name", "version", "aliases", "stage", "status", "run_id", "source", "download_uri",
    "description", "served_by", "created", "updated",
]  # fmt: skip
SCENARIO_MODELS = {
    "llm-chat", "llm-summarize", "code-assist", "text-embed", "reranker", "query-intent",
    "fraud-score", "credit-limit", "aml-graph", "image-tagger", "ocr", "defect-detect",
}  # fmt: skip

pytestmark = pytest.mark.mlflow_server


def test_registered_models_on_a_server_with_aliases_and_servers(server_wb: Workbench) -> None:
    df = server_wb.models.registered()
    assert list(df.columns) == REGISTERED == [c for c, _ in REGISTERED_COLUMNS]
    assert str(df["created"].dtype) == "datetime64[ns, UTC]"
    assert set(df["name"]) >= SCENARIO_MODELS
    chat = df.set_index("name").loc["llm-chat"]
    assert (chat["versions"], chat["latest_version"]) == (8, 8)
    assert chat["aliases"] == "challenger=8, champion=7"
    assert chat["tags"] == "format=pytorch, workspace=assistant"
    assert chat["description"] == "Chat assistant LLM served by Triton on H100s"
    assert chat["served_by"] == "assistant/llm-chat"
    fraud = df.set_index("name").loc["fraud-score"]
    assert (fraud["versions"], fraud["aliases"], fraud["served_by"]) == (
        12,
        "champion=12",
        "risk/fraud-score",
    )


def test_the_versions_of_a_model_newest_first(server_wb: Workbench) -> None:
    df = server_wb.models.versions("llm-chat")
    assert list(df.columns) == VERSIONS == [c for c, _ in VERSION_COLUMNS]
    assert df["version"].tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    by = df.set_index("version")
    assert (by.loc[8, "aliases"], by.loc[8, "stage"]) == ("challenger", "Staging")
    assert (by.loc[7, "aliases"], by.loc[7, "stage"]) == ("champion", "Production")
    assert pd.isna(by.loc[6, "aliases"])
    assert by.loc[6, "stage"] == "None"
    assert by.loc[7, "download_uri"] == by.loc[7, "source"] == "s3://hxb-models/llm-chat/v7"
    assert by.loc[8, "served_by"] == "assistant/llm-chat (20%)"
    assert by.loc[7, "served_by"] == "assistant/llm-chat (80%)"
    assert pd.isna(by.loc[6, "served_by"])
    assert df["run_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert (df["status"] == "READY").all()
    assert str(df["updated"].dtype) == "datetime64[ns, UTC]"


def test_the_server_and_the_library_give_the_same_frames(
    server_wb: Workbench, demo_wb: Workbench
) -> None:
    """The demo's SQLite store is read through mlflow, the server over REST."""
    volatile = ["run_id", "created", "updated"]
    rest = server_wb.models.versions("fraud-score").drop(columns=volatile)
    library = demo_wb.models.versions("fraud-score").drop(columns=volatile)
    pd.testing.assert_frame_equal(rest, library)
    assert library.loc[0, "served_by"] == "risk/fraud-score"

    rest_models = server_wb.models.registered().drop(columns=["created", "updated"])
    demo_models = demo_wb.models.registered().drop(columns=["created", "updated"])
    rest_models = rest_models[rest_models["name"].isin(SCENARIO_MODELS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest_models, demo_models)


def test_resolve_gives_what_an_action_needs(server_wb: Workbench) -> None:
    champion = server_wb.models.resolve("llm-chat", alias="champion")
    assert (champion.version, champion.download_uri, champion.aliases) == (
        7,
        "s3://hxb-models/llm-chat/v7",
        ("champion",),
    )
    assert champion.uri == "models:/llm-chat/7"
    assert server_wb.models.resolve("llm-chat", version="8").aliases == ("challenger",)


def test_unknown_models_versions_and_aliases_are_named(server_wb: Workbench) -> None:
    models = server_wb.models
    with pytest.raises(NotFoundError, match="model 'nope' is not in the model registry at http"):
        models.versions("nope")
    with pytest.raises(NotFoundError, match="version 99 of model 'llm-chat'"):
        models.resolve("llm-chat", version=99)
    with pytest.raises(NotFoundError, match="alias 'gold' of model 'llm-chat'"):
        models.resolve("llm-chat", alias="gold")
    with pytest.raises(ParameterError, match="exactly one of version= and alias="):
        models.resolve("llm-chat")
    with pytest.raises(ParameterError, match="version: expected a version number, got 'latest'"):
        models.resolve("llm-chat", version="latest")
    with pytest.raises(ParameterError, match="model: expected a registered model name"):
        models.versions("")


def test_a_filter_injection_matches_nothing(server_wb: Workbench, demo_wb: Workbench) -> None:
    """MLflow filters have no bound parameters: a name is quoted, never spliced in."""
    for wb in (server_wb, demo_wb):
        with pytest.raises(NotFoundError):
            wb.models.versions("x' OR name LIKE '%")
        assert len(wb.models.versions("llm-chat")) == 8, "the registry is intact"
    from hxb_lab.clients.mlflow import versions_filter

    assert versions_filter("it's") == 'name="it\'s"'
    with pytest.raises(ParameterError, match="contains both quote characters"):
        versions_filter("a'b\"c")


def test_an_unreachable_server_is_named_with_its_password_masked(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://ops:hunter2secret@127.0.0.1:{port}"
    wb = Workbench(Profile(name="down", mlflow=MlflowConfig(uri)))
    with pytest.raises(BackendUnavailableError) as down:
        wb.models.versions("llm-chat")
    assert f"http://ops:***@127.0.0.1:{port}" in str(down.value)
    assert "hunter2secret" not in str(down.value)


def test_served_by_is_empty_with_a_warning_when_the_cluster_cannot_be_read(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-snapshot"
    wb = Workbench(
        Profile(
            name="r", kube=KubeConfig(snapshot=str(missing)), mlflow=MlflowConfig(mlflow_server.url)
        )
    )
    with pytest.warns(UserWarning, match="the served_by column is empty: the cluster could not"):
        df = wb.models.versions("ocr")
    assert df["served_by"].isna().all()
    assert len(df) == 4


def test_the_demo_registry_matches_its_deployments(demo_wb: Workbench) -> None:
    df = demo_wb.models.registered()
    assert set(df["name"]) == SCENARIO_MODELS
    deployments = demo_wb.inference.deployments()
    for row in deployments.itertuples():
        versions = demo_wb.models.versions(row.model_name).set_index("version")
        served = versions.loc[int(row.model_version)]
        assert row.name in served["served_by"], row.name
    tagger = df.set_index("name").loc["image-tagger"]
    assert (tagger["latest_version"], tagger["aliases"]) == (9, "champion=9")
