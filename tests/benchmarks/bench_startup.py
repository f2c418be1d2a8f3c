"""Start-up cost: `import hxb_lab` (goal <= 0.3 s) and `hxb-lab --help` (goal <= 0.6 s).

The peer is `import pandas`, the first thing any notebook of ours would otherwise pay.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks._harness import Result, command_time


def run() -> Iterator[Result]:
    python = sys.executable
    pandas = command_time([python, "-c", "import pandas"])
    ours = command_time([python, "-c", "import hxb_lab"])
    yield Result("import hxb_lab", ours, pandas, "import pandas", goal="<= 0.3 s")
    cli = str(Path(python).parent / "hxb-lab")
    yield Result(
        "hxb-lab --help", command_time([cli, "--help"]), pandas, "import pandas", goal="<= 0.6 s"
    )
