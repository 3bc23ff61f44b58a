"""Import engine state in Redis: id maps, per-product sync state, names, runs' counters, issues and
checkpoints, the PIM token cache.

Keys (documented in docs/architecture.md, "Import engine"):
- `connector:tenant:{t}:idmap:product`  hash  plan key ("product:<uuid>" / "model:<code>") -> BC product id
- `connector:tenant:{t}:idmap:variant`  hash  variant SKU (lower-cased) -> BC variant id
- `connector:tenant:{t}:import:products` hash plan key -> JSON sync state (hash, sku, name, images,
  custom field ids, variants, visibility, the run that last wrote it and what it did)
- `connector:tenant:{t}:import:names`   hash  product name (lower-cased) -> plan key that owns it
- `connector:tenant:{t}:import:failed`  set   plan keys whose last write failed (a delta tries them again)
- `connector:tenant:{t}:pim-token`      string (TTL) Fernet ciphertext of the PIM access/refresh token
- `connector:tenant:{t}:bc-store-settings` string (TTL 1 h) currency and units from GET /v2/store
- `connector:run:{id}:counts`           hash  "products.created" ... (HINCRBY only)
- `connector:run:{id}:errors|warnings`  list  JSON issues, the first ISSUES_KEPT kept
- `connector:run:{id}:checkpoint`       string JSON {step, phase, cursor, ...}
- `connector:run:{id}:seen`             set   plan keys met by this (full) run
- `connector:run:{id}:catalog`          string zlib JSON of the PIM schema read once per run
- `connector:imports:active`            hash  run id -> tenant, runs that are not finished
Every `connector:run:{id}:*` key expires RUN_KEYS_TTL after its last write.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import redis

from service.crypto import DecryptionError, SecretBox

PREFIX = "connector"
ISSUES_KEPT = 5000
RUN_KEYS_TTL = 14 * 24 * 3600
PREFETCH_TTL = 60  # seconds a page read ahead stays usable
COUNT_FIELDS = ("created", "updated", "unchanged", "hidden", "deleted", "failed")

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


class PageCommit:
    """What one page changes in a run, written in one MULTI so a page counts once or not at all."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.errors: list[dict] = []
        self.warnings: list[dict] = []
        self.seen: list[str] = []
        self.done = 0

    def count(self, section: str, field: str, n: int = 1) -> None:
        if n:
            key = f"{section}.{field}"
            self.counts[key] = self.counts.get(key, 0) + n

    def merge(self, other: PageCommit) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.errors += other.errors
        self.warnings += other.warnings
        self.seen += other.seen
        self.done += other.done


