"""The `search=` JSON filters of the product and product-model lists, with Akeneo's error messages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import strictjson
from .state import PimState

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

PRODUCT_FIELDS = {"uuid", "identifier", "family", "categories", "completeness", "created", "updated",
                  "enabled", "groups", "parent", "quality_score"}
MODEL_FIELDS = {"identifier", "family", "categories", "completeness", "created", "updated", "parent",
                "quality_score"}
DATE_OPERATORS = {"=", "!=", "<", ">", "BETWEEN", "NOT BETWEEN", "SINCE LAST N DAYS", "EMPTY", "NOT EMPTY"}


class SearchError(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


Predicate = Callable[[dict], bool]


def parse_search(raw: str | None, *, invalid_json_status: int) -> dict[str, list[dict]]:
    if raw is None:
        return {}
    try:
        search = strictjson.loads(raw, finite=False)  # PHP's json_decode
    except ValueError:
        search = None
    if search is None:
        raise SearchError("Search query parameter should be valid JSON.", invalid_json_status)
    if not isinstance(search, dict):
        if isinstance(search, list) and not search:
            return {}  # PHP decodes `[]` to an empty array: no filter
        raise SearchError(f'Search query parameter has to be an array, "{_php_type(search)}" given.')
    for key, filters in search.items():
        if not isinstance(filters, list) or not filters or not isinstance(filters[0], dict):
            raise SearchError(
                f'Structure of filter "{key}" should respect this structure: '
                f'{{"{key}":[{{"operator": "my_operator", "value": "my_value"}}]}}'
            )
        for flt in filters:
            if not isinstance(flt, dict) or "operator" not in flt or flt["operator"] is None:
                raise SearchError(f'Operator is missing for the property "{key}".')
            if not isinstance(flt["operator"], str):
                raise SearchError(f'Operator has to be a string, "{_php_type(flt["operator"])}" given.')
    return search


def _php_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "NULL"
    return "array"


def _unsupported(field: str, operator: str) -> SearchError:
    return SearchError(f'Filter on property "{field}" is not supported or does not support operator "{operator}"')


def _parse_date(field: str, value: Any) -> datetime:
    """A "yyyy-mm-dd H:i:s" date; like PHP's DateTime::createFromFormat checked for warnings, an impossible
    date ("2020-13-45 99:99:99") is refused rather than rolled over."""
    try:
        if isinstance(value, str) and DATE_RE.match(value):
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise SearchError(
        f'Property "{field}" expects a string with the format "yyyy-mm-dd H:i:s" as data, '
        f'"{value if isinstance(value, str) else json.dumps(value)}" given.'
    )


# PHP's is_numeric(): ASCII digits, optional sign, fraction and exponent, leading/trailing whitespace
NUMERIC_RE = re.compile(r"^[ \t\n\r\v\f]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\v\f]*$")


def is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and NUMERIC_RE.match(value) is not None


def _date_predicate(state: PimState, field: str, flt: dict, getter: Callable[[dict], datetime]) -> Predicate:
    op, value = flt["operator"], flt.get("value")
    if op not in DATE_OPERATORS:
        raise _unsupported(field, op)
    if op in ("BETWEEN", "NOT BETWEEN"):
        if not isinstance(value, list) or len(value) != 2:
            raise SearchError(f'Property "{field}" expects an array with 2 elements, "{json.dumps(value)}" given.')
        low, high = _parse_date(field, value[0]), _parse_date(field, value[1])
        if op == "BETWEEN":
            return lambda e: low <= getter(e) <= high
        return lambda e: not (low <= getter(e) <= high)
    if op == "SINCE LAST N DAYS":
        if not isinstance(value, int) or isinstance(value, bool):
            raise SearchError(f'Property "{field}" expects an integer as data, "{json.dumps(value)}" given.')
        try:
            since = state.now_dt() - timedelta(days=value)
        except (OverflowError, ValueError):  # before year 1 or after 9999: no date Akeneo can build
            raise SearchError(
                f'Property "{field}" expects a number of days giving a valid date as data, "{value}" given.'
            ) from None
        return lambda e: getter(e) >= since
    if op in ("EMPTY", "NOT EMPTY"):
        return lambda e: op == "NOT EMPTY"
    moment = _parse_date(field, value)
    # Akeneo compares at second precision
    compare = {
        "=": lambda d: d.replace(microsecond=0) == moment,
        "!=": lambda d: d.replace(microsecond=0) != moment,
        "<": lambda d: d < moment,
        ">": lambda d: d.replace(microsecond=0) > moment,
    }[op]
    return lambda e: compare(getter(e))


def _codes(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SearchError(f'Property "{field}" expects an array as data, "{_php_type(value)}" given.')
    return value


def _categories_predicate(state: PimState, flt: dict, getter: Callable[[dict], list[str]]) -> Predicate:
    store = state.store
    op = flt["operator"]
    if op == "UNCLASSIFIED":
        return lambda e: not getter(e)
    if op not in ("IN", "NOT IN", "IN CHILDREN", "NOT IN CHILDREN", "IN OR UNCLASSIFIED"):
        raise _unsupported("categories", op)
    codes = _codes("categories", flt.get("value"))
    missing = [c for c in codes if c.strip().lower() not in store.categories]
    if missing:
        if len(missing) > 1:
            raise SearchError(f'Categories "{", ".join(missing)}" do not exist.')
        raise SearchError(f'Category "{missing[0]}" does not exist.')
    wanted: set[str] = set()
    for code in codes:
        wanted |= store.category_descendants(code.strip()) if "CHILDREN" in op else {code.strip().lower()}

    def hit(e: dict) -> bool:
        return any(c.lower() in wanted for c in getter(e))

    if op.startswith("NOT"):
        return lambda e: not hit(e)
    if op == "IN OR UNCLASSIFIED":
        return lambda e: hit(e) or not getter(e)
    return hit


def _completeness_predicate(state: PimState, flt: dict) -> Predicate:
    store = state.store
    op, value, scope = flt["operator"], flt.get("value"), flt.get("scope")
    simple = {"=": int.__eq__, "!=": int.__ne__, "<": int.__lt__, "<=": int.__le__, ">": int.__gt__,
              ">=": int.__ge__}
    all_locales = {"GREATER THAN ON ALL LOCALES": int.__gt__, "GREATER OR EQUALS THAN ON ALL LOCALES": int.__ge__,
                   "LOWER THAN ON ALL LOCALES": int.__lt__, "LOWER OR EQUALS THAN ON ALL LOCALES": int.__le__}
    if op not in simple and op not in all_locales:
        raise _unsupported("completeness", op)
    if not isinstance(scope, str):
        raise SearchError('Property "completeness" expects a valid scope.')
    channel = store.channels.get(scope.lower())
    if channel is None:
        raise SearchError(f'Scope "{scope}" does not exist.')
    if not isinstance(value, int) or isinstance(value, bool):
        raise SearchError(f'Property "completeness" expects a numeric as data, "{_php_type(value)}" given.')
    locales = flt.get("locales")
    if locales is not None and (not isinstance(locales, list) or not all(isinstance(x, str) for x in locales)):
        given = _php_type(locales) if not isinstance(locales, list) else "array"
        raise SearchError(f'Property "completeness" expects an array of locale codes as "locales", "{given}" given.')
    if op in all_locales and not locales:
        raise SearchError(f'Property "completeness" expects a list of locales with the operator "{op}".')
    locales = locales or channel["locales"]
    compare = simple.get(op) or all_locales[op]

    def check(e: dict) -> bool:
        scores = store.completeness(e)
        found = [scores[(channel["code"], loc)] for loc in locales if (channel["code"], loc) in scores]
        if not found:
            return False
        return all(compare(s, value) for s in found) if op in all_locales else any(compare(s, value) for s in found)

    return check


def _text_predicate(field: str, flt: dict, getter: Callable[[dict], str]) -> Predicate:
    op, value = flt["operator"], flt.get("value")
    ops: dict[str, Callable[[str], bool]]
    if op in ("IN", "NOT IN"):
        wanted = {v.lower() for v in _codes(field, value)}
        return (lambda e: getter(e).lower() in wanted) if op == "IN" else (lambda e: getter(e).lower() not in wanted)
    if not isinstance(value, str):
        raise SearchError(f'Property "{field}" expects a string as data, "{_php_type(value)}" given.')
    low = value.lower()
    ops = {
        "=": lambda s: s.lower() == low,
        "!=": lambda s: s.lower() != low,
        "STARTS WITH": lambda s: s.lower().startswith(low),
        "CONTAINS": lambda s: low in s.lower(),
        "DOES NOT CONTAIN": lambda s: low not in s.lower(),
    }
    if op not in ops:
        raise _unsupported(field, op)
    return lambda e: ops[op](getter(e))


def build_predicates(state: PimState, search: dict[str, list[dict]], *, models: bool) -> list[Predicate]:
    store = state.store
    allowed = MODEL_FIELDS if models else PRODUCT_FIELDS
    predicates: list[Predicate] = []
    for field_name, filters in search.items():
        for flt in filters:
            op = flt["operator"]
            value = flt.get("value")
            if field_name not in allowed:
                if state.catalog.attribute(field_name) is not None:
                    predicates.append(_attribute_predicate(state, field_name, flt))
                    continue
                raise _unsupported(field_name, op)
            if field_name in ("updated", "created"):
                if field_name == "updated":
                    predicates.append(_date_predicate(state, field_name, flt, store.effective_updated))
                else:
                    predicates.append(_date_predicate(state, field_name, flt, lambda e: e["created"]))
            elif field_name == "categories":
                predicates.append(_categories_predicate(state, flt, store.merged_categories))
            elif field_name == "enabled":
                if op not in ("=", "!="):
                    raise _unsupported(field_name, op)
                if not isinstance(value, bool):
                    raise SearchError(f'Property "enabled" expects a boolean as data, "{_php_type(value)}" given.')
                predicates.append((lambda v: lambda e: e["enabled"] == v)(value if op == "=" else not value))
            elif field_name == "family":
                predicates.append(_family_predicate(flt))
            elif field_name == "groups":
                if op not in ("IN", "NOT IN", "EMPTY", "NOT EMPTY"):
                    raise _unsupported(field_name, op)
                predicates.append(_list_predicate("groups", flt, lambda e: e.get("groups", [])))
            elif field_name == "parent":
                predicates.append(_parent_predicate(state, flt, models=models))
            elif field_name == "completeness":
                if models:
                    raise _unsupported(field_name, op)
                predicates.append(_completeness_predicate(state, flt))
            elif field_name == "identifier":
                key = "code" if models else "identifier"
                predicates.append(_text_predicate(field_name, flt, lambda e, k=key: e[k]))
            elif field_name == "uuid":
                if op not in ("IN", "NOT IN", "=", "!="):
                    raise _unsupported(field_name, op)
                predicates.append(_text_predicate(field_name, flt, lambda e: e["uuid"]))
            else:  # quality_score: a real PIM computes it; the sandbox has none
                raise _unsupported(field_name, op)
    return predicates


def _list_predicate(field: str, flt: dict, getter: Callable[[dict], list[str]]) -> Predicate:
    op = flt["operator"]
    if op == "EMPTY":
        return lambda e: not getter(e)
    if op == "NOT EMPTY":
        return lambda e: bool(getter(e))
    wanted = {v.lower() for v in _codes(field, flt.get("value"))}
    if op == "IN":
        return lambda e: any(c.lower() in wanted for c in getter(e))
    return lambda e: not any(c.lower() in wanted for c in getter(e))


def _family_predicate(flt: dict) -> Predicate:
    op = flt["operator"]
    if op not in ("IN", "NOT IN", "EMPTY", "NOT EMPTY"):
        raise _unsupported("family", op)
    return _list_predicate("family", flt, lambda e: [e["family"]] if e.get("family") else [])


def _parent_predicate(state: PimState, flt: dict, *, models: bool) -> Predicate:
    """Akeneo's `parent` filters [pim-api-docs content/rest-api/filter.md, "On their parent"]: on products,
    `=` one model code returns every descendant (of a root or a sub-model), `IN` a list of codes returns
    the **direct** children only (a root's code does not find the variants of its sub-models); on product
    models only `IN` (the sub-models of the given roots), `EMPTY` and `NOT EMPTY` are documented, so `=`
    is refused there."""
    store = state.store
    op, value = flt["operator"], flt.get("value")
    if op == "EMPTY":
        return lambda e: not e.get("parent")
    if op == "NOT EMPTY":
        return lambda e: bool(e.get("parent"))
    if op not in (("IN",) if models else ("=", "IN")):
        raise _unsupported("parent", op)
    if op == "=":
        if not isinstance(value, str):
            raise SearchError(f'Property "parent" expects a string as data, "{_php_type(value)}" given.')
        wanted = value.lower()
        return lambda e: any(m["code"].lower() == wanted for m in store.ancestors(e))
    direct = {c.lower() for c in _codes("parent", value)}
    # the parent as stored may differ in letter case from the model's code (Akeneo compares codes
    # case-insensitively): compare the resolved parent's code
    return lambda e: bool(e.get("parent")) and _parent_code(store, e) in direct


def _parent_code(store: Any, entity: dict) -> str:
    parent = store.model(entity.get("parent"))
    return (parent["code"] if parent is not None else str(entity.get("parent") or "")).lower()


def _attribute_predicate(state: PimState, code: str, flt: dict) -> Predicate:
    """A small part of Akeneo's attribute filters: enough for select, text, boolean and number values."""
    attr = state.catalog.attribute(code)
    op, value = flt["operator"], flt.get("value")
    locale, scope = flt.get("locale"), flt.get("scope")
    if attr["localizable"] and not locale:
        raise SearchError(f'Attribute "{attr["code"]}" expects a locale, none given.')
    if attr["scopable"] and not scope:
        raise SearchError(f'Attribute "{attr["code"]}" expects a channel code, none given.')
    store = state.store

    def data(e: dict) -> Any:
        for item in store.merged_values(e).get(attr["code"], []):
            if item["locale"] == (locale if attr["localizable"] else None) and \
                    item["scope"] == (scope if attr["scopable"] else None):
                return item["data"]
        return None

    kind = attr["type"]
    if op == "EMPTY":
        return lambda e: data(e) in (None, "", [])
    if op == "NOT EMPTY":
        return lambda e: data(e) not in (None, "", [])
    if kind in ("pim_catalog_simpleselect", "pim_catalog_multiselect"):
        if op not in ("IN", "NOT IN"):
            raise _unsupported(code, op)
        wanted = {v.lower() for v in _codes(code, value)}

        def has(e: dict) -> bool:
            d = data(e)
            got = d if isinstance(d, list) else ([d] if d else [])
            return any(g.lower() in wanted for g in got)

        return has if op == "IN" else (lambda e: not has(e))
    if kind == "pim_catalog_boolean":
        if op not in ("=", "!=") or not isinstance(value, bool):
            raise _unsupported(code, op)
        return lambda e: (data(e) == value) if op == "=" else (data(e) is not None and data(e) != value)
    if kind == "pim_catalog_number":
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise _unsupported(code, op)
        if not is_numeric(value):
            raise SearchError(f'Property "{attr["code"]}" expects a numeric as data, "{_php_type(value)}" given.')
        target = float(value)
        cmp = {"=": float.__eq__, "!=": float.__ne__, "<": float.__lt__, "<=": float.__le__,
               ">": float.__gt__, ">=": float.__ge__}[op]
        return lambda e: data(e) is not None and cmp(float(data(e)), target)
    if kind in ("pim_catalog_text", "pim_catalog_textarea", "pim_catalog_identifier"):
        return _text_predicate(code, flt, lambda e: data(e) or "")
    raise _unsupported(code, op)
