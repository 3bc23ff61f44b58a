"""The sandbox PIM never answers 500 to bad list parameters: a table of nasty `search`, `limit`, `page`,
`search_after`, `scope`, `locales` and `attributes` values on the product, product-model and category
lists, plus the exact answers Akeneo gives to the ones a reviewer found."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox.pim import create_app
from tests.servers import serve

API = "/api/rest/v1"
LISTS = ["products", "products-uuid", "product-models", "categories"]


@pytest.fixture(scope="module")
def http():
    with serve(create_app()) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        token = client.post("/api/oauth/v1/token", auth=("sandbox-client", "sandbox-secret"),
                            json={"grant_type": "password", "username": "admin", "password": "admin"})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def _filters(value) -> list[str]:
    """One filter of every kind with `value` (and a few shapes around it) as its data."""
    out = []
    for field, op in [("updated", ">"), ("updated", "BETWEEN"), ("updated", "SINCE LAST N DAYS"),
                      ("created", "<"), ("categories", "IN"), ("categories", "IN CHILDREN"), ("enabled", "="),
                      ("family", "IN"), ("groups", "IN"), ("parent", "="), ("parent", "IN"),
                      ("completeness", ">="), ("identifier", "="), ("uuid", "IN"), ("optical_zoom", ">"),
                      ("name", "CONTAINS"), ("color", "IN"), ("auto_exposure", "="), ("code", "IN"),
                      ("is_root", "=")]:
        out.append(json.dumps({field: [{"operator": op, "value": value}]}))
        out.append(json.dumps({field: [{"operator": op, "value": value, "scope": value, "locale": value,
                                        "locales": value}]}))
    out.append(json.dumps({"completeness": [{"operator": ">=", "value": 100, "scope": "ecommerce",
                                             "locales": value}]}))
    return out


NASTY_VALUES = [None, True, 0, -1, 10**12, -(10**12), 10**30, 1.5, 1e308, "", " ", "abc", "1e999", "NaN",
                "٣", "2020-13-45 99:99:99", "2020-02-30 10:00:00", "0000-00-00 00:00:00", "9999-12-31 23:59:59",
                "2021-01-01T00:00:00Z", [], [None], [1], ["x"], [["x"]], [{}], {}, {"a": 1}, ["2020-01-01 00:00:00"]]
NASTY_SEARCHES = sorted({s for v in NASTY_VALUES for s in _filters(v)}) + [
    "", "null", "[]", "[1]", "{}", '{"a":NaN}', '{"a":Infinity}', "1e999", "{", '{"updated":null}',
    '{"updated":[]}', '{"updated":[null]}', '{"updated":[{"operator":null}]}', '{"updated":[{"operator":1}]}',
    '{"updated":[{"operator":">"}]}', '{"":[{"operator":"="}]}', '"\\u0000"']
NASTY_PARAMS = {
    "limit": ["", "0", "-1", "1.5", "1e2", "+5", " 5", "05", "١٢", "٣", "abc", "101", "9" * 30, "-0"],
    "page": ["", "0", "-1", "1.5", "١", "abc", "9" * 23, "9223372036854775807", "9223372036854775808", "100000"],
    "search_after": ["", "%%%", "_w", "====", "a", "not base64!", "\u00e9", "AAAA", "//", "%00", "-" * 500],
    "scope": ["", "nope", "ECOMMERCE", " ", "\u0000", "a" * 300],
    "locales": ["", ",", "en_US,", "xx_XX", "en_US,fr_FR", "\u00e9", " en_US "],
    "attributes": ["", ",", "nope", "name,", "NAME", "\u00e9"],
    "with_count": ["", "yes", "1", "TRUE"],
    "pagination_type": ["", "cursor", "search_after", "SEARCH_AFTER"],
}


def _assert_not_500(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.url, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] == response.status_code and isinstance(body["message"], str)


@pytest.mark.parametrize("path", LISTS)
def test_nasty_searches_never_answer_500(http, path):
    for search in NASTY_SEARCHES:
        _assert_not_500(http.get(f"{API}/{path}", params={"search": search}))


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("param", sorted(NASTY_PARAMS))
def test_nasty_parameters_never_answer_500(http, path, param):
    for value in NASTY_PARAMS[param]:
        params = {param: value}
        if param == "search_after":
            params["pagination_type"] = "search_after"
        _assert_not_500(http.get(f"{API}/{path}", params=params))


def _message(http, path: str, **params) -> tuple[int, str]:
    response = http.get(f"{API}/{path}", params=params)
    return response.status_code, response.json().get("message", "")


@pytest.mark.parametrize(("path", "search", "message"), [
    ("products-uuid", {"optical_zoom": [{"operator": ">", "value": "abc"}]},
     'Property "optical_zoom" expects a numeric as data, "string" given.'),
    ("products-uuid", {"optical_zoom": [{"operator": ">", "value": [1]}]},
     'Property "optical_zoom" expects a numeric as data, "array" given.'),
    ("products-uuid", {"updated": [{"operator": ">", "value": "2020-13-45 99:99:99"}]},
     'Property "updated" expects a string with the format "yyyy-mm-dd H:i:s" as data, "2020-13-45 99:99:99" given.'),
    ("products", {"updated": [{"operator": "BETWEEN", "value": ["2020-01-01 00:00:00", "2020-02-30 00:00:00"]}]},
     'Property "updated" expects a string with the format "yyyy-mm-dd H:i:s" as data, "2020-02-30 00:00:00" given.'),
    ("products-uuid", {"updated": [{"operator": "SINCE LAST N DAYS", "value": 1000000000000}]},
     'Property "updated" expects a number of days giving a valid date as data, "1000000000000" given.'),
    ("products-uuid", {"completeness": [{"operator": ">=", "value": 100, "scope": "ecommerce", "locales": [["x"]]}]},
     'Property "completeness" expects an array of locale codes as "locales", "array" given.'),
    ("products-uuid", {"completeness": [{"operator": ">=", "value": 100, "scope": "ecommerce", "locales": "en_US"}]},
     'Property "completeness" expects an array of locale codes as "locales", "string" given.'),
    ("categories", {"updated": [{"operator": ">", "value": "bad"}]},
     'Property "updated" expects a string with the ISO 8601 format as data, "bad" given.'),
])
def test_bad_search_values_are_422_with_akeneo_messages(http, path, search, message):
    assert _message(http, path, search=json.dumps(search)) == (422, message)


def test_numeric_strings_are_read_like_php(http):
    for value in ("1e999", " 4 ", ".5", "-2"):
        search = json.dumps({"optical_zoom": [{"operator": ">", "value": value}]})
        assert http.get(f"{API}/products-uuid", params={"search": search}).status_code == 200, value
    for value in ("NaN", "Infinity", "0x1A", "١"):
        search = json.dumps({"optical_zoom": [{"operator": ">", "value": value}]})
        assert http.get(f"{API}/products-uuid", params={"search": search}).status_code == 422, value


def test_category_updated_takes_iso_8601(http):
    def count(value: str) -> int:
        body = http.get(f"{API}/categories", params={"search": json.dumps({"updated": [{"operator": ">",
                                                                                        "value": value}]})})
        assert body.status_code == 200, body.text
        return len(body.json()["_embedded"]["items"])

    assert count("2000-01-01T00:00:00Z") == 10
    assert count("2999-01-01T00:00:00+02:00") == 0


@pytest.mark.parametrize(("params", "message"), [
    ({"limit": "١٢"}, '"١٢" is not a valid limit number.'),
    ({"limit": "05"}, '"05" is not a valid limit number.'),
    ({"page": "١"}, '"١" is not a valid page number.'),
    ({"page": "9" * 23}, f'"{"9" * 23}" is not a valid page number.'),
    ({"pagination_type": "search_after", "search_after": "%%%"}, 'Parameter "search_after" is not valid: "%%%" given.'),
])
def test_parameters_are_as_strict_as_akeneo(http, params, message):
    for path in ("products-uuid", "product-models"):
        assert _message(http, path, **params) == (422, message)


def test_the_cursor_of_next_still_works(http):
    first = http.get(f"{API}/products-uuid", params={"pagination_type": "search_after", "limit": 3}).json()
    second = http.get(first["_links"]["next"]["href"])
    assert second.status_code == 200 and len(second.json()["_embedded"]["items"]) == 3
