"""Warnings a user sees: a read that covered less than was asked, a column left empty.

`warn_user` attributes the warning to the first caller outside `hxb_lab`, so a notebook
shows it once, at the line the user wrote.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["FallbackWarning", "PartialReadWarning", "warn_user"]


class PartialReadWarning(UserWarning):
    """A read covered less than was asked for (RBAC let the user see only some namespaces)."""


class FallbackWarning(UserWarning):
    """A read was answered from its second source because the first failed (Jaeger's span
    metrics down: figures from a sample of traces); the frame says which it used."""


def warn_user(message: str, category: type[Warning] = PartialReadWarning) -> None:
    """Warn, attributing the warning to the first caller outside `hxb_lab`."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("hxb_lab"):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)
