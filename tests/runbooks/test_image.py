"""The runbook image: what `hxb-lab runbook image build` writes, and the image a Job names.

The image itself is built once per wheel (`tests.support.images`, cached) and run for real
by `test_in_pod.py`; here its archive is read, and bad input is refused before any work.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab._version import __version__
from hxb_lab.cli._image import default_tag
from hxb_lab.config import load_profile
from hxb_lab.runbooks import _manifests as M
from tests.runbooks.conftest import BIN, fixture

HXB = str(BIN / "hxb-lab")


def _build(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HXB, "runbook", "image", "build", *args], capture_output=True, text=True, cwd=cwd
    )


def test_a_job_names_the_image_of_the_version_that_submitted_it(profiles_file: Path) -> None:
    assert default_tag() == f"ghcr.io/hxb-platform/hxb-lab-runbooks:{__version__}"
    rb = hx.runbooks.get(str(fixture("succeeds")))
    (job,) = [o for o in M.job(rb, load_profile(), {"service": "x"}, name="rb-x", run_id="r")
              if o["kind"] == "Job"]  # fmt: skip
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == default_tag()
    profiles_file.write_text('[profiles.own]\nrunbooks = { image = "registry.example/rb:7" }\n')
    (job,) = [o for o in M.job(rb, load_profile("own"), {"service": "x"}, name="rb-x", run_id="r")
              if o["kind"] == "Job"]  # fmt: skip
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/rb:7"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "missing.tar"], "base root filesystem missing.tar does not exist"),
        (["--base", "nopython.tar"], "has no usr/bin/python3.X: use a base with Python 3"),
        (["--base", "nopython.tar", "--tag", "no tag"], "--tag 'no tag' is not an image name"),
        (["--base", "nopython.tar", "--wheel", "x.whl"], "wheel x.whl does not exist"),
    ],
)
def test_bad_input_is_one_line_naming_what_to_fix(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with tarfile.open(tmp_path / "nopython.tar", "w") as tar:
        tar.add(__file__, arcname="etc/hostname")
    done = _build(*args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nopython.tar"]  # nothing written


@pytest.mark.slow
def test_the_image_runs_hxb_lab_as_an_unprivileged_user() -> None:
    from tests.support.images import runbook_image

    archive = runbook_image().archive
    with tarfile.open(archive) as tar:

        def read(name: str) -> dict:  # type: ignore[type-arg]
            member = tar.extractfile(name)
            assert member is not None
            return json.load(member)

        (entry,) = read("index.json")["manifests"]
        assert entry["annotations"]["io.containerd.image.name"] == default_tag()
        manifest = read("blobs/sha256/" + entry["digest"].split(":")[1])
        config = read("blobs/sha256/" + manifest["config"]["digest"].split(":")[1])
    assert len(manifest["layers"]) == 3  # base, dependencies, HXB Lab
    assert config["config"]["User"] == "10001:10001"
    assert "PATH=/opt/hxb-lab/bin" in " ".join(config["config"]["Env"])
    assert config["config"]["Labels"]["org.opencontainers.image.version"] == __version__
