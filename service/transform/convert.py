"""One Akeneo value to what a BigCommerce field takes. Pure functions; a value that cannot be converted
raises ConversionError with a message a merchant can act on."""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

from service.transform import attribute_types as t
from service.transform.catalog import Catalog

_DECIMAL = Context(prec=40)  # unit factors like 0.028349523125 need more than float precision


class ConversionError(ValueError):
    """A value that is present but cannot become what the field needs."""


def well_formed(data: Any) -> bool:
    """No lone surrogate anywhere in `data`: JSON may carry "\\ud800", UTF-8 (Redis, BigCommerce) cannot."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(data, Mapping):
        return all(well_formed(k) and well_formed(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return all(well_formed(v) for v in data)
    return True


# --- numbers ------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """An Akeneo number (int, float or decimal string) as a Decimal; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ConversionError(f"{value!r} is not a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ConversionError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ConversionError(f"{value!r} is not a finite number")
    return number


def decimal_string(number: Decimal | int | float | str) -> str:
    """A plain decimal string without exponent or trailing zeros: 800.0000 -> "800", 1E+1 -> "10"."""
    d = number if isinstance(number, Decimal) else to_decimal(number)
    if d is None:
        return ""
    if d == 0:
        return "0"
    text = format(d.normalize(_DECIMAL), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def json_number(number: Decimal, places: int = 4) -> int | float:
    """A JSON number for BigCommerce (which takes doubles), rounded half up to `places` decimals."""
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_DECIMAL)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)


# --- prices -------------------------------------------------------------------------------------


def price_amount(data: Any, attribute_type: str | None, currency: str) -> Decimal | None:
    """The amount in `currency` from a price collection ([{amount, currency}]) or a plain number;
    None when the collection has no amount in that currency."""
    if data is None:
        return None
    if attribute_type == t.PRICE or isinstance(data, list):
        if not isinstance(data, list):
            raise ConversionError("a price collection must be a list of {amount, currency}")
        for price in data:
            if isinstance(price, Mapping) and str(price.get("currency", "")).upper() == currency.upper():
                return to_decimal(price.get("amount"))
        return None
    return to_decimal(data)


# --- measures -----------------------------------------------------------------------------------

# BigCommerce's unit names (GET /v2/store) -> Akeneo unit codes.
STORE_WEIGHT_UNITS = {
    "lbs": "POUND", "lb": "POUND", "pounds": "POUND",
    "ounces": "OUNCE", "oz": "OUNCE",
    "kgs": "KILOGRAM", "kg": "KILOGRAM", "kilograms": "KILOGRAM",
    "grams": "GRAM", "g": "GRAM",
    "tonnes": "TON", "tons": "TON",
}
STORE_DIMENSION_UNITS = {
    "inches": "INCH", "in": "INCH",
    "centimeters": "CENTIMETER", "centimetres": "CENTIMETER", "cm": "CENTIMETER",
    "millimeters": "MILLIMETER", "millimetres": "MILLIMETER", "mm": "MILLIMETER",
    "meters": "METER", "metres": "METER", "m": "METER",
    "feet": "FEET", "ft": "FEET",
    "yards": "YARD", "yd": "YARD",
}


def _family(code: str, standard: str, units: dict[str, tuple[str, str]]) -> dict:
    return {
        "code": code,
        "standard_unit_code": standard,
        "units": {
            unit: {"code": unit, "symbol": symbol, "convert_from_standard": [{"operator": "mul", "value": factor}]}
            for unit, (factor, symbol) in units.items()
        },
    }


# Akeneo's standard definitions, used only when the PIM's own measurement families lack one.
DEFAULT_MEASUREMENT_FAMILIES = {
    "Weight": _family("Weight", "KILOGRAM", {
        "MILLIGRAM": ("0.000001", "mg"), "GRAM": ("0.001", "g"), "KILOGRAM": ("1", "kg"), "TON": ("1000", "t"),
        "OUNCE": ("0.028349523125", "oz"), "POUND": ("0.45359237", "lb"),
    }),
    "Length": _family("Length", "METER", {
        "MILLIMETER": ("0.001", "mm"), "CENTIMETER": ("0.01", "cm"), "DECIMETER": ("0.1", "dm"),
        "METER": ("1", "m"), "KILOMETER": ("1000", "km"), "INCH": ("0.0254", "in"), "FEET": ("0.3048", "ft"),
        "YARD": ("0.9144", "yd"),
    }),
}


def measurement_family(catalog: Catalog, code: str | None) -> dict | None:
    """The PIM's measurement family `code` (case-insensitive), else Akeneo's standard one."""
    if not code:
        return None
    families = catalog.measurement_families
    found = families.get(code) or next((f for c, f in families.items() if c.lower() == code.lower()), None)
    if found is None:
        found = next((f for c, f in DEFAULT_MEASUREMENT_FAMILIES.items() if c.lower() == code.lower()), None)
    return found


