"""The persistence layer: the only code that knows Redis keys.

Everything a tenant owns lives under `connector:tenant:{id}:*`, so deleting a tenant is one SCAN.
Credentials are stored as Fernet ciphertext (service.crypto.SecretBox); everything else as JSON.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from typing import Any

import redis

from service.crypto import SecretBox

PREFIX = "connector"
RUN_HISTORY_KEPT = 100


def _now() -> float:
    return round(time.time(), 3)


class Store:
    def __init__(self, conn: redis.Redis, box: SecretBox) -> None:
        self.redis = conn
        self.box = box

    # -- keys (private: callers speak in tenants, sections and runs) ------------------------------
    @staticmethod
    def _t(tenant: str, *parts: str) -> str:
        return ":".join((PREFIX, "tenant", tenant, *parts))

    # -- tenants ----------------------------------------------------------------------------------
    def create_tenant(self, *, pim_url: str | None = None, store_hash: str | None = None) -> str:
        tenant = "t" + secrets.token_hex(8)
        pipe = self.redis.pipeline()
        self._write_tenant(pipe, tenant, pim_url or "", store_hash or "")
        if pim_url:
            pipe.set(f"{PREFIX}:tenant-by-pim:{pim_url}", tenant)
        if store_hash:
            pipe.set(f"{PREFIX}:tenant-by-store:{store_hash}", tenant)
        pipe.execute()
        return tenant

    def ensure_tenant_for_pim(self, pim_url: str) -> str:
        """The PIM's tenant, created on first use; two processes racing create only one."""
        return self._ensure_tenant(f"{PREFIX}:tenant-by-pim:{pim_url}", pim_url=pim_url)

    def ensure_tenant_for_store(self, store_hash: str) -> str:
        """The store's tenant, created on first use; two processes racing create only one."""
        return self._ensure_tenant(f"{PREFIX}:tenant-by-store:{store_hash}", store_hash=store_hash)

    def _ensure_tenant(self, index_key: str, *, pim_url: str = "", store_hash: str = "") -> str:
        existing = self.redis.get(index_key)
        if existing:
            return existing.decode()
        tenant = "t" + secrets.token_hex(8)
        if not self.redis.set(index_key, tenant, nx=True):  # another process won: use its tenant
            return self.redis.get(index_key).decode()
        pipe = self.redis.pipeline()
        self._write_tenant(pipe, tenant, pim_url, store_hash)
        pipe.execute()
        return tenant

    def _write_tenant(self, pipe, tenant: str, pim_url: str, store_hash: str) -> None:
        meta = {"id": tenant, "created_at": _now(), "pim_url": pim_url, "store_hash": store_hash}
        pipe.hset(self._t(tenant), mapping={k: json.dumps(v) for k, v in meta.items()})
        pipe.sadd(f"{PREFIX}:tenants", tenant)

    def tenant_exists(self, tenant: str) -> bool:
        return bool(tenant) and bool(self.redis.sismember(f"{PREFIX}:tenants", tenant))

    def tenant(self, tenant: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(self._t(tenant))
        return {k.decode(): json.loads(v) for k, v in raw.items()} if raw else None

    def tenants(self) -> list[str]:
        return sorted(m.decode() for m in self.redis.smembers(f"{PREFIX}:tenants"))

    def tenant_for_store(self, store_hash: str) -> str | None:
        value = self.redis.get(f"{PREFIX}:tenant-by-store:{store_hash}")
        return value.decode() if value else None

    def tenant_for_pim(self, pim_url: str) -> str | None:
        value = self.redis.get(f"{PREFIX}:tenant-by-pim:{pim_url}")
        return value.decode() if value else None

    def set_tenant_pim_url(self, tenant: str, pim_url: str) -> None:
        self._relink(tenant, "pim_url", "tenant-by-pim", pim_url)

    def set_tenant_store_hash(self, tenant: str, store_hash: str) -> None:
        self._relink(tenant, "store_hash", "tenant-by-store", store_hash)

    def _relink(self, tenant: str, field: str, index: str, value: str) -> None:
        old = (self.tenant(tenant) or {}).get(field) or ""
        pipe = self.redis.pipeline()
        if old and old != value and self.redis.get(f"{PREFIX}:{index}:{old}") == tenant.encode():
            pipe.delete(f"{PREFIX}:{index}:{old}")
        if value:
            pipe.set(f"{PREFIX}:{index}:{value}", tenant)
        pipe.hset(self._t(tenant), field, json.dumps(value))
        pipe.execute()

    def delete_tenant(self, tenant: str) -> None:
        meta = self.tenant(tenant) or {}
        keys = [self._t(tenant)] + list(self.redis.scan_iter(match=self._t(tenant, "*"), count=500))
        for run_id in self.redis.lrange(self._t(tenant, "runs"), 0, -1):
            keys.append(f"{PREFIX}:run:{run_id.decode()}")
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.delete(key)
        pipe.srem(f"{PREFIX}:tenants", tenant)
        for field, index in (("pim_url", "tenant-by-pim"), ("store_hash", "tenant-by-store")):
            if meta.get(field) and self.redis.get(f"{PREFIX}:{index}:{meta[field]}") == tenant.encode():
                pipe.delete(f"{PREFIX}:{index}:{meta[field]}")
        pipe.execute()

    # -- configuration sections (plain JSON: pim, bigcommerce, main, events, status...) --------------
    def get_section(self, tenant: str, section: str) -> dict[str, Any]:
        raw = self.redis.hget(self._t(tenant, "config"), section)
        return json.loads(raw) if raw else {}

    def put_section(self, tenant: str, section: str, document: dict[str, Any]) -> None:
        self.redis.hset(self._t(tenant, "config"), section, json.dumps(document))

    def all_sections(self, tenant: str) -> dict[str, dict[str, Any]]:
        raw = self.redis.hgetall(self._t(tenant, "config"))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    # -- credentials (encrypted at rest) -----------------------------------------------------------
    def put_credentials(self, tenant: str, kind: str, credentials: dict[str, Any]) -> None:
        self.redis.hset(self._t(tenant, "credentials"), kind, self.box.encrypt(credentials))

    def get_credentials(self, tenant: str, kind: str) -> dict[str, Any] | None:
        raw = self.redis.hget(self._t(tenant, "credentials"), kind)
        return self.box.decrypt(raw) if raw else None

    def delete_credentials(self, tenant: str, kind: str | None = None) -> None:
        if kind is None:
            self.redis.delete(self._t(tenant, "credentials"))
        else:
            self.redis.hdel(self._t(tenant, "credentials"), kind)

    def rotate_credentials(self) -> int:
        """Re-encrypt every stored credential under the current SECRET_KEY; returns how many."""
        count = 0
        for tenant in self.tenants():
            key = self._t(tenant, "credentials")
            for kind, token in self.redis.hgetall(key).items():
                self.redis.hset(key, kind, self.box.rotate(token))
                count += 1
        return count

    # -- attribute mapping -------------------------------------------------------------------------
    def get_mapping(self, tenant: str) -> dict[str, Any] | None:
        raw = self.redis.get(self._t(tenant, "mapping"))
        return json.loads(raw) if raw else None

    def put_mapping(self, tenant: str, mapping: dict[str, Any]) -> None:
        self.redis.set(self._t(tenant, "mapping"), json.dumps(mapping))

    # -- id maps: PIM code -> BigCommerce id, per kind (category, product, variant, brand...) -------
    def map_ids(self, tenant: str, kind: str, pairs: dict[str, int | str]) -> None:
        if pairs:
            self.redis.hset(self._t(tenant, "idmap", kind), mapping={k: str(v) for k, v in pairs.items()})

    def lookup_ids(self, tenant: str, kind: str, codes: Iterable[str]) -> dict[str, str]:
        codes = list(codes)
        if not codes:
            return {}
        values = self.redis.hmget(self._t(tenant, "idmap", kind), codes)
        return {c: v.decode() for c, v in zip(codes, values, strict=True) if v is not None}

    def all_ids(self, tenant: str, kind: str) -> dict[str, str]:
        raw = self.redis.hgetall(self._t(tenant, "idmap", kind))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def unmap_ids(self, tenant: str, kind: str, codes: Iterable[str]) -> None:
        codes = list(codes)
        if codes:
            self.redis.hdel(self._t(tenant, "idmap", kind), *codes)

    # -- checkpoints (bookmarks saved only after a load succeeded) -----------------------------------
    def get_checkpoint(self, tenant: str, name: str) -> str | None:
        raw = self.redis.hget(self._t(tenant, "checkpoints"), name)
        return raw.decode() if raw else None

    def set_checkpoint(self, tenant: str, name: str, value: str) -> None:
        self.redis.hset(self._t(tenant, "checkpoints"), name, value)

    # -- import history ----------------------------------------------------------------------------
    def create_run(self, tenant: str, document: dict[str, Any]) -> str:
        run_id = "r" + secrets.token_hex(8)
        doc = {**document, "id": run_id, "tenant": tenant, "created_at": _now()}
        pipe = self.redis.pipeline()
        pipe.set(f"{PREFIX}:run:{run_id}", json.dumps(doc))
        pipe.lpush(self._t(tenant, "runs"), run_id)
        pipe.execute()
        for old in self.redis.lrange(self._t(tenant, "runs"), RUN_HISTORY_KEPT, -1):
            self.redis.delete(f"{PREFIX}:run:{old.decode()}")
        self.redis.ltrim(self._t(tenant, "runs"), 0, RUN_HISTORY_KEPT - 1)
        return run_id

    def get_run(self, tenant: str, run_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(f"{PREFIX}:run:{run_id}")
        doc = json.loads(raw) if raw else None
        return doc if doc and doc.get("tenant") == tenant else None

    def update_run(self, tenant: str, run_id: str, **changes: Any) -> dict[str, Any]:
        doc = self.get_run(tenant, run_id)
        if doc is None:
            raise KeyError(run_id)
        doc.update(changes)
        self.redis.set(f"{PREFIX}:run:{run_id}", json.dumps(doc))
        return doc

    def list_runs(self, tenant: str, limit: int = 30) -> list[dict[str, Any]]:
        ids = [i.decode() for i in self.redis.lrange(self._t(tenant, "runs"), 0, limit - 1)]
        raws = self.redis.mget([f"{PREFIX}:run:{i}" for i in ids]) if ids else []
        return [json.loads(r) for r in raws if r]

    # -- short-lived markers (replay guards, caches) -----------------------------------------------
    def claim_once(self, namespace: str, key: str, ttl: int) -> bool:
        """True the first time `key` is claimed within `ttl` seconds (e.g. a JWT's jti)."""
        return bool(self.redis.set(f"{PREFIX}:once:{namespace}:{key}", "1", nx=True, ex=max(1, int(ttl))))

    def cache_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        raw = self.redis.get(f"{PREFIX}:cache:{namespace}:{key}")
        return json.loads(raw) if raw else None

    def cache_put(self, namespace: str, key: str, value: dict[str, Any], ttl: int) -> None:
        self.redis.set(f"{PREFIX}:cache:{namespace}:{key}", json.dumps(value), ex=max(1, int(ttl)))

    def ping(self) -> bool:
        return bool(self.redis.ping())

    # -- configuration audit (guarded changes confirmed after the first import) --------------------
    def record_config_change(self, tenant: str, entry: dict[str, Any], kept: int = 100) -> None:
        doc = {"at": _now(), **entry}
        pipe = self.redis.pipeline()
        pipe.lpush(self._t(tenant, "config-changes"), json.dumps(doc))
        pipe.ltrim(self._t(tenant, "config-changes"), 0, kept - 1)
        pipe.execute()

    def config_changes(self, tenant: str, limit: int = 30) -> list[dict[str, Any]]:
        """Newest first."""
        return [json.loads(r) for r in self.redis.lrange(self._t(tenant, "config-changes"), 0, limit - 1)]
