"""The CRDs the test control plane installs hold upstream's schema facts, not its prose:
no ``description`` anywhere, and each file says where it comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.controlplane.update_crds import strip_crd
from tests.support.controlplane import CRD_DIR

CRDS = sorted(CRD_DIR.glob("*.yaml"))


def _descriptions(node: Any, path: str = "") -> list[str]:
    """Where a ``description`` key holds text (a property named so holds a schema)."""
    if isinstance(node, list):
        return [p for i, sub in enumerate(node) for p in _descriptions(sub, f"{path}[{i}]")]
    if not isinstance(node, dict):
        return []
    found = [path] if isinstance(node.get("description"), str) else []
    return found + [p for k, sub in node.items() for p in _descriptions(sub, f"{path}.{k}")]


def test_there_are_crds_to_check() -> None:
    assert {p.name for p in CRDS} >= {
        "serving.kserve.io_inferenceservices.yaml",
        "mlops.seldon.io_models.yaml",
        "argoproj.io_applications.yaml",
        "tekton.dev_pipelineruns.yaml",
        "tekton.dev_taskruns.yaml",
        "templates.gatekeeper.sh_constrainttemplates.yaml",
    }


@pytest.mark.parametrize("path", CRDS, ids=lambda p: p.name)
def test_a_vendored_crd_has_no_descriptions_and_names_its_source(path: Path) -> None:
    text = path.read_text()
    docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]
    assert docs and all(d["kind"] == "CustomResourceDefinition" for d in docs)
    assert _descriptions(docs)[:5] == []
    source = text.splitlines()[0]
    assert source.startswith("# Source: github.com/") and " tag v" in source, source


def test_stripping_keeps_a_property_called_description_and_every_schema_fact() -> None:
    crd: dict[str, Any] = {
        "kind": "CustomResourceDefinition",
        "spec": {
            "versions": [
                {
                    "name": "v1",
                    "additionalPrinterColumns": [
                        {"name": "Ready", "type": "string", "description": "upstream prose"}
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "upstream prose",
                            "properties": {
                                "description": {"type": "string", "description": "prose"},
                                "items": {
                                    "type": "array",
                                    "items": {"anyOf": [{"type": "integer", "description": "x"}]},
                                },
                                "labels": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string", "description": "y"},
                                },
                            },
                        }
                    },
                }
            ]
        },
    }
    assert strip_crd(crd) == 5
    assert _descriptions(crd) == []
    version = crd["spec"]["versions"][0]
    assert version["additionalPrinterColumns"] == [{"name": "Ready", "type": "string"}]
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["properties"]["description"] == {"type": "string"}
    assert schema["properties"]["items"]["items"] == {"anyOf": [{"type": "integer"}]}
    assert schema["properties"]["labels"]["additionalProperties"] == {"type": "string"}
