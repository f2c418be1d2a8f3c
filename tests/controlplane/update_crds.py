"""Vendor an upstream CRD YAML into tests/controlplane/crds/ (maintainer tool, not a test).

    python tests/controlplane/update_crds.py SRC.yaml OUT.yaml \
        --source "kserve/kserve v0.20.0 ..." [--strip-descriptions] [--enable-status-subresource]

--strip-descriptions removes every schema ``description`` (never a property that happens to
be called ``description``): the schema, its validation and its defaults are kept, only the
documentation text goes. --enable-status-subresource adds ``subresources.status`` to every
version that lacks it. The header records the source and what was changed.
Needs PyYAML.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "additionalProperties", "not")


def strip_descriptions(schema: object) -> None:
    if not isinstance(schema, dict):
        return
    schema.pop("description", None)
    for name in ("properties", "patternProperties", "definitions"):
        for sub in (schema.get(name) or {}).values():
            strip_descriptions(sub)
    for name in _SCHEMA_ONE:
        strip_descriptions(schema.get(name))
    for name in _SCHEMA_LISTS:
        for sub in schema.get(name) or []:
            strip_descriptions(sub)


def _has_descriptions(text: str) -> bool:
    return "description:" in text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--source", required=True, help="where it comes from: repo, tag, commit, path")
    ap.add_argument("--strip-descriptions", action="store_true")
    ap.add_argument("--enable-status-subresource", action="store_true")
    args = ap.parse_args()

    docs = [d for d in yaml.safe_load_all(args.src.read_text()) if d]
    notes: list[str] = []
    for crd in docs:
        assert crd["kind"] == "CustomResourceDefinition", crd["kind"]
        for version in crd["spec"]["versions"]:
            if args.strip_descriptions:
                strip_descriptions(version.get("schema", {}).get("openAPIV3Schema"))
            if args.enable_status_subresource:
                sub = version.setdefault("subresources", {}) or {}
                version["subresources"] = sub
                if "status" not in sub:
                    sub["status"] = {}
                    notes.append(
                        f"status subresource ENABLED for {version['name']} (upstream has none)"
                    )
    if args.strip_descriptions and _has_descriptions(args.src.read_text()):
        notes.append(
            "schema descriptions stripped to keep the object small (schema otherwise unchanged)"
        )

    json_size = sum(len(json.dumps(d, separators=(",", ":"))) for d in docs)
    header = [
        f"# Source: {args.source}",
        f"# Upstream size: {args.src.stat().st_size} bytes of YAML,"
        f" {json_size} bytes as compact JSON",
    ]
    if args.strip_descriptions and not _has_descriptions(args.src.read_text()):
        header.append("# Upstream already carries no schema descriptions: nothing to strip.")
    header += [f"# Changed: {n}" for n in notes] or ["# Changed: nothing (verbatim)"]
    header.append("# Regenerate with tests/controlplane/update_crds.py (see its README.md).")
    if notes:
        body = yaml.safe_dump_all(docs, sort_keys=False, width=4096, explicit_start=True)
    else:
        body = args.src.read_text()
        if not body.lstrip().startswith("---"):
            body = "---\n" + body
    args.out.write_text("\n".join(header) + "\n" + body)
    print(f"{args.out}: {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
