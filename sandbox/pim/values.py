"""Validation of product values written through the sandbox admin routes, by attribute type, with the
messages Akeneo's updater gives (`Property "x" expects ...`). A value Akeneo would refuse (a price amount
"NaN", a metric without a unit, text that is not a string) is a 422, so the API never serves it."""

from __future__ import annotations

import re
from typing import Any

from .measurements import MEASUREMENT_FAMILIES
from .search import _php_type, is_numeric

UNITS = {family["code"].lower(): family for family in MEASUREMENT_FAMILIES}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)?)?$")


class ValueError422(Exception):
    """An invalid value: the message is Akeneo's."""


def _numeric(code: str, data: Any, attr: dict) -> None:
    if not is_numeric(data):
        raise ValueError422(f'Property "{code}" expects a numeric as data, "{_php_type(data)}" given.')
    if attr.get("decimals_allowed") is False and not re.fullmatch(r"\s*[+-]?[0-9]+(\.0*)?\s*", str(data)):
        raise ValueError422(f'The value "{data}" of "{code}" should not be a decimal.')
    if attr.get("negative_allowed") is False and str(data).strip().startswith("-") and float(data) != 0:
        raise ValueError422(f'The value "{data}" of "{code}" should not be negative.')


def _keys(code: str, data: Any, keys: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ValueError422(f'Property "{code}" expects an array as data, "{_php_type(data)}" given.')
    for key in keys:
        if key not in data:
            raise ValueError422(f'Property "{code}" expects an array with the key "{key}".')
    return data


def check_value(catalog: Any, attr: dict, data: Any) -> None:
    """Raise ValueError422 when `data` is not a valid value of `attr` (None means "remove")."""
    if data is None:
        return
    code, kind = attr["code"], attr["type"]
    if kind in ("pim_catalog_identifier", "pim_catalog_text", "pim_catalog_textarea", "pim_catalog_image",
                "pim_catalog_file"):
        if not isinstance(data, str):
            raise ValueError422(f'Property "{code}" expects a string as data, "{_php_type(data)}" given.')
        if attr.get("max_characters") and len(data) > attr["max_characters"]:
            raise ValueError422(f'The value of "{code}" is too long: {attr["max_characters"]} characters at most.')
    elif kind == "pim_catalog_boolean":
        if not isinstance(data, bool):
            raise ValueError422(f'Property "{code}" expects a boolean as data, "{_php_type(data)}" given.')
    elif kind == "pim_catalog_number":
        _numeric(code, data, attr)
    elif kind == "pim_catalog_date":
        if not isinstance(data, str) or not DATE_RE.match(data):
            shown = data if isinstance(data, str) else _php_type(data)
            raise ValueError422(f'Property "{code}" expects a string with the format "yyyy-mm-dd" as data, '
                                f'"{shown}" given.')
    elif kind == "pim_catalog_metric":
        metric = _keys(code, data, ("amount", "unit"))
        _numeric(code, metric["amount"], attr)
        family = UNITS.get(str(attr.get("metric_family") or "").lower())
        unit = metric["unit"]
        if not isinstance(unit, str) or (family is not None and unit not in family["units"]):
            raise ValueError422(f'Property "{code}" expects a valid unit code of the "{attr.get("metric_family")}" '
                                f'measurement family, "{unit}" given.')
    elif kind == "pim_catalog_price_collection":
        if not isinstance(data, list):
            raise ValueError422(f'Property "{code}" expects an array as data, "{_php_type(data)}" given.')
        currencies = {c["code"] for c in catalog.currencies if c["enabled"]}
        for price in data:
            price = _keys(code, price, ("amount", "currency"))
            if price["amount"] is not None:
                _numeric(code, price["amount"], attr)
            if price["currency"] not in currencies:
                raise ValueError422(f'Property "{code}" expects a valid currency. The currency does not exist, '
                                    f'"{price["currency"]}" given.')
    elif kind in ("pim_catalog_simpleselect", "pim_catalog_multiselect"):
        codes = data if kind == "pim_catalog_multiselect" else [data]
        if kind == "pim_catalog_multiselect" and not isinstance(data, list):
            raise ValueError422(f'Property "{code}" expects an array as data, "{_php_type(data)}" given.')
        known = {o["code"].lower() for o in catalog.options.get(code, [])}
        for option in codes:
            if not isinstance(option, str):
                raise ValueError422(f'Property "{code}" expects a string as data, "{_php_type(option)}" given.')
            if option.lower() not in known:
                raise ValueError422(f'Property "{code}" expects a valid code. The option "{option}" does not '
                                    f'exist.')
