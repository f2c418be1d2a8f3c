"""The error hierarchy: every error HXB Lab raises on purpose derives from `HxbLabError`.

Each error carries a message that says what went wrong and what to do, with secrets
already redacted, so a CLI, a widget or a server route can show `str(error)` as is.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AdmissionDeniedError",
    "BackendUnavailableError",
    "ClusterError",
    "ClusterUnavailableError",
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "HxbLabError",
    "LimitError",
    "NotFoundError",
    "ParameterError",
    "QueryError",
    "RunbookError",
    "RunbookExecutionError",
]


class HxbLabError(Exception):
    """Base of every HXB Lab error; `str()` is one readable line (or a short list)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


class ConfigError(HxbLabError):
    """A profiles file, profile, key or value is wrong; names the file, profile and key."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        profile: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.profile = profile
        self.key = key
        where = []
        if file:
            where.append(str(file))
        if profile:
            where.append(f"profile {profile!r}")
        if key:
            where.append(f"key {key!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


class ParameterError(HxbLabError):
    """One or more parameters are invalid; `problems` lists every one of them at once."""

    def __init__(self, problems: Sequence[str], *, subject: str = "parameters") -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"invalid {subject}: {self.problems[0]}"
        else:
            text = f"{len(self.problems)} invalid {subject}:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(text)


class LimitError(ParameterError):
    """An input is over one of HXB Lab's limits (a request's size or nesting depth)."""


class QueryError(HxbLabError):
    """A query was rejected by its backend (bad PromQL, bad SQL, bad range or step)."""


class BackendUnavailableError(HxbLabError):
    """A server (ClickHouse, Prometheus, Alertmanager, MLflow, S3) could not be reached."""

    def __init__(self, message: str, *, server: str | None = None, hint: str | None = None):
        self.server = server
        super().__init__(message, hint=hint)


class ClusterError(HxbLabError):
    """Base for errors talking to a Kubernetes cluster or reading a snapshot."""


class ForbiddenError(ClusterError):
    """The user may not perform a verb on a resource (HTTP 403)."""

    def __init__(
        self,
        *,
        user: str | None,
        verb: str,
        resource: str,
        namespace: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.user = user
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        scope = f"in namespace {namespace!r}" if namespace else "cluster-wide"
        who = f"user {user!r}" if user else "the current user"
        message = f"{who} may not {verb} {resource} {scope}"
        if detail:
            message += f": {detail}"
        super().__init__(message, hint="ask a cluster admin for a Role granting it")


class AdmissionDeniedError(ClusterError):
    """An admission webhook (Gatekeeper, Kyverno, ...) refused a request; nothing changed.

    `webhook` is the webhook's name (``validation.gatekeeper.sh``), `reason` its message
    (Gatekeeper's: ``[<constraint>] <message>``, one line per constraint)."""

    def __init__(self, message: str, *, webhook: str, reason: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.webhook = webhook
        self.reason = reason


class NotFoundError(ClusterError):
    """A named resource (pod, deployment, context, model version, ...) does not exist."""


class ConflictError(ClusterError):
    """The object changed since it was read (resourceVersion conflict); nothing was changed."""


class ClusterUnavailableError(ClusterError, BackendUnavailableError):
    """The Kubernetes API server could not be reached within the timeout."""


class RunbookError(HxbLabError):
    """A runbook could not be found, loaded or submitted."""


class RunbookExecutionError(RunbookError):
    """A runbook's notebook failed: carries the failing cell index, exception name and value."""

    def __init__(
        self,
        message: str,
        *,
        cell_index: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
    ) -> None:
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        super().__init__(message)
