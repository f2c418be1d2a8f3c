"""A real OpenSearch 2.19 on loopback (single node, free ports), one per test session.

The server is assembled from Maven Central by ``tools/build-opensearch.sh`` (cached under
``~/.cache/hxb-lab/opensearch``). OpenSearch refuses to run as root, so when the tests run
as root the server runs as ``nobody`` from a copy of the home that ``nobody`` can read
(hard links when the cache and the temporary directory share a filesystem). Ready means
the cluster's health is green, asked of the server itself.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import Process, free_port, start

__all__ = ["OpenSearch", "build_opensearch", "start_opensearch"]

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tools" / "build-opensearch.sh"
JAVA = shutil.which("java") or "/usr/bin/java"
USER = "nobody"


@dataclass
class OpenSearch:
    url: str
    home: Path
    process: Process = field(repr=False)

    def __str__(self) -> str:
        return self.url

    def request(self, method: str, path: str, body: object = None, ndjson: str = "") -> object:
        """A request to the server's REST API, its JSON answer parsed (test setup only)."""
        data = ndjson.encode() if ndjson else None if body is None else json.dumps(body).encode()
        kind = "application/x-ndjson" if ndjson else "application/json"
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": kind}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def bulk(self, index: str, documents: list[dict[str, object]]) -> None:
        """Index `documents` into `index` (created with dynamic mappings), searchable at once."""
        lines = []
        for doc in documents:
            lines += [json.dumps({"create": {"_index": index}}), json.dumps(doc)]
        answer = self.request("POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
        assert isinstance(answer, dict) and not answer["errors"], str(answer)[:2000]

    def stop(self) -> None:
        """Stop the server and remove its directory. Its data is discarded, so it gets only a
        moment for SIGTERM: closing its transport waits up to 30 s for channels that a
        loopback test server never needs to drain."""
        self.process.stop(grace=2)
        shutil.rmtree(self.home.parent, ignore_errors=True)


def build_opensearch() -> Path:
    """The cached OpenSearch home (assembled on first use)."""
    out = subprocess.run(
        ["bash", str(BUILD)], check=True, capture_output=True, text=True, timeout=900
    )
    return Path(out.stdout.strip().splitlines()[-1])


def _copy_home(source: Path, target: Path) -> None:
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def start_opensearch(*, heap_mb: int = 384, timeout: float = 120) -> OpenSearch:
    """OpenSearch on free loopback ports, in a directory of its own under the system's
    temporary directory (removed by `OpenSearch.stop`)."""
    built = build_opensearch()
    root = Path(tempfile.mkdtemp(prefix="hxb-opensearch-"))
    home, conf, data = root / "home", root / "config", root / "data"
    _copy_home(built, home)
    conf.mkdir()
    data.mkdir()
    http_port, transport_port = free_port(), free_port()
    (conf / "opensearch.yml").write_text(
        "cluster.name: hxb-lab-tests\n"
        "node.name: tests\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {http_port}\n"
        f"transport.port: {transport_port}\n"
        "discovery.type: single-node\n"
        f"path.data: {data}\n"
        f"path.logs: {root / 'logs'}\n"
        "action.auto_create_index: true\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
    )
    (conf / "log4j2.properties").write_text(
        "status = error\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n\n"
        "rootLogger.level = warn\n"
        "rootLogger.appenderRef.console.ref = console\n"
    )
    (conf / "jvm.options").write_text("")
    command = [
        JAVA,
        f"-Xms{heap_mb}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
        "-Djava.security.manager=allow",
        "-Dopensearch.networkaddress.cache.ttl=60",
        "-Djava.io.tmpdir=" + str(root / "tmp"),
        "-Dlog4j2.disable.jmx=true",
        f"-Dopensearch.path.home={home}",
        f"-Dopensearch.path.conf={conf}",
        "-Dopensearch.distribution.type=tar",
        "-cp",
        f"{home}/lib/*",
        "org.opensearch.bootstrap.OpenSearch",
    ]
    (root / "tmp").mkdir()
    (root / "logs").mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        for path in (root, conf, data, root / "tmp", root / "logs"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        root.chmod(0o755)
        # Changing the user clears the parent-death signal; setpriv sets it again.
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                   "--clear-groups", "--pdeathsig", "SIGKILL", *command]  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    health = f"{url}/_cluster/health?wait_for_status=green&timeout=1s"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), "LANG": "C.UTF-8"}
    try:
        process = start(
            command, root / "opensearch.log", health, timeout=timeout, env=env, name="opensearch"
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return OpenSearch(url, home, process)
