"""Every conversion: numbers, prices, units both ways, options, booleans, dates, HTML, text, slugs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.transform.context import Catalog
from service.transform.convert import (
    DEFAULT_MEASUREMENT_FAMILIES,
    ConversionError,
    boolean_text,
    convert_units,
    cut,
    date_text,
    decimal_string,
    html_to_text,
    json_number,
    measure,
    metric_amount,
    metric_text,
    multi_labels,
    option_label,
    price_amount,
    slug,
    store_unit,
    text_value,
    to_decimal,
)

D = Decimal


WEIGHT = {"code": "weight", "type": "pim_catalog_metric", "metric_family": "Weight", "default_metric_unit": "KILOGRAM"}
LENGTH = {"code": "display_diagonal", "type": "pim_catalog_metric", "metric_family": "Length",
          "default_metric_unit": "INCH"}


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("800.0000", D("800.0000")), (5, D(5)), (0.5, D("0.5")), ("  12.50 ", D("12.50")), ("", None), (None, None),
])
def test_to_decimal(value, expected):
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True, "1,5"])
def test_to_decimal_refuses(value):
    with pytest.raises(ConversionError):
        to_decimal(value)


@pytest.mark.parametrize(("value", "expected"), [
    (D("800.0000"), "800"), (D("0.5330"), "0.533"), (D("1E+1"), "10"), (D("0"), "0"), (D("-0.00"), "0"),
    ("12.50", "12.5"), (D("0.000001"), "0.000001"), (D("1234567890.1200"), "1234567890.12"),
])
def test_decimal_string(value, expected):
    assert decimal_string(value) == expected


def test_json_number():
    assert json_number(D("899.00")) == 899 and isinstance(json_number(D("899.00")), int)
    assert json_number(D("0.53300")) == 0.533
    assert json_number(D("1.23456")) == 1.2346  # half up at 4 places
    assert json_number(D("0.00004")) == 0


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=6))
def test_decimal_string_round_trips(number):
    text = decimal_string(number)
    assert "E" not in text and "e" not in text
    assert Decimal(text) == number
    assert not ("." in text and text.endswith("0"))


# --- prices ------------------------------------------------------------------------------------

PRICES = [{"amount": "899.00", "currency": "EUR"}, {"amount": "999.50", "currency": "USD"}]


def test_price_in_the_store_currency():
    assert price_amount(PRICES, "pim_catalog_price_collection", "USD") == D("999.50")
    assert price_amount(PRICES, "pim_catalog_price_collection", "eur") == D("899.00")


def test_price_in_a_missing_currency():
    assert price_amount(PRICES, "pim_catalog_price_collection", "GBP") is None
    assert price_amount([{"amount": None, "currency": "USD"}], "pim_catalog_price_collection", "USD") is None
    assert price_amount([], "pim_catalog_price_collection", "USD") is None
    assert price_amount(None, "pim_catalog_price_collection", "USD") is None


def test_price_from_a_number():
    assert price_amount("12.5", "pim_catalog_number", "USD") == D("12.5")
    assert price_amount(7, "pim_catalog_number", "USD") == D(7)
    with pytest.raises(ConversionError):
        price_amount({"amount": 1}, "pim_catalog_price_collection", "USD")


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "source", "target", "expected"), [
    ("1000", "GRAM", "KILOGRAM", "1"),
    ("1", "KILOGRAM", "GRAM", "1000"),
    ("1", "POUND", "GRAM", "453.59237"),
    ("453.59237", "GRAM", "POUND", "1"),
    ("1", "POUND", "OUNCE", "16"),
    ("16", "OUNCE", "POUND", "1"),
    ("1", "OUNCE", "GRAM", "28.349523125"),
    ("28.349523125", "GRAM", "OUNCE", "1"),
    ("2.5", "KILOGRAM", "POUND", "5.511556554621939"),
    ("1", "KILOGRAM", "OUNCE", "35.27396194958041"),
    ("533", "GRAM", "KILOGRAM", "0.533"),
    ("1", "TON", "KILOGRAM", "1000"),
])
def test_weights_both_ways(catalog, amount, source, target, expected):
    family = catalog.measurement_families["Weight"]
    result = convert_units(D(amount), source, target, family)
    assert abs(result - D(expected)) < D("1e-12")


@pytest.mark.parametrize(("amount", "source", "target", "expected"), [
    ("1", "INCH", "CENTIMETER", "2.54"), ("2.54", "CENTIMETER", "INCH", "1"), ("10", "MILLIMETER", "CENTIMETER", "1"),
    ("1", "CENTIMETER", "MILLIMETER", "10"), ("12", "INCH", "FEET", "1"), ("1", "METER", "INCH", "39.37007874015748"),
])
def test_lengths_both_ways(catalog, amount, source, target, expected):
    result = convert_units(D(amount), source, target, catalog.measurement_families["Length"])
    assert abs(result - D(expected)) < D("1e-12")


UNITS = ["MILLIGRAM", "GRAM", "KILOGRAM", "TON", "OUNCE", "POUND"]


@given(st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=4), st.sampled_from(UNITS),
       st.sampled_from(UNITS))
def test_weight_round_trip(amount, source, target):
    family = DEFAULT_MEASUREMENT_FAMILIES["Weight"]
    there = convert_units(amount, source, target, family)
    back = convert_units(there, target, source, family)
    assert abs(back - amount) <= max(abs(amount), 1) * D("1e-25")


def test_affine_operations_follow_akeneo_order():
    # Akeneo's Temperature: CELSIUS converts to KELVIN (standard) with "add 273.15"; FAHRENHEIT with
    # "sub 32, div 1.8, add 273.15" applied in order, and the inverse runs backwards.
    family = {"code": "Temperature", "standard_unit_code": "KELVIN", "units": {
        "KELVIN": {"convert_from_standard": [{"operator": "mul", "value": "1"}]},
        "CELSIUS": {"convert_from_standard": [{"operator": "add", "value": "273.15"}]},
        "FAHRENHEIT": {"convert_from_standard": [{"operator": "sub", "value": "32"}, {"operator": "div", "value": "1.8"},
                                                 {"operator": "add", "value": "273.15"}]},
    }}
    assert convert_units(D("100"), "CELSIUS", "FAHRENHEIT", family) == D("212")
    assert convert_units(D("32"), "FAHRENHEIT", "CELSIUS", family) == D("0")
    assert convert_units(D("0"), "CELSIUS", "KELVIN", family) == D("273.15")


def test_unknown_units_and_operators():
    family = DEFAULT_MEASUREMENT_FAMILIES["Weight"]
    with pytest.raises(ConversionError, match="STONE"):
        convert_units(D(1), "STONE", "GRAM", family)
    bad = {"code": "X", "units": {"A": {"convert_from_standard": [{"operator": "pow", "value": "2"}]}, "B": {}}}
    with pytest.raises(ConversionError, match="pow"):
        convert_units(D(1), "A", "B", bad)


@pytest.mark.parametrize(("store", "unit"), [
    ("LBS", "POUND"), ("Ounces", "OUNCE"), ("KGS", "KILOGRAM"), ("Grams", "GRAM"), ("Tonnes", "TON"),
])
def test_store_weight_units(store, unit):
    assert store_unit(store, "weight") == unit


@pytest.mark.parametrize(("store", "unit"), [
    ("Inches", "INCH"), ("Centimeters", "CENTIMETER"), ("Millimeters", "MILLIMETER"), ("Meters", "METER"),
])
def test_store_dimension_units(store, unit):
    assert store_unit(store, "dimension") == unit


def test_unknown_store_unit():
    with pytest.raises(ConversionError, match="Stones"):
        store_unit("Stones", "weight")


@pytest.mark.parametrize(("data", "store", "expected"), [
    ({"amount": "533.0000", "unit": "GRAM"}, "KGS", "0.533"),
    ({"amount": "533.0000", "unit": "GRAM"}, "Grams", "533"),
    ({"amount": "1", "unit": "KILOGRAM"}, "LBS", "2.204622621848775807229337712"),
    ({"amount": "1", "unit": "KILOGRAM"}, "Ounces", "35.27396194958041291567580821"),
    ({"amount": "2", "unit": "POUND"}, "KGS", "0.90718474"),
    ({"amount": "8", "unit": "OUNCE"}, "Grams", "226.796185"),
    ({"amount": "3"}, "Grams", "3000"),  # no unit: the attribute's default unit (KILOGRAM)
])
def test_measure_weight_to_store_units(catalog, data, store, expected):
    assert abs(measure(data, WEIGHT, store, "weight", catalog) - D(expected)) < D("1e-20")


def test_measure_dimension_and_plain_number(catalog):
    assert measure({"amount": "10", "unit": "INCH"}, LENGTH, "Centimeters", "dimension", catalog) == D("25.4")
    assert measure({"amount": "254", "unit": "MILLIMETER"}, LENGTH, "Inches", "dimension", catalog) == D("10")
    assert measure("4.2", {"type": "pim_catalog_number"}, "KGS", "weight", catalog) == D("4.2")
    assert measure(None, WEIGHT, "KGS", "weight", catalog) is None
    assert measure({"amount": None, "unit": "GRAM"}, WEIGHT, "KGS", "weight", catalog) is None


def test_measure_refuses_the_wrong_family(catalog):
    with pytest.raises(ConversionError, match="Length measure cannot be a weight"):
        measure({"amount": "10", "unit": "INCH"}, LENGTH, "KGS", "weight", catalog)


def test_measurement_family_falls_back_to_akeneo_standard():
    empty = Catalog({}, {}, {}, {}, {})
    assert metric_amount({"amount": "1", "unit": "POUND"}, WEIGHT, "GRAM", empty) == D("453.59237")


def test_metric_text(catalog):
    assert metric_text({"amount": "10.0000", "unit": "CENTIMETER"}, LENGTH, catalog) == "10 cm"
    assert metric_text({"amount": "55", "unit": "INCH"}, LENGTH, catalog) == "55 in"
    assert metric_text({"amount": "1", "unit": "PARSEC"}, LENGTH, catalog) == "1 PARSEC"
    assert metric_text({"amount": None, "unit": "INCH"}, LENGTH, catalog) is None


# --- options, booleans, dates ------------------------------------------------------------------


def test_option_label_in_locale(catalog):
    assert option_label(catalog, "color", "blue", "en_US") == "Blue"
    assert option_label(catalog, "color", "blue", "fr_FR") == "Bleu"
    assert option_label(catalog, "color", "BLUE", "fr_FR") == "Bleu"  # codes compare case-insensitively


def test_option_label_falls_back_to_the_code(catalog):
    assert option_label(catalog, "color", "blue", "es_ES") == "blue"
    assert option_label(catalog, "color", "ultraviolet", "en_US") == "ultraviolet"
    assert option_label(catalog, "unloaded_attribute", "x", "en_US") == "x"


def test_multi_select_labels(catalog):
    assert multi_labels(catalog, "collection", ["summer_2016", "winter_2016"], "en_US") == ["Summer 2016", "Winter 2016"]
    attr = catalog.attributes["collection"]
    assert text_value(["summer_2016", "winter_2016"], attr, catalog, "fr_FR", "USD") == "Eté 2016, Hiver 2016"  # the PIM's own French labels
    assert text_value([], attr, catalog, "en_US", "USD") is None


def test_boolean_and_date():
    assert boolean_text(True) == "Yes" and boolean_text(False) == "No"
    with pytest.raises(ConversionError):
        boolean_text("true")
    assert date_text("2011-09-10T00:00:00+00:00") == "2011-09-10"
    assert date_text("2020-02-29") == "2020-02-29"
    with pytest.raises(ConversionError):
        date_text("2021-02-30")


# --- HTML and text -----------------------------------------------------------------------------


def test_html_to_text():
    assert html_to_text("<p>Fast &amp; <b>light</b></p><p>Second</p>") == "Fast & light Second"
    assert html_to_text("line<br/>break") == "line break"
    assert html_to_text("<script>x()</script>Kept") == "Kept"
    assert html_to_text("  plain\n text  ") == "plain text"
    assert html_to_text("5 &lt; 6") == "5 < 6"
    assert html_to_text("a < b and c > d") == "a < b and c > d"


def test_text_value_by_type(catalog):
    a = catalog.attributes
    assert text_value("<b>Bold</b> text", a["description"], catalog, "en_US", "USD") == "Bold text"
    assert text_value("<b>Bold</b> text", a["description"], catalog, "en_US", "USD", plain=False) == "<b>Bold</b> text"
    assert text_value(True, a["color_scanning"], catalog, "en_US", "USD") == "Yes"
    assert text_value("2011-09-10T00:00:00+00:00", a["release_date"], catalog, "en_US", "USD") == "2011-09-10"
    assert text_value("16000000", a["total_megapixels"], catalog, "en_US", "USD") == "16000000"
    assert text_value(5, a["optical_zoom"], catalog, "en_US", "USD") == "5"
    assert text_value("5.5000", a["optical_zoom"], catalog, "en_US", "USD") == "5.5"
    assert text_value({"amount": "533.0000", "unit": "GRAM"}, a["weight"], catalog, "en_US", "USD") == "533 g"
    assert text_value(PRICES, a["price"], catalog, "en_US", "USD") == "999.50 USD"
    assert text_value(PRICES, a["price"], catalog, "en_US", "GBP") is None
    assert text_value("blue", a["color"], catalog, "fr_FR", "USD") == "Bleu"
    assert text_value("  spaced \n name ", a["name"], catalog, "en_US", "USD") == "spaced name"
    with pytest.raises(ConversionError):
        text_value({"amount": 1}, a["name"], catalog, "en_US", "USD")


# --- slugs and cuts ----------------------------------------------------------------------------


def test_slug():
    assert slug("Fujifilm Z950EXR") == "fujifilm-z950exr"
    assert slug("Été 2016 — Größe M") == "ete-2016-groe-m"
    assert slug("日本") == ""
    assert slug("a" * 300, 120) == "a" * 120


@given(st.text())
def test_slug_is_url_safe(text):
    s = slug(text)
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in s)
    assert not s.startswith("-") and not s.endswith("-") and "--" not in s


def test_cut():
    assert cut("short", 10) == "short"
    assert cut("word " * 60, 250) == ("word " * 50).strip()
    assert len(cut("x" * 300, 250)) == 250
    long = "a" * 240 + " tail-that-is-long"
    assert cut(long, 250) == "a" * 240


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_cut_never_exceeds(text, limit):
    assert len(cut(text, limit)) <= limit
