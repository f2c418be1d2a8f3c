"""The notebook and runbook library, executed for real on the library's demo.

Two slow jobs run in the background from the start of the session, side by side: nbval over
every notebook and runbook (their stored outputs are compared), and
``hxb-lab runbook run --all`` (every runbook through the CLI, and the reports gallery). Each
works on its own copy of the demo, so their MLflow stores never meet. The tests then read
what the jobs produced.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.library._demo import library_environment, seed_library_demo
from tests.library.regenerate import library_notebooks

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: The runbooks of the library (platform-smoke belongs to the runbooks tests).
RUNBOOKS = (
    "canary-analysis",
    "crashloop-triage",
    "gitops-drift",
    "gpu-capacity-report",
    "inference-latency-triage",
    "model-promotion",
    "node-drain-readiness",
)
JOB_TIMEOUT = 900


@dataclass
class Job:
    """A command running in the background; `result()` waits for it."""

    name: str
    process: subprocess.Popen[str]
    log: Path
    started: float

    def result(self) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"{self.name} did not finish in {JOB_TIMEOUT} s; its log: {self.log}")
        return code, self.log.read_text(errors="replace")


def _start(name: str, command: list[str], env: dict[str, str], log: Path) -> Job:
    handle = log.open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True
    )
    handle.close()
    return Job(name, process, log, time.monotonic())


@pytest.fixture(scope="session")
def library_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HXB_LAB_HOME with the library's demo (small, seed 7, fixed clock)."""
    return seed_library_demo(tmp_path_factory.mktemp("library-home"))


@pytest.fixture(scope="session")
def library_copy(
    library_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A function giving a fresh copy of the library's demo home (one per concurrent user:
    each run records itself in the copy's MLflow store)."""

    def copy(name: str) -> Path:
        target = tmp_path_factory.mktemp(name) / "home"
        shutil.copytree(library_home, target)
        return target

    return copy


@dataclass
class LibraryJobs:
    nbval: Job
    nbval_report: Path
    gallery: Job
    gallery_dir: Path
    gallery_home: Path


@pytest.fixture(scope="session")
def library_jobs(
    library_copy: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LibraryJobs]:
    """Start nbval and the gallery run in the background; stop them if the session ends."""
    work = tmp_path_factory.mktemp("library-jobs")
    config = work / "config"
    config.mkdir()

    nbval_env = library_environment(library_copy("nbval"), config)
    nbval_env["PYTHONPATH"] = str(ROOT)
    report = work / "nbval.xml"
    nbval = _start(
        "nbval",
        [
            sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
            "--nbval-sanitize-with", str(HERE / "sanitize.cfg"),
            "-p", "tests.library.nbval_figures", "-p", "no:cacheprovider",
            "-o", "addopts=", "-o", "junit_family=xunit1", f"--junitxml={report}", "-q",
            *[str(p.relative_to(ROOT)) for p in library_notebooks()],
        ],
        nbval_env,
        work / "nbval.log",
    )  # fmt: skip

    gallery_dir = work / "gallery"
    gallery_home = library_copy("gallery")
    hxb_lab = Path(sys.executable).with_name("hxb-lab")
    gallery = _start(
        "hxb-lab runbook run --all",
        [
            str(hxb_lab),
            "runbook",
            "run",
            "--all",
            "--profile",
            "demo",
            "--output",
            str(gallery_dir),
        ],
        library_environment(gallery_home, config),
        work / "gallery.log",
    )
    jobs = LibraryJobs(nbval, report, gallery, gallery_dir, gallery_home)
    yield jobs
    for job in (nbval, gallery):
        if job.process.poll() is None:
            job.process.kill()
            job.process.wait()
