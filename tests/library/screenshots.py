"""Take the README's screenshots: one view and one runbook report, on the library's demo,
and copy in those the browser tests took of the sidebar and of every view in JupyterLab.

    .venv/bin/python -m tests.library.screenshots     # writes docs/images/*.png

The view is rendered to static HTML with its `.figure()`; the report is the HTML report of
a real `inference-latency-triage` run. Debian's chromium takes both pictures (headless).
The sidebar (tests/server/test_browser.py) and the views in Lab
(tests/ui/test_views_in_jupyterlab.py) come from test-output/ui/, where those tests leave
them: run them first for fresh pictures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.library._demo import library_environment, seed_library_demo

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
UI_SHOTS = ROOT / "test-output" / "ui"
#: README image <- the browser test's screenshot it is copied from (under test-output/ui/).
FROM_BROWSER_TESTS = {
    "sidebar-demo.png": "sidebar/10-demo-fits.png",
    "sidebar-run-started.png": "sidebar/11-run-started.png",
    **{f"lab-view-{v}.png": f"view-{v}.png"
       for v in ("cluster", "gpus", "inference", "metrics", "traces", "services")},
}  # fmt: skip


def copy_browser_screenshots() -> list[Path]:
    """Copy the browser tests' screenshots the README shows; say which are missing."""
    copied = []
    for name, source in FROM_BROWSER_TESTS.items():
        taken = UI_SHOTS / source
        if not taken.exists():
            print(f"{taken} is missing: run the browser tests first", file=sys.stderr)
            continue
        target = IMAGES / name
        if name.startswith("lab-view-"):
            _without_margins(taken, target)
        else:
            shutil.copyfile(taken, target)
        copied.append(target)
    return copied


def _without_margins(source: Path, target: Path) -> None:
    """Save `source` without the plain margins around it (a cell's screenshot carries the
    grey of the page beyond Lab's window)."""
    from PIL import Image, ImageChops

    image = Image.open(source).convert("RGB")
    margin = Image.new("RGB", image.size, image.getpixel((0, 0)))
    box = ImageChops.difference(image, margin).getbbox()
    (image.crop(box) if box else image).save(target)


def screenshot(page: Path, target: Path, size: str = "1400,900") -> Path:
    """A PNG of `page` as chromium draws it in a window of `size`."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={target}", f"--window-size={size}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return target


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hxb-screenshots-") as tmp:
        work = Path(tmp)
        home = seed_library_demo(work / "home")
        env = library_environment(home, work / "config")
        os.environ.update(env)
        import hxb_lab as hx

        view = hx.connect().view.gpus(last="1h")
        page = work / "view.html"
        figure = view.figure().update_layout(width=1360, height=860)
        page.write_text(figure.to_html(full_html=True, config={"displayModeBar": False}))
        print(screenshot(page, IMAGES / "view-gpus.png"))
        run = hx.runbooks.get("inference-latency-triage").run({}, "demo", output=work / "runs")
        if not run.ok or run.report is None:
            print(f"the runbook failed: {run.error}", file=sys.stderr)
            return 1
        print(screenshot(run.report, IMAGES / "report-inference-latency-triage.png"))
    for copied in copy_browser_screenshots():
        print(copied)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
