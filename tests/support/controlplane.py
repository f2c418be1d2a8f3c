"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for tests.

The binaries are built from Go modules by ``tests/controlplane/build.sh`` and cached
(``KUBEBUILDER_ASSETS`` is honoured, as in controller-runtime's envtest). Nothing else
runs: no controller manager, no scheduler, no kubelet. So pods never start, namespaces
never finish terminating, service-account tokens are never minted (the ServiceAccount
admission plugin is disabled for that reason), and garbage collection never happens.

Usage::

    from tests.support.controlplane import ControlPlane

    with ControlPlane() as cp:
        cp.install_crds()
        cp.kubectl("create", "namespace", "team-a", check=True)
        cp.grant_namespace_access("team-a")
        # cp.kubeconfig_path has contexts "admin" (default) and "restricted"

Only the standard library, ``cryptography`` and ``PyYAML`` are used.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as _dt
import hashlib
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.processes import (
    HttpProbe,
    Process,
    StartError,
    free_port,
    http_probe,
    launch,
    wait_port_free,
)

__all__ = [
    "ADMIN_USER",
    "CONTROLPLANE_DIR",
    "CRD_DIR",
    "RESTRICTED_USER",
    "ControlPlane",
    "ControlPlaneError",
    "ensure_binaries",
]

CONTROLPLANE_DIR = Path(__file__).resolve().parents[1] / "controlplane"
BUILD_SCRIPT = CONTROLPLANE_DIR / "build.sh"
CRD_DIR = CONTROLPLANE_DIR / "crds"

ADMIN_USER = "hxb-admin"
RESTRICTED_USER = "hxb-restricted"
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
#: Without a node: RBAC only, and no ServiceAccount admission (nothing would mint tokens).
_NO_POD_ARGS = ("--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount")
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
FIELD_MANAGER = "hxb-lab-tests"
_CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_HASH_ANNOTATION = "hxb-lab.io/source-sha256"
_PARTIAL_METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
#: Seconds a stopping kube-apiserver gets for open watches before it is killed.
STOP_GRACE = 2.0

# Read-only access a namespace viewer needs; write verbs are added on request.
READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
DEFAULT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "",
        (
            "pods",
            "pods/log",
            "pods/status",
            "services",
            "endpoints",
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "serviceaccounts",
            "replicationcontrollers",
            "resourcequotas",
            "limitranges",
        ),
    ),
    ("apps", ("deployments", "deployments/scale", "replicasets", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("policy", ("poddisruptionbudgets",)),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("events.k8s.io", ("events",)),
    ("serving.kserve.io", ("*",)),
    ("mlops.seldon.io", ("*",)),
    ("argoproj.io", ("*",)),
)


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started, or did not answer as expected."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


# --------------------------------------------------------------------------- binaries

_binaries_lock = threading.Lock()
_binaries_dir: Path | None = None


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def ensure_binaries(*, timeout: float = 3600.0) -> Path:
    """Return the directory holding ``kube-apiserver``, ``etcd`` and ``kubectl``.

    Runs ``tests/controlplane/build.sh`` (a no-op taking milliseconds when the cache is
    warm, a 10-20 minute Go build when cold). The result is memoised per process.
    Raises :class:`ControlPlaneError` (a ``RuntimeError``) with the tail of the build
    log when the build fails.
    """
    global _binaries_dir
    with _binaries_lock:
        if _binaries_dir is not None:
            return _binaries_dir
        with tempfile.TemporaryFile("w+") as log:
            try:
                proc = subprocess.run(
                    ["bash", str(BUILD_SCRIPT)],
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                log.seek(0)
                raise ControlPlaneError(
                    f"{BUILD_SCRIPT} did not finish within {timeout:.0f}s; build log tail:\n"
                    + _tail(log.read())
                ) from exc
            log.seek(0)
            build_log = log.read()
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if proc.returncode != 0 or not lines:
            raise ControlPlaneError(
                f"{BUILD_SCRIPT} failed (exit {proc.returncode}); build log tail:\n"
                + _tail(build_log + proc.stdout)
            )
        directory = Path(lines[-1].strip())
        missing = [b for b in ("kube-apiserver", "etcd", "kubectl") if not (directory / b).exists()]
        if missing:
            raise ControlPlaneError(
                f"{BUILD_SCRIPT} printed {directory}, which lacks {', '.join(missing)}; "
                "build log tail:\n" + _tail(build_log)
            )
        _binaries_dir = directory
        return directory


_yaml_cache: dict[Path, tuple[int, int, list[Any]]] = {}


def _load_yaml_docs(path: Path) -> list[Any]:
    """The documents of a YAML file, parsed once per process (the KServe CRD takes 0.5 s)."""
    path = path.resolve()
    st = path.stat()
    hit = _yaml_cache.get(path)
    if hit is None or hit[:2] != (st.st_mtime_ns, st.st_size):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with path.open("rb") as fh:
            docs = [d for d in yaml.load_all(fh, Loader=loader) if d]
        hit = (st.st_mtime_ns, st.st_size, docs)
        _yaml_cache[path] = hit
    return hit[2]


# ------------------------------------------------------------------------------ PKI

_ONE_HOUR = _dt.timedelta(hours=1)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _name(cn: str, orgs: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


class _Pki:
    """A throw-away CA with the serving cert, client certs and SA key of one plane."""

    def __init__(self, directory: Path, days: int = 30) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        now = _dt.datetime.now(_dt.UTC)
        self._not_before = now - _ONE_HOUR
        self._not_after = now + _dt.timedelta(days=days)

        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("hxb-lab-test-ca")
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca_cert = (
            self._builder(ca_name, self.ca_key.public_key())
            .issuer_name(ca_name)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = self._write("ca.crt", _pem_cert(self.ca_cert))

        self.serving_cert, self.serving_key = self._issue(
            "kube-apiserver",
            (),
            ExtendedKeyUsageOID.SERVER_AUTH,
            sans=[
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
                x509.DNSName("localhost"),
                x509.DNSName("kubernetes"),
                x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"),
                x509.DNSName("kubernetes.default.svc.cluster.local"),
            ],
        )
        self.serving_cert_path = self._write("apiserver.crt", _pem_cert(self.serving_cert))
        self.serving_key_path = self._write("apiserver.key", _pem_key(self.serving_key))

        # Service-account tokens are signed with RSA (RS256), as kubeadm and envtest do.
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_key_path = self._write("sa.key", _pem_key(sa_key))
        self.sa_pub_path = self._write(
            "sa.pub",
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

        self.clients: dict[str, tuple[bytes, bytes, Path, Path]] = {}

    def _builder(self, subject: x509.Name, public_key: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_after)
        )

    def _issue(
        self,
        cn: str,
        orgs: Sequence[str],
        usage: x509.ObjectIdentifier,
        sans: Sequence[x509.GeneralName] = (),
    ) -> tuple[x509.Certificate, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_name(cn, orgs), key.public_key())
            .issuer_name(self.ca_cert.subject)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return builder.sign(self.ca_key, hashes.SHA256()), key

    def client(self, cn: str, orgs: Sequence[str] = ()) -> tuple[bytes, bytes, Path, Path]:
        """(cert PEM, key PEM, cert path, key path) for a client cert CN=cn, O=orgs."""
        if cn not in self.clients:
            cert, key = self._issue(cn, orgs, ExtendedKeyUsageOID.CLIENT_AUTH)
            cert_pem, key_pem = _pem_cert(cert), _pem_key(key)
            self.clients[cn] = (
                cert_pem,
                key_pem,
                self._write(f"{cn}.crt", cert_pem),
                self._write(f"{cn}.key", key_pem),
            )
        return self.clients[cn]

    def _write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        if name.endswith(".key"):
            path.chmod(0o600)
        return path


# ------------------------------------------------------------------------- processes


def _vm_hwm(pid: int) -> int | None:
    """Peak resident set size of a live process (VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


_live_planes: weakref.WeakSet[ControlPlane] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:  # pragma: no cover - interpreter shutdown
    for cp in list(_live_planes):
        with contextlib.suppress(Exception):
            cp.stop()


# ----------------------------------------------------------------------- the plane


class ControlPlane:
    """etcd + kube-apiserver on loopback with TLS, client-cert auth and RBAC.

    Modelled on controller-runtime's envtest defaults. ``start()`` blocks until
    ``/readyz`` answers 200 for the admin user; ``stop()`` terminates both processes
    and removes the working directory (unless ``keep_workdir`` or the environment
    variable ``HXB_CONTROLPLANE_KEEP=1``).
    """

    admin_context = "admin"
    restricted_context = "restricted"
    admin_user = ADMIN_USER
    restricted_user = RESTRICTED_USER

    def __init__(
        self,
        *,
        binaries_dir: Path | str | None = None,
        workdir: Path | str | None = None,
        start_timeout: float = 90.0,
        apiserver_args: Sequence[str] = (),
        etcd_args: Sequence[str] = (),
        keep_workdir: bool | None = None,
        pods: bool = False,
    ) -> None:
        self._binaries_dir = Path(binaries_dir) if binaries_dir else None
        self._workdir_arg = Path(workdir) if workdir else None
        self.start_timeout = start_timeout
        self._extra_apiserver_args = list(apiserver_args)
        self._extra_etcd_args = list(etcd_args)
        if keep_workdir is None:
            keep_workdir = os.environ.get("HXB_CONTROLPLANE_KEEP", "") not in ("", "0")
        self.keep_workdir = keep_workdir
        #: A plane for a node (tests/support/node.py): Node authorization, NodeRestriction
        #: and ServiceAccount admission, a client certificate for reaching kubelets.
        self.pods = pods

        self.workdir: Path | None = None
        self._own_workdir = False
        self._pki: _Pki | None = None
        self._etcd: Process | None = None
        self._apiserver: Process | None = None
        self._peak_rss: dict[str, int] = {}  # per process name, over restarts
        self._etcd_client_port = 0
        self._apiserver_port = 0
        self._kubeconfig: Path | None = None
        self._ssl: dict[str, ssl.SSLContext] = {}
        self.startup_seconds: float | None = None  # last start() / start_apiserver() to ready

    # ------------------------------------------------------------------ properties
    @property
    def binaries_dir(self) -> Path:
        if self._binaries_dir is None:
            self._binaries_dir = ensure_binaries()
        return self._binaries_dir

    @property
    def kubeconfig_path(self) -> Path:
        """kubeconfig with contexts ``admin`` (current) and ``restricted``, certs embedded."""
        if self._kubeconfig is None:
            raise ControlPlaneError("control plane not started")
        return self._kubeconfig

    @property
    def server_url(self) -> str:
        if not self._apiserver_port:
            raise ControlPlaneError("control plane not started")
        return f"https://127.0.0.1:{self._apiserver_port}"

    @property
    def etcd_url(self) -> str:
        if not self._etcd_client_port:
            raise ControlPlaneError("control plane not started")
        return f"http://127.0.0.1:{self._etcd_client_port}"

    @property
    def ca_cert_path(self) -> Path:
        return self._require_pki().ca_path

    @property
    def kubectl_path(self) -> Path:
        return self.binaries_dir / "kubectl"

    @property
    def apiserver_running(self) -> bool:
        return self._apiserver is not None and self._apiserver.running

    @property
    def pids(self) -> dict[str, int]:
        """Process ids of the running ``etcd`` and ``kube-apiserver``."""
        return {p.name: p.pid for p in (self._etcd, self._apiserver) if p is not None and p.running}

    def client_cert(self, user: str = "admin") -> tuple[Path, Path]:
        """(cert path, key path) of ``"admin"``/``"restricted"`` or a user name."""
        cn = self._user_cn(user)
        _, _, cert, key = self._require_pki().clients[cn]
        return cert, key

    def ssl_context(self, user: str = "admin") -> ssl.SSLContext:
        """An SSL context trusting the plane's CA and presenting ``user``'s client cert."""
        cn = self._user_cn(user)
        if cn not in self._ssl:
            ctx = ssl.create_default_context(cafile=str(self.ca_cert_path))
            cert, key = self.client_cert(cn)
            ctx.load_cert_chain(str(cert), str(key))
            self._ssl[cn] = ctx
        return self._ssl[cn]

    def issue_client_cert(self, cn: str, groups: Sequence[str] = ()) -> tuple[Path, Path]:
        """Mint another client certificate (user ``cn`` in ``groups``)."""
        _, _, cert, key = self._require_pki().client(cn, groups)
        return cert, key

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Generate PKI, start etcd then kube-apiserver, wait for ``/readyz``."""
        if self._etcd is not None and self._etcd.running:
            raise ControlPlaneError("control plane already started")
        t0 = time.monotonic()
        bins = self.binaries_dir
        if self._workdir_arg is not None:
            self.workdir = self._workdir_arg
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="hxb-controlplane-"))
            self._own_workdir = True
        _live_planes.add(self)
        self._ssl.clear()
        try:
            self._pki = _Pki(self.workdir / "pki")
            self._pki.client(ADMIN_USER, ["system:masters"])
            self._pki.client(RESTRICTED_USER)
            if self.pods:
                self._pki.client(KUBELET_CLIENT_USER, ["system:masters"])
            self._start_etcd(bins)
            self._apiserver_port = free_port()
            self._kubeconfig = self._write_kubeconfig(self.workdir / "kubeconfig")
            self._start_apiserver(self._apiserver_argv(bins), t0)
        except BaseException:
            self.stop(remove_workdir=False)
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self, *, remove_workdir: bool | None = None) -> None:
        """Stop kube-apiserver then etcd and wait for both; idempotent."""
        if self._apiserver is not None:
            self._stop(self._apiserver, STOP_GRACE)
        if self._etcd is not None:
            self._stop(self._etcd, STOP_GRACE + 5.0)  # etcd needs well under a second
        _live_planes.discard(self)
        if remove_workdir is None:
            remove_workdir = not self.keep_workdir
        if remove_workdir and self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._own_workdir = False

    def stop_apiserver(self, grace: float = STOP_GRACE) -> None:
        """Stop kube-apiserver only (etcd and the data stay); see :meth:`start_apiserver`.

        Graceful for up to ``grace`` seconds (it waits for open watches), then forced:
        clients holding a watch see their connection close either way.
        """
        if self._apiserver is None:
            raise ControlPlaneError("control plane not started")
        self._stop(self._apiserver, grace)

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port and wait until it is ready."""
        if self._apiserver is None:
            raise ControlPlaneError("control plane not started")
        if self._apiserver.running:
            return
        t0 = time.monotonic()
        # The port was ours a moment ago; give the kernel a moment if it is still held.
        wait_port_free(self._apiserver_port)
        self._start_apiserver(self._apiserver.command, t0)
        self.startup_seconds = time.monotonic() - t0

    def restart_apiserver(self, grace: float = STOP_GRACE) -> None:
        """Stop kube-apiserver and start it again on the same port (etcd keeps running).

        As in a real cluster, a watch resumed from a resourceVersion older than the new
        watch cache's starting point gets 410 Expired, and the client must relist.
        """
        self.stop_apiserver(grace)
        self.start_apiserver()

    def peak_memory_bytes(self) -> dict[str, int]:
        """Peak RSS (VmHWM) seen so far per process, plus ``"total"``.

        Sampled from ``/proc/<pid>/status`` now and just before each process stops;
        for kube-apiserver the maximum over restarts.
        """
        self._sample_memory()
        out = dict(self._peak_rss)
        out["total"] = sum(out.values())
        return out

    def logs(self, lines: int = 40) -> str:
        """The last ``lines`` lines of each process's log."""
        parts = []
        for proc in (self._etcd, self._apiserver):
            if proc is not None:
                parts.append(f"---- {proc.name} ({proc.log}) ----\n{proc.tail(lines)}")
        return "\n".join(parts)

    # ------------------------------------------------------------------ etcd
    def _start_etcd(self, bins: Path) -> None:
        assert self.workdir is not None
        client, peer = free_port(), free_port()
        while peer == client:
            peer = free_port()
        self._etcd_client_port = client
        data = self.workdir / "etcd-data"
        data.mkdir(mode=0o700, exist_ok=True)
        argv = [
            str(bins / "etcd"),
            "--name=hxb-lab",
            f"--data-dir={data}",
            f"--listen-client-urls=http://127.0.0.1:{client}",
            f"--advertise-client-urls=http://127.0.0.1:{client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=hxb-lab=http://127.0.0.1:{peer}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync=true",  # test data: durability is not wanted, speed is
            "--log-level=warn",
            *self._extra_etcd_args,
        ]
        self._etcd = launch(argv, self.workdir / "etcd.log", append=True)
        self._wait_ready(self._etcd, http_probe(f"{self.etcd_url}/health"), self.start_timeout)

    # ------------------------------------------------------------------ apiserver
    def _apiserver_argv(self, bins: Path) -> list[str]:
        pki = self._require_pki()
        assert self.workdir is not None
        cert_dir = self.workdir / "apiserver-certs"
        cert_dir.mkdir(exist_ok=True)
        return [
            str(bins / "kube-apiserver"),
            "--advertise-address=127.0.0.1",
            "--bind-address=127.0.0.1",
            f"--secure-port={self._apiserver_port}",
            f"--cert-dir={cert_dir}",
            f"--tls-cert-file={pki.serving_cert_path}",
            f"--tls-private-key-file={pki.serving_key_path}",
            f"--client-ca-file={pki.ca_path}",
            f"--etcd-servers={self.etcd_url}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            *(self._pod_args() if self.pods else _NO_POD_ARGS),
            "--allow-privileged=true",
            f"--service-account-issuer={self.server_url}",
            f"--service-account-key-file={pki.sa_pub_path}",
            f"--service-account-signing-key-file={pki.sa_key_path}",
            "--profiling=false",
            # The "kubernetes" Service can not point at a loopback address anyway; without
            # this the endpoint reconciler logs an error every few seconds.
            "--endpoint-reconciler-type=none",
            *self._extra_apiserver_args,
        ]

    def _pod_args(self) -> list[str]:
        """What a plane with a kubelet needs: Node authorization, NodeRestriction, the
        ServiceAccount admission plugin (tokens in pods), a client certificate to reach the
        kubelet, and mutating admission policies (tests/support/node.py uses one)."""
        pki = self._require_pki()
        _, _, cert, key = pki.clients[KUBELET_CLIENT_USER]
        return [
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={cert}",
            f"--kubelet-client-key={key}",
            f"--kubelet-certificate-authority={pki.ca_path}",
            "--kubelet-preferred-address-types=Hostname,InternalIP",
            "--feature-gates=MutatingAdmissionPolicy=true",
            "--runtime-config=admissionregistration.k8s.io/v1beta1=true",
        ]

    def issue_serving_cert(self, cn: str, sans: Sequence[str]) -> tuple[Path, Path]:
        """A server certificate signed by the plane's CA for the given DNS names and IPs."""
        pki = self._require_pki()
        names: list[x509.GeneralName] = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        cert, key = pki._issue(cn, (), ExtendedKeyUsageOID.SERVER_AUTH, sans=names)
        return pki._write(f"{cn}-serving.crt", _pem_cert(cert)), pki._write(
            f"{cn}-serving.key", _pem_key(key)
        )

    def user_kubeconfig(self, cn: str, groups: Sequence[str], path: Path) -> Path:
        """A kubeconfig for the user ``cn`` in ``groups`` (a client certificate of its own)."""
        pki = self._require_pki()
        cert_pem, key_pem, _, _ = pki.client(cn, groups)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "hxb-lab-test",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority-data": _b64(_pem_cert(pki.ca_cert)),
                    },
                }
            ],
            "users": [
                {
                    "name": cn,
                    "user": {
                        "client-certificate-data": _b64(cert_pem),
                        "client-key-data": _b64(key_pem),
                    },
                }
            ],
            "contexts": [{"name": "default", "context": {"cluster": "hxb-lab-test", "user": cn}}],
            "current-context": "default",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def _start_apiserver(self, argv: list[str], t0: float) -> None:
        assert self.workdir is not None and self._etcd is not None
        # Appended to: the log of a restarted kube-apiserver keeps the earlier runs.
        self._apiserver = launch(argv, self.workdir / "kube-apiserver.log", append=True)
        ready = http_probe(f"{self.server_url}/readyz", context=self.ssl_context("admin"))
        left = max(0.0, t0 + self.start_timeout - time.monotonic())
        self._wait_ready(self._apiserver, ready, left, also=(self._etcd,))

    # ------------------------------------------------------------------ processes
    def _wait_ready(
        self, process: Process, ready: HttpProbe, timeout: float, also: Iterable[Process] = ()
    ) -> None:
        """Wait for `process` through the shared readiness loop; on failure the error
        carries the logs of both processes."""
        try:
            process.wait_ready(ready, timeout, also=also)
        except StartError as exc:
            raise ControlPlaneError(f"{exc.name} {exc.reason}\n{self.logs()}") from exc

    def _sample_memory(self) -> None:
        for proc in (self._etcd, self._apiserver):
            if proc is not None and proc.running:
                hwm = _vm_hwm(proc.pid) or 0
                self._peak_rss[proc.name] = max(self._peak_rss.get(proc.name, 0), hwm)

    def _stop(self, process: Process, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds. kube-apiserver stops listening at
        once on SIGTERM but then waits up to 60 s for open watches."""
        self._sample_memory()
        process.stop(grace)

    # ------------------------------------------------------------------ helpers
    def _require_pki(self) -> _Pki:
        if self._pki is None:
            raise ControlPlaneError("control plane not started")
        return self._pki

    def _user_cn(self, user: str) -> str:
        return {
            "admin": ADMIN_USER,
            self.admin_context: ADMIN_USER,
            "restricted": RESTRICTED_USER,
        }.get(user, user)

    def _write_kubeconfig(self, path: Path, current: str | None = None) -> Path:
        pki = self._require_pki()
        cluster = "hxb-lab-test"
        users = []
        for cn in (ADMIN_USER, RESTRICTED_USER):
            cert_pem, key_pem, _, _ = pki.clients[cn]
            users.append(
                {
                    "name": cn,
                    "user": {
                        "client-certificate-data": _b64(cert_pem),
                        "client-key-data": _b64(key_pem),
                    },
                }
            )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority-data": _b64(_pem_cert(pki.ca_cert)),
                    },
                }
            ],
            "users": users,
            "contexts": [
                {"name": self.admin_context, "context": {"cluster": cluster, "user": ADMIN_USER}},
                {
                    "name": self.restricted_context,
                    "context": {"cluster": cluster, "user": RESTRICTED_USER},
                },
            ],
            "current-context": current or self.admin_context,
            "preferences": {},
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def kubeconfig_for(self, context: str, path: Path | str | None = None) -> Path:
        """A copy of the kubeconfig whose current context is ``context``."""
        if context not in (self.admin_context, self.restricted_context):
            raise ValueError(f"unknown context {context!r}")
        assert self.workdir is not None
        target = Path(path) if path else self.workdir / f"kubeconfig-{context}"
        return self._write_kubeconfig(target, current=context)

    # ------------------------------------------------------------------ API access
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str = "admin",
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        """One call to the API server as ``user``; returns the decoded JSON body.

        Raises :class:`ControlPlaneError` with ``.status`` and ``.body`` on HTTP errors.
        """
        url = self.server_url + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        data = None
        headers = {"Accept": accept}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(
                req, timeout=timeout, context=self.ssl_context(user)
            ) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                decoded: Any = json.loads(raw)
            except ValueError:
                decoded = raw.decode("utf-8", "replace")
            message = decoded.get("message") if isinstance(decoded, dict) else decoded
            raise ControlPlaneError(
                f"{method.upper()} {path} as {self._user_cn(user)}: HTTP {exc.code}: {message}",
                status=exc.code,
                body=decoded,
            ) from None
        return json.loads(raw) if raw else None

    def apply(
        self,
        obj: dict[str, Any],
        *,
        user: str = "admin",
        plural: str | None = None,
        namespaced: bool | None = None,
    ) -> Any:
        """Server-side apply of one object (forced, field manager ``hxb-lab-tests``).

        The resource path is derived from ``kind`` (lower-case plural) and, for
        namespaced kinds, ``metadata.namespace`` (default ``"default"``); pass
        ``plural``/``namespaced`` for kinds the simple rule gets wrong.
        """
        return self.request(
            "PATCH",
            self._object_path(obj, plural, namespaced),
            json.dumps(obj).encode(),
            user=user,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content_type="application/apply-patch+yaml",
            timeout=120,
        )

    _CLUSTER_SCOPED = frozenset(
        {
            "Namespace",
            "Node",
            "PersistentVolume",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
            "StorageClass",
            "PriorityClass",
            "IngressClass",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        }
    )

    def _object_path(self, obj: dict[str, Any], plural: str | None, namespaced: bool | None) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        name = obj["metadata"]["name"]
        if plural is None:
            low = kind.lower()
            if low.endswith("y") and low[-2:-1] not in "aeiou":
                plural = low[:-1] + "ies"
            elif low.endswith(("s", "x", "ch", "sh")):
                plural = low + "es"
            else:
                plural = low + "s"
        if namespaced is None:
            namespaced = kind not in self._CLUSTER_SCOPED
        prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        if not namespaced:
            return f"{prefix}/{plural}/{name}"
        ns = obj["metadata"].get("namespace") or "default"
        return f"{prefix}/namespaces/{ns}/{plural}/{name}"

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """Create (or update) a namespace."""
        meta: dict[str, Any] = {"name": name}
        if labels:
            meta["labels"] = labels
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    def grant_namespace_access(
        self,
        namespace: str,
        user: str = RESTRICTED_USER,
        verbs: Sequence[str] = READ_VERBS,
        *,
        write: bool = False,
        rules: Sequence[tuple[str, Sequence[str]]] | None = None,
        create_namespace: bool = True,
    ) -> str:
        """Give ``user`` ``verbs`` (default get/list/watch; ``write=True`` adds
        create/update/patch/delete) on common resources in ``namespace`` through a Role
        and RoleBinding named ``hxb-access-<user>``. Returns that name. ``rules`` is a list
        of ``(apiGroup, resources)``; the default covers core workloads, batch, apps,
        networking, and the KServe, Seldon and Argo CD groups (never secrets).
        """
        cn = self._user_cn(user)
        all_verbs = list(dict.fromkeys([*verbs, *(WRITE_VERBS if write else ())]))
        name = f"hxb-access-{cn}"
        if create_namespace:
            self.create_namespace(namespace)
        role_rules = [
            {"apiGroups": [group], "resources": list(resources), "verbs": all_verbs}
            for group, resources in (rules if rules is not None else DEFAULT_RULES)
        ]
        self.apply(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": namespace},
                "rules": role_rules,
            }
        )
        self.apply(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": cn}],
            }
        )
        return name

    def install_crds(
        self, paths: Iterable[Path | str] | None = None, *, timeout: float = 60.0
    ) -> list[str]:
        """Apply every CRD in ``tests/controlplane/crds`` (or ``paths``: files or dirs)
        with server-side apply and wait until each is Established and served.
        Returns the CRD names."""
        files: list[Path] = []
        for p in [Path(x) for x in (paths if paths is not None else [CRD_DIR])]:
            files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p])
        crds: list[dict[str, Any]] = []
        for f in files:
            crds.extend(json.loads(json.dumps(d)) for d in _load_yaml_docs(f))
        for crd in crds:
            if crd.get("kind") != "CustomResourceDefinition":
                raise ControlPlaneError(f"not a CRD: {crd.get('kind')} {crd.get('metadata')}")
            # Applying a large CRD (KServe's is ~700 kB) costs the API server seconds even
            # when nothing changed, so an unchanged CRD (same content hash) is skipped.
            digest = hashlib.sha256(json.dumps(crd, sort_keys=True).encode()).hexdigest()
            name = crd["metadata"]["name"]
            try:
                current = self.request("GET", f"{_CRD_API}/{name}", accept=_PARTIAL_METADATA)
            except ControlPlaneError as exc:
                if exc.status != 404:
                    raise
                current = None
            if (
                current
                and current["metadata"].get("annotations", {}).get(_HASH_ANNOTATION) == digest
            ):
                continue
            crd["metadata"].setdefault("annotations", {})[_HASH_ANNOTATION] = digest
            self.apply(crd)
        deadline = time.monotonic() + timeout
        for crd in crds:
            self._wait_crd(crd, deadline)
        return [c["metadata"]["name"] for c in crds]

    def _wait_crd(self, crd: dict[str, Any], deadline: float) -> None:
        name = crd["metadata"]["name"]
        spec = crd["spec"]
        served = next((v["name"] for v in spec["versions"] if v.get("served", True)), None)
        path = f"/apis/{spec['group']}/{served}/{spec['names']['plural']}?limit=1"
        delay, last = 0.02, ""
        while True:
            got = self.request("GET", f"{_CRD_API}/{name}")
            conds = {c["type"]: c for c in (got.get("status") or {}).get("conditions") or []}
            est = conds.get("Established", {})
            if est.get("status") == "True":
                try:
                    self.request("GET", path)
                    return
                except ControlPlaneError as exc:
                    last = str(exc)
            else:
                last = f"conditions: {json.dumps(list(conds.values()))[:500]}"
            if time.monotonic() >= deadline:
                raise ControlPlaneError(f"CRD {name} not established/served in time: {last}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def kubectl(
        self,
        *args: str,
        context: str | None = None,
        stdin: str | bytes | None = None,
        check: bool = False,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this plane (admin context unless ``context``)."""
        assert self.workdir is not None
        argv = [
            str(self.kubectl_path),
            f"--kubeconfig={self.kubeconfig_path}",
            f"--cache-dir={self.workdir / 'kubectl-cache'}",
        ]
        if context:
            argv.append(f"--context={context}")
        argv.extend(args)
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        if isinstance(stdin, bytes):
            stdin = stdin.decode()
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise ControlPlaneError(
                f"kubectl {' '.join(args)} failed (exit {proc.returncode}):\n"
                f"{proc.stderr.strip()}\n{proc.stdout.strip()}"
            )
        return proc
