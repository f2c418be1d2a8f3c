"""Profiles: the demo default, the profiles file, and a clear ConfigError for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hxb_lab.config import (
    SecretRef,
    active_profile_name,
    load_profile,
    profiles,
)
from hxb_lab.errors import ConfigError

PROD = """
default = "prod"

[profiles.prod]
description = "Production, EU"
kube = { kubeconfig = "~/.kube/prod", contexts = ["eu-1", "eu-2"], workspace_label = "ws" }
clickhouse = { dsn = "https://otel@ch.example:8443", database = "telemetry", password = { env = "HXB_TEST_CH_PASSWORD" } }
prometheus = { url = "https://prom.example", token = { file = "{home}/prom-token" } }
alertmanager = { url = "https://am.example" }
mlflow = { tracking_uri = "https://mlflow.example" }
artifacts = { uri = "s3://runs/hxb", endpoint_url = "https://minio.example" }
runbooks = { directories = ["~/ops/runbooks"], namespace = "ops", service_account = "runner" }

[profiles.staging]
clickhouse = { dsn = "http://ch.staging:8123" }
"""


def test_demo_is_the_default_with_no_configuration(hxb_env: Path) -> None:
    profile = load_profile()
    assert profile.name == "demo"
    assert profile.is_demo
    assert active_profile_name() == "demo"
    assert profile.kube.snapshot == str(hxb_env / "demo" / "cluster")
    assert profile.clickhouse is not None
    assert profile.clickhouse.dsn == f"parquet://{hxb_env / 'demo' / 'telemetry'}"
    assert profile.mlflow is not None
    assert profile.mlflow.tracking_uri == f"sqlite:///{hxb_env / 'demo' / 'mlflow' / 'mlflow.db'}"
    assert list(profiles()) == ["demo"]


def test_profiles_file_default_and_environment_override(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch, hxb_env: Path
) -> None:
    profiles_file.write_text(PROD)
    assert sorted(profiles()) == ["demo", "prod", "staging"]
    assert active_profile_name() == "prod"
    prod = load_profile()
    assert prod.kube.contexts == ("eu-1", "eu-2")
    assert prod.kube.kubeconfig == str(Path.home() / ".kube" / "prod")
    assert prod.clickhouse is not None and prod.clickhouse.database == "telemetry"
    assert prod.clickhouse.tables.traces == "otel_traces"  # the exporter's default
    assert prod.prometheus is not None and prod.prometheus.token is not None
    assert prod.prometheus.token.file == str(hxb_env / "prom-token")
    assert prod.source == str(profiles_file)
    monkeypatch.setenv("HXB_LAB_PROFILE", "staging")
    assert load_profile().name == "staging"
    assert load_profile("demo").name == "demo"


def test_hxb_lab_config_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text(PROD)
    monkeypatch.setenv("HXB_LAB_CONFIG", str(other))
    assert load_profile().name == "prod"
    monkeypatch.setenv("HXB_LAB_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml.*does not exist"):
        load_profile()


def test_secrets_resolve_from_env_and_file_and_are_redacted(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch, hxb_env: Path
) -> None:
    profiles_file.write_text(PROD)
    monkeypatch.setenv("HXB_TEST_CH_PASSWORD", "s3cr3t-value-ch")
    hxb_env.mkdir(parents=True)
    (hxb_env / "prom-token").write_text("tok-from-file-123\n")
    prod = load_profile("prod")
    assert prod.clickhouse is not None and prod.clickhouse.password is not None
    assert prod.clickhouse.password.resolve() == "s3cr3t-value-ch"
    assert prod.prometheus is not None and prod.prometheus.token is not None
    assert prod.prometheus.token.resolve() == "tok-from-file-123"
    shown = repr(prod) + str(prod.to_dict())
    assert "s3cr3t-value-ch" not in shown
    assert "tok-from-file-123" not in shown
    assert prod.to_dict()["clickhouse"]["password"] == "env:HXB_TEST_CH_PASSWORD (set)"


def test_missing_secret_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read secret file .*nope"):
        SecretRef(file=str(tmp_path / "nope")).resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default = \n", r"profiles\.toml: not valid TOML"),
        (
            '[profiles.prod]\nkube = { contexts = "eu-1" }\n',
            r"profile 'prod', key 'kube\.contexts': expected a list of strings",
        ),
        (
            '[profiles.prod]\nclickhouse = { database = "x" }\n',
            r"profile 'prod', key 'clickhouse\.dsn': missing required key",
        ),
        (
            '[profiles.prod]\nkube = { namspace = "x" }\n',
            r"key 'kube\.namspace': unknown key \(known keys here: .*namespace",
        ),
        (
            "[profiles.prod]\nprometheus = { url = 9090 }\n",
            r"key 'prometheus\.url': expected a string, got 9090",
        ),
        (
            '[profiles.prod]\nprometheus = { url = "http://p", verify_tls = "no" }\n',
            r"expected true or false",
        ),
        (
            '[profiles.prod]\nclickhouse = { dsn = "http://h", password = "hunter22" }\n',
            r"key 'clickhouse\.password': secrets are not stored in the profiles file",
        ),
        (
            '[profiles.prod]\nclickhouse = { dsn = "http://u:hunter22@h" }\n',
            r"key 'clickhouse\.dsn': the URL http://u:\*\*\*@h carries a password inline",
        ),
        ('default = "nope"\n[profiles.prod]\n', r"key 'default': names the profile 'nope'"),
        ("[profiles.demo]\n", r"'demo' is reserved"),
        ('colour = "blue"\n', r"key 'colour': unknown top-level key"),
    ],
    ids=[
        "malformed",
        "wrong-type-list",
        "missing-key",
        "unknown-key",
        "wrong-type-str",
        "wrong-type-bool",
        "inline-secret",
        "inline-url-password",
        "bad-default",
        "reserved",
        "unknown-top-level",
    ],
)
def test_bad_profiles_file_gives_config_error_naming_file_profile_and_key(
    profiles_file: Path, text: str, expected: str
) -> None:
    profiles_file.write_text(text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_profile("demo")
    assert str(profiles_file) in str(info.value)
    assert "hunter22" not in str(info.value)


def test_unknown_profile_lists_the_known_ones(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles_file.write_text(PROD)
    with pytest.raises(ConfigError, match=r"unknown profile 'qa'.*known profiles: demo, prod"):
        load_profile("qa")
    monkeypatch.setenv("HXB_LAB_PROFILE", "qa")
    with pytest.raises(ConfigError, match=r"unknown profile 'qa' \(from HXB_LAB_PROFILE\)"):
        load_profile()


LOGS_AND_LINKS = """
[profiles.efk]
elasticsearch = { url = "https://es.example:9200", index = "logs-*,fluent-bit", username = "reader", password = { env = "HXB_TEST_ES_PASSWORD" }, kibana_url = "https://kibana.example" }
grafana = { url = "https://grafana.example", datasources = { prometheus = "prom", elasticsearch = "es" } }
"""


def test_elasticsearch_and_grafana_sections(profiles_file: Path) -> None:
    profiles_file.write_text(LOGS_AND_LINKS)
    profile = load_profile("efk")
    assert profile.elasticsearch is not None and profile.grafana is not None
    assert profile.elasticsearch.index == "logs-*,fluent-bit"
    assert profile.elasticsearch.password == SecretRef(env="HXB_TEST_ES_PASSWORD")
    assert dict(profile.grafana.datasources) == {"prometheus": "prom", "elasticsearch": "es"}
    assert "elasticsearch=https://es.example:9200" in profile.summary()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[profiles.x]\nelasticsearch = { url = "http://es", password = { env = "P" } }\n',
            r"key 'elasticsearch\.password': basic auth needs elasticsearch\.username too",
        ),
        (
            '[profiles.x]\nelasticsearch = { url = "http://es", kibana_url = "http://u:hunter22@k" }\n',
            r"key 'elasticsearch\.kibana_url': the URL http://u:\*\*\*@k carries a password",
        ),
        (
            '[profiles.x]\ngrafana = { url = "http://g", datasources = { prometheus = 1 } }\n',
            r"key 'grafana\.datasources': expected a table of strings",
        ),
    ],
    ids=["password-without-username", "inline-kibana-password", "datasource-not-a-uid"],
)
def test_bad_elasticsearch_or_grafana_sections_are_named(
    profiles_file: Path, text: str, expected: str
) -> None:
    profiles_file.write_text(text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_profile("x")
    assert "hunter22" not in str(info.value)
