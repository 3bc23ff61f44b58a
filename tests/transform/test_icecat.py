"""The icecat catalog the transform tests share (tests/transform/icecat.py) is read whole from the sandbox PIM."""

from __future__ import annotations

from tests.transform.icecat import icecat


def test_icecat_is_read_whole():
    data = icecat()
    assert len(data.products) == 1239
    assert len(data.models) == 81
    assert len(data.catalog.families) == 17
    assert len(data.catalog.family_variants) == 9
