"""Kubernetes quantities ("500m", "16Gi", "1e3") as plain numbers: cores, bytes, counts."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType

from hxb_lab.errors import ClusterError

__all__ = ["quantity", "quantity_bytes"]

# The grammar of resource.Quantity (apimachinery): a signed decimal, then one binary or
# decimal SI suffix or a decimal exponent. `kubernetes.utils.parse_quantity` does the
# arithmetic but not this check: it hands the number to `Decimal`, which also takes
# "NaN", "Infinity", "1_000" and inner spaces ("5 Gi"), and it accepts "1e3Ki". Text
# from a cluster that the API server itself would refuse is an error here, not a number.
_QUANTITY = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


@functools.cache
def _parse_quantity() -> Callable[[str], Decimal]:
    """`kubernetes.utils.parse_quantity`, loaded from its own file.

    Importing it the usual way runs the kubernetes package's ``__init__``, which loads the
    API client, the kubeconfig loader and google-auth: 1-3 s on this machine, for a
    function that needs only `decimal`. Snapshot reads (the demo) never need the rest.
    """
    loaded = sys.modules.get("kubernetes.utils.quantity")
    if loaded is None:
        package = importlib.util.find_spec("kubernetes")
        directory = next(iter((package and package.submodule_search_locations) or ()), None)
        spec = directory and importlib.util.spec_from_file_location(
            "hxb_lab_kubernetes_quantity", f"{directory}/utils/quantity.py"
        )
        if not spec or spec.loader is None:  # pragma: no cover - an unusual install
            from kubernetes.utils import quantity as loaded
        else:
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
    assert isinstance(loaded, ModuleType)
    function: Callable[[str], Decimal] = loaded.parse_quantity
    return function


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> float:
    stripped = text.strip()
    if _QUANTITY.match(stripped) is None:
        raise ClusterError(
            f"not a Kubernetes quantity: {text!r}",
            hint="quantities look like 500m, 2, 1.5Gi or 1e3",
        )
    return float(_parse_quantity()(stripped))


def quantity(value: object) -> float:
    """A quantity as a float: ``"500m"`` -> 0.5, ``"2"`` -> 2.0, ``"1Gi"`` -> 1073741824.0.

    Numbers pass through; None and "" are 0.
    """
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    return _parse(str(value))


def quantity_bytes(value: object) -> int:
    """A memory quantity in whole bytes (rounded up, as Kubernetes does)."""
    number = quantity(value)
    whole = int(number)
    return whole + 1 if number > whole else whole
