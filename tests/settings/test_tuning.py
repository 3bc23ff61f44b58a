"""The workers' tuning variables: checked once at start with the other settings, each in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import KNOBS, SettingsError, knob, load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = {"SECRET_KEY": "tuning-tests-secret-key-0123456789"}


def test_every_tuning_variable_is_in_the_readme_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for spec in KNOBS.values():
        assert f"| `{spec.env}` |" in readme and f"`{spec.kind(spec.default):g}`" in readme


@pytest.mark.parametrize("name, value", [("CONNECTOR_IMPORT_PAGE_SIZE", "101"), ("CONNECTOR_IMPORT_PAGE_SIZE", "ten"),
                                         ("CONNECTOR_BC_TIMEOUT", "0"), ("CONNECTOR_EVENTS_LINGER", "-1")])
def test_a_bad_tuning_value_stops_the_start_naming_the_variable(tmp_path, name, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "DATA_DIR": str(tmp_path), name: value})
    assert str(caught.value).startswith(f"{name}: ")


def test_unset_means_the_default_and_a_set_value_is_read():
    assert knob("CONNECTOR_IMPORT_PAGE_SIZE", {}) == 100
    assert knob("CONNECTOR_IMPORT_PAGE_SIZE", {"CONNECTOR_IMPORT_PAGE_SIZE": "10"}) == 10
    assert knob("CONNECTOR_DELTA_MARGIN", {"CONNECTOR_DELTA_MARGIN": "0"}) == 0.0
