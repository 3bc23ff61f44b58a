"""The RQ queues. Workers drain `events` before `imports`: a change event never waits behind a full import."""

from __future__ import annotations

import redis
from rq import Queue

EVENTS = "events"
IMPORTS = "imports"
QUEUE_NAMES = (EVENTS, IMPORTS)


def queue(conn: redis.Redis, name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=conn)


def queues(conn: redis.Redis) -> list[Queue]:
    return [Queue(name, connection=conn) for name in QUEUE_NAMES]
