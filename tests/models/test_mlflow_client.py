"""`hxb_lab.clients.mlflow`: one REST client answers tracking and registry calls with our
errors, and the package's modules form no import circle and stay below the domain layers."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import hxb_lab
from hxb_lab.clients.mlflow import RestStore
from hxb_lab.errors import BackendUnavailableError, NotFoundError, QueryError

PACKAGE = Path(hxb_lab.__file__).parent / "clients" / "mlflow"


def _server(seen: list[str]) -> httpx.MockTransport:
    """A tracking server knowing model ``ocr`` (version 3) and nothing else."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path.removeprefix("/api/2.0/mlflow/"))
        missing = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not there"}
        if request.url.path.endswith("registered-models/get"):
            if request.url.params["name"] == "ocr":
                model = {"name": "ocr", "aliases": [{"alias": "champion", "version": "3"}]}
                return httpx.Response(200, json={"registered_model": model})
            return httpx.Response(404, json=missing)
        if request.url.path.endswith("experiments/get-by-name"):
            return httpx.Response(404, json=missing)
        if request.url.path.endswith("runs/update"):
            return httpx.Response(400, json={"error_code": "INVALID_PARAMETER_VALUE"})
        return httpx.Response(503, text="upstream down")

    return httpx.MockTransport(answer)


def test_one_client_answers_tracking_and_registry_calls_with_our_errors() -> None:
    seen: list[str] = []
    store = RestStore("http://ops:hunter2secret@mlflow.test", transport=_server(seen))
    assert store.get_experiment_by_name("runbooks/x") is None
    assert store.registered_model("ocr")["aliases"] == {"champion": 3}
    with pytest.raises(NotFoundError, match="model 'nope' is not in the model registry at http"):
        store.registered_model("nope")
    with pytest.raises(QueryError, match="runs/update: INVALID_PARAMETER_VALUE"):
        store.set_terminated("r", "FINISHED", 1)
    with pytest.raises(BackendUnavailableError) as down:
        store.search_runs(["1"], "", 10)
    assert "http://ops:***@mlflow.test" in str(down.value.server)
    assert "hunter2secret" not in str(down.value)
    assert seen == ["experiments/get-by-name", "registered-models/get", "registered-models/get",
                    "runs/update", "runs/search"]  # fmt: skip
    store.close()


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("hxb_lab")}


def test_the_package_imports_only_lower_layers_and_has_no_circle() -> None:
    allowed = ("hxb_lab.config", "hxb_lab.errors", "hxb_lab._redact", "hxb_lab.clients.")
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        module = f"hxb_lab.clients.mlflow.{path.stem}".removesuffix(".__init__")
        graph[module] = _imports(path)
        assert all(m.startswith(allowed) for m in graph[module]), (module, graph[module])

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for step in graph.get(start, set()) - seen:
            if step == target or reaches(step, target, seen | {step}):
                return True
        return False

    modules = [m for m in graph if m != "hxb_lab.clients.mlflow"]
    assert not [m for m in modules if reaches(m, m, set())], "an import circle"
    assert "hxb_lab.clients.mlflow._library" not in graph["hxb_lab.clients.mlflow._writer"]
