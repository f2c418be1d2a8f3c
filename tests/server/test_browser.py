"""The HXB sidebar in a real JupyterLab, driven in Debian's Chromium by Playwright.

One JupyterLab for the module, started as a user starts it (``jupyter lab``) on the demo
platform (the session's seeded HXB_LAB_HOME) with the demo profile active. The test
reads the platform summary, switches to a profile whose runbook library is
tests/server/fixtures, fills the Run form of ``checks`` with one invalid value (and sees
the message), fixes it, runs it, waits for success, and opens the report in a Lab tab.
The last test starts a run by an alert and reads the alert on its row.
Screenshots of each step go to ``test-output/ui/sidebar/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require
from tests.server._jupyter import Jupyter, JupyterError, running_jupyter
from tests.server.conftest import FIXTURES
from tests.triggers.conftest import webhook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm may be 64 MB: renderers then crash
]  # fmt: skip
SHOTS = ROOT / "test-output" / "ui" / "sidebar"
RUN_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def lab_profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's profiles file (read at each request): ``ui``, runbooks of the server tests."""
    profiles = tmp_path_factory.mktemp("lab-config") / "profiles.toml"
    profiles.write_text(
        '[profiles.ui]\ndescription = "Runbooks of the server tests"\n'
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
    )
    return profiles


