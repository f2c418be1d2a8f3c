"""Every secret a run can see, so that what the run and its kernel write is masked.

The kernel is another process: what a runbook resolves there (a profile's ``{ env = }``
and ``{ file = }`` secrets, a kubeconfig's tokens) is remembered in the kernel only, not
where the output notebook, report, ``run.json`` and MLflow record are written. So the
executor resolves the same secrets itself, from the same environment and files, and
masks them all; the server does the same for what it answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hxb_lab._redact import redact, remember_secret, secrets_in_url
from hxb_lab.clients.kube import kubeconfig_paths
from hxb_lab.config import Profile, SecretRef, profiles
from hxb_lab.errors import HxbLabError

__all__ = ["kubeconfig_secrets", "profile_secrets", "redact_tree", "run_secrets"]

#: Credentials of a kubeconfig user (``users[].user``), and of its auth provider's config.
_KUBE_USER_KEYS = ("token", "password", "client-key-data")
_KUBE_TOKEN_FILES = ("tokenFile", "token-file")
_SENSITIVE = re.compile(r"token|secret|password|key", re.I)


def _references(value: Any) -> Iterable[SecretRef]:
    if isinstance(value, SecretRef):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _references(getattr(value, f.name))


def profile_secrets(profile: Profile) -> list[str]:
    """The values of every secret reference of `profile` that resolves now; an unset
    variable or an unreadable file is skipped, not an error (the runbook would fail on
    it, not the redaction)."""
    found = []
    for ref in _references(profile):
        with contextlib.suppress(HxbLabError, OSError):
            value = ref.resolve()  # remembers it
            if value:
                found.append(value)
    return found


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def kubeconfig_secrets(path: Path) -> list[str]:
    """The credentials in one kubeconfig: users' tokens, passwords, client keys, token
    files and auth-provider secrets, and passwords in server URLs. An unreadable or
    malformed file has none."""
    data = _read_yaml(path) if path.is_file() else None
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for entry in data.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        found += [str(user[k]) for k in _KUBE_USER_KEYS if user.get(k)]
        for key in _KUBE_TOKEN_FILES:
            if isinstance(user.get(key), str):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    found.append(Path(user[key]).expanduser().read_text().strip())
        provider = user.get("auth-provider")
        config = provider.get("config") if isinstance(provider, dict) else None
        if isinstance(config, dict):
            found += [str(v) for k, v in config.items() if v and _SENSITIVE.search(str(k))]
    for entry in data.get("clusters") or []:
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if isinstance(cluster, dict):
            found += secrets_in_url(str(cluster.get("server") or ""))
    for value in found:
        remember_secret(value)
    return [v for v in found if v]


def run_secrets(profile: Profile, parameters: Iterable[str] = ()) -> list[str]:
    """Everything a run of `profile` must mask: its secret `parameters`, the secrets of
    every profile its kernel can open (those of the same profiles file), and the
    credentials of their kubeconfigs. Each is remembered, so `redact()` masks it in
    whatever this process writes from now on."""
    found = [str(p) for p in parameters if p]
    for value in found:
        remember_secret(value)
    try:
        reachable = [profile, *(p for p in profiles().values() if p.name != profile.name)]
    except HxbLabError:  # the file changed since the profile was read: its own are enough
        reachable = [profile]
    kubeconfigs: dict[Path, None] = {}
    for each in reachable:
        found += profile_secrets(each)
        kubeconfigs.update(dict.fromkeys(kubeconfig_paths(each)))
    for path in kubeconfigs:
        found += kubeconfig_secrets(path)
    return list(dict.fromkeys(found))


def redact_tree(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`value` (JSON-like: dicts, lists, strings) with every string redacted."""
    hidden = list(secrets)
    if isinstance(value, str):
        return redact(value, hidden)
    if isinstance(value, list | tuple):
        return [redact_tree(v, hidden) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v, hidden) for k, v in value.items()}
    return value
