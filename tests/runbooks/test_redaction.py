"""Every secret a run can reach is masked in everything the run writes.

A marker value is planted in each source of secrets (a profile secret from the
environment, one from a file, a secret parameter, a kubeconfig token, the password of a
URL); the runbook ``leaks_secrets`` resolves them in its kernel and prints, displays,
logs and raises them. No marker may be found in any file the run leaves (output
notebook, report, run.json, kernel log, the artifact copies, the MLflow store), in what
MLflow answers, or in what the command line prints.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hxb_lab._redact import MASK, redact, remember_secret
from tests.runbooks.conftest import BIN, FIXTURES

MARKERS = {
    "env secret": "mark-env-7f3a91",
    "file secret": "mark-file-9b2c44",
    "secret parameter": "mark-param-4d1e07",
    "kubeconfig token": "mark-kube-c8a0f5",
    "URL password": "mark-url-e5f6b2",
}
KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: ops
clusters: [{{name: ops, cluster: {{server: "https://127.0.0.1:9"}}}}]
contexts: [{{name: ops, context: {{cluster: ops, user: ops}}}}]
users: [{{name: ops, user: {{token: "{token}"}}}}]
"""


def plant_secrets(profiles_file: Path, where: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A profile ``leaky`` whose secrets are the markers; returns its name. The secret
    parameter's marker is for the caller to pass."""
    where.mkdir(parents=True, exist_ok=True)
    token_file = where / "prometheus-token"
    token_file.write_text(MARKERS["file secret"] + "\n")
    kubeconfig = where / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(token=MARKERS["kubeconfig token"]))
    monkeypatch.setenv("HXB_TEST_CLICKHOUSE_PASSWORD", MARKERS["env secret"])
    monkeypatch.setenv("HXB_TEST_DATABASE_URL", f"postgresql://app:{MARKERS['URL password']}@db/x")
    profiles_file.write_text(
        f"""
[profiles.leaky]
clickhouse = {{ dsn = "http://127.0.0.1:9", password = {{ env = "HXB_TEST_CLICKHOUSE_PASSWORD" }} }}
prometheus = {{ url = "http://127.0.0.1:9", token = {{ file = "{token_file}" }} }}
kube = {{ kubeconfig = "{kubeconfig}" }}
artifacts = {{ uri = "{(where / "artifacts").as_uri()}" }}
runbooks = {{ directories = ["{FIXTURES}"] }}
"""
    )
    return "leaky"


def leaks(text: str) -> list[str]:
    """The names of the markers found in `text`."""
    return [name for name, marker in MARKERS.items() if marker in text]


def leaking_files(root: Path, sources: set[Path]) -> dict[str, list[str]]:
    """Every file under `root` (but the secrets' own sources) that holds a marker."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and path not in sources:
            names = leaks(path.read_bytes().decode("utf-8", "replace"))
            if names:
                found[str(path.relative_to(root))] = names
    return found


def test_every_secret_a_runbook_resolves_is_masked_in_every_output(
    profiles_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_dir = tmp_path / "secrets"
    profile = plant_secrets(profiles_file, secrets_dir, monkeypatch)

    done = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "run", "leaks_secrets", "--profile", profile,
         "-p", "token", MARKERS["secret parameter"], "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr  # the runbook raises
    assert leaks(done.stdout + done.stderr) == []
    assert f"RuntimeError: login refused: {' '.join([MASK] * 5)}" in done.stdout
    run_dir = next((tmp_path / "hxb-home" / "runs" / "leaks_secrets").iterdir())
    notebook = (run_dir / "leaks_secrets.ipynb").read_text()
    for shown in ("clickhouse password: ***", "prometheus token: ***", "api token: ***",
                  "kube token: ***", "database: postgresql://app:***@db/x",
                  "database password: ***", "as html: *** *** *** *** ***"):  # fmt: skip
        assert shown in notebook  # the runbook really printed them: masked, not missing
    assert "to the kernel log: *** *** *** ***" in (run_dir / "kernel.log").read_text()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["parameters"]["token"] == MASK

    # Every file the run left: its directory, the artifact store, the MLflow store.
    sources = {secrets_dir / "prometheus-token", secrets_dir / "kubeconfig"}
    assert leaking_files(tmp_path, sources) == {}
    assert (secrets_dir / "artifacts").is_dir()  # the copies were made, and searched

    # What MLflow answers: parameters, tags (the error among them), and the run list.
    from hxb_lab.clients.mlflow import open_store
    from hxb_lab.config import load_profile

    store = open_store(load_profile(profile))
    try:
        experiment = store.get_experiment_by_name("runbooks/leaks_secrets")
        assert experiment is not None
        recorded = store.search_runs([experiment["experiment_id"]], "", 10)
    finally:
        store.close()
    assert len(recorded) == 1
    assert recorded[0]["data"]["tags"]["hxb_lab.error"].startswith("RuntimeError: login refused")
    assert leaks(json.dumps(recorded)) == []
    listed = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "runs", "leaks_secrets", "--json", "--profile", profile],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "login refused" in listed.stdout and leaks(listed.stdout + listed.stderr) == []


def test_profile_secrets_skip_what_does_not_resolve(
    profiles_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hxb_lab.config import load_profile
    from hxb_lab.runbooks._scrub import kubeconfig_secrets, profile_secrets

    plant_secrets(profiles_file, tmp_path / "secrets", monkeypatch)
    monkeypatch.delenv("HXB_TEST_CLICKHOUSE_PASSWORD")
    (tmp_path / "secrets" / "prometheus-token").unlink()

    assert profile_secrets(load_profile("leaky")) == []  # neither is an error
    assert kubeconfig_secrets(tmp_path / "nowhere") == []
    (tmp_path / "broken").write_text("users: [{user: [")
    assert kubeconfig_secrets(tmp_path / "broken") == []
    (tmp_path / "odd").write_text("users: [7, {user: {auth-provider: oidc, token: tok-odd-1}}]")
    assert kubeconfig_secrets(tmp_path / "odd") == ["tok-odd-1"]
    assert kubeconfig_secrets(tmp_path / "secrets" / "kubeconfig") == [MARKERS["kubeconfig token"]]


def test_a_url_password_is_masked_where_it_appears_alone() -> None:
    remember_secret("https://svc:pw-from-a-url-1@db.internal/?token=tok-in-query-2")
    assert redact("pw-from-a-url-1 and tok-in-query-2") == f"{MASK} and {MASK}"
    shown = redact("pw-printed-3; then postgresql://u:pw-printed-3@h/db")
    assert shown == f"{MASK}; then postgresql://u:{MASK}@h/db"
