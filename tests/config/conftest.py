"""The configuration tests' fixtures (the sandboxes and the connector are in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def pim_url(pim):
    return pim[0]
