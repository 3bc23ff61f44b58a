"""The pure rules behind the configuration page: pasted values, hints from shapes, guarded changes."""

from __future__ import annotations

import pytest

from service.clients.akeneo_errors import AkeneoAuthError, AkeneoUnreachable
from service.clients.bigcommerce_errors import BigCommerceAuthError, BigCommerceForbidden
from service.config.forms import clean_pim_url, parse_store_hash, read_bigcommerce, read_pim
from service.config.guard import changed_fields, confirmation_message, full_import_status
from service.config.hints import bc_failure, bc_shape_hints, pim_failure


@pytest.mark.parametrize("pasted", ["abc123", "stores/abc123", "/stores/abc123/v3/", "ABC123",
                                    "https://api.bigcommerce.com/stores/abc123/v3/catalog/products",
                                    "https://store-abc123.mybigcommerce.com/manage/products",
                                    "store-abc123.mybigcommerce.com"])
def test_store_hash_is_found_in_what_was_pasted(pasted):
    assert parse_store_hash(pasted)[0] == "abc123"


@pytest.mark.parametrize("pasted", ["", "abc 123", "https://shop.example.com/", "stores/", "abc_123",
                                    "x" * 33])
def test_no_store_hash(pasted):
    assert parse_store_hash(pasted) == (None, None)


@pytest.mark.parametrize("pasted,base", [
    ("https://PIM.Example.com/", "https://pim.example.com"),
    ("https://pim.example.com/user/login", "https://pim.example.com"),
    ("https://pim.example.com/#/enrich/product/", "https://pim.example.com"),
    ("http://intranet.example.com/pim/api/rest/v1/products?limit=1", "http://intranet.example.com/pim"),
])
def test_pim_base_url(pasted, base):
    assert clean_pim_url(pasted)[0] == base


@pytest.mark.parametrize("pasted", ["pim.example.com", "ftp://pim.example.com", "https://", "https://x.com:99999"])
def test_not_a_pim_url(pasted):
    assert clean_pim_url(pasted)[1]


def test_read_pim_strips_and_says_so():
    values, errors, notes = read_pim({"url": " https://pim.example.com ", "client_id": "c ", "secret": "s",
                                      "username": "u", "password": " p"}, have_secret=False, have_password=False)
    assert errors == {} and values["url"] == "https://pim.example.com" and values["password"] == "p"
    assert values["stripped"] == ["url", "client_id", "password"] and "PIM URL, client ID, password" in notes[0]


def test_read_bigcommerce_keeps_a_stored_token_only():
    assert "access_token" in read_bigcommerce({"store_hash": "a1", "client_id": "c"}, have_token=False)[1]
    assert read_bigcommerce({"store_hash": "a1", "client_id": "c"}, have_token=True)[1] == {}


def test_bigcommerce_shapes():
    token, secret = "a" * 31, "0123456789abcdef" * 4
    assert bc_shape_hints("c" * 31, token) == []
    assert "client secret" in bc_shape_hints("c" * 31, secret)[0]
    assert "swapped" in bc_shape_hints(token, token)[0]
    assert "does not look like" in bc_shape_hints("c" * 31, "Bearer xyz")[0]
    assert any("client ID looks like a client secret" in h for h in bc_shape_hints(secret, token))


def test_bigcommerce_hints_follow_the_failing_step():
    forbidden = BigCommerceForbidden("no scope", 403)
    assert "Products scope" in bc_failure(forbidden, "catalog", "abc", "c", "t")[0]
    assert "Information" in bc_failure(forbidden, "store", "abc", "c", "t")[0]
    assert "401" in bc_failure(BigCommerceAuthError("no", 401), "time", "abc", "c", "t")[0]


def test_pim_hints():
    values = {"url": "https://pim.example.com", "client_id": "id", "secret": "sec", "username": "u", "password": "p"}
    message, hints = pim_failure(AkeneoAuthError("No user found", "credentials", 422), values)
    assert "username or password" in message and any("renewed" in h for h in hints)
    message, hints = pim_failure(AkeneoAuthError("client", "client", 422), values, swapped_client=True)
    assert "swapped" in hints[0]
    message, hints = pim_failure(AkeneoUnreachable("redirected to https://sso.example.com/login", "not_akeneo", 302),
                                 values)
    assert "not as an Akeneo PIM" in message and "https://sso.example.com/login" in hints[0]
    assert "POST https://pim.example.com/api/oauth/v1/token" in message


def test_guarded_changes():
    old = {"locale": "en_US", "channel": "ecommerce", "category": "master"}
    assert changed_fields(old, {**old, "locale": "EN_us"}, ("locale", "channel", "category")) == []
    assert changed_fields(old, {**old, "channel": "mobile"}, ("locale", "channel", "category")) == ["channel"]
    assert changed_fields({}, old, ("locale",)) == []  # a first choice is not a change
    assert "hidden" in confirmation_message(["channel"]) and "full one" in confirmation_message(["channel"])
    assert full_import_status({"first_import_done": True}) == {"first_import_done": True, "next_import": "full"}
