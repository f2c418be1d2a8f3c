"""The runbook library through `hxb-lab runbook run`: each runbook's report states its verdict,
`--all` writes the reports gallery, and each one fails clearly when its preconditions are
not met."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.runbooks._gallery import verdict_of
from tests.library._demo import library_environment
from tests.library.conftest import RUNBOOKS, LibraryJobs

#: What each runbook concludes on the library's demo (see hxb_lab/scenario.py).
VERDICTS = {
    "inference-latency-triage": r"llm-chat p95 regressed 2\.\dx \(\d+ → \d+ ms, threshold 500 ms\) "
    r"after llm-chat v8 went out as a canary to 20 % of traffic at 07:00 UTC.*roll back the canary",
    "canary-analysis": r"roll back llm-chat: canary v8 \(20 % of traffic\) is worse than stable v7: "
    r"p95 \d+ ms against \d+ ms",
    "model-promotion": r"do not promote llm-chat v8 \(challenger\) to llm-chat: canary latency: "
    r"v8 p95 \d+ ms against v7 \d+ ms",
    "crashloop-triage": r"4 pods crash-looping in 3 workloads of every namespace: report-builder "
    r"\(its container exits with an error \(Error\)\); image-tagger \(the model does not fit in "
    r"the GPU's memory \(CUDA out of memory\)\); embedding-cache \(killed for exceeding its "
    r"memory limit \(OOMKilled\)\)",
    "node-drain-readiness": r"not ready to drain h100-0: 1 of 4 evicted pods has nowhere to go "
    r"\(2 GPUs wanted, 6 NVIDIA-H100-80GB-HBM3 free elsewhere\); 4 evictions would be refused by "
    r"PodDisruptionBudget llm-chat;.* the fleet loses 8 of its 16 "
    r"NVIDIA-H100-80GB-HBM3 GPUs \(50%\)",
    "gitops-drift": r"1 Argo CD Application out of sync, 1 degraded, 1 failed to sync, of 6 "
    r"\(every Application\): assistant \(InferenceService assistant/llm-chat differs from Git; "
    r"Argo CD reverts it: change it in workspaces/assistant\); vision \(InferenceService "
    r"vision/image-tagger is Degraded; its last sync failed: .*denied the request: "
    r"\[gpu-workloads-need-owner\].*\)\. Gatekeeper's audit lists 10 violations \(5 of deny",
    "gpu-capacity-report": r"all products: 52 GPUs, 26 allocated \(3 idle under 25 %\), 18 free on "
    r"schedulable nodes, 8 on cordoned or not-ready nodes; 1 pod waiting for 8 GPUs",
}


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_declares_typed_documented_parameters(name: str) -> None:
    runbook = hx.runbooks.get(name)
    assert runbook.title and runbook.description and runbook.tags
    assert runbook.parameters, f"{name} has no parameters cell"
    for p in runbook.parameters:
        assert p.annotation, f"{name}: parameter {p.name} has no type annotation"
        assert p.help, f"{name}: parameter {p.name} has no help comment"
        assert not p.required, f"{name}: {p.name} needs a default for the demo and --all"
        if p.kind in ("int", "float"):
            assert p.bounds, f"{name}: {p.name} has no bounds in its help comment ('; >= 0')"
        if p.name == "window":
            assert p.duration and "pattern" in runbook.schema["properties"][p.name]
    assert not runbook.warnings, runbook.warnings
    schema = runbook.schema
    assert set(schema["properties"]) == {p.name for p in runbook.parameters}
    assert all(prop.get("description") for prop in schema["properties"].values())


def _gallery(jobs: LibraryJobs) -> tuple[str, str]:
    code, log = jobs.gallery.result()
    assert code == 0, f"hxb-lab runbook run --all failed (exit {code}):\n{log[-4000:]}"
    index = jobs.gallery_dir / "index.html"
    assert index.exists(), log[-4000:]
    return log, index.read_text()


def _report(jobs: LibraryJobs, name: str) -> Path:
    reports = sorted((jobs.gallery_dir / name).glob("*/report.html"))
    assert len(reports) == 1, f"{name}: expected one run directory, found {reports}"
    return reports[0]


@pytest.mark.parametrize("name", RUNBOOKS)
def test_report_states_the_verdict_first(name: str, library_jobs: LibraryJobs) -> None:
    log, _ = _gallery(library_jobs)
    report = _report(library_jobs, name)
    page = report.read_text()
    match = re.search(r'<div class="hxb-verdict hxb-verdict-(\w+)"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"{name}: no verdict in {report}"
    text = html.unescape(re.sub(r"<[^>]+>", "", match.group(2)))
    assert re.search(VERDICTS[name], text), f"{name}: {text}"
    # The verdict comes before every table and figure of the report.
    assert page.index("hxb-verdict") < min(
        (page.index(m) for m in ('class="dataframe"', "plotly-graph-div") if m in page),
        default=len(page),
    )
    assert f"{name}" in log and "succeeded" in log
    notebook = next(report.parent.glob("*.ipynb"))
    assert verdict_of(notebook) == " ".join(text.split()).removeprefix("VERDICT: ")


def test_reports_have_static_figures_from_the_project(library_jobs: LibraryJobs) -> None:
    _gallery(library_jobs)
    for name in RUNBOOKS:
        page = _report(library_jobs, name).read_text()
        if name != "model-promotion":  # its evidence is the checks table and the diff
            assert 'class="plotly-graph-div"' in page, f"{name} shows no figure"
        assert not re.search(r"<script[^>]*\bsrc=", page), f"{name} loads a script"


def test_gallery_index_links_every_report(library_jobs: LibraryJobs) -> None:
    log, index = _gallery(library_jobs)
    for name in (*RUNBOOKS, "platform-smoke"):
        href = re.search(rf'href="({re.escape(name)}/[^"]+/report\.html)"', index)
        assert href, f"{name} is not linked from the index"
        assert (library_jobs.gallery_dir / href.group(1)).is_file()
    assert index.count('class="status succeeded"') == len(RUNBOOKS) + 1
    assert "8 runbooks, profile demo" in index
    assert html.escape("roll back llm-chat: canary v8") in index
    assert f"index: {library_jobs.gallery_dir / 'index.html'}" in log


def test_gallery_records_every_run(
    library_jobs: LibraryJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gallery(library_jobs)
    monkeypatch.setenv("HXB_LAB_HOME", str(library_jobs.gallery_home))
    runs = hx.runbooks.runs(profile="demo")
    assert set(RUNBOOKS) <= set(runs["runbook"])
    latency = runs[runs["runbook"] == "inference-latency-triage"].iloc[0]
    assert latency["status"] == "succeeded"
    assert latency["metrics"]["regression_ratio"] > 2
    assert latency["parameters"] == {"service": "llm-chat", "window": "2h", "threshold_ms": 500.0}


#: A parameter that breaks each runbook's precondition, and what the error must say.
FAILURES: dict[str, tuple[dict[str, object], list[str]]] = {
    "inference-latency-triage": (
        {"service": "no-such-service"},
        ["service 'no-such-service' has no spans", "services with spans:", "llm-chat"],
    ),
    "canary-analysis": (
        {"deployment": "fraud-score"},
        ["risk/fraud-score has no canary in progress", "deployments with a canary: llm-chat"],
    ),
    "model-promotion": (
        {"dry_run": False},
        ["refusing to promote llm-chat v8 to llm-chat: canary latency did not pass"],
    ),
    "crashloop-triage": (
        {"namespace": "no-such-namespace"},
        ["no pods in namespace 'no-such-namespace'", "namespaces with pods:", "vision"],
    ),
    "gitops-drift": (
        {"application": "no-such-app"},
        ["no Argo CD Application named 'no-such-app'", "Applications:", "assistant, monitoring"],
    ),
    "gpu-capacity-report": (
        {"product": "NVIDIA-H200"},
        ["no GPU product 'NVIDIA-H200' in the fleet", "NVIDIA-H100-80GB-HBM3"],
    ),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_runbook_fails_clearly_without_its_preconditions(
    name: str, library_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HXB_LAB_HOME", str(library_copy(f"fail-{name}")))
    params, expected = FAILURES[name]
    run = hx.runbooks.get(name).run(params, "demo", output=tmp_path)
    assert run.status == "failed"
    assert run.ename in ("NotFoundError", "HxbLabError")
    for words in expected:
        assert words in (run.evalue or ""), run.error
    page = run.report.read_text() if run.report else ""
    assert html.escape(expected[0], quote=False) in page.replace("&#x27;", "'").replace(
        "&#39;", "'"
    )


def test_cli_run_fails_with_the_valid_names(
    library_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    env = library_environment(library_copy("fail-cli"), tmp_path / "config")
    hxb_lab = Path(sys.executable).with_name("hxb-lab")
    done = subprocess.run(
        [str(hxb_lab), "runbook", "run", "node-drain-readiness", "-p", "node", "gpu-9",
         "--output", str(tmp_path / "runs")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "node-drain-readiness: failed" in done.stdout
    assert "NotFoundError: no node named 'gpu-9' (nodes: a100-0, a100-1," in done.stdout
    assert "report:" in done.stdout
