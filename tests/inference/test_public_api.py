"""The public surface of `hxb_lab.inference` and `hxb_lab.models` is their `__all__`."""

from __future__ import annotations

import inspect

import pytest

import hxb_lab.inference
import hxb_lab.models


@pytest.mark.parametrize("module", [hxb_lab.inference, hxb_lab.models])
def test_all_lists_exactly_what_the_package_defines_publicly(module: object) -> None:
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith(module.__name__)  # type: ignore[attr-defined]
    }
    assert set(module.__all__) == defined  # type: ignore[attr-defined]


def test_every_action_and_read_has_a_docstring_naming_its_columns() -> None:
    inference = hxb_lab.inference.Inference
    for name in ("deployments", "pods", "health"):
        assert "Columns:" in (getattr(inference, name).__doc__ or ""), name
    for name in ("scale", "canary", "promote", "rollback", "promote_from_registry"):
        assert "dry run" in (getattr(inference, name).__doc__ or "").lower(), name
    for name in ("registered", "versions"):
        assert "Columns:" in (getattr(hxb_lab.models.Models, name).__doc__ or ""), name
