"""Vendor an upstream CRD YAML into tests/controlplane/crds/ (maintainer tool, not a test).

    python tests/controlplane/update_crds.py SRC.yaml OUT.yaml \
        --source "kserve/kserve v0.20.0 ..." [--enable-status-subresource] [--only NAME ...] \
        [--only-version v1]
    python tests/controlplane/update_crds.py --refresh tests/controlplane/crds/*.yaml

Every ``description`` goes: the schema's (never a property that happens to be called
``description``) and the printer columns'. The project keeps the schema facts (types,
validation, defaults, printer columns), not upstream's prose. --enable-status-subresource
adds ``subresources.status`` to every version that lacks it; --only keeps the named CRDs of
a file that bundles many (Istio's, Traefik's, Rook's); --only-version keeps one served
version (the one HXB Lab reads) and drops the conversion webhook that only translates
between versions, so the API server carries one schema, not one per version. The header records the source
and what was changed. --refresh applies these rules again to files already vendored,
keeping their headers' source and changes. Needs PyYAML.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "dependencies")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "additionalProperties", "additionalItems", "not")
STRIPPED = "descriptions removed (schema and printer columns; the schema is otherwise unchanged)"
HEADER_END = "# Regenerate with tests/controlplane/update_crds.py (see its README.md)."


def strip_descriptions(schema: object) -> int:
    """Remove every ``description`` of an OpenAPI schema, in place; how many went."""
    if isinstance(schema, list):  # "items" may be a list of schemas
        return sum(strip_descriptions(sub) for sub in schema)
    if not isinstance(schema, dict):
        return 0
    removed = int(schema.pop("description", None) is not None)
    for name in _SCHEMA_MAPS:
        for sub in (schema.get(name) or {}).values():
            removed += strip_descriptions(sub)
    for name in (*_SCHEMA_ONE, *_SCHEMA_LISTS):
        removed += strip_descriptions(schema.get(name))
    return removed


def strip_crd(crd: dict[str, Any]) -> int:
    """Remove the descriptions of a CRD (every version's schema and printer columns)."""
    removed = 0
    for version in crd["spec"]["versions"]:
        removed += strip_descriptions(version.get("schema", {}).get("openAPIV3Schema"))
        for column in version.get("additionalPrinterColumns") or []:
            removed += int(column.pop("description", None) is not None)
    return removed


def render(header: list[str], docs: list[Any]) -> str:
    body = yaml.safe_dump_all(docs, sort_keys=False, width=4096, explicit_start=True)
    return "\n".join([*header, HEADER_END]) + "\n" + body


def vendor(args: argparse.Namespace) -> None:
    text = args.src.read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    notes: list[str] = []
    if args.only:
        bundled = len(docs)
        docs = [d for d in docs if d.get("metadata", {}).get("name") in args.only]
        missing = set(args.only) - {d["metadata"]["name"] for d in docs}
        assert not missing, f"not in {args.src}: {sorted(missing)}"
        notes.append(f"kept {', '.join(args.only)} of the file's {bundled} documents")
    json_size = sum(len(json.dumps(d, separators=(",", ":"))) for d in docs)
    removed = 0
    for crd in docs:
        assert crd["kind"] == "CustomResourceDefinition", crd["kind"]
        if args.only_version:
            kept = [v for v in crd["spec"]["versions"] if v["name"] == args.only_version]
            assert kept, f"{crd['metadata']['name']} has no version {args.only_version}"
            dropped = [v["name"] for v in crd["spec"]["versions"] if v not in kept]
            crd["spec"]["versions"] = [{**kept[0], "served": True, "storage": True}]
            if dropped:
                notes.append(f"only version {args.only_version} kept (dropped {', '.join(dropped)})")
            if (crd["spec"].get("conversion") or {}).get("strategy") == "Webhook":
                crd["spec"]["conversion"] = {"strategy": "None"}
                notes.append("conversion webhook removed (one version: nothing to convert)")
        removed += strip_crd(crd)
        for version in crd["spec"]["versions"]:
            if args.enable_status_subresource:
                sub = version.setdefault("subresources", {}) or {}
                version["subresources"] = sub
                if "status" not in sub:
                    sub["status"] = {}
                    notes.append(
                        f"status subresource ENABLED for {version['name']} (upstream has none)"
                    )
    if removed:
        notes.insert(1 if args.only else 0, STRIPPED)

    header = [
        f"# Source: {args.source}",
        f"# Upstream size: {args.src.stat().st_size} bytes of YAML,"
        f" {json_size} bytes as compact JSON",
    ]
    if not removed:
        header.append("# Upstream already carries no descriptions: nothing to strip.")
    header += [f"# Changed: {n}" for n in notes] or ["# Changed: nothing (verbatim)"]
    if notes:
        args.out.write_text(render(header, docs))
    else:
        body = text if text.lstrip().startswith("---") else "---\n" + text
        args.out.write_text("\n".join([*header, HEADER_END]) + "\n" + body)
    print(f"{args.out}: {args.out.stat().st_size} bytes")


def refresh(path: Path) -> None:
    """Strip what a vendored file still holds, keeping its header's source and changes."""
    text = path.read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    if not sum(strip_crd(crd) for crd in docs):
        print(f"{path}: clean")
        return
    header = [line for line in text.splitlines() if line.startswith("# ")]
    header = header[: header.index(HEADER_END)]
    kept = [
        h for h in header if h not in ("# Changed: nothing (verbatim)", f"# Changed: {STRIPPED}")
    ]
    path.write_text(render([*kept[:2], f"# Changed: {STRIPPED}", *kept[2:]], docs))
    print(f"{path}: {path.stat().st_size} bytes")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--refresh", nargs="+", type=Path, metavar="VENDORED")
    ap.add_argument("src", type=Path, nargs="?")
    ap.add_argument("out", type=Path, nargs="?")
    ap.add_argument("--source", help="where it comes from: repo, tag, commit, path")
    ap.add_argument("--enable-status-subresource", action="store_true")
    ap.add_argument("--only", nargs="+", metavar="CRD", help="keep only these CRDs (by name)")
    ap.add_argument("--only-version", metavar="VERSION")
    args = ap.parse_args()
    if args.refresh:
        for path in args.refresh:
            refresh(path)
    elif args.src and args.out and args.source:
        vendor(args)
    else:
        ap.error("give SRC OUT --source, or --refresh VENDORED...")


if __name__ == "__main__":
    main()
