"""Shared fixtures: a real Redis, isolated per test session by a claimed database number; the sandboxes and
the connector that several folders configure the same way; the icecat catalog. A folder's own conftest.py
or a module may declare a fixture of the same name set up otherwise: the nearest one wins."""

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


# --- a connector configured through its API against both sandboxes (tests/config_env.py) ------------------
# Modules that need these set up otherwise declare their own fixture of the same name, which wins there.


@pytest.fixture(scope="module")
def pim():
    """The sandbox PIM with the configuration tests' API client and user: (url, app)."""
    from tests.config_env import pim_sandbox
    from tests.servers import serve

    app = pim_sandbox()
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def bc():
    """The sandbox BigCommerce with the configuration tests' store and tokens: (url, app)."""
    from tests.config_env import bc_sandbox_app
    from tests.servers import serve

    app = bc_sandbox_app()
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url, bc):
    """The connector over real HTTP, its BigCommerce API on the `bc` sandbox: (app, url)."""
    from tests.config_env import running_connector

    with running_connector(tmp_path_factory.mktemp("service"), redis_url, bc[0]) as running:
        yield running


@pytest.fixture
def client(service, redis_conn):
    """A session on a new tenant of `service`, speaking HTTP (tests/config_env.Client)."""
    from tests.config_env import client_of

    with client_of(service) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    """The icecat catalog read from the sandbox PIM (tests/transform/icecat.py)."""
    from tests.transform.icecat import icecat

    return icecat()
