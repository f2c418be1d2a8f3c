"""Re-execute the library's notebooks and runbooks and store their outputs in place.

The outputs committed with `notebooks/*.ipynb` and `runbooks/*.ipynb` are what nbval
checks (`tests/library/test_notebooks.py`), so they must come from the library's demo:
small, seed 7, the fixed clock of `tests/library/_demo.py`. After changing a notebook, or a
layer whose output a notebook shows, run:

    .venv/bin/python -m tests.library.regenerate                 # every notebook and runbook
    .venv/bin/python -m tests.library.regenerate 02-gpu-fleet    # only these
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.library._demo import library_environment, seed_library_demo

ROOT = Path(__file__).resolve().parents[2]


def library_notebooks() -> list[Path]:
    """The notebooks whose outputs are stored and checked: every exploration notebook, and
    every runbook that is committed with outputs."""
    import nbformat

    found = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in sorted((ROOT / "runbooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
            found.append(path)
    return found


def execute(path: Path, env: dict[str, str]) -> None:
    """Run `path` top to bottom in a fresh kernel and write it back with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        client = NotebookClient(
            nb,
            kernel_name="python3",
            timeout=600,
            record_timing=False,
            store_widget_state=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    _sanitize(nb)
    nbformat.write(nb, path)


def _sanitize(nb: Any) -> None:
    """Apply the nbval sanitizers to the stored outputs too: no machine's paths are kept."""
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((Path(__file__).parent / "sanitize.cfg").read_text())

    def clean(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = clean(output["text"])
            for key, value in (output.get("data") or {}).items():
                if isinstance(value, str):
                    output["data"][key] = clean(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--runbooks", action="store_true", help="also runbooks without outputs")
    parser.add_argument(
        "--home", type=Path, help="seed the demo here (default: a temporary directory)"
    )
    args = parser.parse_args(argv)
    paths = library_notebooks()
    if args.runbooks:
        paths = sorted(set(paths) | set((ROOT / "runbooks").glob("*.ipynb")))
        paths = [p for p in paths if p.stem != "platform-smoke"]
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
        missing = set(args.names) - {p.stem for p in paths}
        if missing:
            print(f"no notebook named {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="hxb-library-") as tmp:
        home = seed_library_demo(args.home or Path(tmp) / "home")
        env = library_environment(home, Path(tmp) / "config")
        for path in paths:
            started = time.perf_counter()
            execute(path, env)
            print(f"{path.relative_to(ROOT)}: {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
