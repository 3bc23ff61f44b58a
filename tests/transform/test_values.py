"""Reading a value for the tenant's locale and channel, as Akeneo stores them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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


LOCALES = st.sampled_from([None, "en_US", "fr_FR", "de_DE"])
SCOPES = st.sampled_from([None, "ecommerce", "print"])
ENTRIES = st.lists(st.tuples(LOCALES, SCOPES, st.text(min_size=1, max_size=5)), max_size=8)
FLAGS = st.one_of(st.none(), st.fixed_dictionaries({"localizable": st.booleans(), "scopable": st.booleans()}))


@given(ENTRIES, FLAGS, st.sampled_from(["en_US", "fr_FR"]), st.sampled_from(["ecommerce", "print"]))
def test_never_reads_another_locale_or_channel(entries, flags, locale, channel):
    values = {"x": [v(loc, scope, f"{loc}|{scope}|{data}") for loc, scope, data in entries]}
    found = read_value(values, "x", locale, channel, flags)
    matching = [e for e in values["x"] if e["locale"] in (None, locale) and e["scope"] in (None, channel)]
    if found is None:
        assert matching == [] or all(not e["data"].strip() for e in matching)
    else:
        loc, scope, _ = found.split("|", 2)
        assert loc in ("None", locale) and scope in ("None", channel)
        exact = [e for e in matching if e["locale"] == locale and e["scope"] == channel and e["data"].strip()]
        if exact and (flags is None or (flags["localizable"] and flags["scopable"])):
            assert (loc, scope) == (locale, channel)  # the most specific entry wins