def _unit(family: Mapping[str, Any], unit: str) -> Mapping[str, Any]:
    units = family.get("units") or {}
    found = units.get(unit) or next((u for c, u in units.items() if c.lower() == unit.lower()), None)
    if found is None:
        raise ConversionError(f"unit {unit} is not in the measurement family {family.get('code')}")
    return found


def _apply(value: Decimal, operator: str, operand: Decimal, *, reverse: bool) -> Decimal:
    op = operator.lower()
    if reverse:
        op = {"mul": "div", "div": "mul", "add": "sub", "sub": "add"}.get(op, op)
    if op == "mul":
        return _DECIMAL.multiply(value, operand)
    if op == "div":
        if operand == 0:
            raise ConversionError("a unit conversion divides by zero")
        return _DECIMAL.divide(value, operand)
    if op == "add":
        return _DECIMAL.add(value, operand)
    if op == "sub":
        return _DECIMAL.subtract(value, operand)
    raise ConversionError(f"unknown conversion operator {operator!r}")


def _operations(unit: Mapping[str, Any]) -> list[tuple[str, Decimal]]:
    ops = []
    for step in unit.get("convert_from_standard") or []:
        operand = to_decimal(step.get("value"))
        if operand is None:
            raise ConversionError(f"unit {unit.get('code')} has a conversion step without a value")
        ops.append((str(step.get("operator", "")), operand))
    return ops


def convert_units(amount: Decimal, from_unit: str, to_unit: str, family: Mapping[str, Any]) -> Decimal:
    """Akeneo's conversion: a unit's `convert_from_standard` operations, applied in order, turn a value
    in that unit into the standard unit; the target unit's operations, reversed and inverted, turn
    the standard value into the target unit."""
    if from_unit.lower() == to_unit.lower():
        return amount
    standard = amount
    for operator, operand in _operations(_unit(family, from_unit)):
        standard = _apply(standard, operator, operand, reverse=False)
    result = standard
    for operator, operand in reversed(_operations(_unit(family, to_unit))):
        result = _apply(result, operator, operand, reverse=True)
    return result


def metric_amount(data: Any, attribute: Mapping[str, Any], target_unit: str, catalog: Catalog) -> Decimal | None:
    """A metric value ({amount, unit}) in `target_unit` (an Akeneo unit code of the attribute's family)."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ConversionError("a metric value must be {amount, unit}")
    amount = to_decimal(data.get("amount"))
    if amount is None:
        return None
    unit = data.get("unit") or attribute.get("default_metric_unit")
    if not unit:
        raise ConversionError("the metric value has no unit")
    family = measurement_family(catalog, attribute.get("metric_family"))
    if family is None:
        raise ConversionError(f"the measurement family {attribute.get('metric_family')} is unknown")
    return convert_units(amount, str(unit), target_unit, family)


def store_unit(store_units: str, kind: str) -> str:
    """BigCommerce's unit name ("LBS", "Centimeters") as an Akeneo unit code ("POUND", "CENTIMETER")."""
    table = STORE_WEIGHT_UNITS if kind == "weight" else STORE_DIMENSION_UNITS
    unit = table.get(store_units.strip().lower())
    if unit is None:
        raise ConversionError(f"the store's {kind} unit {store_units!r} is not one the connector knows")
    return unit


def measure(data: Any, attribute: Mapping[str, Any], store_units: str, kind: str, catalog: Catalog) -> Decimal | None:
    """A weight or dimension in the store's unit: a metric converted through its measurement family,
    or a plain number taken as already in the store's unit."""
    if data is None:
        return None
    if attribute.get("type") == t.METRIC or isinstance(data, Mapping):
        family = measurement_family(catalog, attribute.get("metric_family"))
        expected = "Weight" if kind == "weight" else "Length"
        if family is not None and str(family.get("code", "")).lower() != expected.lower():
            raise ConversionError(
                f"a {attribute.get('metric_family')} measure cannot be a {kind} (needs {expected})"
            )
        return metric_amount(data, attribute, store_unit(store_units, kind), catalog)
    return to_decimal(data)


def metric_text(data: Any, attribute: Mapping[str, Any], catalog: Catalog) -> str | None:
    """A metric as a person reads it: "10 cm" (the unit's symbol, else its code)."""
    if not isinstance(data, Mapping):
        return None
    amount = to_decimal(data.get("amount"))
    if amount is None:
        return None
    unit = str(data.get("unit") or attribute.get("default_metric_unit") or "")
    symbol = unit
    family = measurement_family(catalog, attribute.get("metric_family"))
    if family is not None and unit:
        try:
            symbol = str(_unit(family, unit).get("symbol") or unit)
        except ConversionError:
            symbol = unit
    return f"{decimal_string(amount)} {symbol}".strip()


# --- options, booleans, dates -------------------------------------------------------------------


