"""What the connector learned about one BigCommerce store, bound to that store's hash.

BigCommerce ids are small integers per store: an id learned from store A names some other object in
store B. So every id map, sync state, name claim, category state, failed set, cached store setting and
the delta bookmark live under the store's hash, and a ledger is only ever opened for the store a job
talks to. A store switch starts from an empty ledger (the first import adopts by SKU what is already
there, so nothing is duplicated); `Store.save_connection` drops the other stores' ledgers.

Keys, `connector:tenant:{t}:store:{hash}:` followed by:
- `idmap:product`   hash  plan key ("product:<uuid>" / "model:<code>") -> BC product id
- `owners`          hash  BC product id -> the plan key that owns it (one store product, one PIM item)
- `variant-owners`  hash  variant uuid -> the plan key of the product it is a variant of now
- `urls`            hash  custom URL (lower-cased) -> plan key: unique per store, kept after the create
- `gone`            zset  plan key -> when the connector removed it for the PIM (a page read earlier never
  brings it back); entries older than GONE_KEPT seconds are trimmed, at most GONE_MAX kept
- `evaluated`       string what the store was last fully evaluated with (mapping, settings, PIM schema): a
  delta whose inputs differ becomes a full import
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
GONE_KEPT = 3600  # seconds a removal outranks a page read before it (pages are read seconds before writing)
GONE_MAX = 100_000

# KEYS: urls hash; ARGV: key, url wanted. The url, or the url with -2, -3... if another key holds it.
_CLAIM_URL = """
local base = ARGV[2]
local n = 1
while true do
  local candidate = base
  if n > 1 then
    local slash = string.sub(base, -1) == '/' and '/' or ''
    local stem = slash == '/' and string.sub(base, 1, -2) or base
    candidate = stem .. '-' .. n .. slash
  end
  local owner = redis.call('HGET', KEYS[1], string.lower(candidate))
  if not owner or owner == ARGV[1] then
    redis.call('HSET', KEYS[1], string.lower(candidate), ARGV[1])
    return candidate
  end
  n = n + 1
end
"""

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
        self._claim_url = conn.register_script(_CLAIM_URL)

    def _k(self, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", self.tenant, "store", self.store_hash, *parts))

    # -- id maps ----------------------------------------------------------------------------------
    def product_ids(self, keys: Iterable[str]) -> dict[str, int]:
        return self._lookup(self._k("idmap", "product"), list(keys))

    def all_product_ids(self) -> dict[str, int]:
        raw = self.redis.hgetall(self._k("idmap", "product"))
        return {k.decode(): int(v) for k, v in raw.items()}

    def owners_of(self, product_ids: Iterable[int]) -> dict[int, str]:
        """{BC product id: plan key} for the products some item of ours owns."""
        ids = list(product_ids)
        if not ids:
            return {}
        raws = self.redis.hmget(self._k("owners"), [str(i) for i in ids])
        return {i: r.decode() for i, r in zip(ids, raws, strict=True) if r}

    def variant_owners(self, uuids: Iterable[str]) -> dict[str, str]:
        """{variant uuid: plan key of the product holding it in the store}."""
        uuids = list(uuids)
        if not uuids:
            return {}
        raws = self.redis.hmget(self._k("variant-owners"), uuids)
        return {u: r.decode() for u, r in zip(uuids, raws, strict=True) if r}

    def set_variant_owners(self, owners: Mapping[str, str]) -> None:
        if owners:
            self.redis.hset(self._k("variant-owners"), mapping=dict(owners))

    def drop_variant_owners(self, owners: Mapping[str, str]) -> None:
        """{uuid: key}: forget these, each only while that key still holds it (one round trip)."""
        args = [part for pair in owners.items() for part in pair]
        if args:
            self._release(keys=[self._k("variant-owners")], args=args)

    def _lookup(self, key: str, fields: list[str]) -> dict[str, int]:
        if not fields:
            return {}
        values = self.redis.hmget(key, fields)
        return {f: int(v) for f, v in zip(fields, values, strict=True) if v is not None}

    def map_product(self, key: str, product_id: int, state: Mapping[str, Any] | None = None) -> None:
        """Written right after a create is confirmed (with what the answer told: images, custom fields,
        variants): a crash after this never creates it, nor its inline images, again."""
        self.map_products([(key, product_id, state)])

    def map_products(self, entries: Iterable[tuple[str, int, Mapping[str, Any] | None]]) -> None:
        """`map_product` for several creates confirmed together, in one transaction: the id, its owner,
        the state, and the owner of each variant the state holds."""
        pipe = self.redis.pipeline(transaction=True)
        for key, product_id, state in entries:
            pipe.hset(self._k("idmap", "product"), key, str(product_id))
            pipe.hset(self._k("owners"), str(product_id), key)
            if state is not None:
                pipe.hset(self._k("import", "products"), key, _dumps(dict(state)))
                if state.get("v"):
                    pipe.hset(self._k("variant-owners"), mapping={u: key for u in state["v"]})
        pipe.execute()

    def unmap(self, keys: Iterable[str]) -> None:
        """Forget these items' products: ids, owners, states, failures, their variants' owners, URLs."""
        keys = list(keys)
        if not keys:
            return
        ids = self.product_ids(keys)
        states = self.product_states(keys)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self._k("idmap", "product"), *keys)
        pipe.hdel(self._k("import", "products"), *keys)
        pipe.srem(self._k("import", "failed"), *keys)
        if ids:
            pipe.hdel(self._k("owners"), *[str(i) for i in ids.values()])
        pipe.execute()
        self.drop_variant_owners({u: key for key, state in states.items() for u in state.get("v") or {}})
        urls = [part for key, state in states.items() if state.get("url") for part in (str(state["url"]).lower(), key)]
        if urls:
            self._release(keys=[self._k("urls")], args=urls)

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

    # -- custom URLs (unique per store, kept once given) ---------------------------------------------
    def claim_url(self, key: str, url: str) -> str:
        """The URL for this item: `url` when free (or already its own), else `url` with -2, -3..."""
        got = self._claim_url(keys=[self._k("urls")], args=[key, url])
        return got.decode() if isinstance(got, bytes) else str(got)

    # -- removals (so that a page read before one never brings the item back) -----------------------
    def note_gone(self, keys: Iterable[str], at: float) -> None:
        keys = list(keys)
        if not keys:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self._k("gone"), {k: at for k in keys})
        pipe.zremrangebyscore(self._k("gone"), "-inf", at - GONE_KEPT)
        pipe.zremrangebyrank(self._k("gone"), 0, -GONE_MAX - 1)
        pipe.execute()

    def gone_at(self, keys: Iterable[str]) -> dict[str, float]:
        keys = list(keys)
        if not keys:
            return {}
        scores = self.redis.zmscore(self._k("gone"), keys)
        return {k: float(s) for k, s in zip(keys, scores, strict=True) if s is not None}

    def forget_gone(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self.redis.zrem(self._k("gone"), *keys)

    # -- what the store was last fully evaluated with ------------------------------------------------
    def evaluated(self) -> str | None:
        raw = self.redis.get(self._k("evaluated"))
        return raw.decode() if raw else None

    def set_evaluated(self, fingerprint: str) -> None:
        self.redis.set(self._k("evaluated"), fingerprint)

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
