"""The transform tests' fixtures (`data`, the whole icecat catalog, is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def catalog():
    """The icecat catalog's Catalog (attributes, families, ...), read from the sandbox PIM."""
    from tests.transform.icecat import icecat

    return icecat().catalog