# KEYS: the tenant's record, the key to set; ARGV: value, TTL (s).
_SET_IF_TENANT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
"""


class ImportStore:
    def __init__(self, conn: redis.Redis, box: SecretBox | None = None) -> None:
        self.redis = conn
        self.box = box
        self._claim = conn.register_script(_CLAIM_NAMES)
        self._release = conn.register_script(_RELEASE_NAMES)
        self._set_if_tenant = conn.register_script(_SET_IF_TENANT)

    # -- keys -------------------------------------------------------------------------------------
    @staticmethod
    def _t(tenant: str, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", tenant, *parts))

    @staticmethod
    def _r(run_id: str, part: str) -> str:
        return f"{PREFIX}:run:{run_id}:{part}"

    # -- id maps ----------------------------------------------------------------------------------
    def product_ids(self, tenant: str, keys: Iterable[str]) -> dict[str, int]:
        return self._lookup(self._t(tenant, "idmap", "product"), list(keys))

    def variant_ids(self, tenant: str, skus: Iterable[str]) -> dict[str, int]:
        return self._lookup(self._t(tenant, "idmap", "variant"), [s.lower() for s in skus])

    def _lookup(self, key: str, fields: list[str]) -> dict[str, int]:
        if not fields:
            return {}
        values = self.redis.hmget(key, fields)
        return {f: int(v) for f, v in zip(fields, values, strict=True) if v is not None}

    def map_product(self, tenant: str, key: str, product_id: int, variants: Mapping[str, int] | None = None,
                    state: Mapping[str, Any] | None = None) -> None:
        """Written right after a create is confirmed (with what the answer told: images, custom fields,
        variants): a crash after this never creates it, nor its inline images, again."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._t(tenant, "idmap", "product"), key, str(product_id))
        if state is not None:
            pipe.hset(self._t(tenant, "import", "products"), key, _dumps(dict(state)))
        if variants:
            pipe.hset(self._t(tenant, "idmap", "variant"), mapping={s.lower(): str(v) for s, v in variants.items()})
        pipe.execute()

    def map_products(self, tenant: str, entries: Iterable[tuple[str, int, Mapping[str, int] | None,
                                                                Mapping[str, Any] | None]]) -> None:
        """`map_product` for several creates confirmed together, in one transaction."""
        pipe = self.redis.pipeline(transaction=True)
        for key, product_id, variants, state in entries:
            pipe.hset(self._t(tenant, "idmap", "product"), key, str(product_id))
            if state is not None:
                pipe.hset(self._t(tenant, "import", "products"), key, _dumps(dict(state)))
            if variants:
                pipe.hset(self._t(tenant, "idmap", "variant"), mapping={s.lower(): str(v) for s, v in variants.items()})
        pipe.execute()

    def map_variants(self, tenant: str, variants: Mapping[str, int]) -> None:
        if variants:
            self.redis.hset(self._t(tenant, "idmap", "variant"),
                            mapping={s.lower(): str(v) for s, v in variants.items()})

    def unmap(self, tenant: str, keys: Iterable[str], variant_skus: Iterable[str] = ()) -> None:
        keys, skus = list(keys), [s.lower() for s in variant_skus]
        pipe = self.redis.pipeline(transaction=True)
        if keys:
            pipe.hdel(self._t(tenant, "idmap", "product"), *keys)
            pipe.hdel(self._t(tenant, "import", "products"), *keys)
            pipe.srem(self._t(tenant, "import", "failed"), *keys)
        if skus:
            pipe.hdel(self._t(tenant, "idmap", "variant"), *skus)
        pipe.execute()

    def count_products(self, tenant: str) -> int:
        return int(self.redis.hlen(self._t(tenant, "idmap", "product")))

    # -- per-product sync state -------------------------------------------------------------------
    def product_states(self, tenant: str, keys: Iterable[str]) -> dict[str, dict]:
        keys = list(keys)
        if not keys:
            return {}
        raws = self.redis.hmget(self._t(tenant, "import", "products"), keys)
        return {k: json.loads(r) for k, r in zip(keys, raws, strict=True) if r}

    def save_product_states(self, tenant: str, states: Mapping[str, dict], *, failed: Iterable[str] = (),
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
            pipe.hset(self._t(tenant, "import", "products"), mapping={k: _dumps(v) for k, v in states.items()})
        if failed:
            pipe.sadd(self._t(tenant, "import", "failed"), *failed)
        if ok:
            pipe.srem(self._t(tenant, "import", "failed"), *ok)
        pipe.execute()

    def note_failures(self, tenant: str, failed: Iterable[str], ok: Iterable[str]) -> None:
        """Items whose write failed are remembered until one succeeds (or comes out unchanged)."""
        self.save_product_states(tenant, {}, failed=failed, ok=ok)

    def scan_failed(self, tenant: str, cursor: int = 0, count: int = 100) -> tuple[int, list[str]]:
        """One SSCAN step of the failed items: (next cursor, 0 at the end; keys)."""
        cursor, keys = self.redis.sscan(self._t(tenant, "import", "failed"), cursor, count=count)
        return int(cursor), sorted({k.decode() for k in keys})

    def count_failed(self, tenant: str) -> int:
        return int(self.redis.scard(self._t(tenant, "import", "failed")))

    def scan_product_states(self, tenant: str, cursor: int = 0, count: int = 500) -> tuple[int, dict[str, dict]]:
        """One HSCAN step: (next cursor, 0 at the end; {key: state})."""
        cursor, raw = self.redis.hscan(self._t(tenant, "import", "products"), cursor, count=count)
        return int(cursor), {k.decode(): json.loads(v) for k, v in raw.items()}

    # -- product names (unique per store) ---------------------------------------------------------
    def claim_names(self, tenant: str, wanted: Mapping[str, str]) -> dict[str, str]:
        """{key: name}: each name (case-insensitively) goes to the first key that asked; returns
        {key: owner of its name}. Deterministic across runs: the owner is remembered."""
        items = list(wanted.items())
        if not items:
            return {}
        args: list[str] = []
        for key, name in items:
            args += [name.lower(), key]
        owners = self._claim(keys=[self._t(tenant, "import", "names")], args=args)
        return {key: owner.decode() for (key, _), owner in zip(items, owners, strict=True)}

    def release_names(self, tenant: str, names: Mapping[str, str]) -> None:
        """{key: name}: free names these keys held (renamed or removed products)."""
        args: list[str] = []
        for key, name in names.items():
            args += [name.lower(), key]
        if args:
            self._release(keys=[self._t(tenant, "import", "names")], args=args)

    # -- runs: counters, issues, checkpoints ------------------------------------------------------
    def commit_page(self, run_id: str, commit: PageCommit, checkpoint: Mapping[str, Any]) -> None:
        """Counters, issues, the seen set and the next checkpoint, atomically (MULTI/EXEC)."""
        pipe = self.redis.pipeline(transaction=True)
        counts_key = self._r(run_id, "counts")
        for field, n in commit.counts.items():
            pipe.hincrby(counts_key, field, n)
        if commit.done:
            pipe.hincrby(counts_key, "progress.done", commit.done)
        for kind, issues in (("errors", commit.errors), ("warnings", commit.warnings)):
            if issues:
                pipe.rpush(self._r(run_id, kind), *[_dumps(i) for i in issues])
                pipe.ltrim(self._r(run_id, kind), 0, ISSUES_KEPT - 1)
                pipe.hincrby(counts_key, f"issues.{kind}", len(issues))
                pipe.expire(self._r(run_id, kind), RUN_KEYS_TTL)
        if commit.seen:
            pipe.sadd(self._r(run_id, "seen"), *commit.seen)
            pipe.expire(self._r(run_id, "seen"), RUN_KEYS_TTL)
        pipe.hset(counts_key, "progress.touched", "1")
        pipe.expire(counts_key, RUN_KEYS_TTL)
        pipe.set(self._r(run_id, "checkpoint"), _dumps(dict(checkpoint)), ex=RUN_KEYS_TTL)
        pipe.execute()

    def add_total(self, run_id: str, n: int) -> None:
        self.redis.hincrby(self._r(run_id, "counts"), "progress.total", n)

    def checkpoint(self, run_id: str) -> dict | None:
        raw = self.redis.get(self._r(run_id, "checkpoint"))
        return json.loads(raw) if raw else None

    def set_checkpoint(self, run_id: str, checkpoint: Mapping[str, Any]) -> None:
        self.redis.set(self._r(run_id, "checkpoint"), _dumps(dict(checkpoint)), ex=RUN_KEYS_TTL)

    def counts(self, run_id: str) -> dict[str, Any]:
        """{"categories": {...}, "products": {...}, "progress": {"done", "total"}, "issues": {...}}"""
        raw = self.redis.hgetall(self._r(run_id, "counts"))
        out: dict[str, dict[str, int]] = {
            "categories": dict.fromkeys(COUNT_FIELDS, 0),
            "products": dict.fromkeys(COUNT_FIELDS, 0),
            "progress": {"done": 0, "total": 0},
            "issues": {"errors": 0, "warnings": 0},
        }
        for field, value in raw.items():
            section, _, name = field.decode().partition(".")
            if section in out and name != "touched":
                out[section][name] = int(value)
        return out

    def issues(self, run_id: str, kind: str, limit: int = ISSUES_KEPT) -> list[dict]:
        return [json.loads(r) for r in self.redis.lrange(self._r(run_id, kind), 0, limit - 1)]

    def seen(self, run_id: str, keys: list[str]) -> list[bool]:
        if not keys:
            return []
        return [bool(x) for x in self.redis.smismember(self._r(run_id, "seen"), keys)]

    def put_catalog(self, run_id: str, catalog: dict) -> None:
        blob = zlib.compress(json.dumps(catalog, separators=(",", ":")).encode(), 6)
        self.redis.set(self._r(run_id, "catalog"), blob, ex=RUN_KEYS_TTL)

    def get_catalog(self, run_id: str) -> dict | None:
        blob = self.redis.get(self._r(run_id, "catalog"))
        return json.loads(zlib.decompress(blob)) if blob else None

    # -- the next page, read ahead while this one loads ------------------------------------------
    def put_next_page(self, run_id: str, url: str, items: list[dict], next_url: str | None) -> None:
        """The PIM page at `url`, read by the page job before this one (so the next job does not wait for
        the PIM); short-lived: a page taken later than PREFETCH_TTL is read again."""
        blob = zlib.compress(json.dumps({"url": url, "items": items, "next": next_url},
                                        separators=(",", ":")).encode(), 1)
        self.redis.set(self._r(run_id, "next-page"), blob, ex=PREFETCH_TTL)

    def take_next_page(self, run_id: str, url: str) -> tuple[list[dict], str | None] | None:
        """The page read ahead for `url` (then forgotten), or None: not read, expired, or for another URL."""
        blob = self.redis.getdel(self._r(run_id, "next-page"))
        if not blob:
            return None
        doc = json.loads(zlib.decompress(blob))
        return (doc["items"], doc["next"]) if doc.get("url") == url else None

    # -- runs that are not finished (for the watchdog) --------------------------------------------
    def mark_active(self, run_id: str, tenant: str) -> None:
        self.redis.hset(f"{PREFIX}:imports:active", run_id, tenant)

    def mark_finished(self, run_id: str) -> None:
        self.redis.hdel(f"{PREFIX}:imports:active", run_id)
        self.redis.delete(self._r(run_id, "catalog"), self._r(run_id, "seen"), self._r(run_id, "next-page"))

    def active_runs(self) -> dict[str, str]:
        raw = self.redis.hgetall(f"{PREFIX}:imports:active")
        return {k.decode(): v.decode() for k, v in raw.items()}

    # -- the store's settings (GET /v2/store), cached per tenant ------------------------------------
    def get_store_settings(self, tenant: str) -> dict | None:
        raw = self.redis.get(self._t(tenant, "bc-store-settings"))
        return json.loads(raw) if raw else None

    def put_store_settings(self, tenant: str, doc: Mapping[str, Any], ttl: int = 3600) -> None:
        self.redis.set(self._t(tenant, "bc-store-settings"), _dumps(dict(doc)), ex=ttl)

    # -- the PIM token, cached per tenant (encrypted) ---------------------------------------------
    @staticmethod
    def token_fingerprint(url: str, client_id: str, username: str) -> str:
        return hashlib.sha256(f"{url}\n{client_id}\n{username}".encode()).hexdigest()[:24]

    def get_pim_token(self, tenant: str, fingerprint: str) -> dict | None:
        raw = self.redis.get(self._t(tenant, "pim-token"))
        if not raw or self.box is None:
            return None
        try:
            doc = self.box.decrypt(raw)
        except DecryptionError:
            return None
        return doc if doc.get("fp") == fingerprint and doc.get("expires_at", 0) > time.time() else None

    def put_pim_token(self, tenant: str, fingerprint: str, token: Mapping[str, Any]) -> None:
        if self.box is None:
            return
        ttl = int(token.get("expires_at", 0) - time.time())
        if ttl > 0:
            doc = {**token, "fp": fingerprint}
            # only while the tenant exists: a media download in flight during an uninstall must not
            # leave a token behind for a tenant that is gone
            self._set_if_tenant(keys=[self._t(tenant), self._t(tenant, "pim-token")],
                                args=[self.box.encrypt(doc), ttl])


def chunked(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
