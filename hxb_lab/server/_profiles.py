"""``profiles``: the profiles the user can switch between, and the active one.

Switching sets ``HXB_LAB_PROFILE`` in the server process, so the sidebar, new runs and
kernels started afterwards all use the chosen profile; the profiles file is not changed.
"""

from __future__ import annotations

import os
from typing import Any

import tornado.web

from hxb_lab.errors import ParameterError
from hxb_lab.server._base import HxbHandler, blocking

__all__ = ["ProfileActiveHandler", "ProfilesHandler", "list_profiles", "switch_profile"]


def _public(profile: Any) -> dict[str, str]:
    return {"name": profile.name, "description": profile.description, "source": profile.source}


def list_profiles() -> dict[str, Any]:
    """``{"active": name, "profiles": [{name, description, source}, ...]}``, demo first."""
    from hxb_lab.config import DEMO, load_profile, profiles

    found = profiles()
    active = load_profile().name
    ordered = [found[DEMO], *(p for name, p in sorted(found.items()) if name != DEMO)]
    return {"active": active, "profiles": [_public(p) for p in ordered]}


def switch_profile(name: Any) -> dict[str, str]:
    """Make `name` the active profile of this server; an unknown name is a `ConfigError`."""
    from hxb_lab.config import load_profile

    if not isinstance(name, str) or not name:
        raise ParameterError(["name: the name of a profile is required"], subject="request")
    profile = load_profile(name)  # ConfigError naming the file and the known profiles
    os.environ["HXB_LAB_PROFILE"] = profile.name
    return _public(profile)


class ProfilesHandler(HxbHandler):
    """``GET profiles``: every profile (the built-in demo first) and the active one."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.write_json(await blocking(list_profiles))


class ProfileActiveHandler(HxbHandler):
    """``GET profiles/active``: the active profile; ``PUT`` ``{"name"}`` switches to another."""

    @tornado.web.authenticated
    def get(self) -> None:
        from hxb_lab.config import load_profile

        self.write_json(_public(load_profile()))

    @tornado.web.authenticated
    async def put(self) -> None:
        body = self.json_body()
        self.write_json(await blocking(switch_profile, body.get("name")))
