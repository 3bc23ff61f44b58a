"""Import runs' state in Redis: counters, issues and checkpoints, the PIM token cache. What was learned
about a store (id maps, sync states, names, categories) is in `service.store.ledger`, bound to the store.

Keys (documented in docs/architecture.md, "Import engine"):
- `connector:tenant:{t}:pim-token`      string (TTL) Fernet ciphertext of the PIM access/refresh token
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
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from service.crypto import DecryptionError, SecretBox

PREFIX = "connector"
ISSUES_KEPT = 5000
RUN_KEYS_TTL = 14 * 24 * 3600
PREFETCH_TTL = 60  # seconds a page read ahead stays usable
COUNT_FIELDS = ("created", "updated", "unchanged", "hidden", "deleted", "failed")



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
        self._set_if_tenant = conn.register_script(_SET_IF_TENANT)

    # -- keys -------------------------------------------------------------------------------------
    @staticmethod
    def _t(tenant: str, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", tenant, *parts))

    @staticmethod
    def _r(run_id: str, part: str) -> str:
        return f"{PREFIX}:run:{run_id}:{part}"

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
    def put_next_page(self, run_id: str, url: str, items: list[dict], next_url: str | None,
                      read_at: float) -> None:
        """The PIM page at `url`, read at `read_at` by the page job before this one (so the next job does
        not wait for the PIM); short-lived: a page taken later than PREFETCH_TTL is read again."""
        blob = zlib.compress(json.dumps({"url": url, "items": items, "next": next_url, "read_at": read_at},
                                        separators=(",", ":")).encode(), 1)
        self.redis.set(self._r(run_id, "next-page"), blob, ex=PREFETCH_TTL)

    def take_next_page(self, run_id: str, url: str) -> tuple[list[dict], str | None, float] | None:
        """The page read ahead for `url` and when it was read (then forgotten), or None: not read,
        expired, or for another URL."""
        blob = self.redis.getdel(self._r(run_id, "next-page"))
        if not blob:
            return None
        doc = json.loads(zlib.decompress(blob))
        return (doc["items"], doc["next"], float(doc.get("read_at") or 0)) if doc.get("url") == url else None

    # -- runs that are not finished (for the watchdog) --------------------------------------------
    def mark_active(self, run_id: str, tenant: str) -> None:
        self.redis.hset(f"{PREFIX}:imports:active", run_id, tenant)

    def mark_finished(self, run_id: str) -> None:
        self.redis.hdel(f"{PREFIX}:imports:active", run_id)
        self.redis.delete(self._r(run_id, "catalog"), self._r(run_id, "seen"), self._r(run_id, "next-page"))

    def active_runs(self) -> dict[str, str]:
        raw = self.redis.hgetall(f"{PREFIX}:imports:active")
        return {k.decode(): v.decode() for k, v in raw.items()}

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
