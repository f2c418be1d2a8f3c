"""What keeping runs safe costs: a trivial run with its lease and full redaction, against
the same run on the path before them.

Ours is `hxb-lab runbook run` as shipped: the run is owned by a lease renewed by a
heartbeat thread (so a run whose host dies is reconciled), and every secret the kernel
can reach (the profile's secrets, the other profiles' of the same file, the kubeconfig's
token) is masked in the notebook, the kernel log and the records. The peer is the same
command in a process where the lease is a no-op and only Secret parameters are masked,
as runs were recorded before. Both read a profile with a password from the environment
and a kubeconfig with a token, so ours has secrets to resolve and mask.

Goal: no more than 5 % added to the trivial run's wall time (ratio >= 0.95). Also the
in-process cost of the added steps alone (resolve the secrets, take and give back the
lease, mask the executed notebook), which does not depend on the machine's load.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks._harness import Result, median_time
from tests.benchmarks.bench_runbooks import TRIVIAL

BIN = Path(sys.executable).parent
ROUNDS = 7

# The path before leases and full redaction, for the peer's process only.
_BEFORE = """
import contextlib, sys
import hxb_lab.runbooks._local as local

class _NoLease:
    def add_helper(self, *a, **k): pass
    def release(self, *a, **k): pass

@contextlib.contextmanager
def _held(directory, run_id):
    yield _NoLease()

local.held = _held
local.run_secrets = lambda profile, parameters=(): [str(p) for p in parameters if p]
from hxb_lab.cli import main
sys.argv = ["hxb-lab", *sys.argv[1:]]
main()
"""

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: bench-kube-token-4f1c}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _setup(root: Path) -> tuple[Path, dict[str, str]]:
    notebook = root / "trivial.ipynb"
    notebook.write_text(json.dumps(TRIVIAL))
    (root / "kubeconfig").write_text(KUBECONFIG)
    (root / "profiles.toml").write_text(
        "[profiles.bench]\n"
        f'kube = {{ kubeconfig = "{root / "kubeconfig"}" }}\n'
        'clickhouse = { dsn = "http://127.0.0.1:1", password = { env = "BENCH_CH_PASSWORD" } }\n'
        f'mlflow = {{ tracking_uri = "sqlite:///{root / "mlflow.db"}" }}\n'
        f'artifacts = {{ uri = "{(root / "artifacts").as_uri()}" }}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HXB_LAB_")}
    env.update(
        HXB_LAB_HOME=str(root / "home"),
        HXB_LAB_CONFIG=str(root / "profiles.toml"),
        HXB_LAB_PROFILE="bench",
        BENCH_CH_PASSWORD="bench-password-93d2",
    )
    return notebook, env


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory(prefix="hxb-bench-safety-") as tmp:
        root = Path(tmp)
        notebook, env = _setup(root)
        args = ["runbook", "run", str(notebook), "-p", "x", "2", "--no-progress"]
        ours = [str(BIN / "hxb-lab"), *args]
        before = [sys.executable, "-c", _BEFORE, *args]
        _timed(ours, env)  # one untimed run each: the store exists, caches are warm
        _timed(before, env)
        a, b = [], []
        for _ in range(ROUNDS):  # interleaved, so load hits both alike
            a.append(_timed(ours, env))
            b.append(_timed(before, env))
        yield Result("run with lease + full redaction (trivial)", statistics.median(a),
                     statistics.median(b), "no lease, Secret params only",
                     goal="<= 5% added (ratio >= 0.95)")  # fmt: skip

        added = _added_steps(root, env)
        yield Result("  of which lease + redaction steps", added, statistics.median(b),
                     "the whole run before", goal="share of a run (ratio >= 20)")  # fmt: skip


def _added_steps(root: Path, env: dict[str, str]) -> float:
    """Median time of the steps the safe path adds, in this process."""
    os.environ.update({k: env[k] for k in ("HXB_LAB_CONFIG", "BENCH_CH_PASSWORD")})
    import nbformat

    from hxb_lab.config import load_profile
    from hxb_lab.runbooks._lease import held
    from hxb_lab.runbooks._local import _redact_notebook
    from hxb_lab.runbooks._scrub import run_secrets

    profile = load_profile("bench")
    executed = next((root / "home").rglob("trivial.ipynb"), None)
    notebook = nbformat.read(executed, as_version=4) if executed else nbformat.v4.new_notebook()
    directory = root / "lease-probe"
    directory.mkdir()

    def steps() -> None:
        hidden = run_secrets(profile, ())
        with held(directory, "probe"):
            _redact_notebook(notebook, hidden)

    return median_time(steps, repeat=20, warmup=2)


if __name__ == "__main__":  # pragma: no cover
    for result in run():
        print(result.line(), file=sys.stdout, flush=True)
