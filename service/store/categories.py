"""The category id map: PIM category code (lower-cased) -> what the connector made of it in BigCommerce.

Key `connector:tenant:{t}:categories` (hash): code lower-cased -> JSON `{"code", "id", "hash", "visible"}`
- `id`: the BigCommerce category id (in the channel's tree),
- `hash`: sha256 of the last payload written or confirmed (name, parent, sort order, visibility), so an
  unchanged category costs no write,
- `visible`: false once the category left the main category's subtree (hidden, kept mapped so that it
  is shown again, not duplicated, when it comes back).
Written right after each confirmed batch: a crash afterwards never creates a category twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import redis

PREFIX = "connector"


class CategoryStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn

    @staticmethod
    def _key(tenant: str) -> str:
        return f"{PREFIX}:tenant:{tenant}:categories"

    def states(self, tenant: str) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self._key(tenant))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def save(self, tenant: str, states: Mapping[str, Mapping[str, Any]]) -> None:
        if states:
            self.redis.hset(self._key(tenant), mapping={
                code.lower(): json.dumps(dict(state), separators=(",", ":"), sort_keys=True)
                for code, state in states.items()})

    def forget(self, tenant: str, codes: Iterable[str]) -> None:
        codes = [c.lower() for c in codes]
        if codes:
            self.redis.hdel(self._key(tenant), *codes)

    def ids(self, tenant: str, *, visible_only: bool = True) -> dict[str, int]:
        """PIM code lower-cased -> BigCommerce category id (what products may be filed under)."""
        return {code: int(s["id"]) for code, s in self.states(tenant).items()
                if s.get("id") and (s.get("visible", True) or not visible_only)}

    def clear(self, tenant: str) -> None:
        self.redis.delete(self._key(tenant))
