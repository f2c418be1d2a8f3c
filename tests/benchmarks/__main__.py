"""Run the benchmarks: ``python -m tests.benchmarks [NAME-FILTER ...]`` (or ``make bench``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    filters = [a for a in argv if not a.startswith("-")]
    modules = sorted(p.stem for p in here.glob("bench_*.py"))
    failures = 0
    print(f"{'benchmark':<44} {'ours':>17}   peer, ratio (peer/ours, >1 = we are faster)")
    for name in modules:
        if filters and not any(f in name for f in filters):
            continue
        module = importlib.import_module(f"tests.benchmarks.{name}")
        try:
            for result in module.run():
                print(result.line(), flush=True)
        except Exception as exc:  # one broken benchmark must not hide the others
            failures += 1
            print(f"{name:<44} FAILED: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