@pytest.fixture(scope="module")
def lab(
    demo_home: Path, lab_profiles: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Jupyter]:
    """``jupyter lab`` on the demo platform, with a second profile ``ui`` to switch to."""
    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    built = ROOT / "hxb_lab" / "labextension" / "package.json"
    require(built.exists(), "the built JupyterLab extension (jlpm build in extensions/hxb-lab)")

    base = tmp_path_factory.mktemp("lab")
    profiles = lab_profiles
    # Serve this checkout's build of the extension, ahead of whichever one is installed.
    data = base / "jupyter-data"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "hxb-lab").symlink_to(built.parent, target_is_directory=True)
    env = {
        "HXB_LAB_HOME": str(demo_home),
        "HXB_LAB_CONFIG": str(profiles),
        "JUPYTER_PATH": str(data),
    }
    try:
        with running_jupyter("lab", base, env, SHOTS / "jupyter-lab.log") as server:
            yield server
    except JupyterError as exc:
        pytest.fail(str(exc))


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_run_a_runbook_from_the_sidebar_and_open_its_report(
    lab: Jupyter, demo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    import hxb_lab as hx

    monkeypatch.setenv("HXB_LAB_HOME", str(demo_home))  # for the expected numbers below
    nodes = hx.connect("demo").cluster.nodes()
    # Playwright's sync API runs its own event loop: start and stop it inside the test.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            _walk_through(chromium, lab, nodes)
        finally:
            chromium.close()


def _walk_through(chromium: Any, lab: Jupyter, nodes: Any) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    reports: list[str] = []  # what the server answered each report frame: a failure says it
    page.on(
        "response",
        lambda r: (
            reports.append(f"{r.status} {r.url} {r.headers.get('content-type')}")
            if "/report" in r.url
            else None
        ),
    )
    try:
        page.goto(f"{lab.url}/lab?token={lab.token}")
        expect(page.locator("#hxb-lab-status")).to_contain_text("HXB: demo", timeout=60_000)

        # 1. The sidebar on the demo profile: the platform at a glance.
        page.locator('.jp-SideBar [data-id="hxb-lab-sidebar"]').click()
        sidebar = page.locator("#hxb-lab-sidebar")
        ready = f"{int(nodes['ready'].sum())}/{len(nodes)}"
        expect(sidebar.locator(".hxb-Summary-nodes")).to_have_text(ready, timeout=60_000)
        expect(sidebar.locator(".hxb-Profile-select")).to_have_value("demo")
        _shot(page, "01-sidebar-demo")

        # 2. Switch to the profile whose runbooks include `checks`.
        sidebar.locator(".hxb-Profile-select").select_option("ui")
        runbook = sidebar.locator('.hxb-Runbook[data-runbook="checks"]')
        expect(runbook).to_be_visible(timeout=60_000)
        expect(page.locator("#hxb-lab-status")).to_contain_text("HXB: ui")
        sidebar.locator(".hxb-Catalog-search").fill("test fixture service")
        expect(sidebar.locator(".hxb-Runbook")).to_have_count(1)
        _shot(page, "02-profile-switched")

        # 3. The Run form, generated from the schema: one invalid value shows its message.
        runbook.locator(".hxb-Runbook-run").click()
        dialog = page.locator(".hxb-RunDialog")
        expect(dialog).to_contain_text("Run: Service checks")
        dialog.locator("#root_service").fill("checkout")
        dialog.locator("#root_replicas").fill("1.5")
        expect(dialog).to_contain_text("must be a whole number")
        _shot(page, "03-invalid-value")
        dialog.locator(".hxb-RunForm-submit").click()  # refused in the browser
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("must be a whole number")

        # 4. Fixed, it runs; the dialog closes and the run shows live in the list.
        dialog.locator("#root_replicas").fill("3")
        expect(dialog).not_to_contain_text("must be a whole number")
        _shot(page, "04-fixed")
        dialog.locator(".hxb-RunForm-submit").click()
        expect(dialog).to_have_count(0)
        # Other runs (of other tests, in the same stores) may share the list: pick ours.
        run = (
            sidebar.locator(".hxb-Run")
            .filter(has=page.locator(".hxb-Run-runbook", has_text=re.compile(r"^checks$")))
            .first
        )
        expect(run.locator(".hxb-Run-runbook")).to_have_text("checks")
        expect(run).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
        run_id = run.get_attribute("data-run-id")
        _shot(page, "05-succeeded")

        # 5. The report opens in a Lab tab, sandboxed away from the Lab page.
        sidebar.locator(f'.hxb-Run[data-run-id="{run_id}"] .hxb-Run-report').click()
        tab = page.locator(".lm-TabBar-tab", has_text=f"Report: checks {run_id}")
        expect(tab).to_be_visible(timeout=30_000)
        iframe = page.locator(f"#hxb-report-{run_id} iframe")
        expect(iframe).to_have_attribute("sandbox", "allow-scripts")
        report = page.frame_locator(f"#hxb-report-{run_id} iframe")
        expect(report.locator("h1").first).to_have_text("Service checks", timeout=30_000)
        frame = next(f for f in page.frames if f.url.endswith(f"runs/{run_id}/report"))
        assert frame.title() == f"Service checks - run {run_id}"
        reach = frame.evaluate(
            "() => { try { return window.parent.document.title } catch (e) { return 'blocked' } }"
        )
        assert reach == "blocked"  # the report's scripts cannot touch the Lab page
        _shot(page, "06-report")

        # 6. The output notebook opens in Lab, as a copy under hxb-runs/.
        run.locator(".hxb-Run-notebook").click()
        notebook_tab = page.locator(".lm-TabBar-tab", has_text=f"checks-{run_id}.ipynb")
        expect(notebook_tab).to_be_visible(timeout=30_000)
        expect(page.locator(".jp-NotebookPanel:visible")).to_contain_text(
            "checked checkout with 3 replicas in quick mode", timeout=30_000
        )
        _shot(page, "07-output-notebook")

        # 7. A runbook that fails shows failed with its error line, and its report opens.
        sidebar.locator(".hxb-Catalog-search").fill("")
        sidebar.locator(".hxb-Tag", has_text="faults").click()  # breaks and waits, not checks
        expect(sidebar.locator('.hxb-Runbook[data-runbook="waits"]')).to_be_visible()
        expect(sidebar.locator('.hxb-Runbook[data-runbook="checks"]')).to_have_count(0)
        sidebar.locator('.hxb-Runbook[data-runbook="breaks"] .hxb-Runbook-run').click()
        dialog.locator(".hxb-RunForm-submit").click()
        expect(dialog).to_have_count(0)
        failed = (
            sidebar.locator(".hxb-Run")
            .filter(has=page.locator(".hxb-Run-runbook", has_text=re.compile(r"^breaks$")))
            .first
        )
        expect(failed.locator(".hxb-Run-runbook")).to_have_text("breaks")
        expect(failed).to_have_attribute("data-status", "failed", timeout=RUN_TIMEOUT_MS)
        expect(failed.locator(".hxb-Run-error")).to_have_text("ValueError: disk is full in cell 3")
        failed_id = failed.get_attribute("data-run-id")
        sidebar.locator(f'.hxb-Run[data-run-id="{failed_id}"] .hxb-Run-report').click()
        failed_report = page.frame_locator(f"#hxb-report-{failed_id} iframe")
        expect(failed_report.locator("body")).to_contain_text("disk is full", timeout=30_000)
        _shot(page, "08-failed-run")

        # 7b. A time limit from the dialog: refused inline unless above zero; then the run
        # that would wait two minutes ends at it, timed out.
        sidebar.locator('.hxb-Runbook[data-runbook="waits"] .hxb-Runbook-run').click()
        limit = dialog.locator(".hxb-RunForm-timeLimit input")
        limit.fill("0")
        expect(dialog.locator(".hxb-RunForm-timeLimitError")).to_have_text(
            "Time limit: give seconds above 0, or leave it empty"
        )
        expect(dialog.locator(".hxb-RunForm-submit")).to_be_disabled()
        limit.fill("3")
        expect(dialog.locator(".hxb-RunForm-timeLimitError")).to_have_count(0)
        dialog.locator(".hxb-RunForm-submit").click()
        expect(dialog).to_have_count(0)
        limited = (
            sidebar.locator(".hxb-Run")
            .filter(has=page.locator(".hxb-Run-runbook", has_text=re.compile(r"^waits$")))
            .first
        )
        expect(limited).to_have_attribute("data-status", "timed_out", timeout=RUN_TIMEOUT_MS)

        # 8. The launcher's Ops notebook connects to the active profile.
        page.locator(".lm-TabBar-tab", has_text="Launcher").click()
        page.locator(".jp-LauncherCard", has_text="Ops notebook").click()
        expect(page.locator(".jp-NotebookPanel:visible .jp-Cell").first).to_contain_text(
            'wb = hx.connect("ui")', timeout=30_000
        )
        _shot(page, "09-ops-notebook")
        assert not errors, errors
    except BaseException:
        _shot(page, "failure")
        (SHOTS / "console.log").write_text("\n".join(errors + console + reports))
        print("page errors:", *errors, "console errors:", *console, sep="\n  ")
        print("report responses:", *reports, sep="\n  ")
        raise
    finally:
        context.close()


# The contrast of an element's text with what is drawn behind it (WCAG 2's formula): the
# text colour and each translucent background up the tree are blended onto white first.
_CONTRAST_JS = """
(elements) => {
  // Any CSS colour the browser computes (rgb(), color(srgb ...), oklch(), ...) as RGBA:
  // drawn on a 1-pixel canvas and read back.
  const pixel = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  const parse = c => {
    pixel.clearRect(0, 0, 1, 1);
    pixel.fillStyle = c;
    pixel.fillRect(0, 0, 1, 1);
    const d = pixel.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const blend = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const behind = element => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const colour = parse(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) break; }
    }
    return layers.reverse().reduce((bg, layer) => blend(layer, bg), [255, 255, 255]);
  };
  return elements.map(element => {
    const bg = behind(element);
    const fg = blend(parse(getComputedStyle(element).color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    return { what: element.className, text: element.textContent.trim().slice(0, 50),
             ratio: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100 };
  });
}
"""
_STATE_TEXT = (
    ".hxb-Unavailable, .hxb-Warning, .hxb-Note, .hxb-Run-status, .hxb-Run-error,"
    " .hxb-Runbook-problem, .hxb-Schedule-suspended, .hxb-Summary-label, .hxb-Empty"
)
AA_NORMAL_TEXT = 4.5


def _contrast(sidebar: Any) -> list[dict[str, Any]]:
    measured: list[dict[str, Any]] = sidebar.locator(_STATE_TEXT).evaluate_all(_CONTRAST_JS)
    return measured


def _palette_finds(page: Any, query: str, item: str) -> None:
    """Search Lab's command palette for `query` and see `item` among the answers. The
    palette is modal: it closes when anything takes the focus (a notification, a panel
    redrawn by its poll), so it is opened again for each search, up to three times."""
    from playwright.sync_api import Error, expect

    for attempt in range(3):
        palette = page.locator(".lm-CommandPalette-input:visible")
        if palette.count() == 0:
            page.keyboard.press("Control+Shift+C")
        try:
            palette.fill(query, timeout=5_000)
            # (the runbook commands come with the catalog's answer: slow under load)
            expect(page.locator(".lm-CommandPalette-item:visible")).to_contain_text(
                [item], timeout=20_000
            )
            return
        except (AssertionError, Error):
            if attempt == 2:
                raise


def test_the_sidebar_fits_reads_well_and_shows_what_it_started(lab: Jupyter) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            _sidebar_checks(chromium, lab)
        finally:
            chromium.close()


def _sidebar_checks(chromium: Any, lab: Jupyter) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    refused: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            refused.append(f"{r.status} {r.url}")
            if "/hxb-lab/api/" in r.url and r.status >= 400
            else None
        ),
    )
    try:
        lab.api("PUT", "profiles/active", {"name": "demo"})  # whatever an earlier test chose
        # A workspace of its own: not the layout an earlier test left (its sidebar open).
        page.goto(f"{lab.url}/lab/workspaces/sidebar-checks?token={lab.token}")
        expect(page.locator("#hxb-lab-status")).to_contain_text("HXB: demo", timeout=60_000)
        page.locator('.jp-SideBar [data-id="hxb-lab-sidebar"]').click()
        sidebar = page.locator("#hxb-lab-sidebar")
        expect(sidebar.locator(".hxb-Summary-nodes")).to_be_visible(timeout=60_000)

        # 1. At Lab's default sidebar width every GPU row is one line.
        gpu_rows = sidebar.locator(".hxb-Summary-gpu")
        expect(gpu_rows.first).to_be_visible()
        heights = gpu_rows.evaluate_all(
            "rows => rows.map(r => [r.getBoundingClientRect().height,"
            " r.lastElementChild.getBoundingClientRect().height])"
        )
        assert heights and all(row <= value * 1.5 for row, value in heights), heights
        assert all(
            t and " GPUs free on schedulable nodes" in t
            for t in gpu_rows.evaluate_all("rows => rows.map(r => r.title)")
        )

        # 2. On a snapshot the schedules say why there are none, and nothing was refused.
        expect(sidebar.locator(".hxb-Section-schedules .hxb-Note")).to_contain_text(
            "schedules need a live cluster", timeout=30_000
        )
        assert refused == [], refused

        # 3. Run and Schedule buttons are named with their runbook.
        expect(page.get_by_role("button", name="Run gpu-capacity-report…")).to_have_count(1)
        expect(page.get_by_role("button", name="Schedule gpu-capacity-report…")).to_have_count(1)
        names = sidebar.locator(".hxb-Runbook-actions button").evaluate_all(
            "buttons => buttons.map(b => b.getAttribute('aria-label'))"
        )
        assert len(names) == len(set(names)) > 2, names

        # 4. State text meets WCAG AA, measured; Lab's warn colour as text would not.
        measured = _contrast(sidebar)
        assert any(m["what"] == "hxb-Note" for m in measured), measured
        low = [m for m in measured if m["ratio"] < AA_NORMAL_TEXT]
        assert low == [], low
        orange = sidebar.evaluate(
            "(s, js) => { const e = document.createElement('span');"
            " e.style.color = 'var(--jp-warn-color1)'; e.textContent = 'x'; s.append(e);"
            " const r = eval(js)([e])[0].ratio; e.remove(); return r; }",
            _CONTRAST_JS,
        )
        assert orange < AA_NORMAL_TEXT  # the measurement tells a failing colour apart
        _shot(page, "10-demo-fits")

        # 5. The Run form offers only what the profile can run on: no Job on a snapshot.
        page.get_by_role("button", name="Run gpu-capacity-report…").click()
        dialog = page.locator(".hxb-RunDialog")
        options = dialog.locator(".hxb-RunForm-executor option")
        expect(options).to_have_text(["this Jupyter server"])
        dialog.locator(".jp-Dialog-close-button, .jp-mod-reject").first.click()
        expect(dialog).to_have_count(0)

        # 6. The palette has Schedule per runbook and Switch to each other profile.
        _palette_finds(page, "Schedule: GPU capacity", "Schedule: GPU capacity report")
        _palette_finds(page, "Switch to the HXB profile", "Switch to the HXB profile ui")
        page.keyboard.press("Escape")

        # 7. On a profile with a long catalog, a started run shows at once, in view, and
        #    a notification says so; warnings there read well too.
        sidebar.locator(".hxb-Profile-select").select_option("ui")
        runbook = sidebar.locator('.hxb-Runbook[data-runbook="checks"]')
        expect(runbook).to_be_visible(timeout=60_000)
        expect(sidebar.locator(".hxb-Section-runs")).not_to_be_in_viewport()
        low = [m for m in _contrast(sidebar) if m["ratio"] < AA_NORMAL_TEXT]
        assert low == [], low
        page.get_by_role("button", name="Run checks…").click()
        dialog.locator("#root_service").fill("in-view")
        dialog.locator(".hxb-RunForm-submit").click()
        expect(dialog).to_have_count(0)
        started = sidebar.locator(".hxb-Run.hxb-mod-started")
        expect(started).to_have_count(1)
        expect(started.locator(".hxb-Run-runbook")).to_have_text("checks")
        expect(started).to_be_in_viewport()
        run_id = started.get_attribute("data-run-id")
        expect(page.locator(".Toastify__toast", has_text=f"checks: run {run_id}")).to_be_visible()
        _shot(page, "11-run-started")
        expect(started).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
        assert not errors, errors
    except BaseException:
        _shot(page, "failure-sidebar")
        raise
    finally:
        context.close()
        lab.api("PUT", "profiles/active", {"name": "demo"})


ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
#: Cluster text that would run as HTML if the sidebar drew the diff as markup.
HOSTILE = "<img src=x onerror=window.hxbInjected=1>"


