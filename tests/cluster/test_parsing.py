"""Kubernetes quantities and label selectors, as a user writes and reads them."""

from __future__ import annotations

import re

import pytest

from hxb_lab.cluster._quantities import quantity, quantity_bytes
from hxb_lab.cluster._resources import resource
from hxb_lab.cluster._selectors import parse_selector
from hxb_lab.errors import ClusterError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("2", 2.0),
        ("1.5", 1.5),
        ("250u", 0.00025),
        ("16Gi", 16 * 2**30),
        ("134217728Ki", 128 * 2**30),
        ("1G", 1e9),
        ("1e3", 1000.0),
        ("0", 0.0),
        (None, 0.0),
        (4, 4.0),
    ],
)
def test_quantities_become_numbers(text: object, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


def test_memory_is_whole_bytes_rounded_up() -> None:
    assert quantity_bytes("1.5Ki") == 1536
    assert quantity_bytes("100m") == 1


@pytest.mark.parametrize("bad", ["12XB", "abc", "1.2.3", "5 Gi"])
def test_a_bad_quantity_is_named(bad: str) -> None:
    with pytest.raises(ClusterError, match=f"not a Kubernetes quantity: '{bad}'"):
        quantity(bad)


def test_selectors_match_as_the_api_server_does() -> None:
    sel = parse_selector("app=web,tier!=db,env in (prod, staging),!canary,team")
    assert sel is not None
    assert sel.matches({"app": "web", "env": "prod", "team": "a"})
    assert not sel.matches({"app": "web", "env": "prod", "team": "a", "canary": "1"})
    assert not sel.matches({"app": "web", "env": "dev", "team": "a"})
    assert not sel.matches({"app": "web", "tier": "db", "env": "prod", "team": "a"})
    assert parse_selector("") is None
    notin = parse_selector("zone notin (a)")
    assert notin is not None
    assert notin.matches({})
    assert not notin.matches({"zone": "a"})


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("app=x=y", "cannot read|not a valid label value"),
        ("app=we b", "cannot read"),
        ("a,,b", "empty requirement"),
        ("env in ()", "needs at least one value"),
        ("-bad=x", "not a valid label key"),
    ],
)
def test_an_invalid_selector_is_named(bad: str, why: str) -> None:
    with pytest.raises(ClusterError, match=f"invalid label selector '{re.escape(bad)}'.*({why})"):
        parse_selector(bad)


def test_resources_are_found_by_any_of_their_names() -> None:
    deploy = resource("deploy")
    assert deploy is resource("Deployment") is resource("deployments.apps")
    assert deploy.path("ml") == "/apis/apps/v1/namespaces/ml/deployments"
    assert resource("isvc").file_name == "inferenceservices.serving.kserve.io.json"
    assert resource("nodes").path("ignored", "n1") == "/api/v1/nodes/n1"
    with pytest.raises(ClusterError, match="unknown resource kind 'gadgets'"):
        resource("gadgets")


@pytest.mark.parametrize("lax", ["NaN", "Infinity", "1_000", "1e3Ki", " 5 Gi"])
def test_quantities_the_api_server_refuses_are_refused(lax: str) -> None:
    """kubernetes.utils.parse_quantity reads each of these as a number."""
    with pytest.raises(ClusterError, match="not a Kubernetes quantity"):
        quantity(lax)


def test_the_arithmetic_is_the_kubernetes_clients() -> None:
    from kubernetes.utils import parse_quantity

    import hxb_lab.cluster._quantities as quantities

    for text in ("1.5Ki", "250u", "3E", "7Pi", "-2m", ".5", "12e-3"):
        assert quantity(text) == float(parse_quantity(text))
    assert quantities._parse_quantity().__code__.co_filename.endswith(
        "kubernetes/utils/quantity.py"
    )
