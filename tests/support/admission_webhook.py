"""A validating admission webhook on loopback that answers as Gatekeeper's does.

Gatekeeper itself is not built here (its Go module builds OPA, controller-runtime and the
Kubernetes libraries: many minutes on this machine, for one refusal), so this server
stands in for its webhook: a real HTTPS endpoint the real API server calls for every
matching request, dry runs included, answering an AdmissionReview with Gatekeeper's
refusal (``allowed: false``, code 403, message ``[<constraint>] <message>``) when the
object lacks a required label, the rule of the ``K8sRequiredLabels`` template.
"""

from __future__ import annotations

import base64
import datetime as _dt
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

__all__ = ["required_labels_webhook"]

WEBHOOK = "validation.gatekeeper.sh"


def _self_signed(directory: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatekeeper-webhook")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(hours=1))
        .not_valid_after(now + _dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / "webhook.crt", directory / "webhook.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, pem


def _handler(constraint: str, label: str, seen: list[dict[str, Any]]) -> type:
    class Review(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            request = review["request"]
            seen.append(request)
            labels = ((request.get("object") or {}).get("metadata") or {}).get("labels") or {}
            response: dict[str, Any] = {"uid": request["uid"], "allowed": label in labels}
            if label not in labels:
                response["status"] = {
                    "code": 403,
                    "reason": "Forbidden",
                    "message": f'[{constraint}] you must provide labels: {{"{label}"}}',
                }
            body = json.dumps({**review, "response": response}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Review


@contextmanager
def required_labels_webhook(
    plane: ControlPlane, directory: Path, namespace: str, constraint: str, label: str
) -> Iterator[list[dict[str, Any]]]:
    """Serve the webhook and register it for InferenceService updates in `namespace` only
    (the API server is shared); yields the AdmissionRequests it received."""
    cert, key, pem = _self_signed(directory)
    seen: list[dict[str, Any]] = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(constraint, label, seen))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    name = f"gatekeeper-{namespace}"
    plane.apply(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [
                {
                    "name": WEBHOOK,
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "clientConfig": {
                        "url": f"https://127.0.0.1:{server.server_address[1]}/v1/admit",
                        "caBundle": base64.b64encode(pem).decode(),
                    },
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace}
                    },
                    "rules": [
                        {
                            "apiGroups": ["serving.kserve.io"],
                            "apiVersions": ["*"],
                            "operations": ["UPDATE"],
                            "resources": ["inferenceservices"],
                        }
                    ],
                }
            ],
        }
    )
    try:
        yield seen
    finally:
        plane.request(
            "DELETE",
            f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{name}",
        )
        server.shutdown()
        server.server_close()
        thread.join(5)
