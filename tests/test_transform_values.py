"""Reading a value for the tenant's locale and channel, as Akeneo stores them."""

from __future__ import annotations

from service.transform.values import is_empty, merge_values, read_value

LOCALIZABLE_SCOPABLE = {"code": "description", "localizable": True, "scopable": True}
LOCALIZABLE = {"code": "erp_name", "localizable": True, "scopable": False}
SCOPABLE = {"code": "release_date", "localizable": False, "scopable": True}
GLOBAL = {"code": "name", "localizable": False, "scopable": False}


def v(locale, scope, data):
    return {"locale": locale, "scope": scope, "data": data}


VALUES = {
    "description": [v("en_US", "ecommerce", "EN ecommerce"), v("en_US", "print", "EN print"),
                    v("fr_FR", "ecommerce", "FR ecommerce")],
    "erp_name": [v("en_US", None, "ERP en"), v("de_DE", None, "ERP de")],
    "release_date": [v(None, "ecommerce", "2011-09-10T00:00:00+00:00")],
    "name": [v(None, None, "Camera")],
    "empty": [v(None, None, ""), v(None, None, [])],
}


def test_localizable_and_scopable():
    assert read_value(VALUES, "description", "en_US", "ecommerce", LOCALIZABLE_SCOPABLE) == "EN ecommerce"
    assert read_value(VALUES, "description", "en_US", "print", LOCALIZABLE_SCOPABLE) == "EN print"
    assert read_value(VALUES, "description", "fr_FR", "ecommerce", LOCALIZABLE_SCOPABLE) == "FR ecommerce"


def test_values_only_in_other_locales_or_channels_are_missing():
    assert read_value(VALUES, "description", "de_DE", "ecommerce", LOCALIZABLE_SCOPABLE) is None
    assert read_value(VALUES, "description", "fr_FR", "print", LOCALIZABLE_SCOPABLE) is None
    assert read_value(VALUES, "description", "en_US", "mobile", LOCALIZABLE_SCOPABLE) is None
    assert read_value(VALUES, "erp_name", "fr_FR", "ecommerce", LOCALIZABLE) is None
    assert read_value(VALUES, "release_date", "en_US", "mobile", SCOPABLE) is None


def test_null_locale_and_scope():
    assert read_value(VALUES, "erp_name", "de_DE", "print", LOCALIZABLE) == "ERP de"
    assert read_value(VALUES, "release_date", "fr_FR", "ecommerce", SCOPABLE) == "2011-09-10T00:00:00+00:00"
    assert read_value(VALUES, "name", "fr_FR", "print", GLOBAL) == "Camera"


def test_without_attribute_flags_the_most_specific_entry_wins():
    values = {"x": [v(None, None, "global"), v("en_US", None, "english"), v("en_US", "ecommerce", "exact"),
                    v(None, "ecommerce", "channel")]}
    assert read_value(values, "x", "en_US", "ecommerce") == "exact"
    assert read_value(values, "x", "en_US", "print") == "english"
    assert read_value(values, "x", "fr_FR", "ecommerce") == "channel"
    assert read_value(values, "x", "fr_FR", "print") == "global"


def test_flags_that_disagree_with_the_data_still_find_it():
    # A value stored before the attribute became localizable keeps locale null: Akeneo would show it.
    values = {"name": [v(None, None, "old global")]}
    assert read_value(values, "name", "en_US", "ecommerce", {"localizable": True, "scopable": True}) == "old global"


def test_codes_compare_case_insensitively():
    values = {"x": [v("en_US", "Ecommerce", "yes")]}
    assert read_value(values, "x", "en_us", "ecommerce", LOCALIZABLE_SCOPABLE) == "yes"


def test_missing_and_empty():
    assert read_value(VALUES, "nope", "en_US", "ecommerce", GLOBAL) is None
    assert read_value(None, "name", "en_US", "ecommerce", GLOBAL) is None
    assert read_value(VALUES, "empty", "en_US", "ecommerce", GLOBAL) is None
    assert read_value({"n": [v(None, None, 0)]}, "n", "en_US", "e", GLOBAL) == 0  # zero is a value
    assert read_value({"b": [v(None, None, False)]}, "b", "en_US", "e", GLOBAL) is False
    assert is_empty(None) and is_empty("  ") and is_empty([]) and is_empty({})
    assert not is_empty(0) and not is_empty(False) and not is_empty("0")


def test_merge_values_nearest_level_wins():
    leaf = {"sku": [v(None, None, "1")], "color": [v(None, None, "red")]}
    sub = {"color": [v(None, None, "blue")], "variation_name": [v("en_US", None, "Blue")]}
    root = {"name": [v(None, None, "Jacket")], "color": [v(None, None, "green")]}
    merged = merge_values(leaf, sub, root)
    assert merged["color"][0]["data"] == "red"
    assert merged["variation_name"][0]["data"] == "Blue"
    assert merged["name"][0]["data"] == "Jacket"
    assert merge_values(None, root)["name"][0]["data"] == "Jacket"
