"""A sandbox PIM served over HTTP, with a client holding an API token (admin, the sandbox connection)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from sandbox.pim import create_app
from tests.servers import serve


@contextlib.contextmanager
def pim_api_client() -> Iterator[httpx.Client]:
    with serve(create_app()) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        token = client.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                            json={"grant_type": "password", "username": "admin", "password": "admin"}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client
