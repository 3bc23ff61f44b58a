"""The persistence layer: the only code that knows Redis keys.

Everything a tenant owns lives under `connector:tenant:{id}:*`, so deleting a tenant is one SCAN.
Credentials are stored as Fernet ciphertext (service.crypto.SecretBox); everything else as JSON.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import redis

from service.crypto import SecretBox
from service.store.ledger import StoreLedger, drop_other_ledgers
from service.store.sessions import SessionStore, pim_in_force, session_key

PREFIX = "connector"
RUN_PARTS = ("", ":counts", ":errors", ":warnings", ":checkpoint", ":seen", ":catalog")  # connector:run:{id}…
RUN_HISTORY_KEPT = 100
# kind -> (index, the section field it is keyed by, the tenant record field)
CLAIMS = {"pim": ("tenant-by-pim", "url", "pim_url"), "bigcommerce": ("tenant-by-store", "store_hash", "store_hash")}


def _other(kind: str) -> str:
    return "bigcommerce" if kind == "pim" else "pim"


def attempt_name(kind: str) -> str:
    """Where the latest failed attempt of a kind is kept (credentials hash and config hash)."""
    return f"{kind}_attempt"


# KEYS: index, tenant record, tenants set. ARGV: candidate id, then the record's field/value pairs.
# An index naming a tenant that no longer exists is taken over.
_ENSURE = """
local existing = redis.call('GET', KEYS[1])
if existing and redis.call('SISMEMBER', KEYS[3], existing) == 1 then return existing end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SADD', KEYS[3], ARGV[1])
return ARGV[1]
"""

# KEYS: index key of the value, tenant record, credentials hash, config hash. The holder's config hash and
# record are read by name too (one Redis, no cluster: every key is on this server).
# ARGV: 1 tenant, 2 value, 3 kind, 4 section JSON, 5 credentials ciphertext, 6 section field, 7 record field,
#       8 index key prefix, 9 attempt name, 10 tenants set, 11 tenant key prefix, 12 value as JSON,
#       13 the other kind (a PIM's is "bigcommerce", a store's "pim").
# Returns {1, previous holder or ""} when saved, {0, holder} when another tenant is connected to the value,
# {-1, ""} when the tenant itself no longer exists.
_SAVE_CONNECTION = """
local function connected(config_key, kind)
  local raw = redis.call('HGET', config_key, kind)
  if not raw then return nil end
  local ok, doc = pcall(cjson.decode, raw)
  if ok and type(doc) == 'table' and doc['connected'] == true then return doc end
  return nil
end
if redis.call('SISMEMBER', ARGV[10], ARGV[1]) == 0 then return {-1, ''} end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and redis.call('SISMEMBER', ARGV[10], holder) == 1 then
  local holder_config = ARGV[11] .. holder .. ':config'
  local doc = connected(holder_config, ARGV[3])
  if doc and doc[ARGV[6]] == ARGV[2] then
    -- Half a connection (this side only) yields to a tenant that has the other side: the two meet there.
    if connected(holder_config, ARGV[13]) or not connected(KEYS[4], ARGV[13]) then
      return {0, holder}
    end
  end
end
local old = redis.call('HGET', KEYS[2], ARGV[7])
if old then
  local ok, previous = pcall(cjson.decode, old)
  if ok and type(previous) == 'string' and previous ~= '' and previous ~= ARGV[2]
     and redis.call('GET', ARGV[8] .. previous) == ARGV[1] then
    redis.call('DEL', ARGV[8] .. previous)
  end
end
if holder and holder ~= ARGV[1] and redis.call('EXISTS', ARGV[11] .. holder) == 1 then
  redis.call('HSET', ARGV[11] .. holder, ARGV[7], '""')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[7], ARGV[12])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('HDEL', KEYS[3], ARGV[9])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
