"""Akeneo's list-route query parameters: the `search=` filter JSON, the comma lists, the page size.

Guarantees: pure functions (no I/O, no state); the JSON is compact (`,`/`:` separators) so search URLs
stay short; `updated_since` speaks Akeneo's format, UTC with second precision; no `limit` built here
exceeds `MAX_PAGE_SIZE`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_PAGE_SIZE = 100  # Akeneo answers 422 above this


def condition(operator: str, value: Any = None, **options: Any) -> dict:
    """One filter condition, e.g. `condition(">=", 100, scope="ecommerce")` for completeness."""
    cond: dict[str, Any] = {"operator": operator}
    if value is not None:
        cond["value"] = value
    cond.update(options)
    return cond


def updated_since(when: dt.datetime) -> dict:
    """`updated > when`; Akeneo compares in UTC with second precision ("YYYY-MM-DD hh:mm:ss")."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return condition(">", when.strftime("%Y-%m-%d %H:%M:%S"))


def search_filter(**conditions: Any) -> str:
    """Build the `search=` JSON. Each keyword is a property; its value a condition dict, an
    `(operator, value)` / `(operator,)` tuple, or a list of those:

        search_filter(updated=updated_since(t), categories=("IN CHILDREN", ["master"]),
                      enabled=("=", True), parent=("EMPTY",))
    """

    def one(item: Any) -> dict:
        if isinstance(item, Mapping):
            return dict(item)
        if isinstance(item, tuple) and 1 <= len(item) <= 2:
            return condition(*item)
        raise TypeError(f"not a filter condition: {item!r}")

    search: dict[str, list[dict]] = {}
    for prop, value in conditions.items():
        items = value if isinstance(value, list) else [value]
        search[prop] = [one(item) for item in items]
    return json.dumps(search, separators=(",", ":"))


def search_param(search: str | Mapping | None) -> str | None:
    """A `search=` value given as JSON text (kept) or as a mapping (encoded like `search_filter`)."""
    if search is None or isinstance(search, str):
        return search
    return json.dumps(search, separators=(",", ":"))


def csv_param(values: str | Iterable[str] | None) -> str | None:
    """A `locales=` / `attributes=` value: a string is kept, an iterable joined with commas."""
    if values is None or isinstance(values, str):
        return values
    return ",".join(values)


def product_params(
    search: str | Mapping | None,
    scope: str | None,
    locales: str | Iterable[str] | None,
    attributes: str | Iterable[str] | None,
    page_size: int,
) -> dict[str, Any]:
    """The query of a products / product models list walked with search_after pagination."""
    return {
        "pagination_type": "search_after",
        "limit": min(page_size, MAX_PAGE_SIZE),
        "search": search_param(search),
        "scope": scope,
        "locales": csv_param(locales),
        "attributes": csv_param(attributes),
    }


__all__ = [
    "MAX_PAGE_SIZE",
    "condition",
    "csv_param",
    "product_params",
    "search_filter",
    "search_param",
    "updated_since",
]
