"""HXB Lab: the Jupyter-based operations workbench of the HXB Platform.

    import hxb_lab as hx
    wb = hx.connect()          # the active profile, else the embedded demo
    wb.cluster.nodes()         # pandas frames of clusters, GPUs, inference, telemetry
    hx.runbooks.catalog()      # typed, recorded, reportable runbooks

Heavy libraries are imported where they are used, so this import stays fast.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from hxb_lab._version import __version__
from hxb_lab.errors import HxbLabError
from hxb_lab.workbench import Workbench, connect

if _typing.TYPE_CHECKING:
    from hxb_lab import runbooks

__all__ = ["HxbLabError", "Workbench", "__version__", "connect", "runbooks"]


def __getattr__(name: str) -> _typing.Any:
    if name == "runbooks":  # module level, imported on first use
        return _importlib.import_module("hxb_lab.runbooks")
    raise AttributeError(f"module 'hxb_lab' has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "hxb-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, _typing.Any]]:
    from hxb_lab.server import _jupyter_server_extension_points as points  # an ExtensionApp

    return points()
