"""Kubernetes quantities ("500m", "16Gi", "1e3") as plain numbers: cores, bytes, counts."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from hxb_lab.errors import ClusterError

__all__ = ["quantity", "quantity_bytes"]

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))((?:[eE][+-]?\d+)|[KMGTPE]i|[numkMGTPE]|)$")


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> float:
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise ClusterError(
            f"not a Kubernetes quantity: {text!r}",
            hint="quantities look like 500m, 2, 1.5Gi or 1e3",
        )
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E"):
            return float(Decimal(number + suffix))
        return float(Decimal(number) * _SUFFIX[suffix])
    except (InvalidOperation, KeyError):  # pragma: no cover - the regex admits neither
        raise ClusterError(f"not a Kubernetes quantity: {text!r}") from None


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
