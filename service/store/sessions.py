"""Server-side session records: what makes a signed session token revocable."""

from __future__ import annotations

import json
from typing import Any

import redis

PREFIX = "connector"


def session_key(sid: str) -> str:
    """The record of one session (also deleted by the tenant store when it deletes a tenant)."""
    return f"{PREFIX}:session:{sid}"


class SessionStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn

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

    def revoke_via(self, tenant: str, via: str) -> int:
        """Revoke the tenant's sessions obtained one way (e.g. every UI-extension session)."""
        index = self._tenant_index(tenant)
        sids = [s.decode() for s in self.redis.smembers(index)]
        raws = self.redis.mget([self._key(sid) for sid in sids]) if sids else []
        doomed = [sid for sid, raw in zip(sids, raws, strict=True) if raw and json.loads(raw).get("via") == via]
        if doomed:
            pipe = self.redis.pipeline()
            pipe.delete(*[self._key(sid) for sid in doomed])
            pipe.srem(index, *doomed)
            pipe.execute()
        return len(doomed)

    def revoke_user(self, tenant: str, user_id: str) -> int:
        return self._revoke_index(self._user_index(tenant, str(user_id)))