@pytest.mark.kube
def test_a_second_person_approves_a_proposed_change_in_the_sidebar(
    lab: Jupyter, lab_profiles: Path, demo_home: Path, control_plane: Any, kube_namespace: str
) -> None:
    """A run started through the REST API (one Jupyter user) proposes a scale on the real
    API server; in the sidebar another Jupyter user reads it awaiting approval, the diff as
    text, approves it, and the audit records both."""
    from playwright.sync_api import sync_playwright

    fixtures = ROOT / "tests" / "triggers" / "fixtures"
    with lab_profiles.open("a") as profiles:  # the lab reads its profiles at each request
        profiles.write(
            "[profiles.live]\n"
            f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
            f'runbooks = {{ directories = ["{fixtures}"] }}\n'
        )
    control_plane.request("POST", ISVC.format(ns=kube_namespace), {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "llm-chat", "namespace": kube_namespace},
        "spec": {"predictor": {"labels": {"team": HOSTILE}, "minReplicas": 2, "maxReplicas": 6,
                               "model": {"modelFormat": {"name": "pytorch"},
                                         "storageUri": "s3://models/llm-chat/1"}}},
    })  # fmt: skip
    lab.api("PUT", "profiles/active", {"name": "live"})
    try:
        # Each token request without a cookie is a Jupyter user of its own: not the page's.
        started = lab.api(
            "POST", "runbooks/proposes/runs", {"parameters": {"namespace": kube_namespace}}
        )
        run_id = started["run"]["id"]
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                proposer = _approve_in_sidebar(chromium, lab, run_id)
            finally:
                chromium.close()
        audit = lab.api("GET", f"runs/{run_id}")["approval"]
    finally:
        lab.api("PUT", "profiles/active", {"name": "demo"})

    scaled = control_plane.request("GET", f"{ISVC.format(ns=kube_namespace)}/llm-chat")
    assert scaled["spec"]["predictor"]["maxReplicas"] == 9
    assert (audit["state"], audit["proposed_by"]) == ("applied", proposer)
    assert audit["decided_by"] not in ("", proposer)  # the page's user, not the starter's
    listed = subprocess.run(
        [sys.executable, "-m", "hxb_lab.cli", "runbook", "audit", "--json", "--profile", "live"],
        capture_output=True, text=True, env={**os.environ, "HXB_LAB_CONFIG": str(lab_profiles), "HXB_LAB_HOME": str(demo_home)},
    )  # fmt: skip
    (row,) = [r for r in map(json.loads, listed.stdout.splitlines()) if r["run_id"] == run_id]
    assert (row["approval"], row["started_by"]) == ("applied", proposer)
    assert row["decided_by"] == audit["decided_by"]
    assert row["patch"]["spec"]["predictor"]["maxReplicas"] == 9


