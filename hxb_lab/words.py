"""Counts in words, as a person writes them: "1 pod", "2 pods", "1 GPU", "0 GPUs"."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: float, noun: str, many: str | None = None) -> str:
    """`count` and `noun`, the noun in its plural form (`many`, default noun + "s") unless
    the count is exactly one. Whole numbers print without decimals, with thousands marks."""
    number = f"{count:,.0f}" if float(count).is_integer() else f"{count:,g}"
    return f"{number} {noun if count == 1 else (many or noun + 's')}"
