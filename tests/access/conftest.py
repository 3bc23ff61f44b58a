"""The access tests' sandbox PIM: the default one (its own API client, users and sessions), not the
configuration tests' `pim` of tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def pim():
    """(base url, app)"""
    import sandbox.pim
    from tests.servers import serve

    app = sandbox.pim.create_app()
    with serve(app) as base:
        yield base, app
