"""Per-tenant delta schedules: what is armed in RQ's scheduler for each tenant.

Keys:
- `connector:tenant:{t}:schedule` (hash): `every` (off | hourly | daily), `at` ("HH:MM" UTC; hourly uses
  the minutes), `generation` (bumped on every change: a tick of an older generation does nothing),
  `job_id` (the RQ job scheduled for the next tick), `next_at` (its time, epoch seconds), `last_tick`
  and `last_result` (what the latest tick did).
- `connector:schedules` (set): tenants with a schedule, so a worker can re-arm a lost tick.
"""

from __future__ import annotations

from typing import Any

import redis

PREFIX = "connector"
INDEX = f"{PREFIX}:schedules"


def _key(tenant: str) -> str:
    return f"{PREFIX}:tenant:{tenant}:schedule"


class ScheduleStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.redis = conn

    def get(self, tenant: str) -> dict[str, Any]:
        raw = {k.decode(): v.decode() for k, v in self.redis.hgetall(_key(tenant)).items()}
        doc: dict[str, Any] = {"every": raw.get("every", "off"), "at": raw.get("at", "00:00"),
                               "generation": int(raw.get("generation", 0)), "job_id": raw.get("job_id") or None,
                               "next_at": float(raw["next_at"]) if raw.get("next_at") else None}
        for extra in ("last_tick", "last_result"):
            if raw.get(extra):
                doc[extra] = raw[extra]
        return doc

    def change(self, tenant: str, every: str, at: str) -> int:
        """A new schedule (or off): bumps the generation so every tick armed before it is void."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(_key(tenant), "generation", 1)
        pipe.hset(_key(tenant), mapping={"every": every, "at": at})
        pipe.hdel(_key(tenant), "job_id", "next_at")
        if every == "off":
            pipe.srem(INDEX, tenant)
        else:
            pipe.sadd(INDEX, tenant)
        return int(pipe.execute()[0])

    def armed(self, tenant: str, generation: int, job_id: str, next_at: float) -> bool:
        """Record the next tick, unless the schedule changed meanwhile (then False: cancel that job)."""
        with self.redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(_key(tenant))
                current = pipe.hget(_key(tenant), "generation")
                if int(current or 0) != generation:
                    return False
                pipe.multi()
                pipe.hset(_key(tenant), mapping={"job_id": job_id, "next_at": repr(next_at)})
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def ticked(self, tenant: str, at: str, result: str) -> None:
        self.redis.hset(_key(tenant), mapping={"last_tick": at, "last_result": result})

    def tenants(self) -> list[str]:
        return sorted(m.decode() for m in self.redis.smembers(INDEX))

    def forget(self, tenant: str) -> None:
        self.redis.delete(_key(tenant))
        self.redis.srem(INDEX, tenant)
