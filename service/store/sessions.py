"""Server-side session records: what makes a signed session token revocable.

A record that names a PIM (`pim_url`: sessions opened through the PIM's cookie or its UI extensions) is read
together with the tenant's PIM in force, in one round trip (`read`), so the caller can refuse it the moment
the tenant is bound to another PIM; `revoke_other_pims` then deletes such records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

PREFIX = "connector"

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
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn
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

    def put(self, sid: str, record: dict[str, Any], ttl: int) -> None:
        tenant, user_id = record["tenant"], str(record.get("user", {}).get("id", ""))
        if user_id:
            user_id = f"{record.get('via', '')}:{user_id}"  # ids are per origin (PIM, BigCommerce)
        pipe = self.redis.pipeline()
        pipe.set(self._key(sid), json.dumps(record), ex=ttl)
        pipe.sadd(self._tenant_index(tenant), sid)
        pipe.expire(self._tenant_index(tenant), ttl)
        if user_id:
            pipe.sadd(self._user_index(tenant, user_id), sid)
            pipe.expire(self._user_index(tenant, user_id), ttl)
        pipe.execute()

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
        return self._revoke_index(self._tenant_index(tenant))

    def _revoke_where(self, tenant: str, doomed: Callable[[dict[str, Any]], bool]) -> int:
        index = self._tenant_index(tenant)
        sids = [s.decode() for s in self.redis.smembers(index)]
        raws = self.redis.mget([self._key(sid) for sid in sids]) if sids else []
        gone = [sid for sid, raw in zip(sids, raws, strict=True) if isinstance(rec := _json(raw), dict) and doomed(rec)]
        if gone:
            pipe = self.redis.pipeline()
            pipe.delete(*[self._key(sid) for sid in gone])
            pipe.srem(index, *gone)
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