def option_label(catalog: Catalog, attribute: str, code: Any, locale: str) -> str:
    """A select option's label in the locale; its code when the label (or the option) is missing."""
    code = str(code)
    option = (catalog.options.get(attribute) or {}).get(code.lower())
    if option:
        label = (option.get("labels") or {}).get(locale)
        if label and str(label).strip():
            return str(label).strip()
    return code


def option_sort_key(catalog: Catalog, attribute: str, code: Any) -> tuple[int, str]:
    option = (catalog.options.get(attribute) or {}).get(str(code).lower()) or {}
    order = option.get("sort_order")
    return (order if isinstance(order, int) else 1 << 30, str(code).lower())


def multi_labels(catalog: Catalog, attribute: str, codes: Any, locale: str) -> list[str]:
    if not isinstance(codes, list):
        codes = [codes]
    return [option_label(catalog, attribute, c, locale) for c in codes if c is not None and str(c) != ""]


def boolean_text(data: Any) -> str:
    if not isinstance(data, bool):
        raise ConversionError(f"{data!r} is not Yes/No")
    return "Yes" if data else "No"


def date_text(data: Any) -> str:
    """An Akeneo date ("2011-09-10T00:00:00+00:00" or "2011-09-10") as "2011-09-10"."""
    text = str(data).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise ConversionError(f"{text!r} is not a date") from exc


# --- HTML and text ------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "table", "section", "article", "blockquote", "pre", "hr", "dd", "dt"}
_SKIP_TAGS = {"script", "style", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Plain text for the fields where BigCommerce wants text: tags dropped (block tags become spaces),
    entities decoded, whitespace collapsed."""
    if "<" not in value and "&" not in value:
        return " ".join(value.split())
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return " ".join(html.unescape("".join(parser.parts)).split())


_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slug(text: str, max_length: int = 120) -> str:
    """An ASCII URL slug: accents folded, everything else a single dash."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _SLUG_STRIP.sub("-", folded).strip("-")[:max_length].strip("-")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near, without trailing spaces."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if space >= limit * 0.8:
        head = head[:space]
    return head.rstrip()


# --- any value as text --------------------------------------------------------------------------


def text_value(
    data: Any,
    attribute: Mapping[str, Any],
    catalog: Catalog,
    locale: str,
    currency: str,
    *,
    plain: bool = True,
    joiner: str = ", ",
) -> str | None:
    """A value as one string (custom fields, keywords, titles, codes): options as labels in the locale,
    multi selects joined, booleans Yes/No, dates ISO, numbers as decimal strings, metrics "10 cm",
    prices "12.50 USD" in the store currency. Only textareas hold HTML (issue 19, defect 12): as plain
    text by default, kept when `plain=False` (the store field is HTML). Every other value is text, never
    parsed ("Tote bag <Limited> edition" stays that); for an HTML field (`plain=False`) it is
    HTML-escaped so the store shows it as written.
    None when there is nothing to show (an empty value, a price without the store currency)."""
    text = _text_value(data, attribute, catalog, locale, currency, plain=plain, joiner=joiner)
    if text is not None and not plain and attribute.get("type") != t.TEXTAREA:
        text = html.escape(text, quote=False)  # element content: &, < and > are enough
    return text


def _text_value(data: Any, attribute: Mapping[str, Any], catalog: Catalog, locale: str, currency: str, *,
                plain: bool, joiner: str) -> str | None:
    if data is None:
        return None
    if not well_formed(data):
        raise ConversionError("the value holds broken characters (not valid text)")
    kind = attribute.get("type")
    code = str(attribute.get("code", ""))
    if kind in t.SELECTS:
        if isinstance(data, list):
            return joiner.join(multi_labels(catalog, code, data, locale)) or None
        return option_label(catalog, code, data, locale)
    if kind in t.MULTISELECTS:
        return joiner.join(multi_labels(catalog, code, data, locale)) or None
    if kind == t.BOOLEAN:
        return boolean_text(data)
    if kind == t.DATE:
        return date_text(data)
    if kind == t.NUMBER:
        number = to_decimal(data)
        return None if number is None else decimal_string(number)
    if kind == t.METRIC:
        return metric_text(data, attribute, catalog)
    if kind == t.PRICE:
        amount = price_amount(data, kind, currency)
        if amount is None:
            return None
        return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} {currency.upper()}"
    if isinstance(data, Mapping | list):
        raise ConversionError(f"a {kind} value cannot be shown as text")
    if isinstance(data, bool):
        return boolean_text(data)
    text = str(data)
    if kind != t.TEXTAREA:
        return " ".join(text.split()) or None  # text, identifiers: never parsed as HTML
    # HTML kept where BigCommerce renders it, as text elsewhere (meta fields, names, keywords)
    return (text.strip() if not plain else html_to_text(text)) or None


def join_nonempty(parts: Iterable[str | None], joiner: str = ", ") -> str:
    return joiner.join(p for p in parts if p)