redis.call('HDEL', KEYS[4], ARGV[9])
return {1, holder or ''}
"""

# KEYS: hash. ARGV: field, expected value, new value. 1 when swapped.
_SWAP_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


class TenantGone(LookupError):
    """The tenant was deleted meanwhile (uninstalled, or a claim that yielded): nothing was saved."""


def _now() -> float:
    return round(time.time(), 3)


class Store:
    def __init__(self, conn: redis.Redis, box: SecretBox) -> None:
        self.redis = conn
        self.box = box
        self._scripts: dict[str, Any] = {}

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
        """The tenant this PIM's users land on: the one linked to it, else one created on first use (two
        processes racing create only one). A tenant created this way has not connected the PIM: its claim
        yields to the first tenant whose tested credentials connect it (`save_connection`)."""
        return self._ensure_tenant(f"{PREFIX}:tenant-by-pim:{pim_url}", pim_url=pim_url)

    def ensure_tenant_for_store(self, store_hash: str) -> str:
        """The store's tenant, created on first use (app install); the claim yields like the PIM's."""
        return self._ensure_tenant(f"{PREFIX}:tenant-by-store:{store_hash}", store_hash=store_hash)

    def _ensure_tenant(self, index_key: str, *, pim_url: str = "", store_hash: str = "") -> str:
        # One script: the index and the tenant record appear together, so a concurrent claim never sees
        # an index naming a tenant that does not exist yet.
        candidate = "t" + secrets.token_hex(8)
        meta = {"id": candidate, "created_at": _now(), "pim_url": pim_url, "store_hash": store_hash}
        fields = [x for k, v in meta.items() for x in (k, json.dumps(v))]
        return self._script(_ENSURE)(
            keys=[index_key, self._t(candidate), f"{PREFIX}:tenants"], args=[candidate, *fields]).decode()

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

    def pim_in_force(self, tenant: str) -> str:
        """The PIM the tenant is bound to: the one its PIM connection in force uses, else the one a first visit
        from that PIM created it for (while it holds that claim); "" for none. Sessions opened through a PIM
        (its cookie, its UI extensions) are good only for this PIM (`SessionStore.read`)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self._t(tenant, "config"), "pim")
        pipe.hget(self._t(tenant), "pim_url")
        return pim_in_force(*pipe.execute())

    def set_tenant_pim_url(self, tenant: str, pim_url: str) -> None:
        """Link a PIM to a tenant unconditionally (tests, operator tools); saves go through `save_connection`."""
        self._relink(tenant, "pim", pim_url)

    def set_tenant_store_hash(self, tenant: str, store_hash: str) -> None:
        self._relink(tenant, "bigcommerce", store_hash)

    def _relink(self, tenant: str, kind: str, value: str) -> None:
        index, _, meta_field = CLAIMS[kind]
        old = (self.tenant(tenant) or {}).get(meta_field) or ""
        pipe = self.redis.pipeline()
        if old and old != value and self.redis.get(f"{PREFIX}:{index}:{old}") == tenant.encode():
            pipe.delete(f"{PREFIX}:{index}:{old}")
        if value:
            pipe.set(f"{PREFIX}:{index}:{value}", tenant)
        pipe.hset(self._t(tenant), meta_field, json.dumps(value))
        pipe.execute()

    def blocking_owner(self, tenant: str, kind: str, value: str) -> str | None:
        """The tenant that keeps `tenant` from connecting this PIM URL (kind "pim") or store hash
        ("bigcommerce"): one whose connection in force uses it, unless that is half a connection (this side
        only) and `tenant` has the other side. The same rule `save_connection` applies atomically."""
        index, field, _ = CLAIMS[kind]
        holder = self.redis.get(f"{PREFIX}:{index}:{value}")
        holder = holder.decode() if holder else None
        if not holder or holder == tenant or not self.tenant_exists(holder):
            return None
        section = self.get_section(holder, kind)
        if section.get("connected") is not True or section.get(field) != value:
            return None
        other = _other(kind)
        half = self.get_section(holder, other).get("connected") is not True
        return None if half and self.get_section(tenant, other).get("connected") is True else holder

    # -- tested connections: credentials in force, the latest failed attempt, the index claim ----------
    def save_connection(self, tenant: str, kind: str, credentials: dict[str, Any],
                        section: dict[str, Any]) -> str | None:
        """Put credentials that passed their test in force, in one atomic step: claim the PIM/store index
        (refused when another tenant's credentials in force are connected to it), store credentials and
        section, drop the failed attempt, unlink the value this tenant used before.

        Returns None when saved, else the tenant that holds the connection (nothing is written then);
        raises TenantGone when `tenant` itself no longer exists.
        A holder without a tested connection to the value (a first PIM visit, an app install whose test
        failed) yields, and so does half a connection (connected to this side only) to a tenant connected to
        the other side: the index moves, and the holder is deleted if nothing else of it is connected (its
        main configuration for this PIM is kept when the new tenant has none).
        A saved PIM revokes the sessions bound to another PIM: this tenant's, and all the PIM sessions of a
        holder that stays."""
        index, field, meta_field = CLAIMS[kind]
        value = section[field]
        ok, holder = self._script(_SAVE_CONNECTION)(
            keys=[f"{PREFIX}:{index}:{value}", self._t(tenant), self._t(tenant, "credentials"),
                  self._t(tenant, "config")],
            args=[tenant, value, kind, json.dumps(section), self.box.encrypt(credentials), field, meta_field,
                  f"{PREFIX}:{index}:", attempt_name(kind), f"{PREFIX}:tenants", f"{PREFIX}:tenant:",
                  json.dumps(value), _other(kind)])
        holder = holder.decode() if holder else ""
        if ok == -1:
            raise TenantGone(tenant)
        if not ok:
            return holder
        if kind == "pim":  # sessions opened through another PIM end now (requests check it anyway)
            SessionStore(self.redis).revoke_other_pims(tenant, value)
        else:  # what was learned about another store is never used again (its ids name other products here)
            drop_other_ledgers(self.redis, tenant, value)
        if holder and holder != tenant:
            self._adopt_main(holder, tenant, kind, value)
            kept = not self.discard_if_unconnected(holder, taken=(kind, value))
            if kept and kind == "pim":  # displaced from this PIM: its PIM sessions end
                SessionStore(self.redis).revoke_other_pims(holder, "")
        return None

    def _adopt_main(self, holder: str, tenant: str, kind: str, value: str) -> None:
        """The main configuration (locale, channel, category) a yielding tenant chose for this very PIM."""
        if kind != "pim" or self.get_section(holder, "pim").get("url") != value or self.get_section(tenant, "main"):
            return
        if main := self.get_section(holder, "main"):
            self.put_section(tenant, "main", main)

    def save_attempt(self, tenant: str, kind: str, credentials: dict[str, Any], section: dict[str, Any]) -> None:
        """Keep a failed attempt next to the credentials in force (which stay as they are): its section
        says what failed, its credentials let the next try keep a secret typed with the same identity."""
        name = attempt_name(kind)
        pipe = self.redis.pipeline()  # MULTI: the attempt's section and credentials appear together
        pipe.hset(self._t(tenant, "credentials"), name, self.box.encrypt(credentials))
        pipe.hset(self._t(tenant, "config"), name, json.dumps(section))
        pipe.execute()

    def discard_if_unconnected(self, tenant: str, *, taken: tuple[str, str] | None = None) -> bool:
        """Delete a tenant none of whose credentials are in force (and revoke its sessions): what a claim
        that never connected leaves behind, or half a connection whose side (`taken`: kind, value)
        another tenant now holds. Anything touching it meanwhile keeps it."""
        keys = [self._t(tenant), self._t(tenant, "config"), self._t(tenant, "credentials"),
                self._t(tenant, "sessions")]
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(*keys)
                sections = {k.decode(): v for k, v in pipe.hgetall(self._t(tenant, "config")).items()}
                for kind, (_, field, _) in CLAIMS.items():
                    doc = json.loads(sections[kind]) if kind in sections else {}
                    if doc.get("connected") is True and (kind, doc.get(field)) != taken:
                        return False
                meta = {k.decode(): json.loads(v) for k, v in pipe.hgetall(self._t(tenant)).items()}
                sids = [s.decode() for s in pipe.smembers(self._t(tenant, "sessions"))]
                doomed = self._tenant_keys(pipe, tenant)
                indexes = [(f"{PREFIX}:{index}:{meta[f]}") for index, _, f in CLAIMS.values() if meta.get(f)]
                owned = [k for k in indexes if pipe.get(k) == tenant.encode()]
                pipe.multi()
                for key in [*doomed, *owned, *(session_key(sid) for sid in sids)]:
                    pipe.delete(key)
                pipe.srem(f"{PREFIX}:tenants", tenant)
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def _tenant_keys(self, conn, tenant: str) -> list[str]:
        keys = [self._t(tenant)] + [k.decode() if isinstance(k, bytes) else k
                                    for k in conn.scan_iter(match=self._t(tenant, "*"), count=500)]
        for run_id in conn.lrange(self._t(tenant, "runs"), 0, -1):
            # the run and what the engine keeps beside it (service/store/imports.py)
            keys += [f"{PREFIX}:run:{run_id.decode()}{part}" for part in RUN_PARTS]
        return keys

    def _script(self, source: str):
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.redis.register_script(source)
        return script

    def delete_tenant(self, tenant: str) -> None:
        meta = self.tenant(tenant) or {}
        keys = self._tenant_keys(self.redis, tenant)
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.delete(key)
        pipe.srem(f"{PREFIX}:tenants", tenant)
        active = self.redis.hgetall(f"{PREFIX}:imports:active")  # an uninstall during an import
        mine = [run for run, owner in active.items() if owner == tenant.encode()]
        if mine:
            pipe.hdel(f"{PREFIX}:imports:active", *mine)
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

    def tenant_credentials(self, tenant: str, kinds: tuple[str, ...]) -> tuple[bool, dict[str, dict[str, Any]]]:
        """(the tenant exists, {kind: credentials} for the kinds stored) in one round trip (the webhook's
        hot path). Raises DecryptionError like get_credentials."""
        if not tenant:
            return False, {}
        pipe = self.redis.pipeline(transaction=False)
        pipe.sismember(f"{PREFIX}:tenants", tenant)
        pipe.hmget(self._t(tenant, "credentials"), list(kinds))
        exists, raws = pipe.execute()
        return bool(exists), {k: self.box.decrypt(raw) for k, raw in zip(kinds, raws, strict=True) if raw}

    def get_credentials(self, tenant: str, kind: str) -> dict[str, Any] | None:
        raw = self.redis.hget(self._t(tenant, "credentials"), kind)
        return self.box.decrypt(raw) if raw else None

    def delete_credentials(self, tenant: str, kind: str | None = None) -> None:
        if kind is None:
            self.redis.delete(self._t(tenant, "credentials"))
        else:
            self.redis.hdel(self._t(tenant, "credentials"), kind)

    def rotate_credentials(self) -> int:
        """Re-encrypt every stored credential under the current SECRET_KEY; returns how many.
        Each value is replaced only if it is still the one that was read (compare-and-set in one script):
        a save meanwhile is already under the current key and wins."""
        count = 0
        swap = self._script(_SWAP_IF_UNCHANGED)
        for tenant in self.tenants():
            key = self._t(tenant, "credentials")
            for kind, token in self.redis.hgetall(key).items():
                count += int(swap(keys=[key], args=[kind, token, self.box.rotate(token)]))
        return count

    # -- attribute mapping -------------------------------------------------------------------------
    def get_mapping(self, tenant: str) -> dict[str, Any] | None:
        raw = self.redis.get(self._t(tenant, "mapping"))
        return json.loads(raw) if raw else None

    def put_mapping(self, tenant: str, mapping: dict[str, Any]) -> None:
        self.redis.set(self._t(tenant, "mapping"), json.dumps(mapping))

    # -- what was learned about the store connected now -------------------------------------------
    def ledger(self, tenant: str) -> StoreLedger | None:
        """The ledger of the tenant's store in force (None while no store is connected): id maps, sync
        states, categories... of that store only (service.store.ledger)."""
        store_hash = (self.get_section(tenant, "bigcommerce").get("store_hash")
                      or (self.tenant(tenant) or {}).get("store_hash"))
        return StoreLedger(self.redis, tenant, store_hash) if store_hash else None

    # -- import history ----------------------------------------------------------------------------
    def create_run(self, tenant: str, document: dict[str, Any]) -> str:
        run_id = "r" + secrets.token_hex(8)
        doc = {**document, "id": run_id, "tenant": tenant, "created_at": _now()}
        pipe = self.redis.pipeline()
        pipe.set(f"{PREFIX}:run:{run_id}", json.dumps(doc))
        pipe.lpush(self._t(tenant, "runs"), run_id)
        pipe.execute()
        # a run leaving the history takes what the engine keeps beside it (counts, issues, checkpoint...):
        # left to their 14-day expiry, a tenant starting runs in a loop grew them without bound
        dropped = self.redis.lrange(self._t(tenant, "runs"), RUN_HISTORY_KEPT, -1)
        if dropped:
            self.redis.delete(*[f"{PREFIX}:run:{old.decode()}{part}" for old in dropped for part in RUN_PARTS])
        self.redis.ltrim(self._t(tenant, "runs"), 0, RUN_HISTORY_KEPT - 1)
        return run_id

    def get_run(self, tenant: str, run_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(f"{PREFIX}:run:{run_id}")
        doc = json.loads(raw) if raw else None
        return doc if doc and doc.get("tenant") == tenant else None

    def update_run(self, tenant: str, run_id: str, **changes: Any) -> dict[str, Any]:
        """Set top-level fields of a run document; concurrent updates of other fields are never lost
        (optimistic transaction: WATCH, read, MULTI/SET, retried when the document changed)."""
        key = f"{PREFIX}:run:{run_id}"
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    doc = json.loads(raw) if raw else None
                    if doc is None or doc.get("tenant") != tenant:
                        raise KeyError(run_id)
                    doc.update(changes)
                    pipe.multi()
                    pipe.set(key, json.dumps(doc))
                    pipe.execute()
                    return doc
                except redis.WatchError:
                    continue

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
