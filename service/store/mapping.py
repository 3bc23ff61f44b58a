"""The attribute mapping's persistence: the current mapping, its saved versions, and a short-lived cache
of what the mapping page reads from the PIM and the store (the catalog, the store settings).

Keys (all under the tenant, so deleting a tenant removes them):
- `connector:tenant:{t}:mapping` (string): the current mapping JSON, `version` included. The import
  reads it at its start (`get_mapping`) and records `version` in its run; a saved change bumps the
  version, and the version is part of every product's change-detection hash
  (`ProductPlan.content_hash`), so the next import re-evaluates every product without any per-product
  marking here.
- `connector:tenant:{t}:mapping-versions` (hash): version -> `{"mapping", "saved_at", "by"}`, the last
  VERSIONS_KEPT saves, so a run's recorded version can be looked up later (`get_mapping_version`).
- `connector:tenant:{t}:mapping-cache:{name}` (string, TTL): cached PIM catalog / store settings.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from service.store import PREFIX, Store

VERSIONS_KEPT = 100
CACHE_TTL = 300  # seconds: the page stays fast; a PIM schema change shows within five minutes


def _key(tenant: str, *parts: str) -> str:
    return ":".join((PREFIX, "tenant", tenant, *parts))


def _canonical(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def get_mapping(store: Store, tenant: str) -> dict[str, Any] | None:
    """The saved mapping (`Mapping.to_json()` shape, `version` >= 1), or None before the first save
    (the suggested defaults, version 0, are in force then)."""
    raw = store.redis.get(_key(tenant, "mapping"))
    return json.loads(raw) if raw else None


def save_mapping(store: Store, tenant: str, mapping_json: dict[str, Any], *, by: str | None = None,
                 expected_version: int | None = None) -> int:
    """Save `mapping_json` as the next version and return that version. The version is incremented
    atomically (WATCH/MULTI on the mapping key: two saves racing get two different versions, neither
    is lost). A save identical to the current mapping keeps its version: nothing changed, so no product
    needs re-evaluating. `expected_version`, when given, must be the current version (0 before the
    first save) or MappingConflict is raised and nothing is saved."""
    body = {k: v for k, v in mapping_json.items() if k != "version"}
    key, versions = _key(tenant, "mapping"), _key(tenant, "mapping-versions")
    result: dict[str, int] = {}

    def attempt(pipe: redis.client.Pipeline) -> None:
        raw = pipe.get(key)
        current = json.loads(raw) if raw else None
        version = int(current["version"]) if current else 0
        if expected_version is not None and expected_version != version:
            raise MappingConflict(version)
        if current is not None and _canonical({k: v for k, v in current.items() if k != "version"}) == \
                _canonical(body):
            result["version"] = version
            pipe.multi()  # an empty transaction: nothing to write
            return
        new = version + 1
        pipe.multi()
        pipe.set(key, _canonical({**body, "version": new}))
        pipe.hset(versions, str(new), _canonical({"mapping": {**body, "version": new}, "saved_at": time.time(),
                                                  "by": by}))
        if new > VERSIONS_KEPT:
            pipe.hdel(versions, str(new - VERSIONS_KEPT))
        result["version"] = new

    store.redis.transaction(attempt, key)
    return result["version"]


class MappingConflict(Exception):
    """The mapping was saved by someone else since the caller read it."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the mapping is at version {current}")
        self.current = current


def get_mapping_version(store: Store, tenant: str, version: int) -> dict[str, Any] | None:
    """A saved version as recorded: `{"mapping", "saved_at", "by"}`, None when unknown or trimmed."""
    raw = store.redis.hget(_key(tenant, "mapping-versions"), str(version))
    return json.loads(raw) if raw else None


def mapping_versions(store: Store, tenant: str) -> list[int]:
    """The versions still recorded, oldest first."""
    return sorted(int(v) for v in store.redis.hkeys(_key(tenant, "mapping-versions")))


# -- short-lived cache of what the mapping page reads from the platforms ---------------------------


def cache_get(store: Store, tenant: str, name: str, fingerprint: str) -> dict[str, Any] | None:
    """A cached document, only if it was cached for the same `fingerprint` (e.g. PIM URL + user:
    new credentials never see the old PIM's catalog)."""
    raw = store.redis.get(_key(tenant, "mapping-cache", name))
    if not raw:
        return None
    doc = json.loads(raw)
    return doc.get("value") if doc.get("fingerprint") == fingerprint else None


def cache_put(store: Store, tenant: str, name: str, fingerprint: str, value: dict[str, Any],
              ttl: int = CACHE_TTL) -> None:
    store.redis.set(_key(tenant, "mapping-cache", name), json.dumps({"fingerprint": fingerprint, "value": value}),
                    ex=max(1, int(ttl)))


def cache_drop(store: Store, tenant: str, *names: str) -> None:
    if names:
        store.redis.delete(*(_key(tenant, "mapping-cache", n) for n in names))
