"""Self-check of the test control plane: python3 tests/controlplane/smoke.py

Needs only `cryptography` and `PyYAML` (plus Go for a cold build). Builds or finds the
binaries, starts etcd + kube-apiserver, installs the CRDs, exercises kubectl, RBAC for
the restricted user, an apiserver restart (a watch from a resourceVersion taken before
the restart resumes afterwards) and stops. Prints timings and peak memory.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.controlplane import ControlPlane, ControlPlaneError, ensure_binaries  # noqa: E402

ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: sklearn-iris
  namespace: team-a
spec:
  predictor:
    model:
      modelFormat:
        name: sklearn
      storageUri: gs://kfserving-examples/models/sklearn/1.0/model
      resources:
        limits: {cpu: "1", memory: 2Gi, nvidia.com/gpu: "1"}
"""

MODEL = """
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: iris
  namespace: team-a
spec:
  storageUri: gs://seldon-models/scv2/samples/mlserver_1.3.5/iris-sklearn
  requirements: [sklearn]
  memory: 100Ki
"""

APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: team-a
spec:
  project: default
  source:
    repoURL: https://example.invalid/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
"""


def step(msg: str) -> float:
    print(f"[smoke] {msg}", flush=True)
    return time.monotonic()


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise SystemExit(f"[smoke] FAILED: {msg}")


def main() -> None:
    t = step("ensure_binaries()")
    bins = ensure_binaries()
    t_bins = time.monotonic() - t
    print(f"[smoke]   {bins} ({t_bins:.2f}s)")

    cp = ControlPlane()
    t = step("start()")
    cp.start()
    t_start = time.monotonic() - t
    print(f"[smoke]   ready at {cp.server_url} in {t_start:.2f}s; kubeconfig {cp.kubeconfig_path}")
    try:
        t = step("install_crds()")
        names = cp.install_crds()
        t_crds = time.monotonic() - t
        print(f"[smoke]   {names} established in {t_crds:.2f}s")
        again = time.monotonic()
        cp.install_crds()  # idempotent
        print(f"[smoke]   re-apply took {time.monotonic() - again:.2f}s")

        step("kubectl: namespace, InferenceService, Model, Application")
        cp.kubectl("create", "namespace", "team-a", check=True)
        for doc in (ISVC, MODEL, APP):
            out = cp.kubectl("apply", "-f", "-", stdin=doc, check=True)
            print(f"[smoke]   {out.stdout.strip()}")
        got = json.loads(cp.kubectl("get", "isvc", "-n", "team-a", "-o", "json", check=True).stdout)
        check([i["metadata"]["name"] for i in got["items"]] == ["sklearn-iris"], "isvc listed")
        bad = cp.kubectl("apply", "-f", "-", stdin=ISVC.replace("predictor:", "predictr:"))
        check(
            bad.returncode != 0 and 'unknown field "spec.predictr"' in bad.stderr,
            f"schema validation rejects unknown field 'predictr': {bad.stderr}",
        )
        print('[smoke]   invalid isvc rejected: unknown field "spec.predictr"')
        # Status subresource: write status through /status on each of the three kinds.
        for kind, name, status in (
            ("inferenceservices.serving.kserve.io", "sklearn-iris", {"url": "http://x"}),
            ("models.mlops.seldon.io", "iris", {"replicas": 1}),
            ("applications.argoproj.io", "guestbook", {"health": {"status": "Healthy"}}),
        ):
            cp.kubectl(
                "patch", kind, name, "-n", "team-a", "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": status}), check=True,
            )  # fmt: skip
            obj = json.loads(cp.kubectl("get", kind, name, "-n", "team-a", "-o", "json").stdout)
            check(obj.get("status", {}).items() >= status.items(), f"status of {kind}")
        print(cp.kubectl("get", "isvc,models.mlops.seldon.io,applications", "-A").stdout)

        step("RBAC for hxb-restricted")
        denied = cp.kubectl("get", "pods", "-A", context=cp.restricted_context)
        check(denied.returncode != 0 and "forbidden" in denied.stderr, "cluster-wide pods denied")
        try:
            cp.request("GET", "/api/v1/pods", user="restricted")
            check(False, "restricted user listed pods cluster-wide")
        except ControlPlaneError as exc:
            check(exc.status == 403, f"expected 403, got {exc.status}")
        print("[smoke]   cluster-wide list: 403 as expected")
        cp.kubectl("create", "configmap", "cm1", "-n", "team-a", "--from-literal=a=b", check=True)
        cp.grant_namespace_access("team-a")
        ok = cp.kubectl("get", "pods,configmaps,isvc", "-n", "team-a", context="restricted")
        check(ok.returncode == 0, f"granted namespace readable: {ok.stderr}")
        no_write = cp.kubectl(
            "create", "configmap", "cm2", "-n", "team-a", "--from-literal=a=b", context="restricted"
        )
        check(no_write.returncode != 0 and "forbidden" in no_write.stderr, "read-only grant")
        other = cp.kubectl("get", "pods", "-n", "default", context="restricted")
        check(other.returncode != 0, "other namespace still denied")
        print("[smoke]   granted namespace readable, writes and other namespaces denied")

        step("restart_apiserver() on the same port, with a watch open")
        base = "/api/v1/namespaces/team-a/configmaps"
        rv = cp.request("GET", base)["metadata"]["resourceVersion"]
        events: list[dict] = []
        closed = threading.Event()

        def watch() -> None:
            try:
                url = f"{cp.server_url}{base}?watch=1&resourceVersion={rv}"
                with urllib.request.urlopen(url, context=cp.ssl_context(), timeout=60) as resp:
                    for raw in resp:
                        events.append(json.loads(raw))
            except OSError:
                pass
            finally:
                closed.set()

        threading.Thread(target=watch, daemon=True).start()
        cp.kubectl("create", "configmap", "before-restart", "-n", "team-a", check=True)
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        check([e["type"] for e in events] == ["ADDED"], f"watch saw before-restart: {events}")
        last_rv = events[-1]["object"]["metadata"]["resourceVersion"]
        url = cp.server_url
        t = time.monotonic()
        cp.restart_apiserver()
        t_restart = time.monotonic() - t
        check(cp.server_url == url, "same URL after restart")
        check(closed.wait(10), "the open watch ended when kube-apiserver stopped")
        cp.kubectl("create", "configmap", "after-restart", "-n", "team-a", check=True)
        # Resume as a reflector does: watch from the last seen resourceVersion; on
        # 410 Expired (the new watch cache starts at the current revision) relist.
        resumed = _watch_once(cp, f"{base}?watch=1&resourceVersion={last_rv}&timeoutSeconds=5")
        if resumed["type"] == "ERROR":
            check(resumed["object"]["code"] == 410, f"unexpected watch error {resumed}")
            listing = cp.request("GET", base)
            names = {i["metadata"]["name"] for i in listing["items"]}
            check("after-restart" in names, f"relist after 410 shows after-restart: {names}")
            rv2 = listing["metadata"]["resourceVersion"]
            cp.kubectl("create", "configmap", "after-relist", "-n", "team-a", check=True)
            resumed = _watch_once(cp, f"{base}?watch=1&resourceVersion={rv2}&timeoutSeconds=5")
            how = "410 Expired -> relist -> watch"
        else:
            how = "watch from the pre-restart resourceVersion"
        check(resumed["type"] == "ADDED", f"resumed watch delivers events: {resumed}")
        print(
            f"[smoke]   restarted in {t_restart:.2f}s (ready {cp.startup_seconds:.2f}s after stop); "
            f"old watch closed; resumed via {how}: "
            f"{resumed['type']} {resumed['object']['metadata']['name']}"
        )
        mem = cp.peak_memory_bytes()
    finally:
        t = step("stop()")
        pids = list(cp.pids.values())
        cp.stop()
        t_stop = time.monotonic() - t
    for pid in pids:
        check(not Path(f"/proc/{pid}").exists() or _zombie(pid), f"process {pid} gone")
    print(f"[smoke]   stopped in {t_stop:.2f}s")
    mib = {k: round(v / 2**20) for k, v in mem.items()}
    print(
        f"[smoke] OK  binaries {t_bins:.2f}s  start-to-ready {t_start:.2f}s  crds {t_crds:.2f}s  "
        f"apiserver restart {t_restart:.2f}s  stop {t_stop:.2f}s  peak RSS MiB {mib}"
    )


def _watch_once(cp: ControlPlane, path: str) -> dict:
    with urllib.request.urlopen(cp.server_url + path, context=cp.ssl_context(), timeout=10) as r:
        return json.loads(r.readline())


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
