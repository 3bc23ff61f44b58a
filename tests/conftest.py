"""Shared fixtures: a real Redis, isolated per test session by a claimed database number."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _claim_database() -> int:
    """Claim a Redis database (1..15) for this test session so parallel runs never share keys."""
    admin = redis.Redis.from_url(f"{REDIS_BASE}/0")
    owner = uuid.uuid4().hex
    for db in range(1, 16):
        if admin.set(f"connector-tests:db:{db}", owner, nx=True, ex=3600):
            return db
    raise RuntimeError("no free Redis database for tests (keys connector-tests:db:* on db 0)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    db = _claim_database()
    url = f"{REDIS_BASE}/{db}"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()
    redis.Redis.from_url(f"{REDIS_BASE}/0").delete(f"connector-tests:db:{db}")


@pytest.fixture
def redis_conn(redis_url: str) -> redis.Redis:
    """A clean database for each test."""
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    return conn


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module (tests/browser/support.py says where it is and how it starts)."""
    from playwright.sync_api import sync_playwright  # only when a browser test runs

    from tests.browser.support import ARGS, CHROMIUM, SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()