def _approve_in_sidebar(chromium: Any, lab: Jupyter, run_id: str) -> str:
    """Approve run `run_id`'s change in the sidebar; who proposed it, as the sidebar says."""
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{lab.url}/lab/workspaces/approvals?token={lab.token}")
        expect(page.locator("#hxb-lab-status")).to_contain_text("HXB: live", timeout=60_000)
        page.locator('.jp-SideBar [data-id="hxb-lab-sidebar"]').click()
        run = page.locator(f'#hxb-lab-sidebar .hxb-Run[data-run-id="{run_id}"]')
        expect(run).to_have_attribute("data-approval", "awaiting approval", timeout=RUN_TIMEOUT_MS)
        approval = run.locator(".hxb-Approval")
        line = re.compile(r"^awaiting approval · proposed by (\S+) · expires in \d+ h \d+ min$")
        expect(approval.locator(".hxb-Approval-state")).to_have_text(line)
        proposer = line.match(approval.locator(".hxb-Approval-state").inner_text())[1]  # type: ignore[index]
        diff = approval.locator(".hxb-Approval-diff")
        expect(diff).to_contain_text("+    maxReplicas: 9")
        expect(diff).to_contain_text(HOSTILE)  # cluster text drawn as text, not as markup
        assert diff.locator("img").count() == 0
        assert page.evaluate("() => window.hxbInjected") is None
        run.scroll_into_view_if_needed()
        _shot(page, "12-awaiting-approval")

        run.locator(".hxb-Approval-reject").click()  # a rejection must say why
        expect(run.locator(".hxb-Approval-confirmReject")).to_be_disabled()
        run.locator(".hxb-Approval-cancelReject").click()

        run.locator(".hxb-Approval-approve").click()
        expect(run).to_have_attribute("data-approval", "applied", timeout=30_000)
        expect(approval.locator(".hxb-Approval-state")).to_have_text(re.compile(r"^applied by "))
        expect(approval.locator(".hxb-Approval-note")).to_contain_text('"maxReplicas": 9')
        expect(run.locator(".hxb-Approval-approve")).to_have_count(0)
        _shot(page, "13-approved")
        assert not errors, errors
        return proposer
    except BaseException:
        _shot(page, "failure-approval")
        raise
    finally:
        context.close()


