"""Server-side session records: what makes a signed session token revocable.

Keys:
- `connector:session:{sid}` string (TTL): the record (tenant, via, user, CSRF token, PIM cookie hash)
- `connector:tenant:{t}:sessions` set (TTL): the tenant's session ids (revocation index)
- `connector:tenant:{t}:user-sessions:{via}:{id}` set (TTL): one user's session ids (revocation index)
- `connector:tenant:{t}:sessions:order` zset (TTL): session id -> when issued, for the cap
- `connector:tenant:{t}:sessions:by-pim-cookie` hash (TTL): PIM cookie hash -> the session granted for it

Bounded per tenant: at most SESSIONS_MAX live records (issuing one more ends the oldest: a flood of entries
cannot grow Redis, it only logs out the oldest tabs), and the indexes never hold more than that plus the
records that expired since (dropped at the next issue). A visit with a PIM cookie that already has a live
session of the same user gets that session again (`find_pim_session`) instead of a new record.

A record that names a PIM (`pim_url`: sessions opened through the PIM's cookie or its UI extensions) is read
together with the tenant's PIM in force, in one round trip (`read`), so the caller can refuse it the moment
the tenant is bound to another PIM; `revoke_other_pims` then deletes such records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

PREFIX = "connector"
SESSIONS_MAX = 500  # live sessions per tenant: a merchant's people and tabs, with room to spare

# KEYS: record, tenant index, order, user index ('' none), cookie index.
# ARGV: sid, record JSON, ttl, cap, record key prefix, PIM cookie hash ('' none), user index prefix.
# Issue times come from Redis's clock in microseconds: every web process agrees, and the order is strict.
_PUT = """
local sid, ttl, cap, prefix = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
redis.call('SADD', KEYS[2], sid)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[3], now, sid)
redis.call('EXPIRE', KEYS[3], ttl)
if KEYS[4] ~= '' then
  redis.call('SADD', KEYS[4], sid)
  redis.call('EXPIRE', KEYS[4], ttl)
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[6], sid)
  redis.call('EXPIRE', KEYS[5], ttl)
end
local function forget(ids)
  for _, id in ipairs(ids) do
    redis.call('SREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
end
-- sessions past their life leave the indexes
forget(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - ttl))
local evicted = 0
if redis.call('ZCARD', KEYS[3]) > cap then
  -- revoked ones (record gone) first, then the oldest live ones
  local gone = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    if redis.call('EXISTS', prefix .. id) == 0 then gone[#gone + 1] = id end
  end
  forget(gone)
  local excess = redis.call('ZCARD', KEYS[3]) - cap
  if excess > 0 then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, excess - 1)
    for _, id in ipairs(oldest) do
      local raw = redis.call('GET', prefix .. id)
      if raw then  -- out of its user's index and the PIM cookie index too
        local record = cjson.decode(raw)
        local user = type(record.user) == 'table' and record.user.id
        if user then redis.call('SREM', ARGV[7] .. tostring(record.via) .. ':' .. tostring(user), id) end
        if type(record.pim_cookie) == 'string' and redis.call('HGET', KEYS[5], record.pim_cookie) == id then
          redis.call('HDEL', KEYS[5], record.pim_cookie)
        end
        redis.call('DEL', prefix .. id)
      end
    end
    forget(oldest)
    evicted = #oldest
  end
end
-- the other indexes: entries whose record is gone are dropped once they outgrow the cap
if KEYS[4] ~= '' and redis.call('SCARD', KEYS[4]) > cap then
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
    if redis.call('EXISTS', prefix .. id) == 0 then redis.call('SREM', KEYS[4], id) end
  end
end
if redis.call('HLEN', KEYS[5]) > cap then
  local pairs_ = redis.call('HGETALL', KEYS[5])
  for i = 1, #pairs_, 2 do
    if redis.call('EXISTS', prefix .. pairs_[i + 1]) == 0 then redis.call('HDEL', KEYS[5], pairs_[i]) end
  end
end
return evicted
"""

# KEYS: the session record. ARGV: the tenant key prefix. The tenant's keys are read by name (one Redis, no
# cluster), once the record says which tenant: {record, its tenant's `pim` section, its `pim_url` field}.
_READ = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {false, false, false} end
local ok, doc = pcall(cjson.decode, raw)
if not ok or type(doc) ~= 'table' or type(doc['tenant']) ~= 'string' then return {raw, false, false} end
local tenant = ARGV[1] .. doc['tenant']
return {raw, redis.call('HGET', tenant .. ':config', 'pim'), redis.call('HGET', tenant, 'pim_url')}
"""


