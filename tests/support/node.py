"""A real Kubernetes node on this machine, for the tests that need pods to run.

Next to a `ControlPlane` started with ``pods=True`` (Node authorization, ServiceAccount
admission), it runs containerd + runc (Debian packages) and kubelet, kube-scheduler and
kube-controller-manager built from the same ``k8s.io/kubernetes`` module as kube-apiserver
(``tests/controlplane/build.sh node``). The node is named ``localhost``; everything binds
to 127.0.0.1. Images are never pulled: they are OCI archives built on this machine and
imported (`Node.import_image`), and pods use ``imagePullPolicy: Never`` or
``IfNotPresent`` (what is present is used).

The settings each come from a failure on a machine like this one (root without
CAP_SYS_RESOURCE, cgroup v1); the comments below say which. Pods reach the API server on loopback: a mutating admission
policy gives the pods of the namespaces labelled ``hxb.io/test-node-network=host`` the
host's network and ``KUBERNETES_SERVICE_HOST``/``PORT`` pointing at it (there is no
kube-proxy), and mounts the host directories named in `Node.host_mounts` read-only.

`stop()` stops every process by its PID and removes what the node made on the host:
containers, mounts under its directory, the CNI bridge and network namespaces, the
``kubepods`` cgroups, and the host paths the kubelet and containerd use (only those that
did not exist before).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from hxb_lab.cli._image import write_oci_archive
from tests.support.controlplane import BUILD_SCRIPT, ControlPlane, ControlPlaneError, _tail
from tests.support.processes import Process, StartError, free_port, http_probe, launch

__all__ = ["NODE_NAME", "Node", "NodeError", "node_binaries", "wait_for"]

NODE_NAME = "localhost"
PAUSE_IMAGE = "hxb-lab.local/pause:1"
BRIDGE = "hxb-cni0"
POD_SUBNET = "10.244.77.0/24"
NETWORK_LABEL = "hxb.io/test-node-network"
#: The node's taint: only the pods of its namespaces (which tolerate it) land on it, never
#: the simulated platform's pods (their images are nowhere on this machine).
TAINT_KEY = "hxb.io/test-node"
CNI_BIN = Path("/usr/lib/cni")
#: Host paths kubelet, containerd and the CNI plugins use whatever their configuration says.
HOST_PATHS = (
    Path("/var/log/containers"),
    Path("/var/lib/kubelet"),
    Path("/var/lib/cni"),
    Path("/run/containerd"),
    Path("/var/run/netns"),
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
IMAGE_CACHE = Path.home() / ".cache" / "hxb-lab" / "node"


class NodeError(RuntimeError):
    """The node could not start or do what was asked; the message ends with logs."""


def node_binaries(timeout: float = 3600.0) -> Path:
    """The directory with kubelet, kube-scheduler, kube-controller-manager and pause, built
    (once, cached) by ``build.sh node``."""
    done = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "node"], capture_output=True, text=True, timeout=timeout
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise NodeError(f"build.sh node failed ({done.returncode}):\n{_tail(done.stderr)}")
    return Path(lines[-1])


def _tools() -> dict[str, str]:
    tools = {}
    for name in ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip"):
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
        if path is None:
            raise NodeError(f"{name} is missing: run `make test-deps` (Debian's containerd)")
        tools[name] = path
    if not (CNI_BIN / "bridge").exists():
        raise NodeError("the CNI plugins are missing: run `make test-deps`")
    return tools


class Node:
    """containerd, kubelet, kube-scheduler and kube-controller-manager for `plane`."""

    def __init__(self, plane: ControlPlane, *, binaries: Path | None = None) -> None:
        if not plane.pods:
            raise NodeError("the control plane was not started with pods=True")
        self.plane = plane
        self.binaries = binaries or node_binaries()
        self.tools = _tools()
        self.workdir = Path(tempfile.mkdtemp(prefix="hxb-node-"))
        self.socket = self.workdir / "containerd" / "containerd.sock"
        self._processes: list[Process] = []
        self._existed = {path: path.exists() for path in HOST_PATHS}
        self.startup_seconds: float | None = None
        self.host_mounts: list[Path] = []
        self._probe_namespace = ""
        self.image_root = self._image_root()

    def _image_root(self) -> Path:
        """containerd's root (its images): kept under the cache between sessions, so the
        runbook image (1.7 GB) is imported once; a scratch one if another session holds
        the cached one."""
        IMAGE_CACHE.mkdir(parents=True, exist_ok=True)
        self._root_lock = (IMAGE_CACHE / "containerd.lock").open("w")
        try:
            fcntl.flock(self._root_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._root_lock.close()
            return self.workdir / "containerd" / "root"
        return IMAGE_CACHE / "containerd-root"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 120.0) -> Node:
        """Start everything and wait for the node to be Ready."""
        t0 = time.monotonic()
        try:
            self._start_containerd(timeout)
            self.import_image(self._pause_archive())
            self._start_kubelet(timeout)
            self._start_control(timeout)
            self._wait_node_ready(t0 + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop every process (kubelet first), remove containers, mounts and host paths."""
        for proc in reversed(self._processes):
            if proc.name != "containerd":
                proc.stop(10.0)
        with contextlib.suppress(NodeError, OSError, subprocess.SubprocessError):
            self._remove_containers()
        for proc in self._processes:
            proc.stop(10.0)
        self._processes.clear()
        self._unmount_under(self.workdir)
        self._unmount_under(self.image_root)
        self._root_lock.close()
        self._remove_networking()
        self._remove_cgroups()
        for path, existed in self._existed.items():
            if not existed:
                self._unmount_under(path)
                shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self, lines: int = 30) -> str:
        return "\n".join(f"---- {p.name} ----\n{p.tail(lines)}" for p in self._processes)

    # ------------------------------------------------------------------ images
    def ctr(self, *args: str, timeout: float = 600.0) -> str:
        done = subprocess.run(
            [self.tools["ctr"], "--address", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise NodeError(f"ctr {' '.join(args)}: {done.stderr.strip()[-800:]}")
        return done.stdout

    def import_image(self, archive: Path) -> bool:
        """Import an OCI archive (its ``io.containerd.image.name`` is the image's name),
        unless the node has that very image already. Returns whether it imported."""
        name, digest = _archive_image(archive)
        for line in self.ctr("images", "ls").splitlines()[1:]:
            fields = line.split()
            if fields[:1] == [name] and digest in fields:
                return False
        try:
            self.ctr("images", "import", str(archive))
        except NodeError as exc:
            # A new image under an old name leaves the old layers' snapshots to containerd's
            # garbage collector, which may take a parent the unpacking was about to reuse:
            # once more, the unpacking makes what is missing.
            if "does not exist" not in str(exc):
                raise
            self.ctr("images", "import", str(archive))
        return True

    def images(self) -> set[str]:
        return {line.split()[0] for line in self.ctr("images", "ls", "-q").split()}

    def _pause_archive(self) -> Path:
        """The sandbox image: the pause program alone (built by ``build.sh node``)."""
        archive = self.binaries / "pause-image.tar"
        if archive.exists():
            return archive
        layer = self.workdir / "pause-layer.tar"
        subprocess.run(
            ["tar", "-C", str(self.binaries), "--owner=0", "--group=0", "-cf", str(layer), "pause"],
            check=True,
        )
        partial = self.workdir / "pause-image.tar"
        config = {"Entrypoint": ["/pause"], "User": "65535:65535"}
        write_oci_archive(partial, PAUSE_IMAGE, [layer], config, ["the pause program"])
        shutil.move(partial, archive)
        return archive

    # ------------------------------------------------------------------ containerd
    def _start_containerd(self, timeout: float) -> None:
        base = self.workdir / "containerd"
        cni = self.workdir / "cni"
        cni.mkdir(parents=True)
        (cni / "10-hxb.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "1.0.0",
                    "name": "hxb-lab",
                    "plugins": [
                        {
                            # No gateway, no masquerade: nothing changes the host's routes,
                            # sysctls or firewall. Pods that talk to the API server use the
                            # host's network (see the module docstring).
                            "type": "bridge",
                            "bridge": BRIDGE,
                            "isGateway": False,
                            "ipMasq": False,
                            "ipam": {
                                "type": "host-local",
                                "ranges": [[{"subnet": POD_SUBNET}]],
                                "dataDir": str(self.workdir / "cni-ipam"),
                            },
                        },
                        {"type": "portmap", "capabilities": {"portMappings": True}},
                    ],
                }
            )
        )
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        config = f"""version = 2
root = "{self.image_root}"
state = "{base / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{base / "ttrpc.sock"}"
[debug]
  address = "{base / "debug.sock"}"
[metrics]
  address = ""
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: without it runc fails to set oom_score_adj -998.
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{cni}"
"""
        path = base / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
        proc = launch(
            [self.tools["containerd"], "--config", str(path)], self.workdir / "containerd.log"
        )
        self._processes.append(proc)
        self._wait(proc, self._containerd_ready, timeout)
        self._remove_containers()  # left in the cached root by a session that was killed

    def _containerd_ready(self) -> bool:
        if not self.socket.exists():
            return False
        done = subprocess.run(
            [self.tools["ctr"], "--address", str(self.socket), "version"],
            capture_output=True,
            timeout=10,
        )
        return done.returncode == 0

    # ------------------------------------------------------------------ kubelet
    def _start_kubelet(self, timeout: float) -> None:
        plane = self.plane
        root = self.workdir / "kubelet"
        root.mkdir()
        cert, key = plane.issue_serving_cert("kubelet-localhost", [NODE_NAME, "127.0.0.1"])
        kubeconfig = plane.user_kubeconfig(
            f"system:node:{NODE_NAME}", ["system:nodes"], self.workdir / "kubelet.kubeconfig"
        )
        self.kubelet_port, healthz = free_port(), free_port()
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": "127.0.0.1",
            "port": self.kubelet_port,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": healthz,
            "tlsCertFile": str(cert),
            "tlsPrivateKeyFile": str(key),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(plane.ca_cert_path)},
            },
            "authorization": {"mode": "Webhook"},
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "cgroupDriver": "cgroupfs",  # containerd 1.6 does not answer RuntimeConfig
            "failSwapOn": False,
            "failCgroupV1": False,
            "makeIPTablesUtilChains": False,  # else a chain lands in the host's INPUT/OUTPUT
            "imageGCHighThresholdPercent": 100,  # containerd 1.6 does not pin the pause image
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "50Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
                "nodefs.inodesFree": "1%",
            },
            "podLogsDir": str(self.workdir / "pod-logs"),
            "resolvConf": "/etc/resolv.conf",
            "serializeImagePulls": False,
            "maxPods": 30,
            "nodeStatusUpdateFrequency": "2s",
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "volumeStatsAggPeriod": "0s",
        }
        config_path = self.workdir / "kubelet.yaml"
        config_path.write_text(yaml.safe_dump(config))
        argv = [
            str(self.binaries / "kubelet"),
            f"--config={config_path}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={root}",
            # kubelet refuses a loopback node IP; the API server reaches it by this name.
            f"--hostname-override={NODE_NAME}",
            f"--register-with-taints={TAINT_KEY}=runbooks:NoSchedule",
            "--v=1",
        ]
        proc = launch(argv, self.workdir / "kubelet.log")
        self._processes.append(proc)
        self._wait(proc, http_probe(f"http://127.0.0.1:{healthz}/healthz"), timeout)

    # ------------------------------------------------------------------ control
    def _start_control(self, timeout: float) -> None:
        plane = self.plane
        pki_dir = plane.ca_cert_path.parent
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        sched_port, cm_port = free_port(), free_port()
        sched_config = plane.user_kubeconfig(
            "system:kube-scheduler", [], self.workdir / "scheduler.kubeconfig"
        )
        scheduler = launch(
            [
                str(self.binaries / "kube-scheduler"),
                f"--kubeconfig={sched_config}",
                f"--authentication-kubeconfig={sched_config}",
                f"--authorization-kubeconfig={sched_config}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                f"--cert-dir={self.workdir / 'scheduler-certs'}",
            ],
            self.workdir / "kube-scheduler.log",
        )
        self._processes.append(scheduler)
        cm_config = plane.user_kubeconfig(
            "system:kube-controller-manager", [], self.workdir / "controller-manager.kubeconfig"
        )
        manager = launch(
            [
                str(self.binaries / "kube-controller-manager"),
                f"--kubeconfig={cm_config}",
                f"--authentication-kubeconfig={cm_config}",
                f"--authorization-kubeconfig={cm_config}",
                "--use-service-account-credentials",
                f"--root-ca-file={plane.ca_cert_path}",
                f"--service-account-private-key-file={pki_dir / 'sa.key'}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={cm_port}",
                f"--cert-dir={self.workdir / 'controller-manager-certs'}",
                # No cloud, no pod CIDRs to hand out, no load balancers or routes; no
                # controllers of long-running workloads (the tests' simulated platform is
                # written as it is, pods included, and its images exist nowhere here).
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,"
                "-node-route-controller,-resourcequota-controller,-deployment-controller,"
                "-replicaset-controller,-statefulset-controller,-daemonset-controller,"
                "-replicationcontroller-controller",
                "--concurrent-job-syncs=10",
            ],
            self.workdir / "kube-controller-manager.log",
        )
        self._processes.append(manager)
        for proc, port in ((scheduler, sched_port), (manager, cm_port)):
            self._wait(
                proc, http_probe(f"https://127.0.0.1:{port}/healthz", context=insecure), timeout
            )
        self._network_policy()

    def _network_policy(self) -> None:
        """Pods of labelled namespaces get the host's network and the API server's address
        (there is no kube-proxy), the toleration of the node's taint, and read-only mounts
        of the host directories in `host_mounts` at the same paths."""
        port = self.plane.server_url.rsplit(":", 1)[1]
        env = [
            'Object.spec.containers.env{name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1"}',
            f'Object.spec.containers.env{{name: "KUBERNETES_SERVICE_PORT", value: "{port}"}}',
        ]
        volumes, mounts = [], []
        for i, path in enumerate(self.host_mounts):
            volumes.append(
                f'Object.spec.volumes{{name: "hxb-host-{i}", hostPath: '
                f'Object.spec.volumes.hostPath{{path: "{path}", type: "Directory"}}}}'
            )
            mounts.append(
                f'Object.spec.containers.volumeMounts{{name: "hxb-host-{i}", '
                f'mountPath: "{path}", readOnly: true}}'
            )
        container = f"name: c.name, env: [{', '.join(env)}]"
        if mounts:
            container += f", volumeMounts: [{', '.join(mounts)}]"
        spec = (
            "hostNetwork: true, "
            f"containers: object.spec.containers.map(c, Object.spec.containers{{{container}}})"
        )
        # Tolerations are an atomic list, which an apply configuration may not change.
        toleration = (
            f'Object.spec.tolerations{{key: "{TAINT_KEY}", operator: "Exists", '
            'effect: "NoSchedule"}'
        )
        tolerate = (
            "(has(object.spec.tolerations) ? "
            f'[JSONPatch{{op: "add", path: "/spec/tolerations/-", value: {toleration}}}] : '
            f'[JSONPatch{{op: "add", path: "/spec/tolerations", value: [{toleration}]}}]) + '
            # and only this node (the simulated platform's nodes have no kubelet)
            "(has(object.spec.nodeSelector) ? "
            '[JSONPatch{op: "add", path: "/spec/nodeSelector/kubernetes.io~1hostname", '
            f'value: "{NODE_NAME}"}}] : '
            '[JSONPatch{op: "add", path: "/spec/nodeSelector", '
            f'value: {{"kubernetes.io/hostname": "{NODE_NAME}"}}}}])'
        )
        if volumes:
            spec += f", volumes: [{', '.join(volumes)}]"
        policy = {
            "apiVersion": "admissionregistration.k8s.io/v1beta1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": "hxb-test-node"},
            "spec": {
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["pods"],
                        }
                    ]
                },
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "mutations": [
                    {
                        "patchType": "ApplyConfiguration",
                        "applyConfiguration": {
                            "expression": f"Object{{spec: Object.spec{{{spec}}}}}"
                        },
                    },
                    {"patchType": "JSONPatch", "jsonPatch": {"expression": tolerate}},
                ],
            },
        }
        binding = {
            "apiVersion": "admissionregistration.k8s.io/v1beta1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": "hxb-test-node"},
            "spec": {
                "policyName": "hxb-test-node",
                "matchResources": {"namespaceSelector": {"matchLabels": {NETWORK_LABEL: "host"}}},
            },
        }
        self.plane.apply(policy, plural="mutatingadmissionpolicies", namespaced=False)
        self.plane.apply(binding, plural="mutatingadmissionpolicybindings", namespaced=False)
        self._wait_policy(len(self.host_mounts))

    def _wait_policy(self, mounts: int, timeout: float = 30.0) -> None:
        """Policies reach the admission chain through an informer: wait until a pod created
        (as a dry run) in a labelled namespace comes back changed as asked."""
        if not self._probe_namespace:
            self._probe_namespace = "hxb-node-probe"
            self.namespace(self._probe_namespace)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": "probe-"},
            "spec": {"containers": [{"name": "c", "image": PAUSE_IMAGE}]},
        }
        path = f"/api/v1/namespaces/{self._probe_namespace}/pods"

        last = ["no answer"]

        def changed() -> bool:
            try:
                made = self.plane.request("POST", path, pod, params={"dryRun": "All"})
            except ControlPlaneError as exc:  # e.g. before its default service account exists
                last[0] = str(exc)
                return False
            spec = made["spec"]
            host_volumes = [v for v in spec.get("volumes", []) if "hostPath" in v]
            last[0] = json.dumps(spec)[:1500]
            return bool(spec.get("hostNetwork")) and len(host_volumes) == mounts

        try:
            wait_for(changed, timeout, "the node's admission policy to take effect")
        except NodeError as exc:
            raise NodeError(f"{exc}; last dry run: {last[0]}") from None

    def share_read_only(self, *paths: Path) -> None:
        """Mount these host directories read-only, at the same paths, into the pods of the
        node's namespaces created from now on."""
        self.host_mounts.extend(p for p in paths if p not in self.host_mounts)
        self._network_policy()

    def _wait_node_ready(self, deadline: float) -> None:
        def ready() -> bool:
            try:
                node = self.plane.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            except ControlPlaneError:
                return False
            conditions = node.get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        kubelet = next(p for p in self._processes if p.name == "kubelet")
        self._wait(kubelet, ready, max(1.0, deadline - time.monotonic()))

    def _wait(self, proc: Process, ready: Any, timeout: float) -> None:
        others = [p for p in self._processes if p is not proc]
        try:
            proc.wait_ready(ready, timeout, also=others)
        except StartError as exc:
            raise NodeError(f"{exc.name} {exc.reason}\n{self.logs()}") from exc

    # ------------------------------------------------------------------ namespaces
    def namespace(self, name: str) -> None:
        """Create a namespace whose pods run on the node with the host's network."""
        self.plane.create_namespace(name, labels={NETWORK_LABEL: "host"})

    # ------------------------------------------------------------------ cleanup
    def _remove_containers(self) -> None:
        if not self.socket.exists():
            return
        for task in self.ctr("tasks", "ls", "-q", timeout=30).split():
            subprocess.run(
                [self.tools["ctr"], "--address", str(self.socket), "-n", "k8s.io", "tasks",
                 "kill", "-s", "SIGKILL", task], capture_output=True, timeout=30,
            )  # fmt: skip
        for task in self.ctr("tasks", "ls", "-q", timeout=30).split():
            subprocess.run(
                [self.tools["ctr"], "--address", str(self.socket), "-n", "k8s.io", "tasks",
                 "delete", "--force", task], capture_output=True, timeout=30,
            )  # fmt: skip
        containers = self.ctr("containers", "ls", "-q", timeout=30).split()
        if containers:
            self.ctr("containers", "delete", *containers, timeout=60)

    @staticmethod
    def _mounts_under(path: Path) -> list[str]:
        prefix = str(path).rstrip("/") + "/"
        found = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point == prefix.rstrip("/") or point.startswith(prefix):
                    found.append(point)
        return found

    def _unmount_under(self, path: Path) -> None:
        for point in sorted(self._mounts_under(path), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=30)

    def _remove_networking(self) -> None:
        ip = self.tools["ip"]
        for netns in Path("/var/run/netns").glob("cni-*"):
            subprocess.run(["umount", "-l", str(netns)], capture_output=True, timeout=30)
            netns.unlink(missing_ok=True)
        subprocess.run([ip, "link", "delete", BRIDGE], capture_output=True, timeout=30)
        with contextlib.suppress(OSError):
            shutil.rmtree("/var/lib/cni/results", ignore_errors=True)

    @staticmethod
    def _remove_cgroups() -> None:
        for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else ():
            top = controller / "kubepods"
            if not top.is_dir():
                continue
            dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            for d in [*dirs, top]:
                with contextlib.suppress(OSError):
                    d.rmdir()


def _archive_image(archive: Path) -> tuple[str, str]:
    """(name, manifest digest) of the one image in an OCI archive."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        if member is None:
            raise NodeError(f"{archive} is not an OCI image archive (no index.json)")
        (manifest,) = json.load(member)["manifests"]
    return manifest["annotations"]["io.containerd.image.name"], manifest["digest"]


def wait_for(check: Any, timeout: float, what: str) -> Any:
    """Poll `check` (a readiness probe of state in the API server) until it returns a
    truthy value; raise `NodeError` naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise NodeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)  # polling the API server's state; nothing signals it
        delay = min(delay * 1.5, 0.5)
