"""The frame contract every domain layer builds its reads with.

A read declares its columns once as a `Schema` of ``(column, dtype)`` pairs and builds
its frame from row tuples with `build`, so an empty read has the same columns and dtypes
as a full one. Timestamps use `TIMESTAMP` (``datetime64[ns, UTC]``). The cluster layer
owns it; inference and models use it through this module.
"""

from __future__ import annotations

from hxb_lab.cluster._frame import TIMESTAMP, Schema, build, empty

__all__ = ["TIMESTAMP", "Schema", "build", "empty"]
