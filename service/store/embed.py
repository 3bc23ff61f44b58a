"""The connector inside the PIM (UI extensions): what Redis keeps for it.

- configuration section `embed` (`connector:tenant:{t}:config`): {installed, extensions: {kind: {uuid,
  type, position, url}}, message, hints, changed_at}
- credentials kind `embed` (`connector:tenant:{t}:credentials`, Fernet): {kind: secret}, one per extension
- `connector:tenant:{t}:once:ext-jti` / `connector:tenant:{t}:once:ext-action` zset (TTL): digests of the
  JWT ids / action signatures already used -> when they expire; at most JWT_CLAIMS_MAX / ACTION_CLAIMS_MAX
  live ones per tenant, past which a new one is refused with 429 (service/store/limits.claim_capped)
- `connector:tenant:{t}:embed:item-syncs` hash plan key ("product:<uuid>" / "model:<code>") -> JSON
  {at, run, via, outcome, errors, warnings}: the last event-path sync of one item (Sync now, the grid
  action, change events), which the product tab shows. Under the tenant: deleted with it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from service.store import Store
from service.store.limits import claim_capped

SECTION = "embed"
CREDENTIALS = "embed"
ISSUES_PER_ITEM = 20
JWT_CLAIMS_MAX = 5000  # iframe tokens used within their life (<= 1 h): a tab opened every 0.7 s
ACTION_CLAIMS_MAX = 1000  # grid actions within their 6 minutes: about 3 a second


def _key(tenant: str) -> str:
    return f"connector:tenant:{tenant}:embed:item-syncs"


def section(store: Store, tenant: str) -> dict[str, Any]:
    return store.get_section(tenant, SECTION)


def save_section(store: Store, tenant: str, doc: dict[str, Any]) -> dict[str, Any]:
    doc = {**doc, "changed_at": round(time.time(), 3)}
    store.put_section(tenant, SECTION, doc)
    return doc


def secrets_of(store: Store, tenant: str) -> dict[str, str]:
    return store.get_credentials(tenant, CREDENTIALS) or {}


def save_secrets(store: Store, tenant: str, secrets: Mapping[str, str]) -> None:
    store.put_credentials(tenant, CREDENTIALS, dict(secrets))


def forget(store: Store, tenant: str) -> None:
    """The extensions are gone from the PIM: their secrets and record go too."""
    store.delete_credentials(tenant, CREDENTIALS)
    store.put_section(tenant, SECTION, {"installed": False, "extensions": {}, "message": "", "hints": [],
                                        "changed_at": round(time.time(), 3)})


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=12).digest()


def claim_jwt(store: Store, tenant: str, jti: str, ttl: int) -> bool:
    """True the first time; raises CapReached past JWT_CLAIMS_MAX live claims of the tenant."""
    return claim_capped(store.redis, f"connector:tenant:{tenant}:once:ext-jti", _digest(jti), ttl, JWT_CLAIMS_MAX,
                        what="extension tokens")


def claim_action(store: Store, tenant: str, digest: str, ttl: int) -> bool:
    """True the first time; raises CapReached past ACTION_CLAIMS_MAX live claims of the tenant."""
    return claim_capped(store.redis, f"connector:tenant:{tenant}:once:ext-action", _digest(digest), ttl,
                        ACTION_CLAIMS_MAX, what="extension actions")


class ItemSyncs:
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn

    def record(self, tenant: str, entries: Mapping[str, dict[str, Any]]) -> None:
        if entries:
            self.redis.hset(_key(tenant), mapping={
                k: json.dumps({**v, "errors": list(v.get("errors") or [])[:ISSUES_PER_ITEM],
                               "warnings": list(v.get("warnings") or [])[:ISSUES_PER_ITEM]},
                              separators=(",", ":"))
                for k, v in entries.items()})

    def get(self, tenant: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        if not keys:
            return {}
        raws = self.redis.hmget(_key(tenant), keys)
        return {k: json.loads(r) for k, r in zip(keys, raws, strict=True) if r}
