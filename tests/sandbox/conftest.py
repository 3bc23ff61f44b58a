"""The sandbox tests' fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def base_url(app):
    """The module's own `app` fixture (a sandbox app) served over real HTTP."""
    from tests.servers import serve

    with serve(app) as url:
        yield url
