"""Fixtures of the bad-input corpus: one seeded demo and one workbench on it, one real
Jupyter server with the extension, each shared by the whole session, and the checks
every case makes (one line naming the field, nothing written).

A case is one row of a table in the module of its entry point (``CASES``); adding a case
is adding a row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench
    from tests.server._jupyter import Jupyter

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: A profiles file whose runbooks are the corpus's fixtures (the active profile ``bad``).
PROFILES = (
    'default = "bad"\n\n[profiles.bad]\ndescription = "Bad-input corpus"\n'
    f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
)


@pytest.fixture(scope="session")
def demo_wb(demo_home: Path) -> Iterator[Workbench]:
    """A workbench on the session's seeded demo, for every case of the Python API."""
    import hxb_lab as hx

    before = os.environ.get("HXB_LAB_HOME")
    os.environ["HXB_LAB_HOME"] = str(demo_home)
    try:
        wb = hx.connect("demo")
    finally:
        if before is None:
            os.environ.pop("HXB_LAB_HOME", None)
        else:
            os.environ["HXB_LAB_HOME"] = before
    yield wb
    wb.close()


@pytest.fixture
def bad_profile(profiles_file: Path) -> Path:
    """This test's profiles file, with the active profile ``bad`` (runbooks: fixtures/)."""
    profiles_file.write_text(PROFILES)
    return profiles_file


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Jupyter, Path]]:
    """One real ``jupyter server`` with the extension for every REST case, and its
    HXB_LAB_HOME (where a run would leave its directory)."""
    from tests.conftest import require
    from tests.server._jupyter import JupyterError, running_jupyter

    base = tmp_path_factory.mktemp("badinput-jupyter")
    home = base / "hxb-home"
    config = base / "profiles.toml"
    config.write_text(PROFILES)
    # The machine's cache: the empty MLflow store is migrated once there, not per session.
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {"HXB_LAB_HOME": str(home), "HXB_LAB_CONFIG": str(config), "XDG_CACHE_HOME": cache}
    try:
        with running_jupyter("server", base, env, base / "jupyter.log", timeout_s=90) as server:
            yield server, home
    except JupyterError as exc:
        require(False, f"a Jupyter server ({str(exc).splitlines()[0]})")


def one_line(text: str) -> str:
    """`text` when it is a single line with no traceback in it (else the test fails)."""
    assert "Traceback" not in text, text
    assert "\n" not in text.strip(), text
    return text.strip()


def nothing_in(directory: Path) -> list[str]:
    """The files under `directory` (none when it does not exist)."""
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
