"""Profiles files refuse bad input with a `ConfigError` naming the file, the profile and
the key, in one line: bad bytes, bad TOML, unknown keys, wrong types, inline secrets, time
limits that are not seconds above zero.

A case is one row: the file's content, and what the error must name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hxb_lab.config import load_profile, profiles
from hxb_lab.errors import ConfigError
from tests.badinput.conftest import one_line

P = "[profiles.p]\n"

CASES: list[tuple[str | bytes, str]] = [
    # the file itself
    (b'description = "\xff\xfe"\n', "not UTF-8"),
    (b"\x00\x01\x02", "not valid TOML"),
    ("a = " + "[" * 100_000, "nested too deeply"),
    ("a = " + "{b = " * 5_000, "nested too deeply"),
    ("[profiles.prod\n", "not valid TOML"),
    ("nonsense = 1\n", "key 'nonsense'"),
    ("default = 5\n", "key 'default'"),
    ('default = "nope"\n', "key 'default'"),
    ("profiles = 5\n", "key 'profiles'"),
    ("[profiles.demo]\n", "reserved"),
    ("profiles = { x = 5 }\n", "key 'profiles.x'"),
    # keys and types
    (P + "bogus = 1\n", "key 'bogus'"),
    (P + "description = 5\n", "key 'description'"),
    (P + "kube = 5\n", "key 'kube'"),
    (P + 'kube = { contexts = "a" }\n', "key 'kube.contexts'"),
    (P + "kube = { contexts = [1] }\n", "key 'kube.contexts'"),
    (P + "kube = { snapshot = 5 }\n", "key 'kube.snapshot'"),
    (P + "kube = { request_timeout_s = -1 }\n", "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = 0 }\n", "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = nan }\n", "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = inf }\n", "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = 1e999 }\n", "key 'kube.request_timeout_s'"),
    (P + 'kube = { request_timeout_s = "10" }\n', "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = true }\n", "key 'kube.request_timeout_s'"),
    (P + "kube = { request_timeout_s = 1e9 }\n", "key 'kube.request_timeout_s'"),
    (P + "clickhouse = { database = 'otel' }\n", "key 'clickhouse.dsn'"),
    (P + "clickhouse = { dsn = 5 }\n", "key 'clickhouse.dsn'"),
    (P + 'clickhouse = { dsn = "http://u:pw@h:8123" }\n', "key 'clickhouse.dsn'"),
    (P + 'clickhouse = { dsn = "http://h", password = "pw" }\n', "key 'clickhouse.password'"),
    (
        P + 'clickhouse = { dsn = "http://h", password = { env = "A", file = "B" } }\n',
        "key 'clickhouse.password'",
    ),
    (
        P + 'clickhouse = { dsn = "http://h", password = { nope = "A" } }\n',
        "key 'clickhouse.password'",
    ),
    (P + 'clickhouse = { dsn = "http://h", timeout_s = 0 }\n', "key 'clickhouse.timeout_s'"),
    (P + 'clickhouse = { dsn = "http://h", timeout_s = -30 }\n', "key 'clickhouse.timeout_s'"),
    (
        P + 'clickhouse = { dsn = "http://h", tables = { traces = 5 } }\n',
        "key 'clickhouse.tables.traces'",
    ),
    (
        P + 'clickhouse = { dsn = "http://h", tables = { nope = "t" } }\n',
        "key 'clickhouse.tables.nope'",
    ),
    (P + "prometheus = { url = 9090 }\n", "key 'prometheus.url'"),
    (P + 'prometheus = { url = "http://a:b@h" }\n', "key 'prometheus.url'"),
    (P + 'prometheus = { url = "http://h", verify_tls = "no" }\n', "key 'prometheus.verify_tls'"),
    (P + 'prometheus = { url = "http://h", timeout_s = nan }\n', "key 'prometheus.timeout_s'"),
    (P + 'prometheus = { url = "http://h", token = "t0k3n" }\n', "key 'prometheus.token'"),
    (P + 'alertmanager = { token = { env = "X" } }\n', "key 'alertmanager.url'"),
    (P + 'alertmanager = { url = "http://h", timeout_s = -1 }\n', "key 'alertmanager.timeout_s'"),
    (P + 'mlflow = { tracking_uri = "https://u:p@m" }\n', "key 'mlflow.tracking_uri'"),
    (P + 'artifacts = { uri = "s3://b", access_key = "AKIA" }\n', "key 'artifacts.access_key'"),
    (P + 'runbooks = { directories = "dir" }\n', "key 'runbooks.directories'"),
    (P + "runbooks = { timeout_s = -5 }\n", "key 'runbooks.timeout_s'"),
    (P + "runbooks = { timeout_s = 1e999 }\n", "key 'runbooks.timeout_s'"),
    (P + 'runbooks = { timeout_s = "1h" }\n', "key 'runbooks.timeout_s'"),
]


@pytest.mark.parametrize(("content", "named"), CASES, ids=[repr(c[0])[:70] for c in CASES])
def test_a_bad_profiles_file_is_one_line_naming_the_key(
    profiles_file: Path, content: str | bytes, named: str
) -> None:
    if isinstance(content, bytes):
        profiles_file.write_bytes(content)
    else:
        profiles_file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        profiles()
    message = one_line(str(caught.value))
    assert str(profiles_file) in message
    assert named in message, message


@pytest.mark.parametrize("name", ["", " ", "no-such"])
def test_an_unknown_or_empty_profile_name_is_refused(profiles_file: Path, name: str) -> None:
    profiles_file.write_text(P)
    with pytest.raises(ConfigError) as caught:
        load_profile(name)
    assert repr(name) in one_line(str(caught.value))


def test_documented_acceptance_a_profile_sets_every_time_limit(profiles_file: Path) -> None:
    profiles_file.write_text(
        P + 'kube = { request_timeout_s = 5 }\nclickhouse = { dsn = "http://h", timeout_s = 2.5 }\n'
        'prometheus = { url = "http://h", timeout_s = 86400 }\nrunbooks = { timeout_s = 600 }\n'
    )
    profile = load_profile("p")
    assert profile.kube.request_timeout_s == 5.0
    assert profile.clickhouse is not None and profile.clickhouse.timeout_s == 2.5
    assert profile.prometheus is not None and profile.prometheus.timeout_s == 86_400.0
    assert profile.runbooks.timeout_s == 600.0