def test_a_run_an_alert_started_says_so_in_the_sidebar(
    lab: Jupyter, lab_profiles: Path, tmp_path: Path
) -> None:
    """Alertmanager posts to the lab's webhook (its own token, not Jupyter's); the run it
    starts lists in the sidebar with the alert and the rule that matched."""
    from playwright.sync_api import expect, sync_playwright

    token = tmp_path / "alerts-token"
    token.write_text("alertmanager-secret-for-the-ui-test\n")
    with lab_profiles.open("a") as profiles:  # the lab reads its profiles at each request
        profiles.write(
            "\n[profiles.paged]\n"
            f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
            f'[profiles.paged.alerts]\ntoken = {{ file = "{token}" }}\n'
            '[[profiles.paged.alerts.rules]]\nname = "service-down"\nrunbook = "checks"\n'
            'match = { alertname = "ServiceDown" }\n'
            'parameters = { service = "{labels.service}", replicas = "{labels.replicas}" }\n'
        )
    lab.api("PUT", "profiles/active", {"name": "paged"})
    try:
        body = webhook({"labels": {"alertname": "ServiceDown", "service": "ui", "replicas": "2"}},
                       group="browser")  # fmt: skip
        request = urllib.request.Request(
            f"{lab.url}/hxb-lab/api/alerts", data=body, method="POST",
            headers={"Authorization": "Bearer alertmanager-secret-for-the-ui-test"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            (started,) = json.loads(response.read())["runs"]
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            try:
                page.goto(f"{lab.url}/lab/workspaces/paged?token={lab.token}")
                expect(page.locator("#hxb-lab-status")).to_contain_text(
                    "HXB: paged", timeout=60_000
                )
                page.locator('.jp-SideBar [data-id="hxb-lab-sidebar"]').click()
                run = page.locator(f'#hxb-lab-sidebar .hxb-Run[data-run-id="{started["run_id"]}"]')
                expect(run.locator(".hxb-Run-trigger")).to_have_text(
                    "Alert ServiceDown (rule service-down)", timeout=60_000
                )
                expect(run).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
                expect(run.locator(".hxb-Run-trigger")).to_be_visible()  # still, once recorded
                run.scroll_into_view_if_needed()
                _shot(page, "14-started-by-an-alert")
            except BaseException:
                _shot(page, "failure-alert-run")
                raise
            finally:
                chromium.close()
    finally:
        lab.api("PUT", "profiles/active", {"name": "demo"})
