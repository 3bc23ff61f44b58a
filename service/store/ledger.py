"""What the connector learned about one BigCommerce store, bound to that store's hash.

BigCommerce ids are small integers per store: an id learned from store A names some other object in
store B. So every id map, sync state, name claim, category state, failed set, cached store setting and
the delta bookmark live under the store's hash, and a ledger is only ever opened for the store a job
talks to. A store switch starts from an empty ledger (the first import adopts by SKU what is already
there, so nothing is duplicated); `Store.save_connection` drops the other stores' ledgers.

Keys, `connector:tenant:{t}:store:{hash}:` followed by:
- `idmap:product`   hash  plan key ("product:<uuid>" / "model:<code>") -> BC product id
- `idmap:variant`   hash  variant SKU (lower-cased) -> BC variant id
- `import:products` hash  plan key -> JSON sync state (hash, sku, name, images, custom field ids,
  variants, visibility, the run that last wrote it and what it did)
- `import:names`    hash  product name (lower-cased) -> plan key that owns it
- `import:failed`   set   plan keys whose last write failed (a delta tries them again)
- `categories`      hash  PIM category code (lower-cased) -> JSON {code, id, hash, visible}
- `bc-store-settings` string (TTL 1 h) currency and units from GET /v2/store
- `bookmark`        string the start time of the last successful import into this store (deltas read
  from there)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import redis

PREFIX = "connector"

_CLAIM_NAMES = """
local out = {}
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    cur = ARGV[i + 1]
  end
  out[#out + 1] = cur
end
return out
"""

_RELEASE_NAMES = """
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
"""


def _dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def ledger_prefix(tenant: str) -> str:
    """The prefix every store ledger of a tenant starts with (for dropping the other stores')."""
    return f"{PREFIX}:tenant:{tenant}:store:"


def drop_other_ledgers(conn: redis.Redis, tenant: str, keep_hash: str) -> int:
    """Delete what was learned about the tenant's other stores (after a switch: never used again)."""
    keep = f"{ledger_prefix(tenant)}{keep_hash}:"
    doomed = [k for k in conn.scan_iter(match=f"{ledger_prefix(tenant)}*", count=500)
              if not k.decode().startswith(keep)]
    for start in range(0, len(doomed), 500):
        conn.delete(*doomed[start:start + 500])
    return len(doomed)


class StoreLedger:
    def __init__(self, conn: redis.Redis, tenant: str, store_hash: str) -> None:
        if not store_hash:
            raise ValueError("a store ledger needs the store's hash")
        self.redis, self.tenant, self.store_hash = conn, tenant, store_hash
        self._claim = conn.register_script(_CLAIM_NAMES)
        self._release = conn.register_script(_RELEASE_NAMES)

    def _k(self, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", self.tenant, "store", self.store_hash, *parts))

    # -- id maps ----------------------------------------------------------------------------------
    def product_ids(self, keys: Iterable[str]) -> dict[str, int]:
        return self._lookup(self._k("idmap", "product"), list(keys))

    def all_product_ids(self) -> dict[str, int]:
        raw = self.redis.hgetall(self._k("idmap", "product"))
        return {k.decode(): int(v) for k, v in raw.items()}

    def variant_ids(self, skus: Iterable[str]) -> dict[str, int]:
        return self._lookup(self._k("idmap", "variant"), [s.lower() for s in skus])

    def _lookup(self, key: str, fields: list[str]) -> dict[str, int]:
        if not fields:
            return {}
        values = self.redis.hmget(key, fields)
        return {f: int(v) for f, v in zip(fields, values, strict=True) if v is not None}

    def map_product(self, key: str, product_id: int, variants: Mapping[str, int] | None = None,
                    state: Mapping[str, Any] | None = None) -> None:
        """Written right after a create is confirmed (with what the answer told: images, custom fields,
        variants): a crash after this never creates it, nor its inline images, again."""
        self.map_products([(key, product_id, variants, state)])

    def map_products(self, entries: Iterable[tuple[str, int, Mapping[str, int] | None,
                                                    Mapping[str, Any] | None]]) -> None:
        """`map_product` for several creates confirmed together, in one transaction."""
        pipe = self.redis.pipeline(transaction=True)
        for key, product_id, variants, state in entries:
            pipe.hset(self._k("idmap", "product"), key, str(product_id))
            if state is not None:
                pipe.hset(self._k("import", "products"), key, _dumps(dict(state)))
            if variants:
                pipe.hset(self._k("idmap", "variant"), mapping={s.lower(): str(v) for s, v in variants.items()})
        pipe.execute()

    def map_variants(self, variants: Mapping[str, int]) -> None:
        if variants:
            self.redis.hset(self._k("idmap", "variant"), mapping={s.lower(): str(v) for s, v in variants.items()})

    def unmap(self, keys: Iterable[str], variant_skus: Iterable[str] = ()) -> None:
        keys, skus = list(keys), [s.lower() for s in variant_skus]
        pipe = self.redis.pipeline(transaction=True)
        if keys:
            pipe.hdel(self._k("idmap", "product"), *keys)
            pipe.hdel(self._k("import", "products"), *keys)
            pipe.srem(self._k("import", "failed"), *keys)
        if skus:
            pipe.hdel(self._k("idmap", "variant"), *skus)
        pipe.execute()

    def count_products(self) -> int:
        return int(self.redis.hlen(self._k("idmap", "product")))

    # -- per-product sync state -------------------------------------------------------------------
    def product_states(self, keys: Iterable[str]) -> dict[str, dict]:
        keys = list(keys)
        if not keys:
            return {}
        raws = self.redis.hmget(self._k("import", "products"), keys)
        return {k: json.loads(r) for k, r in zip(keys, raws, strict=True) if r}

    def save_product_states(self, states: Mapping[str, dict], *, failed: Iterable[str] = (),
                            ok: Iterable[str] = ()) -> None:
        """The states, and which items' last write failed (remembered until one succeeds, so a delta tries
        them again) or went through or came out unchanged (`ok`): one round trip."""
        failed = list(failed)
        skip = set(failed)
        ok = [k for k in ok if k not in skip]
        if not (states or failed or ok):
            return
        pipe = self.redis.pipeline(transaction=False)
        if states:
            pipe.hset(self._k("import", "products"), mapping={k: _dumps(v) for k, v in states.items()})
        if failed:
            pipe.sadd(self._k("import", "failed"), *failed)
        if ok:
            pipe.srem(self._k("import", "failed"), *ok)
        pipe.execute()

    def note_failures(self, failed: Iterable[str], ok: Iterable[str]) -> None:
        """Items whose write failed are remembered until one succeeds (or comes out unchanged)."""
        self.save_product_states({}, failed=failed, ok=ok)

    def scan_failed(self, cursor: int = 0, count: int = 100) -> tuple[int, list[str]]:
        """One SSCAN step of the failed items: (next cursor, 0 at the end; keys)."""
        cursor, keys = self.redis.sscan(self._k("import", "failed"), cursor, count=count)
        return int(cursor), sorted({k.decode() for k in keys})

    def count_failed(self) -> int:
        return int(self.redis.scard(self._k("import", "failed")))

    def scan_product_states(self, cursor: int = 0, count: int = 500) -> tuple[int, dict[str, dict]]:
        """One HSCAN step: (next cursor, 0 at the end; {key: state})."""
        cursor, raw = self.redis.hscan(self._k("import", "products"), cursor, count=count)
        return int(cursor), {k.decode(): json.loads(v) for k, v in raw.items()}

    # -- product names (unique per store) ---------------------------------------------------------
    def claim_names(self, wanted: Mapping[str, str]) -> dict[str, str]:
        """{key: name}: each name (case-insensitively) goes to the first key that asked; returns
        {key: owner of its name}. Deterministic across runs: the owner is remembered."""
        items = list(wanted.items())
        if not items:
            return {}
        args: list[str] = []
        for key, name in items:
            args += [name.lower(), key]
        owners = self._claim(keys=[self._k("import", "names")], args=args)
        return {key: owner.decode() for (key, _), owner in zip(items, owners, strict=True)}

    def release_names(self, names: Mapping[str, str]) -> None:
        """{key: name}: free names these keys held (renamed or removed products)."""
        args: list[str] = []
        for key, name in names.items():
            args += [name.lower(), key]
        if args:
            self._release(keys=[self._k("import", "names")], args=args)

    # -- categories: PIM code (lower-cased) -> {code, id, hash, visible} ----------------------------
    def category_states(self) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self._k("categories"))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def save_categories(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        if states:
            self.redis.hset(self._k("categories"), mapping={
                code.lower(): _dumps(dict(state)) for code, state in states.items()})

    def forget_categories(self, codes: Iterable[str]) -> None:
        codes = [c.lower() for c in codes]
        if codes:
            self.redis.hdel(self._k("categories"), *codes)

    def category_ids(self, *, visible_only: bool = True) -> dict[str, int]:
        """PIM code lower-cased -> BigCommerce category id (what products may be filed under)."""
        return {code: int(s["id"]) for code, s in self.category_states().items()
                if s.get("id") and (s.get("visible", True) or not visible_only)}

    def clear_categories(self) -> None:
        self.redis.delete(self._k("categories"))

    # -- the store's settings (GET /v2/store), cached ----------------------------------------------
    def get_store_settings(self) -> dict | None:
        raw = self.redis.get(self._k("bc-store-settings"))
        return json.loads(raw) if raw else None

    def put_store_settings(self, doc: Mapping[str, Any], ttl: int = 3600) -> None:
        self.redis.set(self._k("bc-store-settings"), _dumps(dict(doc)), ex=ttl)

    # -- the delta bookmark ------------------------------------------------------------------------
    def bookmark(self) -> float | None:
        raw = self.redis.get(self._k("bookmark"))
        return float(raw) if raw else None

    def set_bookmark(self, started_at: float) -> None:
        self.redis.set(self._k("bookmark"), repr(float(started_at)))
