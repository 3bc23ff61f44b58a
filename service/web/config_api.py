"""The configuration JSON API (`/api/config…`, `/api/pim/…`). Owned by the configuration work."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