def _json(raw: bytes | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def pim_in_force(section: bytes | None, claim: bytes | None) -> str:
    """The PIM a tenant is bound to, from its raw `pim` configuration section and its record's raw `pim_url`:
    the PIM its connection in force uses, else the one it was created for by a first visit from that PIM and
    still holds (`save_connection` blanks it when another tenant takes the PIM); "" for none."""
    doc = _json(section)
    if isinstance(doc, dict) and doc.get("connected") is True and isinstance(doc.get("url"), str):
        return doc["url"]
    value = _json(claim)
    return value if isinstance(value, str) else ""


def session_key(sid: str) -> str:
    """The record of one session (also deleted by the tenant store when it deletes a tenant)."""
    return f"{PREFIX}:session:{sid}"


class SessionStore:
    def __init__(self, conn: redis.Redis, *, cap: int = SESSIONS_MAX) -> None:
        self.redis = conn
        self.cap = cap
        self._put = conn.register_script(_PUT)
        self._read = conn.register_script(_READ)

    @staticmethod
    def _key(sid: str) -> str:
        return session_key(sid)

    @staticmethod
    def _tenant_index(tenant: str) -> str:
        return f"{PREFIX}:tenant:{tenant}:sessions"

    @staticmethod
    def _user_index(tenant: str, user_id: str) -> str:
        return f"{PREFIX}:tenant:{tenant}:user-sessions:{user_id}"

    @staticmethod
    def _order(tenant: str) -> str:
        return f"{PREFIX}:tenant:{tenant}:sessions:order"

    @staticmethod
    def _cookies(tenant: str) -> str:
        return f"{PREFIX}:tenant:{tenant}:sessions:by-pim-cookie"

    def put(self, sid: str, record: dict[str, Any], ttl: int) -> int:
        """Store a new session's record and index it; ends the tenant's oldest sessions past the cap
        (returns how many)."""
        tenant, user_id = record["tenant"], str(record.get("user", {}).get("id", ""))
        if user_id:
            user_id = f"{record.get('via', '')}:{user_id}"  # ids are per origin (PIM, BigCommerce)
        cookie = str(record.get("pim_cookie") or "") if record.get("via") == "pim" else ""
        keys = [self._key(sid), self._tenant_index(tenant), self._order(tenant),
                self._user_index(tenant, user_id) if user_id else "", self._cookies(tenant)]
        return int(self._put(keys=keys, args=[sid, json.dumps(record), int(ttl), self.cap, self._key(""), cookie,
                                              self._user_index(tenant, "")]))

    def find_pim_session(self, tenant: str, pim_cookie: str, *, min_left: float) -> tuple[str, dict[str, Any]] | None:
        """The tenant's live session granted for this PIM cookie hash, with at least `min_left` seconds
        to live: (session id, record), or None."""
        sid = self.redis.hget(self._cookies(tenant), pim_cookie)
        record = self.get(sid.decode()) if sid else None
        if (record is None or record.get("tenant") != tenant or record.get("via") != "pim"
                or record.get("pim_cookie") != pim_cookie or float(record.get("expires_at", 0)) - time.time() < min_left):
            return None
        return sid.decode(), record

    def count(self, tenant: str) -> int:
        """The tenant's live session records."""
        sids = [s.decode() for s in self.redis.smembers(self._tenant_index(tenant))]
        return sum(1 for raw in (self.redis.mget([self._key(s) for s in sids]) if sids else []) if raw)

    def get(self, sid: str) -> dict[str, Any] | None:
        raw = self.redis.get(self._key(sid))
        return json.loads(raw) if raw else None

    def read(self, sid: str) -> tuple[dict[str, Any] | None, str]:
        """(the record or None, the PIM its tenant is bound to now), read atomically in one round trip."""
        raw, section, claim = self._read(keys=[self._key(sid)], args=[f"{PREFIX}:tenant:"])
        record = _json(raw)
        return (record if isinstance(record, dict) else None), pim_in_force(section, claim)

    def delete(self, sid: str) -> None:
        self.redis.delete(self._key(sid))

    def _revoke_index(self, index: str) -> int:
        sids = [s.decode() for s in self.redis.smembers(index)]
        pipe = self.redis.pipeline()
        for sid in sids:
            pipe.delete(self._key(sid))
        pipe.delete(index)
        pipe.execute()
        return len(sids)

    def revoke_tenant(self, tenant: str) -> int:
        revoked = self._revoke_index(self._tenant_index(tenant))
        self.redis.delete(self._order(tenant), self._cookies(tenant))
        return revoked

    def _revoke_where(self, tenant: str, doomed: Callable[[dict[str, Any]], bool]) -> int:
        index = self._tenant_index(tenant)
        sids = [s.decode() for s in self.redis.smembers(index)]
        raws = self.redis.mget([self._key(sid) for sid in sids]) if sids else []
        gone = [sid for sid, raw in zip(sids, raws, strict=True) if isinstance(rec := _json(raw), dict) and doomed(rec)]
        if gone:
            pipe = self.redis.pipeline()
            pipe.delete(*[self._key(sid) for sid in gone])
            pipe.srem(index, *gone)
            pipe.zrem(self._order(tenant), *gone)
            pipe.execute()
        return len(gone)

    def revoke_via(self, tenant: str, via: str) -> int:
        """Revoke the tenant's sessions obtained one way (e.g. every UI-extension session)."""
        return self._revoke_where(tenant, lambda record: record.get("via") == via)

    def revoke_other_pims(self, tenant: str, keep: str) -> int:
        """Revoke the tenant's sessions bound to a PIM other than `keep` (all of them for keep="") after its PIM
        changed; sessions bound to no PIM (BigCommerce's) stay."""
        return self._revoke_where(tenant, lambda record: bool(record.get("pim_url")) and record["pim_url"] != keep)

    def revoke_user(self, tenant: str, user_id: str) -> int:
        return self._revoke_index(self._user_index(tenant, str(user_id)))
