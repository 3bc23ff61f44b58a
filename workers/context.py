"""What a job needs (settings, Redis, the store), built once per worker process from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import redis
from rq import get_current_job

from service.crypto import SecretBox
from service.settings import Settings, load_settings
from service.store import Store


@dataclass
class JobContext:
    settings: Settings
    redis: redis.Redis
    store: Store


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return load_settings()


def job_context() -> JobContext:
    """The running job's connection is the worker's; the store wraps it with the configured keys."""
    settings = _settings()
    job = get_current_job()
    conn = job.connection if job is not None else redis.Redis.from_url(settings.redis_url or "")
    box = SecretBox(settings.secret_key, settings.secret_key_fallbacks)
    return JobContext(settings=settings, redis=conn, store=Store(conn, box))
